import { z } from 'zod';
import { appConfig } from '../../config/apps.js';
import { awsRegion } from '../../config/names.js';
import { chatThread } from '../../store/items.js';

/** One destination region's copy and share, tracked on its own: one region failing leaves the others be. */
export const regionCopy = z.object({
  status: z.enum(['copying', 'available', 'shared', 'failed']),
  imageId: z.string().optional(),
  /** When CopyImage returned it: until a grace after it, EC2 may not know the id yet. */
  startedAt: z.number().optional(),
  /** Why it failed, as AWS said it (and what to do, when Bakery knows). */
  reason: z.string().optional(),
  /** The copy's snapshots, once it is available: the sweep removes only what the bake recorded. */
  snapshotIds: z.array(z.string()).optional(),
});
export type RegionCopy = z.infer<typeof regionCopy>;

/** What a bake's steps have learned so far; written after each step, read back on resume. */
export const bakeState = z.object({
  /** The key the builder's console lines for this bake carry; chosen before launch, so a relaunch sends the same user data. */
  resultKey: z.string().regex(/^[0-9a-f]{32}$/).optional(),
  /** The sha256 of the artifact the builder downloaded, as it reported it. */
  artifactSha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  /** What the builder checked it against before provision ran (absent: nothing to check it against). */
  artifactChecked: z.enum(['given', 'published']).optional(),
  baseAmi: z.string().optional(),
  baseAmiName: z.string().optional(),
  baseAmiCreatedAt: z.number().optional(),
  /** How the image is made (recipe.ts), from the config as it was when the bake was asked. */
  recipeHash: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  existingAmi: z.string().optional(),
  builderId: z.string().optional(),
  /** When RunInstances returned the builder: until a grace after it, EC2 may not know the id yet. */
  builderLaunchedAt: z.number().optional(),
  /** The builder's volumes, as EC2 showed them before it was terminated: the sweep removes only what the bake recorded. */
  builderVolumes: z.array(z.string()).optional(),
  imageName: z.string().optional(),
  imageId: z.string().optional(),
  /** The image's snapshots, once it is available (for the sweep, as builderVolumes). */
  snapshotIds: z.array(z.string()).optional(),
  /** Region → its copy, for each region the app copies to (a region retry: that one). */
  regions: z.record(z.string(), regionCopy).optional(),
  /** The thread reply showing each region's copy, kept current. */
  regionsRef: chatThread.optional(),
  /**
   * What the bake made and could not delete (a failed region's copy whose deletion AWS refused): the
   * sweep reads this, and removes them once the bake has ended.
   */
  leftovers: z.array(z.string()).optional(),
  /** How often the copy step has looked at the copies so far: it backs off as waits do. */
  copyLooks: z.number().int().nonnegative().optional(),
  /** A region retry: the bake that made the image; its copy carries that bake's operation tag. */
  bakeOperationId: z.string().optional(),
  cleanup: z.array(z.string()).optional(),
  /** What the bake cost in AWS calls so far, and how many the SDK had to retry (throttling, 5xx). */
  awsCalls: z.number().int().nonnegative().optional(),
  awsRetries: z.number().int().nonnegative().optional(),
});
export type BakeState = z.infer<typeof bakeState>;

/**
 * The request's own options, as /bake parsed them, and the app's config as it was when asked: a
 * config applied by a restart mid-bake does not change a bake already under way.
 */
export const bakeParams = z.object({
  config: appConfig,
  base: z.string().optional(),
  commit: z.string().optional(),
  /** The artifact's expected sha256 (`/bake --sha256`): the builder checks it before provision runs. */
  artifactSha256: z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 is 64 lowercase hex digits').optional(),
  force: z.boolean().default(false),
  /** `/bake --retry-region`: only copy and share the baked image to this region, and add it to the release. */
  retryRegion: awsRegion.optional(),
  /** Why the version is baked again, for its history (a Rebake says what was stale); /bake --force says so itself. */
  why: z.string().max(300).optional(),
  requestedByName: z.string(),
});
export type BakeParams = z.infer<typeof bakeParams>;
