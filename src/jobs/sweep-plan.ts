import { clientToken } from '../aws/provenance.js';
import type { TaggedKind, TaggedResource } from '../aws/tagged.js';
import type { OperationStanding } from '../store/items.js';

/*
 * What the sweep removes, decided without I/O from what Bakery tagged and what the store says of the
 * operations that made it. Only Bakery's tagged resources ever reach this; of those, only the leftovers
 * of an operation that has ended (or was abandoned long ago) go, and never a baked image. A tag is no
 * proof (anyone with ec2:CreateTags can set it): only an id the operation recorded goes; a tagged
 * resource it never recorded is reported, never removed.
 */

const HOUR_MS = 3_600_000;

/**
 * A running operation whose lease lapsed this long ago is abandoned. Its owner renews the lease however
 * long the operation waits, and any live replica takes a lapsed one over within a minute
 * (BAKERY_LEASE_SECONDS): a day without an owner means every replica was down for a day, or the
 * operation cannot be resumed. Should Bakery come back for it later, it fails and cleans up as usual.
 */
export const ABANDONED_AFTER_MS = 24 * HOUR_MS;

/** Removal order: what holds a resource goes before it (an instance its volume, an image its snapshots). */
export const removalOrder: TaggedKind[] = ['builder', 'image', 'snapshot', 'volume'];

export interface SweepDecision {
  resource: TaggedResource;
  why: string;
}

export interface SweepPlan {
  remove: SweepDecision[];
  keep: SweepDecision[];
  /** Tagged as an ended operation's, which never recorded it: kept, and said, for a person to look at. */
  unrecorded: SweepDecision[];
}

/**
 * The ids an operation recorded of what it made (a bake's builder, its volumes, image, snapshots,
 * copies and leftovers), and a builder the RunInstances Bakery sent for it made (its ClientToken).
 */
export function recordedBy(operation: OperationStanding): Set<string> {
  const state = operation.state ?? {};
  const copies = Object.values(state.regions ?? {}).flatMap((copy) => [copy.imageId, ...(copy.snapshotIds ?? [])]);
  const ids = [state.builderId, ...(state.builderVolumes ?? []), state.imageId, ...(state.snapshotIds ?? []), ...copies, ...(state.leftovers ?? [])];
  return new Set(ids.filter((id): id is string => id !== undefined));
}

export interface SweepFacts {
  resources: TaggedResource[];
  /** The operations the resources name, as the store has them (absent: not in this Bakery's table). */
  operations: Map<string, OperationStanding>;
  /** Image ids of recorded releases, every region. */
  releasedImages: Set<string>;
  now: number;
  abandonedAfterMs?: number;
}

const hours = (ms: number): string => `${Math.floor(ms / HOUR_MS)} h`;

/** Why the operation no longer holds its resources, or undefined while it does (it runs, its lease is recent). */
function ended(operation: OperationStanding, now: number, abandonedAfterMs: number): string | undefined {
  if (operation.status !== 'running') return `its ${operation.kind} ${operation.status}`;
  const lapsedAt = operation.lease?.until ?? operation.updatedAt;
  if (now - lapsedAt >= abandonedAfterMs) return `its ${operation.kind} was abandoned (no replica for ${hours(now - lapsedAt)})`;
  return undefined;
}

