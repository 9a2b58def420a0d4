import type { RetireConfig } from '../config/retire.js';
import type { RetireStage, Retirement } from '../store/items.js';

/*
 * Which of an app's images a prune retires, how far, and why it keeps each other one: decided from
 * facts (retire.ts gathers them), without I/O. Images go together by bake (one operation: the home
 * image and its copies), so a bake is kept or retired whole, in every region. The method: README.md.
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
  /** EC2's state: available, pending, disabled… */
  state: string;
  /** EC2's DeprecationTime, when one is set (past or to come). */
  deprecatedAt?: number;
}

export interface Bake {
  operationId: string;
  version?: string;
  createdAt: number;
  images: BakedImage[];
}

/** What a retirement does to a bake now. */
export type RetireStep =
  /** Deregister and delete its snapshots: at once (no stages), or its last stage is due. */
  | { kind: 'deregister' }
  /** Starts its retirement: EC2 deprecates its images at `at`. */
  | { kind: 'deprecate'; at: number }
  | { kind: 'disable' }
  /** In retirement; its next stage is due at `dueAt`. */
  | { kind: 'wait'; stage: RetireStage; next: 'disable' | 'deregister'; dueAt: number };

export interface PrunePlan {
  /** Bakes removed now, or moved on (or waiting) in their retirement, with the record of where they stand. */
  retire: { bake: Bake; step: RetireStep; record?: Retirement }[];
  /** Bakes in retirement that are protected again (in use, pinned): their images are made usable again. */
  restore: { bake: Bake; record: Retirement; why: string[] }[];
  keep: { bake: Bake; why: string[] }[];
}

export interface PruneOptions {
  /** The newest bakes always kept. */
  keep: number;
  /** Only bakes older than this are removed. */
  olderThanMs?: number;
  now: number;
  /** false: only move on retirements already started (the digest's run); no new bake starts one. */
  start?: boolean;
}

/** Bakes from their images, newest first. */
function bakesOf(images: BakedImage[]): Bake[] {
  const bakes = new Map<string, Bake>();
  for (const image of images) {
    const bake = bakes.get(image.operationId) ?? { operationId: image.operationId, version: image.version, createdAt: image.createdAt, images: [] };
    bake.images.push(image);
    bake.createdAt = Math.min(bake.createdAt, image.createdAt);
    bakes.set(image.operationId, bake);
  }
  return [...bakes.values()].sort((a, b) => b.createdAt - a.createdAt);
}

/** Where a bake in retirement goes next; without stages (the section was removed since), it goes at once. */
function nextStep(record: Retirement, stages: RetireConfig | undefined, now: number): RetireStep {
  if (!stages || record.stage === 'deregistered') return { kind: 'deregister' };
  const next = record.stage === 'deprecated' ? 'disable' : 'deregister';
  const dueAt = record.since + (next === 'disable' ? stages.disableAfter : stages.deregisterAfter);
  return now >= dueAt ? { kind: next } : { kind: 'wait', stage: record.stage, next, dueAt };
}

/** Why images may not go, by image id: in use (live, canary, rollback target, pinned, an instance, a launch template…), or not known. */
export interface ImageUses {
  inUse: Map<string, string[]>;
  /** Where an account could not be read: whether the image is in use there is not known, so it is neither retired nor restored. */
  unchecked: Map<string, string[]>;
}

/**
 * `uses`: why an image may not go; `records`: the bakes in retirement, by bake. Only those protections stop
 * or undo a retirement (an unchecked one only stops it): the run's own --keep and --older-than choose which
 * bakes start one.
 */
export function planPrune(
  images: BakedImage[],
  uses: ImageUses,
  records: Map<string, Retirement>,
  stages: RetireConfig | undefined,
  options: PruneOptions,
): PrunePlan {
  const plan: PrunePlan = { retire: [], restore: [], keep: [] };
  bakesOf(images).forEach((bake, index) => {
    const reasons = (of: Map<string, string[]>) => [...new Set(bake.images.flatMap((image) => (of.get(image.imageId) ?? []).map((reason) => `${reason} (${image.region})`)))];
    const protectedBy = reasons(uses.inUse);
    const record = records.get(bake.operationId);
    if (protectedBy.length > 0) {
      if (record) plan.restore.push({ bake, record, why: protectedBy });
      else plan.keep.push({ bake, why: protectedBy });
      return;
    }
    // Not known to be unused: kept as it is, a retirement under way neither moved on nor undone.
    const unknown = reasons(uses.unchecked);
    if (unknown.length > 0) {
      plan.keep.push({ bake, why: unknown });
      return;
    }
    if (record) {
      plan.retire.push({ bake, record, step: nextStep(record, stages, options.now) });
      return;
    }
    const why: string[] = [];
    if (index < options.keep) why.push(`among the newest ${options.keep}`);
    if (options.olderThanMs !== undefined && options.now - bake.createdAt < options.olderThanMs) why.push('not old enough');
    if (why.length > 0) plan.keep.push({ bake, why });
    else if (options.start !== false) plan.retire.push({ bake, step: stages ? { kind: 'deprecate', at: options.now + stages.deprecateAfter } : { kind: 'deregister' } });
  });
  return plan;
}

/** Whether carrying the plan out changes anything now (a bake waiting for its next stage does not). */
export function actsNow(plan: PrunePlan): boolean {
  return plan.restore.length > 0 || plan.retire.some(({ step }) => step.kind !== 'wait');
}
