import type { Clock } from '../clock.js';

/**
 * Slack's limits are per channel (about one message a second) and per method (chat.update is
 * Tier 3, about 50 a minute), not per thread. Every progress thread in this process takes its turn
 * here, so several bakes at once stay within them together.
 */
export class SlackPace {
  private readonly next = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly limits = { postMs: 1_000, updateMs: 1_200 },
  ) {}

  /** Waits for the next free slot to post in `channel`. */
  post(channel: string): Promise<void> {
    return this.turn(`post:${channel}`, this.limits.postMs);
  }

  /** Waits for the next free slot for a chat.update anywhere. */
  update(): Promise<void> {
    return this.turn('update', this.limits.updateMs);
  }

  private async turn(key: string, intervalMs: number): Promise<void> {
    // The slot is taken before waiting, so callers queue in the order they asked.
    const at = Math.max(this.clock.now(), this.next.get(key) ?? Number.NEGATIVE_INFINITY);
    this.next.set(key, at + intervalMs);
    const wait = at - this.clock.now();
    if (wait > 0) await this.clock.sleep(wait);
  }
}
