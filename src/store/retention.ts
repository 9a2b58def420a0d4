/*
 * How long each item family is kept once it is done. DynamoDB's TTL deletes an item some time (usually
 * within days) after its `expiresAt` (epoch seconds). App configs, the live release and locks carry none:
 * configs are rewritten at every start, locks are deleted. A release is the rollback history, so it is
 * kept while it could be a rollback target; a rejected or retired one never can be, and expires.
 */

const DAY_MS = 24 * 60 * 60 * 1000;

export const retentionMs = {
  /** A Slack request id: Slack retries within minutes. */
  request: DAY_MS,
  /** A finished operation (bake, canary, rollback), from when it finished: its thread links stay readable. */
  operation: 90 * DAY_MS,
  /** An audit entry, from when it was written: a year and a bit, for a yearly review. */
  audit: 400 * DAY_MS,
  /** A finished retirement (its images deregistered), from then: as long as the audit entries that tell it. */
  retirement: 400 * DAY_MS,
  /** A release rejected by its canary or retired (its images pruned), from then: as long as the audit entries that tell it. */
  release: 400 * DAY_MS,
  /** A scheduled job's slot mark (digest, sweep), from its claim: far longer than any grace period for a missed slot. */
  jobSlot: 30 * DAY_MS,
} as const;

/** Release statuses from which no rollback can return to the release: they start its retention. */
export const releaseEnds: readonly string[] = ['rejected', 'retired'];

/** The TTL attribute's value for an item of `family` done at `at` (ms). */
export function expiresAt(family: keyof typeof retentionMs, at: number): number {
  return Math.floor((at + retentionMs[family]) / 1000);
}
