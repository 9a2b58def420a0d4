import { z } from 'zod';
import { fleetAppConfig } from '../../config/apps.js';
import { fleetImage } from '../../store/items.js';
import { liveGroupState } from '../canary/state.js';

/** The request: the app's config as it was when asked, and the release to return to. */
export const rollbackParams = z.object({
  config: fleetAppConfig,
  /** The release to return to: a named version's image, or the live release's recorded predecessor. */
  target: fleetImage,
  /** What the fleet ran when the rollback was asked for. */
  from: fleetImage.optional(),
  requestedByName: z.string(),
  /** It continues the thread of the release it rolls back (whose root read live): its start is broadcast to the channel from there. */
  inReleaseThread: z.boolean().optional(),
});
export type RollbackParams = z.infer<typeof rollbackParams>;

export const rollbackState = z.object({
  live: liveGroupState.optional(),
  templateVersion: z.string().optional(),
  refreshId: z.string().optional(),
  refreshStartedAt: z.number().optional(),
  /** When the fleet served the target again. */
  servingAt: z.number().optional(),
  /** What became of the release rolled back, for the root of its thread when the rollback continues it. */
  rolledBack: z.string().optional(),
  cleanup: z.array(z.string()).optional(),
  awsCalls: z.number().int().nonnegative().optional(),
  awsRetries: z.number().int().nonnegative().optional(),
});
export type RollbackState = z.infer<typeof rollbackState>;
