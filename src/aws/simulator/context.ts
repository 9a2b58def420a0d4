import { fail } from './errors.js';
import type { Faults } from './faults.js';
import type { SimulatorTimings } from './timings.js';
import {
  instanceVisible,
  regionState,
  type ImageRecord,
  type InstanceRecord,
  type RegionState,
  type SnapshotRecord,
  type WorldData,
} from './world.js';

/** Who signed a call: Bakery's own credentials, or a session STS issued (sts.ts). */
export interface Caller {
  account: string;
  arn: string;
}

/** What a command handler gets: the world, the region its client is in, the time of the call, who signed it. */
export interface HandlerContext {
  world: WorldData;
  region: string;
  /** Set for a call: its credentials' account and principal (sts.ts); Bakery's own elsewhere. */
  caller?: Caller;
  /** Other accounts' images of a region this account may launch: public, or shared with it. */
  sharedImages?: (region: string) => ImageRecord[];
  now: number;
  timings: SimulatorTimings;
  faults: Faults;
}

/** A command handler: SDK input in, SDK output (without $metadata) out; throws SimulatedError. */
export type Handler = (ctx: HandlerContext, input: any) => object;

export function state(ctx: HandlerContext, region = ctx.region): RegionState {
  return regionState(ctx.world, region);
}

const idPatterns = {
  instance: /^i-[0-9a-f]{8}([0-9a-f]{9})?$/,
  image: /^ami-[0-9a-f]{8}([0-9a-f]{9})?$/,
  snapshot: /^snap-[0-9a-f]{8}([0-9a-f]{9})?$/,
};

function notFoundMessage(kind: string, ids: string[]): string {
  return ids.length === 1 ? `The ${kind} ID '${ids[0]}' does not exist` : `The ${kind} IDs '${ids.join(', ')}' do not exist`;
}

export function findInstances(ctx: HandlerContext, ids: string[]): InstanceRecord[] {
  const malformed = ids.find((id) => !idPatterns.instance.test(id));
  if (malformed) fail('InvalidInstanceID.Malformed', `Invalid id: "${malformed}"`);
  const visible = state(ctx).instances.filter((instance) => instanceVisible(instance, ctx.now));
  const missing = ids.filter((id) => !visible.some((instance) => instance.instanceId === id));
  if (missing.length) fail('InvalidInstanceID.NotFound', notFoundMessage('instance', missing));
  return visible.filter((instance) => ids.includes(instance.instanceId));
}

/** The images of a region this account sees: its own (with Amazon's, kept beside them), and others' shared with it. */
export function visibleImages(ctx: HandlerContext, region = ctx.region): ImageRecord[] {
  return [...state(ctx, region).images, ...(ctx.sharedImages?.(region) ?? [])];
}

export function findImages(ctx: HandlerContext, ids: string[], region = ctx.region): ImageRecord[] {
  const malformed = ids.find((id) => !idPatterns.image.test(id));
  if (malformed) fail('InvalidAMIID.Malformed', `Invalid id: "${malformed}" (expecting "ami-...")`);
  const images = visibleImages(ctx, region);
  const missing = ids.filter((id) => !images.some((image) => image.imageId === id));
  if (missing.length) fail('InvalidAMIID.NotFound', `The image id '[${missing.join(', ')}]' does not exist`);
  return images.filter((image) => ids.includes(image.imageId));
}

export function findImage(ctx: HandlerContext, id: string | undefined, region = ctx.region): ImageRecord {
  if (!id) fail('MissingParameter', 'The request must contain the parameter ImageId');
  return findImages(ctx, [id], region)[0]!;
}

export function findSnapshots(ctx: HandlerContext, ids: string[]): SnapshotRecord[] {
  const malformed = ids.find((id) => !idPatterns.snapshot.test(id));
  if (malformed) fail('InvalidSnapshotID.Malformed', `Invalid id: "${malformed}" (expecting "snap-...")`);
  const snapshots = state(ctx).snapshots;
  const missing = ids.filter((id) => !snapshots.some((snapshot) => snapshot.snapshotId === id));
  if (missing.length) fail('InvalidSnapshot.NotFound', `The snapshot '${missing.join(', ')}' does not exist.`);
  return snapshots.filter((snapshot) => ids.includes(snapshot.snapshotId));
}

export function findSnapshot(ctx: HandlerContext, id: string | undefined): SnapshotRecord {
  if (!id) fail('MissingParameter', 'The request must contain the parameter SnapshotId');
  return findSnapshots(ctx, [id])[0]!;
}

export function required<T>(value: T | undefined, name: string): T {
  if (value === undefined || value === null || value === '') fail('MissingParameter', `The request must contain the parameter ${name}`);
  return value;
}

/**
 * Client-token idempotency, as EC2 does it: the same token with the same request returns the first
 * result again; with a different request it is an IdempotentParameterMismatch.
 */
export function idempotent(
  ctx: HandlerContext,
  command: string,
  token: string | undefined,
  input: object,
  create: () => string,
): { id: string; repeated: boolean } {
  if (!token) return { id: create(), repeated: false };
  const request = stableJson({ ...input, ClientToken: undefined, DryRun: undefined });
  const tokens = state(ctx).clientTokens;
  const previous = tokens[`${command}:${token}`];
  if (previous) {
    if (previous.request !== request) {
      fail('IdempotentParameterMismatch', `Client token ${token} was already used with different parameters`);
    }
    return { id: previous.resultId, repeated: true };
  }
  const id = create();
  tokens[`${command}:${token}`] = { command, request, resultId: id };
  return { id, repeated: false };
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}
