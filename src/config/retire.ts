import { z } from 'zod';
import { duration } from './deploy.js';

/** "30d" as well as the deploy section's "30s", "5m", "4h" (and a number of ms, as read back from the table). */
export const longDuration = z.union([z.string().regex(/^\d{1,4}d$/).transform((text) => Number(text.slice(0, -1)) * 24 * 3_600_000), duration], {
  error: 'a duration is a number and d, h, m or s, e.g. 30d',
});

/**
 * Retirement in stages (src/retire/README.md): an image a prune retires is first deprecated, then
 * disabled, then deregistered, each stage this long after the one before. Without the section a prune
 * deregisters at once.
 */
export const retireConfig = z.strictObject({
  /** From the prune that starts it to the deprecation (EC2 takes only a time in the future). */
  deprecateAfter: longDuration.prefault('7d').refine((ms) => ms >= 60_000, 'deprecateAfter must be at least 1m: EC2 deprecates only at a time to come'),
  /** From the deprecation to DisableImage. */
  disableAfter: longDuration.prefault('14d'),
  /** From DisableImage to deregistering and deleting the snapshots. */
  deregisterAfter: longDuration.prefault('30d'),
});
export type RetireConfig = z.infer<typeof retireConfig>;
