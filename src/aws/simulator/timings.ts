/** How long simulated AWS takes for each slow thing, in clock milliseconds. */
export interface SimulatorTimings {
  /** RunInstances → 'running'. */
  bootMs: number;
  /** The builder's whole user-data script (download, provision, smoke), from boot to its result line. */
  provisionMs: number;
  /** CreateImage → image 'available'. */
  imageMs: number;
  /** CopyImage → the copy 'available'. */
  copyMs: number;
  /** Without `Latest`, EC2 posts the buffered console this long after a start, stop or terminate. */
  consoleDelayMs: number;
  /** TerminateInstances (or StopInstances) → 'terminated' ('stopped'). */
  terminateMs: number;
  /** EC2 is eventually consistent: a new instance or image is unknown to describes and CreateTags this long. */
  newIdInvisibleMs: number;
}

/** Roughly what AWS takes for a small Amazon Linux builder; for tests in virtual time. */
export const realisticTimings: SimulatorTimings = {
  bootMs: 45_000,
  provisionMs: 4 * 60_000,
  imageMs: 6 * 60_000,
  copyMs: 10 * 60_000,
  consoleDelayMs: 60_000,
  terminateMs: 30_000,
  newIdInvisibleMs: 5_000,
};

/** For local mode in real time: a whole bake well under a minute. */
export const fastTimings: SimulatorTimings = {
  bootMs: 2_000,
  provisionMs: 6_000,
  imageMs: 8_000,
  copyMs: 8_000,
  consoleDelayMs: 1_000,
  terminateMs: 2_000,
  newIdInvisibleMs: 1_000,
};