export function planSweep(facts: SweepFacts): SweepPlan {
  const { resources, operations, releasedImages, now } = facts;
  const abandonedAfterMs = facts.abandonedAfterMs ?? ABANDONED_AFTER_MS;
  const plan: SweepPlan = { remove: [], keep: [], unrecorded: [] };
  const keep = (resource: TaggedResource, why: string): void => void plan.keep.push({ resource, why });
  const removeIfRecorded = (resource: TaggedResource, operation: OperationStanding, why: string): void => {
    if (isRecorded(resource, operation)) return void plan.remove.push({ resource, why });
    plan.unrecorded.push({ resource, why: `tagged as ${operation.kind} ${operation.id}'s, which never recorded it: left alone` });
  };
  const snapshotsOfKeptImages = new Set<string>();
  const recorded = new Map<string, Set<string>>();
  const recordedOf = (operation: OperationStanding): Set<string> => {
    if (!recorded.has(operation.id)) recorded.set(operation.id, recordedBy(operation));
    return recorded.get(operation.id)!;
  };
  // What EC2 says of a recorded image is as good as a record: its snapshots are the bake's.
  const snapshotsOfRecordedImages = new Set(
    resources.flatMap((resource) => {
      const operation = resource.kind === 'image' && resource.operationId ? operations.get(resource.operationId) : undefined;
      return operation && recordedOf(operation).has(resource.id) ? (resource.snapshotIds ?? []) : [];
    }),
  );
  const isRecorded = (resource: TaggedResource, operation: OperationStanding): boolean =>
    recordedOf(operation).has(resource.id) ||
    (resource.kind === 'snapshot' && snapshotsOfRecordedImages.has(resource.id)) ||
    (resource.kind === 'builder' && resource.clientToken === clientToken(operation.id, 'builder'));

  const decide = (resource: TaggedResource): void => {
    const operation = resource.operationId ? operations.get(resource.operationId) : undefined;
    if (!resource.operationId) return keep(resource, 'it names no operation');
    // Another Bakery's (another table), or an operation so old its record expired: not ours to judge.
    if (!operation) return keep(resource, `its operation ${resource.operationId} is not in this Bakery's table`);
    const gone = ended(operation, now, abandonedAfterMs);
    if (!gone) return keep(resource, `its ${operation.kind} ${operation.id} is running`);
    const succeeded = operation.status === 'succeeded';
    switch (resource.kind) {
      case 'builder':
        return removeIfRecorded(resource, operation, `a builder left running: ${gone}`);
      case 'volume':
        if (resource.attachedTo) return keep(resource, `attached to ${resource.attachedTo}; it goes with it, or with the next sweep`);
        return removeIfRecorded(resource, operation, `a builder's volume left behind: ${gone}`);
      case 'image':
        // A baked image is a product, not a leak: prune retires it.
        if (releasedImages.has(resource.id)) return keep(resource, `the image of release ${resource.app ?? '?'} ${resource.version ?? '?'}`);
        if (operation.state?.leftovers?.includes(resource.id)) return removeIfRecorded(resource, operation, `a failed region's copy its bake could not delete: ${gone}`);
        if (succeeded) return keep(resource, 'baked by a bake that succeeded (`/bakery prune` retires old images)');
        return removeIfRecorded(resource, operation, `a half-made image: ${gone}`);
      case 'snapshot': {
        if (snapshotsOfKeptImages.has(resource.id)) return keep(resource, 'a snapshot of an image that stays');
        // A successful bake's snapshot without its image (its deregistration went only half way) goes only once old.
        if (succeeded && now - (resource.createdAt ?? now) < abandonedAfterMs) return keep(resource, 'a snapshot of a bake that succeeded, less than a day old');
        return removeIfRecorded(resource, operation, `a snapshot left behind: ${gone}`);
      }
    }
  };

  // Images first, so their snapshots know which images stay; a snapshot of any image not removed stays.
  const byKind = (kind: TaggedKind) => resources.filter((resource) => resource.kind === kind);
  for (const image of byKind('image')) decide(image);
  const removedImages = new Set(plan.remove.map((decision) => decision.resource.id));
  for (const image of byKind('image')) if (!removedImages.has(image.id)) for (const id of image.snapshotIds ?? []) snapshotsOfKeptImages.add(id);
  for (const kind of removalOrder.filter((kind) => kind !== 'image')) for (const resource of byKind(kind)) decide(resource);
  const rank = (decision: SweepDecision) => removalOrder.indexOf(decision.resource.kind);
  plan.remove.sort((a, b) => rank(a) - rank(b));
  return plan;
}
