import type {
  DeleteSnapshotCommandInput,
  DescribeSnapshotAttributeCommandInput,
  DescribeSnapshotsCommandInput,
  ModifySnapshotAttributeCommandInput,
  Snapshot,
} from '@aws-sdk/client-ec2';
import { findSnapshot, findSnapshots, state, type HandlerContext } from './context.js';
import { isAwsManaged } from './kms.js';
import { fail } from './errors.js';
import { applyFilters, tagList } from './filters.js';
import { page } from './pagination.js';
import { snapshotState, type SnapshotRecord } from './world.js';

function describe(ctx: HandlerContext, snapshot: SnapshotRecord): Snapshot {
  const status = snapshotState(snapshot, ctx.now);
  const progress =
    status === 'completed' || snapshot.completedAt === null
      ? status === 'completed' ? 100 : 0
      : Math.floor((100 * (ctx.now - snapshot.startedAt)) / Math.max(1, snapshot.completedAt - snapshot.startedAt));
  return {
    SnapshotId: snapshot.snapshotId,
    VolumeId: snapshot.volumeId,
    State: status,
    Progress: `${progress}%`,
    StartTime: new Date(snapshot.startedAt),
    OwnerId: snapshot.ownerId,
    OwnerAlias: snapshot.ownerAlias,
    Description: snapshot.description,
    VolumeSize: snapshot.volumeSize,
    Encrypted: snapshot.kmsKeyId !== undefined,
    ...(snapshot.kmsKeyId ? { KmsKeyId: snapshot.kmsKeyId } : {}),
    StorageTier: 'standard',
    Tags: tagList(snapshot.tags),
  };
}

function describeSnapshots(ctx: HandlerContext, input: DescribeSnapshotsCommandInput) {
  const account = ctx.world.accountId;
  // Without ids, like EC2: your own snapshots and those shared with you (Amazon's base snapshots are private).
  let snapshots = input.SnapshotIds?.length
    ? findSnapshots(ctx, input.SnapshotIds)
    : state(ctx).snapshots.filter((s) => s.ownerId === account || s.createVolumePermissions.includes(account));
  if (input.OwnerIds?.length) {
    const owners = input.OwnerIds;
    snapshots = snapshots.filter((s) =>
      owners.some((owner) => (owner === 'self' ? s.ownerId === account : owner === s.ownerAlias || owner === s.ownerId)),
    );
  }
  snapshots = applyFilters(
    snapshots,
    input.Filters,
    {
      'snapshot-id': (s) => s.snapshotId,
      status: (s) => snapshotState(s, ctx.now),
      'owner-id': (s) => s.ownerId,
      'owner-alias': (s) => s.ownerAlias,
      'volume-id': (s) => s.volumeId,
      description: (s) => s.description,
    },
    (s) => s.tags,
  );
  if (input.SnapshotIds?.length && input.MaxResults !== undefined) fail('InvalidParameterCombination', 'The parameter snapshotSet cannot be used with the parameter maxResults');
  const shown = page(snapshots, input, { command: 'DescribeSnapshots', min: 5, max: 1000 });
  return { Snapshots: shown.items.map((snapshot) => describe(ctx, snapshot)), ...(shown.NextToken ? { NextToken: shown.NextToken } : {}) };
}

function ownSnapshot(ctx: HandlerContext, snapshotId: string | undefined): SnapshotRecord {
  const snapshot = findSnapshot(ctx, snapshotId);
  if (snapshot.ownerId !== ctx.world.accountId) fail('AuthFailure', `Not authorized for snapshot:${snapshot.snapshotId}`);
  return snapshot;
}

function modifySnapshotAttribute(ctx: HandlerContext, input: ModifySnapshotAttributeCommandInput) {
  const snapshot = ownSnapshot(ctx, input.SnapshotId);
  if (input.Attribute !== undefined && input.Attribute !== 'createVolumePermission') {
    fail('UnsupportedOperation', `The simulated AWS does not model the snapshot attribute '${input.Attribute}'`);
  }
  const byUserIds = input.UserIds ?? [];
  const add = [...(input.CreateVolumePermission?.Add ?? []).flatMap((p) => (p.UserId ? [p.UserId] : [])), ...(input.OperationType === 'add' ? byUserIds : [])];
  const remove = [...(input.CreateVolumePermission?.Remove ?? []).flatMap((p) => (p.UserId ? [p.UserId] : [])), ...(input.OperationType === 'remove' ? byUserIds : [])];
  const invalid = [...add, ...remove].find((id) => !/^\d{12}$/.test(id));
  if (invalid !== undefined) fail('InvalidParameterValue', `Value (${invalid}) for parameter userId is invalid.`);
  if (add.length > 0 && isAwsManaged(ctx.world, snapshot.kmsKeyId)) fail('OperationNotPermitted', 'Encrypted snapshots with EBS default key cannot be shared');
  snapshot.createVolumePermissions = [...new Set([...snapshot.createVolumePermissions, ...add])].filter((id) => !remove.includes(id));
  return {};
}

function describeSnapshotAttribute(ctx: HandlerContext, input: DescribeSnapshotAttributeCommandInput) {
  const snapshot = ownSnapshot(ctx, input.SnapshotId);
  if (input.Attribute !== 'createVolumePermission') {
    fail('UnsupportedOperation', `The simulated AWS does not model the snapshot attribute '${input.Attribute}'`);
  }
  return { SnapshotId: snapshot.snapshotId, CreateVolumePermissions: snapshot.createVolumePermissions.map((UserId) => ({ UserId })) };
}

function deleteSnapshot(ctx: HandlerContext, input: DeleteSnapshotCommandInput) {
  const snapshot = ownSnapshot(ctx, input.SnapshotId);
  const user = state(ctx).images.find((image) => image.snapshotId === snapshot.snapshotId);
  if (user) fail('InvalidSnapshot.InUse', `The snapshot ${snapshot.snapshotId} is currently in use by ${user.imageId}`);
  state(ctx).snapshots = state(ctx).snapshots.filter((other) => other !== snapshot);
  return {};
}

export const snapshotHandlers = {
  DescribeSnapshots: describeSnapshots,
  ModifySnapshotAttribute: modifySnapshotAttribute,
  DescribeSnapshotAttribute: describeSnapshotAttribute,
  DeleteSnapshot: deleteSnapshot,
};
