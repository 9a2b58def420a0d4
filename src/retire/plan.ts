/*
 * Which of an app's images a prune removes, and why it keeps each other one: decided from facts
 * (retire.ts gathers them), without I/O. Images go together by bake (one operation: the home image
 * and its copies), so a bake is kept or removed whole, in every region.
 */

export interface BakedImage {
  imageId: string;
  region: string;
  name: string;
  version?: string;
  /** The bake that made it (its `bakery:operation` tag). */
  operationId: string;
  createdAt: number;
  snapshotIds: string[];
}

export interface Bake {
  operationId: string;
  version?: string;
  createdAt: number;
  images: BakedImage[];
}

export interface PrunePlan {
  remove: Bake[];
  keep: { bake: Bake; why: string[] }[];
}

export interface PruneOptions {
  /** The newest bakes always kept. */
  keep: number;
  /** Only bakes older than this are removed. */
  olderThanMs?: number;
  now: number;
}

/** `inUse`: why an image may not go (live, canary, rollback target, an instance, a launch template…), by image id. */
export function planPrune(images: BakedImage[], inUse: Map<string, string[]>, options: PruneOptions): PrunePlan {
  const bakes = new Map<string, Bake>();
  for (const image of images) {
    const bake = bakes.get(image.operationId) ?? { operationId: image.operationId, version: image.version, createdAt: image.createdAt, images: [] };
    bake.images.push(image);
    bake.createdAt = Math.min(bake.createdAt, image.createdAt);
    bakes.set(image.operationId, bake);
  }
  const newestFirst = [...bakes.values()].sort((a, b) => b.createdAt - a.createdAt);
  const plan: PrunePlan = { remove: [], keep: [] };
  newestFirst.forEach((bake, index) => {
    const why = [...new Set(bake.images.flatMap((image) => (inUse.get(image.imageId) ?? []).map((reason) => `${reason} (${image.region})`)))];
    if (index < options.keep) why.push(`among the newest ${options.keep}`);
    if (options.olderThanMs !== undefined && options.now - bake.createdAt < options.olderThanMs) why.push('not old enough');
    if (why.length > 0) plan.keep.push({ bake, why });
    else plan.remove.push(bake);
  });
  return plan;
}
