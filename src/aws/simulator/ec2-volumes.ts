import type { DeleteVolumeCommandInput, DescribeVolumesCommandInput, Volume } from '@aws-sdk/client-ec2';
import { required, state, type HandlerContext } from './context.js';
import { fail } from './errors.js';
import { applyFilters, tagList } from './filters.js';
import { page } from './pagination.js';
import { instanceState, instanceVisible, type InstanceRecord, type VolumeRecord } from './world.js';

/*
 * EBS volumes: an instance's root volume while the instance is not terminated (in use, attached,
 * deleted with it), and volumes on their own (available), such as a builder launched without
 * DeleteOnTermination leaves behind.
 */

type Listed = { volume: VolumeRecord; attachedTo?: InstanceRecord };

function listed(ctx: HandlerContext): Listed[] {
  const roots = state(ctx)
    .instances.filter((instance) => instanceVisible(instance, ctx.now) && instanceState(instance, ctx.now) !== 'terminated')
    .map((instance) => ({
      volume: { volumeId: instance.volumeId, region: instance.region, createdAt: instance.launchedAt, size: 8, tags: instance.volumeTags },
      attachedTo: instance,
    }));
  return [...roots, ...state(ctx).volumes.map((volume) => ({ volume }))];
}

function describe(ctx: HandlerContext, { volume, attachedTo }: Listed): Volume {
  const detaching = attachedTo && instanceState(attachedTo, ctx.now) === 'shutting-down';
  return {
    VolumeId: volume.volumeId,
    Size: volume.size,
    SnapshotId: volume.snapshotId ?? '',
    AvailabilityZone: `${volume.region}a`,
    State: attachedTo ? (detaching ? 'deleting' : 'in-use') : 'available',
    CreateTime: new Date(volume.createdAt),
    VolumeType: 'gp3',
    Encrypted: false,
    Tags: tagList(volume.tags),
    Attachments: attachedTo
      ? [{ VolumeId: volume.volumeId, InstanceId: attachedTo.instanceId, Device: '/dev/xvda', State: detaching ? 'detaching' : 'attached', DeleteOnTermination: true, AttachTime: new Date(attachedTo.launchedAt) }]
      : [],
  };
}

function describeVolumes(ctx: HandlerContext, input: DescribeVolumesCommandInput) {
  if (input.VolumeIds?.length && input.MaxResults !== undefined) fail('InvalidParameterCombination', 'The parameter volumeSet cannot be used with the parameter maxResults');
  let volumes = listed(ctx);
  if (input.VolumeIds?.length) {
    const missing = input.VolumeIds.filter((id) => !volumes.some((v) => v.volume.volumeId === id));
    if (missing.length) fail('InvalidVolume.NotFound', `The volume '${missing.join(', ')}' does not exist.`);
    volumes = volumes.filter((v) => input.VolumeIds!.includes(v.volume.volumeId));
  }
  volumes = applyFilters(
    volumes,
    input.Filters,
    {
      'volume-id': (v) => v.volume.volumeId,
      status: (v) => describe(ctx, v).State,
      'attachment.instance-id': (v) => v.attachedTo?.instanceId,
      'snapshot-id': (v) => v.volume.snapshotId,
    },
    (v) => v.volume.tags,
  );
  const shown = page(volumes, input, { command: 'DescribeVolumes', min: 5, max: 500 });
  return { Volumes: shown.items.map((v) => describe(ctx, v)), ...(shown.NextToken ? { NextToken: shown.NextToken } : {}) };
}

function deleteVolume(ctx: HandlerContext, input: DeleteVolumeCommandInput) {
  const id = required(input.VolumeId, 'VolumeId');
  if (!/^vol-[0-9a-f]{8}([0-9a-f]{9})?$/.test(id)) fail('InvalidParameterValue', `Invalid id: "${id}" (expecting "vol-...")`);
  const found = listed(ctx).find((v) => v.volume.volumeId === id);
  if (!found) fail('InvalidVolume.NotFound', `The volume '${id}' does not exist.`);
  if (found.attachedTo) fail('VolumeInUse', `Volume ${id} is currently attached to ${found.attachedTo.instanceId}`);
  state(ctx).volumes = state(ctx).volumes.filter((volume) => volume.volumeId !== id);
  return {};
}

export const volumeHandlers = { DescribeVolumes: describeVolumes, DeleteVolume: deleteVolume };
