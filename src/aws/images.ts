import type { Image } from '@aws-sdk/client-ec2';
import type { BaseImageSource } from '../config/apps.js';
import type { AwsClients } from './clients.js';
import { errorCode } from './errors.js';
import { imageTags, tagKeys, type Provenance } from './provenance.js';

export interface BaseImage {
  id: string;
  name: string;
  /** EC2's CreationDate, in ms. */
  createdAt?: number;
  /** The app (and version) Bakery baked it for, from its tags: EC2 shows tags only on the account's own images. */
  bakedFor?: { app: string; version?: string };
}

function bakedFor(image: Image): BaseImage['bakedFor'] {
  const tag = (key: string) => image.Tags?.find((t) => t.Key === key)?.Value;
  const app = tag(tagKeys.app);
  return app ? { app, version: tag(tagKeys.version) } : undefined;
}

/** EC2 dates are ISO strings; absent or unreadable ones are unknown. */
export function timeOf(date: string | undefined): number | undefined {
  const ms = date ? Date.parse(date) : Number.NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * The base AMI for a bake: a fixed id, the value of an SSM parameter, or the newest image matching a
 * name. An id (given, or read from SSM) must belong to one of `owners`, which EC2 itself checks.
 * A parameter's value is never repeated in an error: it may not be an AMI id at all.
 */
export async function resolveBaseImage(aws: AwsClients, region: string, source: BaseImageSource, owners: string[]): Promise<BaseImage> {
  if ('id' in source) return describeBase(aws, region, source.id, `base AMI ${source.id}`, owners);
  if ('ssm' in source) {
    const parameter = await (await aws.ssm(region)).getParameter({ Name: source.ssm }).catch((error: unknown) => {
      if (errorCode(error) === 'ParameterNotFound') throw new Error(`SSM parameter ${source.ssm} does not exist in ${region}`);
      throw error;
    });
    const id = parameter.Parameter?.Value ?? '';
    if (!/^ami-[0-9a-f]{8,17}$/.test(id)) throw new Error(`SSM parameter ${source.ssm} does not hold an AMI id`);
    return describeBase(aws, region, id, `base AMI ${id} (from SSM parameter ${source.ssm})`, owners);
  }
  const { Images = [] } = await (await aws.ec2(region)).describeImages({ Owners: [source.owner], Filters: [{ Name: 'name', Values: [source.name] }, { Name: 'state', Values: ['available'] }] });
  const newest = Images.sort((a, b) => (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''))[0];
  if (!newest?.ImageId) throw new Error(`no available image named ${source.name} owned by ${source.owner} in ${region}`);
  return { id: newest.ImageId, name: newest.Name ?? newest.ImageId, createdAt: timeOf(newest.CreationDate), bakedFor: bakedFor(newest) };
}

async function describeBase(aws: AwsClients, region: string, id: string, what: string, owners: string[]): Promise<BaseImage> {
  const trusted = await describeImage(aws, region, id, owners);
  if (!trusted) {
    const image = await describeImage(aws, region, id);
    if (!image) throw new Error(`${what} does not exist in ${region}`);
    const owner = image.ImageOwnerAlias ?? image.OwnerId ?? 'an unknown owner';
    throw new Error(`${what} belongs to ${owner}${image.Public ? ' (a public image)' : ''}, and the app takes bases only from ${owners.join(', ')}`);
  }
  if (trusted.State !== 'available') throw new Error(`${what} is ${trusted.State}, not available`);
  return { id, name: trusted.Name ?? id, createdAt: timeOf(trusted.CreationDate), bakedFor: bakedFor(trusted) };
}

/** With `owners`, an image owned by someone else is not found either (EC2 filters by owner). */
export async function describeImage(aws: AwsClients, region: string, imageId: string, owners?: string[]): Promise<Image | undefined> {
  try {
    const { Images = [] } = await (await aws.ec2(region)).describeImages({ ImageIds: [imageId], Owners: owners });
    return Images[0];
  } catch (error) {
    if (errorCode(error) === 'InvalidAMIID.NotFound') return undefined;
    throw error;
  }
}

/**
 * Many images by id, whoever owns them: a filtered, paginated DescribeImages per 200 ids (EC2's limit
 * of filter values), deprecated and disabled ones included. An id missing from the answer is gone.
 */
export async function describeImagesById(aws: AwsClients, region: string, ids: string[]): Promise<Map<string, Image>> {
  const found = new Map<string, Image>();
  const unique = [...new Set(ids)];
  for (let start = 0; start < unique.length; start += 200) {
    const pages = (await aws.ec2(region)).paginateDescribeImages({ Filters: [{ Name: 'image-id', Values: unique.slice(start, start + 200) }], IncludeDeprecated: true, IncludeDisabled: true }, { pageSize: 1000 });
    for await (const page of pages) for (const image of page.Images ?? []) if (image.ImageId) found.set(image.ImageId, image);
  }
  return found;
}

/**
 * Images Bakery already made for this app and version on this base, newest first: with a recipe, only
 * those made by that recipe; with an artifact digest, only those made from that artifact.
 */
export async function findBakedImages(
  aws: AwsClients,
  region: string,
  p: { app: string; version: string; baseAmi: string; recipeHash?: string; artifactSha256?: string },
): Promise<Image[]> {
  const { Images = [] } = await (await aws.ec2(region)).describeImages({
    Owners: ['self'],
    Filters: [
      { Name: `tag:${tagKeys.app}`, Values: [p.app] },
      { Name: `tag:${tagKeys.version}`, Values: [p.version] },
      { Name: `tag:${tagKeys.baseAmi}`, Values: [p.baseAmi] },
      ...(p.recipeHash ? [{ Name: `tag:${tagKeys.recipe}`, Values: [p.recipeHash] }] : []),
      ...(p.artifactSha256 ? [{ Name: `tag:${tagKeys.artifactSha256}`, Values: [p.artifactSha256] }] : []),
      { Name: 'state', Values: ['available', 'pending'] },
    ],
  });
  return Images.sort((a, b) => (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''));
}

/** Images an operation made, in any region (used to clean up after a failed or cancelled bake). */
export async function findImagesOfOperation(aws: AwsClients, region: string, operationId: string): Promise<Image[]> {
  const { Images = [] } = await (await aws.ec2(region)).describeImages({ Owners: ['self'], Filters: [{ Name: `tag:${tagKeys.operation}`, Values: [operationId] }] });
  return Images;
}

/**
 * Creates the image from the builder, tagged on the image and its snapshots. The name is
 * deterministic per operation, so a repeat after a crash finds the image instead of making another.
 */
/**
 * Returns undefined when the name is taken but describes do not show the image yet: EC2 is
 * eventually consistent, and an earlier run of this very step may have made it a moment ago.
 */
export async function createImage(aws: AwsClients, region: string, builderId: string, name: string, p: Provenance): Promise<string | undefined> {
  const tags = imageTags(p);
  try {
    const { ImageId } = await (await aws.ec2(region)).createImage({
      InstanceId: builderId,
      Name: name,
      Description: `${p.app} ${p.version} baked by Bakery on ${p.baseAmi}`,
      TagSpecifications: [
        { ResourceType: 'image', Tags: tags },
        { ResourceType: 'snapshot', Tags: tags },
      ],
    });
    if (!ImageId) throw new Error('CreateImage returned no image id');
    return ImageId;
  } catch (error) {
    if (errorCode(error) !== 'InvalidAMIName.Duplicate') throw error;
    const { Images = [] } = await (await aws.ec2(region)).describeImages({ Owners: ['self'], Filters: [{ Name: 'name', Values: [name] }] });
    if (Images.length === 0) return undefined;
    const mine = Images.find((image) => image.Tags?.some((tag) => tag.Key === tagKeys.operation && tag.Value === p.operationId));
    if (!mine?.ImageId) throw new Error(`an image named ${name} exists but was not made by this bake`);
    return mine.ImageId;
  }
}

export function snapshotIdsOf(image: Image): string[] {
  return (image.BlockDeviceMappings ?? []).flatMap((mapping) => (mapping.Ebs?.SnapshotId ? [mapping.Ebs.SnapshotId] : []));
}

/** Lets other accounts launch the image: launch permission on the image, create-volume on its snapshots. */
export async function shareImage(aws: AwsClients, region: string, image: Image, accounts: string[]): Promise<void> {
  const ec2 = await aws.ec2(region);
  await ec2.modifyImageAttribute({ ImageId: image.ImageId, LaunchPermission: { Add: accounts.map((UserId) => ({ UserId })) } });
  for (const snapshotId of snapshotIdsOf(image)) {
    await ec2.modifySnapshotAttribute({ SnapshotId: snapshotId, Attribute: 'createVolumePermission', OperationType: 'add', UserIds: accounts });
  }
}

/**
 * Starts a copy in another region, tagged at creation on the image and its snapshots (so Bakery
 * needs no right to tag an existing image). `clientToken` makes a repeat return the same copy; with
 * `kmsKeyId` the copy is encrypted with that key (EC2 checks the key only as the copy runs).
 */
export async function copyImage(
  aws: AwsClients,
  copy: { sourceRegion: string; sourceImageId: string; region: string; name: string; clientToken: string; kmsKeyId?: string },
  p: Provenance,
): Promise<string> {
  const tags = imageTags(p);
  const { ImageId } = await (await aws.ec2(copy.region)).copyImage({
    SourceImageId: copy.sourceImageId,
    SourceRegion: copy.sourceRegion,
    Name: copy.name,
    Description: `${p.app} ${p.version} baked by Bakery (copy of ${copy.sourceImageId} from ${copy.sourceRegion})`,
    ClientToken: copy.clientToken,
    ...(copy.kmsKeyId ? { Encrypted: true, KmsKeyId: copy.kmsKeyId } : {}),
    TagSpecifications: [
      { ResourceType: 'image', Tags: tags },
      { ResourceType: 'snapshot', Tags: tags },
    ],
  });
  if (!ImageId) throw new Error(`CopyImage to ${copy.region} returned no image id`);
  return ImageId;
}

/** Removes an image and its snapshots; used only for images a failed or cancelled bake made. */
export async function deleteImage(aws: AwsClients, region: string, image: Image): Promise<void> {
  const ec2 = await aws.ec2(region);
  await ec2.deregisterImage({ ImageId: image.ImageId });
  for (const snapshotId of snapshotIdsOf(image)) {
    await ec2.deleteSnapshot({ SnapshotId: snapshotId }).catch((error: unknown) => {
      if (errorCode(error) !== 'InvalidSnapshot.NotFound') throw error;
    });
  }
}
