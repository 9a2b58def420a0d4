import type { Clock } from '../clock.js';

/** A wait that ran out of time while AWS was still working: the message says what was still pending. */
export class WaitTimeout extends Error {
  override name = 'WaitTimeout';
}

export interface WaitOptions {
  clock: Clock;
  /** What is being waited for, as a person would say it: "image ami-0abc to become available". */
  what: string;
  timeoutMs: number;
  /** The first wait between checks; later waits grow by half each time, up to four times this. */
  intervalMs: number;
  signal?: AbortSignal;
}

/** The wait before the next look at slow AWS work after `looks` looks: half as long again each time, up to four times the first. */
export function backoff(intervalMs: number, looks: number): number {
  return Math.min(intervalMs * 1.5 ** looks, intervalMs * 4);
}

/**
 * The one polling helper. `check` returns a value when the wait is over, or a short description of
 * what it saw ("pending") to keep waiting; a thrown error ends the wait at once. Throttling inside
 * `check` is retried by the SDK itself.
 */
export async function waitFor<T>(
  options: WaitOptions,
  check: () => Promise<{ done: true; value: T } | { done: false; seen: string }>,
): Promise<T> {
  const { clock, what, timeoutMs, intervalMs, signal } = options;
  const deadline = clock.now() + timeoutMs;
  // Backing off as the SDK's waiters do: long AWS work is asked about less often, short work stays quick.
  for (let looks = 0; ; looks++) {
    signal?.throwIfAborted();
    const result = await check();
    if (result.done) return result.value;
    if (clock.now() >= deadline) {
      throw new WaitTimeout(
        `gave up waiting for ${what} after ${Math.round(timeoutMs / 60_000)} min; AWS still reports it as ${result.seen}, so it may yet finish`,
      );
    }
    await clock.sleep(Math.min(backoff(intervalMs, looks), Math.max(0, deadline - clock.now())), signal);
  }
}
