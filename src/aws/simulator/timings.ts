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
  /** An Auto Scaling group acts on a changed capacity this much later (its next scaling activity). */
  scalingDelayMs: number;
  /** A group's instance: EC2 'running' → lifecycle InService (and registered in its target groups). */
  inServiceMs: number;
  /**
   * One second of a duration the caller configures: health-check interval, grace period, instance
   * warm-up, checkpoint delay, bake time, a target group's deregistration delay (compressed in fast mode, so a demo fleet turns over in seconds).
   */
  configSecondMs: number;
  /** StartInstanceRefresh → InProgress. */
  refreshStartMs: number;
  /** A CloudWatch period's datapoint shows in GetMetricData this long after the period ends (ingestion). */
  metricDelayMs: number;
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
  scalingDelayMs: 10_000,
  inServiceMs: 15_000,
  configSecondMs: 1_000,
  refreshStartMs: 30_000,
  metricDelayMs: 60_000,
  newIdInvisibleMs: 5_000,
};

/**
 * For local mode in real time: a whole bake well under a minute; a group's instances healthy in a few
 * seconds. CloudWatch periods are not compressed: the demo reads high-resolution 'Demo/App' metrics.
 */
export const fastTimings: SimulatorTimings = {
  bootMs: 2_000,
  provisionMs: 6_000,
  imageMs: 8_000,
  copyMs: 8_000,
  consoleDelayMs: 1_000,
  terminateMs: 2_000,
  scalingDelayMs: 500,
  inServiceMs: 1_000,
  configSecondMs: 100,
  refreshStartMs: 1_000,
  metricDelayMs: 2_000,
  newIdInvisibleMs: 1_000,
};
