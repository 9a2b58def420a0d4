import type { Clock } from '../src/clock.js';

/**
 * A clock that runs like VirtualClock (src/clock.ts) until `goReal()`, then like the system clock:
 * a canary's 30 minutes pass in a second, and what comes after (a Promote press) is timed on real
 * time. Sleepers pending at the switch keep their wake time, now on a real timer.
 */
interface Timer {
  at: number;
  seq: number;
  wake: () => void;
  /** Once time is real: the system timer. */
  real?: NodeJS.Timeout;
}

export class VirtualThenRealClock implements Clock {
  private timers: Timer[] = [];
  private seq = 0;
  private advancing = false;
  private real: { at: number; wall: number } | undefined;

  constructor(private current = Date.parse('2026-01-01T12:00:00Z')) {}

  now(): number {
    return this.real ? this.real.at + (Date.now() - this.real.wall) : this.current;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      let cancelTimer = (): void => undefined;
      const abort = (): void => {
        cancelTimer();
        reject(signal?.reason);
      };
      const wake = (): void => {
        signal?.removeEventListener('abort', abort);
        resolve();
      };
      signal?.addEventListener('abort', abort, { once: true });
      cancelTimer = this.schedule(this.now() + Math.max(0, ms), wake);
    });
  }

  /** From now on time is the system's, continuing from the virtual time reached. */
  goReal(): void {
    this.real = { at: this.current, wall: Date.now() };
    for (const timer of this.timers) this.startReal(timer);
    this.timers = [];
  }

  /** Runs `wake` at clock time `at`; returns how to cancel it. */
  private schedule(at: number, wake: () => void): () => void {
    const timer: Timer = { at, seq: this.seq++, wake };
    if (this.real) this.startReal(timer);
    else {
      this.timers.push(timer);
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      this.scheduleAdvance();
    }
    return () => {
      if (timer.real) clearTimeout(timer.real);
      else this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  private startReal(timer: Timer): void {
    timer.real = setTimeout(timer.wake, Math.max(0, timer.at - this.now()));
  }

  private scheduleAdvance(): void {
    if (this.advancing) return;
    this.advancing = true;
    // As VirtualClock: a few turns of the event loop let in-process work settle before time jumps.
    setTimeout(() => {
      this.advancing = false;
      if (this.real) return;
      const next = this.timers.shift();
      if (!next) return;
      this.current = Math.max(this.current, next.at);
      next.wake();
      if (this.timers.length > 0) this.scheduleAdvance();
    }, 1);
  }
}
