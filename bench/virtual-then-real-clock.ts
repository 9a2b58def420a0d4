import { systemClock, VirtualClock, type Clock } from '../src/clock.js';

interface Sleeper {
  at: number;
  signal: AbortSignal | undefined;
  /** Aborted when the sleeper moves to a real timer. */
  moved: AbortController;
  resolve: () => void;
  reject: (reason: unknown) => void;
}

/**
 * A VirtualClock until `goReal()`, then the system clock: a canary's 30 minutes pass in a second,
 * and what comes after (a Promote press) is timed on real time. Sleepers pending at the switch keep
 * their wake time, now on a real timer.
 */
export class VirtualThenRealClock implements Clock {
  private readonly virtual = new VirtualClock();
  private real: { at: number; wall: number } | undefined;
  private readonly pending = new Set<Sleeper>();

  now(): number {
    return this.real ? this.real.at + (Date.now() - this.real.wall) : this.virtual.now();
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.real) return systemClock.sleep(ms, signal);
    return new Promise<void>((resolve, reject) => {
      const sleeper: Sleeper = { at: this.now() + Math.max(0, ms), signal, moved: new AbortController(), resolve, reject };
      this.pending.add(sleeper);
      this.virtual.sleep(ms, signal ? AbortSignal.any([signal, sleeper.moved.signal]) : sleeper.moved.signal).then(
        () => {
          this.pending.delete(sleeper);
          resolve();
        },
        (error: unknown) => {
          if (sleeper.moved.signal.aborted) return;
          this.pending.delete(sleeper);
          reject(error);
        },
      );
    });
  }

  /** From now on time is the system's, continuing from the virtual time reached. */
  goReal(): void {
    this.real = { at: this.virtual.now(), wall: Date.now() };
    for (const sleeper of this.pending) {
      sleeper.moved.abort();
      systemClock.sleep(sleeper.at - this.now(), sleeper.signal).then(sleeper.resolve, sleeper.reject);
    }
    this.pending.clear();
  }
}
