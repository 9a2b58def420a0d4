import type { Tag } from '@aws-sdk/client-ec2';
import type { AwsClients } from './clients.js';
import { snapshotIdsOf, timeOf } from './images.js';
import { tagKeys } from './provenance.js';
import { terminateInstances } from './builder.js';

/*
 * Everything Bakery tagged in a region that the sweep looks at: builders, their volumes, images and
 * snapshots. One paginated, tag-filtered describe per kind (pages as large as EC2 gives), never one
 * call per resource.
 */

export type TaggedKind = 'builder' | 'volume' | 'image' | 'snapshot';

export interface TaggedResource {
  kind: TaggedKind;
  id: string;
  region: string;
  /** The operation that made it (`bakery:operation`); Bakery tags everything it makes with it. */
  operationId?: string;
  app?: string;
  version?: string;
  createdAt?: number;
  state?: string;
  /** A volume's instance, while attached. */
  attachedTo?: string;
  /** An image's snapshots. */
  snapshotIds?: string[];
  /** A builder's ClientToken: set by the RunInstances that made it, and by nothing after (unlike a tag). */
  clientToken?: string;
}

const ours = { Name: `tag:${tagKeys.createdBy}`, Values: ['bakery'] };
const builders = { Name: `tag:${tagKeys.role}`, Values: ['builder'] };

function fromTags(tags: Tag[] | undefined): Pick<TaggedResource, 'operationId' | 'app' | 'version'> {
  const value = (key: string) => tags?.find((tag) => tag.Key === key)?.Value;
  return { operationId: value(tagKeys.operation), app: value(tagKeys.app), version: value(tagKeys.version) };
}

/** Every builder (not yet terminated), builder volume, image and snapshot Bakery tagged in the region. */
export async function listTagged(aws: AwsClients, region: string): Promise<TaggedResource[]> {
  const ec2 = await aws.ec2(region);
  const pages = { pageSize: 1000 };
  const found: TaggedResource[] = [];
  const instances = ec2.paginateDescribeInstances(
    { Filters: [ours, builders, { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] }] },
    pages,
  );
  for await (const page of instances) {
    for (const instance of (page.Reservations ?? []).flatMap((reservation) => reservation.Instances ?? [])) {
      if (!instance.InstanceId) continue;
      found.push({ kind: 'builder', id: instance.InstanceId, region, ...fromTags(instance.Tags), createdAt: instance.LaunchTime?.getTime(), state: instance.State?.Name, ...(instance.ClientToken ? { clientToken: instance.ClientToken } : {}) });
    }
  }
  for await (const page of ec2.paginateDescribeVolumes({ Filters: [ours, builders] }, { pageSize: 500 })) {
    for (const volume of page.Volumes ?? []) {
      if (!volume.VolumeId) continue;
      const attachedTo = volume.Attachments?.find((attachment) => attachment.InstanceId)?.InstanceId;
      found.push({ kind: 'volume', id: volume.VolumeId, region, ...fromTags(volume.Tags), createdAt: volume.CreateTime?.getTime(), state: volume.State, ...(attachedTo ? { attachedTo } : {}) });
    }
  }
  // Deprecated and disabled images are listed only when asked for: a leftover may be either.
  for await (const page of ec2.paginateDescribeImages({ Owners: ['self'], Filters: [ours], IncludeDeprecated: true, IncludeDisabled: true }, pages)) {
    for (const image of page.Images ?? []) {
      if (!image.ImageId) continue;
      found.push({ kind: 'image', id: image.ImageId, region, ...fromTags(image.Tags), createdAt: timeOf(image.CreationDate), state: image.State, snapshotIds: snapshotIdsOf(image) });
    }
  }
  for await (const page of ec2.paginateDescribeSnapshots({ OwnerIds: ['self'], Filters: [ours] }, pages)) {
    for (const snapshot of page.Snapshots ?? []) {
      if (!snapshot.SnapshotId) continue;
      found.push({ kind: 'snapshot', id: snapshot.SnapshotId, region, ...fromTags(snapshot.Tags), createdAt: snapshot.StartTime?.getTime(), state: snapshot.State });
    }
  }
  return found;
}

/** Removes one resource: terminates a builder, deregisters an image, deletes a snapshot or a volume. */
export async function removeTagged(aws: AwsClients, resource: TaggedResource): Promise<void> {
  const ec2 = await aws.ec2(resource.region);
  switch (resource.kind) {
    case 'builder':
      return terminateInstances(aws, resource.region, [resource.id]);
    case 'image':
      return void (await ec2.deregisterImage({ ImageId: resource.id }));
    case 'snapshot':
      return void (await ec2.deleteSnapshot({ SnapshotId: resource.id }));
    case 'volume':
      return void (await ec2.deleteVolume({ VolumeId: resource.id }));
  }
}
