
/** How a release behaves once it serves traffic; decided when its image is created. */
export interface ReleaseTraits {
  /** Multiplies the 5xx error rate ('bad-release'). */
  errorsX?: number;
  /** Multiplies latency ('bad-release'). */
  latencyX?: number;
  /** Fails its load balancer health checks ('unhealthy-release'). */
  unhealthy?: boolean;
  /** Answers health checks only this many configured seconds after its instance runs ('slow-start'). */
  startSeconds?: number;
}

/**
 * Faults a test or a demo injects into the simulated AWS. API faults ('throttle', 'api-error')
 * are checked before a command has any effect, so a failed call changes nothing; builder and image
 * faults are decided when the instance or image is created and stay with it.
 */
export type Fault =
  /** Throttle `times` calls of `command` ('RunInstances', no 'Command' suffix), or of any command. */
  | { kind: 'throttle'; command?: string; times: number }
  /** Fail `times` (default 1) calls of `command` (in `region`, or any) with this code; a 5xx is retried by the SDK like a real one. */
  | { kind: 'api-error'; command: string; region?: string; code: string; message?: string; status?: number; times?: number }
  /** The builder's provision script exits non-zero. */
  | { kind: 'provision-fails'; app?: string }
  | { kind: 'smoke-fails'; app?: string }
  | { kind: 'download-fails'; app?: string }
  /** The artifact host serves other bytes than the CI built and published the sha256 of. */
  | { kind: 'artifact-tampered'; app?: string }
  /** The instance runs but never reports a result. */
  | { kind: 'builder-hangs'; app?: string }
  /** The image stays 'pending' forever. */
  | { kind: 'image-stuck'; app?: string }
  /** Copies made into `region` (or any) while it is in force go 'failed' part way, as EC2 reports an internal error. */
  | { kind: 'copy-fails'; region?: string }
  /** Images created while it is in force serve more 5xx errors (default ×4) and slower (default ×1.4). */
  | { kind: 'bad-release'; app?: string; errorsX?: number; latencyX?: number }
  /** Images created while it is in force fail their load balancer health checks. */
  | { kind: 'unhealthy-release'; app?: string }
  /**
   * Images created while it is in force answer health checks only `seconds` (configured seconds, default 45)
   * after their instance runs: a target reports unhealthy for a while, then settles healthy.
   */
  | { kind: 'slow-start'; app?: string; seconds?: number }
  /** New instances and images stay unknown to describes and CreateTags for `ms`, not the usual few seconds. */
  | { kind: 'slow-consistency'; ms: number };

export const BAD_RELEASE_ERRORS_X = 4;
export const BAD_RELEASE_LATENCY_X = 1.4;
export const SLOW_START_SECONDS = 45;

export type BuilderOutcome = 'success' | 'download-fails' | 'provision-fails' | 'smoke-fails' | 'builder-hangs';

/** What a call runs into: nothing, or an error to throw before the command does anything. */
export type ApiFault = { kind: 'throttle' } | { kind: 'error'; code: string; message: string; status: number };

export class Faults {
  constructor(private list: Fault[] = []) {}

  inject(fault: Fault): void {
    this.list.push({ ...fault });
  }

  clear(): void {
    this.list = [];
  }

  all(): Fault[] {
    return this.list.map((fault) => ({ ...fault }));
  }

  /** The first API fault matching this command, used up by one. */
  takeApiFault(command: string, region: string): ApiFault | undefined {
    for (const [index, fault] of this.list.entries()) {
      if (fault.kind === 'throttle' && (fault.command === undefined || fault.command === command)) {
        this.useOnce(index, fault.times);
        return { kind: 'throttle' };
      }
      if (fault.kind === 'api-error' && fault.command === command && (fault.region === undefined || fault.region === region)) {
        this.useOnce(index, fault.times ?? 1);
        return {
          kind: 'error',
          code: fault.code,
          message: fault.message ?? `Simulated ${fault.code} on ${command}`,
          status: fault.status ?? 400,
        };
      }
    }
    return undefined;
  }

  /** How a builder launched now for `app` will end. */
  builderOutcome(app: string | undefined): BuilderOutcome {
    for (const fault of this.list) {
      if (fault.kind === 'throttle' || fault.kind === 'api-error' || fault.kind === 'image-stuck' || fault.kind === 'slow-consistency' || fault.kind === 'copy-fails') continue;
      if (fault.kind === 'bad-release' || fault.kind === 'unhealthy-release' || fault.kind === 'artifact-tampered' || fault.kind === 'slow-start') continue;
      if (fault.app === undefined || fault.app === app) return fault.kind;
    }
    return 'success';
  }

  /** How an image created now for `app` behaves in a fleet; undefined: like any good release. */
  releaseTraits(app: string | undefined): ReleaseTraits | undefined {
    let traits: ReleaseTraits | undefined;
    for (const fault of this.list) {
      if (fault.kind !== 'bad-release' && fault.kind !== 'unhealthy-release' && fault.kind !== 'slow-start') continue;
      if (fault.app !== undefined && fault.app !== app) continue;
      if (fault.kind === 'bad-release') traits = { ...traits, errorsX: fault.errorsX ?? BAD_RELEASE_ERRORS_X, latencyX: fault.latencyX ?? BAD_RELEASE_LATENCY_X };
      else if (fault.kind === 'unhealthy-release') traits = { ...traits, unhealthy: true };
      else traits = { ...traits, startSeconds: fault.seconds ?? SLOW_START_SECONDS };
    }
    return traits;
  }

  artifactTampered(app: string | undefined): boolean {
    return this.list.some((fault) => fault.kind === 'artifact-tampered' && (fault.app === undefined || fault.app === app));
  }

  imageStuck(app: string | undefined): boolean {
    return this.list.some((fault) => fault.kind === 'image-stuck' && (fault.app === undefined || fault.app === app));
  }

  copyFails(region: string): boolean {
    return this.list.some((fault) => fault.kind === 'copy-fails' && (fault.region === undefined || fault.region === region));
  }

  /** How long a new id stays invisible, when a fault makes EC2 slower to agree with itself than usual. */
  invisibleMs(usual: number): number {
    return Math.max(usual, ...this.list.map((fault) => (fault.kind === 'slow-consistency' ? fault.ms : 0)));
  }

  private useOnce(index: number, times: number): void {
    const fault = this.list[index];
    if (!fault || (fault.kind !== 'throttle' && fault.kind !== 'api-error')) return;
    if (times <= 1) this.list.splice(index, 1);
    else fault.times = times - 1;
  }
}
