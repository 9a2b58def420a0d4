/*
 * How long each item family is kept once it is done. DynamoDB's TTL deletes an item some time (usually
 * within days) after its `expiresAt` (epoch seconds). App configs, releases, the live release and locks
 * carry none: configs are rewritten at every start, releases are the rollback history, locks are deleted.
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
  /** A scheduled job's slot mark (digest, sweep), from its claim: far longer than any grace period for a missed slot. */
  jobSlot: 30 * DAY_MS,
} as const;

/** The TTL attribute's value for an item of `family` done at `at` (ms). */
export function expiresAt(family: keyof typeof retentionMs, at: number): number {
  return Math.floor((at + retentionMs[family]) / 1000);
}
