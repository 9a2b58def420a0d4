import type { HandlerContext } from './context.js';
import { fail } from './errors.js';
import type { ImageRecord, InstanceRecord } from './world.js';

/*
 * EC2's API is eventually consistent: right after RunInstances, CreateImage or CopyImage, a describe
 * of the new id (or CreateTags on it) answers NotFound for a while, and filtered describes leave it
 * out. AWS's guide: this does not mean the resource does not exist.
 */

function visible(ctx: HandlerContext, createdAt: number): boolean {
  return ctx.now >= createdAt + ctx.faults.invisibleMs(ctx.timings.newIdInvisibleMs);
}

export const instanceSettled = (ctx: HandlerContext, instance: InstanceRecord): boolean => visible(ctx, instance.launchedAt);
export const imageSettled = (ctx: HandlerContext, image: ImageRecord): boolean => visible(ctx, image.createdAt);

/** Fails as EC2 does when any of these instances, asked for by id, is too new to be seen. */
export function requireSettledInstances(ctx: HandlerContext, instances: InstanceRecord[]): void {
  const fresh = instances.filter((instance) => !instanceSettled(ctx, instance)).map((instance) => instance.instanceId);
  if (fresh.length === 1) fail('InvalidInstanceID.NotFound', `The instance ID '${fresh[0]}' does not exist`);
  if (fresh.length > 1) fail('InvalidInstanceID.NotFound', `The instance IDs '${fresh.join(', ')}' do not exist`);
}

export function requireSettledImages(ctx: HandlerContext, images: ImageRecord[]): void {
  const fresh = images.filter((image) => !imageSettled(ctx, image)).map((image) => image.imageId);
  if (fresh.length > 0) fail('InvalidAMIID.NotFound', `The image id '[${fresh.join(', ')}]' does not exist`);
}
