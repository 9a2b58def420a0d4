import { z } from 'zod';
import { appConfig } from '../../config/apps.js';

/** What a bake's steps have learned so far; written after each step, read back on resume. */
export const bakeState = z.object({
  /** The key the builder's console lines for this bake carry; chosen before launch, so a relaunch sends the same user data. */
  resultKey: z.string().regex(/^[0-9a-f]{32}$/).optional(),
  /** The sha256 of the artifact the builder downloaded, as it reported it. */
  artifactSha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  baseAmi: z.string().optional(),
  baseAmiName: z.string().optional(),
  baseAmiCreatedAt: z.number().optional(),
  /** How the image is made (recipe.ts), from the config as it was when the bake was asked. */
  recipeHash: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  existingAmi: z.string().optional(),
  builderId: z.string().optional(),
  /** When RunInstances returned the builder: until a grace after it, EC2 may not know the id yet. */
  builderLaunchedAt: z.number().optional(),
  imageName: z.string().optional(),
  imageId: z.string().optional(),
  /** Region → AMI id of each copy. */
  copies: z.record(z.string(), z.string()).optional(),
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
  requestedByName: z.string(),
});
export type BakeParams = z.infer<typeof bakeParams>;
