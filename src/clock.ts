/** The one clock. Everything that reads the time or waits goes through it, so tests run in virtual time. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = setTimeout(done, ms);
      function done(): void {
        signal?.removeEventListener('abort', abort);
        resolve();
      }
      function abort(): void {
        clearTimeout(timer);
        reject(signal?.reason);
      }
      signal?.addEventListener('abort', abort, { once: true });
    }),
};

/**
 * Virtual time for tests: sleepers wake in order of their wake time, and the clock jumps to the
 * next wake time once the process has had a moment to run everything else. An hour-long bake
 * finishes in milliseconds, and heartbeats, polls and coalesced updates still interleave as they
 * would in real time.
 */
export class VirtualClock implements Clock {
  private timers: { at: number; seq: number; wake: () => void }[] = [];
  private seq = 0;
  private advancing = false;

  constructor(private current = Date.parse('2026-01-01T12:00:00Z')) {}

  now(): number {
    return this.current;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = { at: this.current + Math.max(0, ms), seq: this.seq++, wake: () => {
        signal?.removeEventListener('abort', abort);
        resolve();
      } };
      const abort = (): void => {
        this.timers = this.timers.filter((t) => t !== timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', abort, { once: true });
      this.timers.push(timer);
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      this.scheduleAdvance();
    });
  }

  /** Moves time forward by hand (for tests that drive the clock themselves). */
  advance(ms: number): void {
    this.current += ms;
  }

  private scheduleAdvance(): void {
    if (this.advancing) return;
    this.advancing = true;
    // A few turns of the event loop let in-process work settle before time jumps.
    setTimeout(() => {
      this.advancing = false;
      const next = this.timers.shift();
      if (!next) return;
      this.current = Math.max(this.current, next.at);
      next.wake();
      if (this.timers.length > 0) this.scheduleAdvance();
    }, 1);
  }
}
