import type {
  CopyImageCommandInput,
  LaunchPermission,
  CreateImageCommandInput,
  DeregisterImageCommandInput,
  DescribeImageAttributeCommandInput,
  DescribeImagesCommandInput,
  DisableImageCommandInput,
  DisableImageDeprecationCommandInput,
  EnableImageCommandInput,
  EnableImageDeprecationCommandInput,
  Image,
  ModifyImageAttributeCommandInput,
} from '@aws-sdk/client-ec2';
import { findImage, findImages, findInstances, idempotent, required, state, visibleImages, type HandlerContext } from './context.js';
import { fail } from './errors.js';
import { applyFilters, tagList, tagsFromSpecifications } from './filters.js';
import { page } from './pagination.js';
import { imageSettled, requireSettledImages } from './ec2-visibility.js';
import { lastLaunchedTime } from './image-launches.js';
import { defaultEbsKey, isAwsManaged, resolveKey } from './kms.js';
import { imageState, instanceState, nextId, type ImageRecord, type SnapshotRecord } from './world.js';

export const AMAZON_OWNER_ID = '137112412989';

function snapshotOf(ctx: HandlerContext, image: ImageRecord): SnapshotRecord | undefined {
  return state(ctx, image.region).snapshots.find((snapshot) => snapshot.snapshotId === image.snapshotId);
}

/**
 * An image's tags as the caller's account sees them: tags belong to the account that set them, so an
 * image another account owns (shared with this one, or public) shows none of its owner's tags, to a
 * describe or a tag filter (EC2 User Guide, "Share an AMI with specific AWS accounts": tags are not shared).
 */
const visibleTags = (ctx: HandlerContext, image: ImageRecord): Record<string, string> => (image.ownerId === ctx.world.accountId ? image.tags : {});

function describe(ctx: HandlerContext, image: ImageRecord): Image {
  const kmsKeyId = snapshotOf(ctx, image)?.kmsKeyId;
  const current = imageState(image, ctx.now);
  const launched = lastLaunchedTime(image, ctx.now);
  return {
    ImageId: image.imageId,
    Name: image.name,
    Description: image.description,
    State: current,
    ...(current === 'failed' && image.stateReason ? { StateReason: { Code: image.stateReason.code, Message: image.stateReason.message } } : {}),
    CreationDate: new Date(image.createdAt).toISOString(),
    OwnerId: image.ownerId,
    ImageOwnerAlias: image.ownerAlias,
    ImageLocation: `${image.ownerAlias ?? image.ownerId}/${image.name}`,
    Public: image.public,
    Tags: tagList(visibleTags(ctx, image)),
    BlockDeviceMappings: [
      { DeviceName: '/dev/xvda', Ebs: { SnapshotId: image.snapshotId, VolumeSize: 8, VolumeType: 'gp3', DeleteOnTermination: true, Encrypted: kmsKeyId !== undefined, ...(kmsKeyId ? { KmsKeyId: kmsKeyId } : {}) } },
    ],
    Architecture: 'x86_64',
    ImageType: 'machine',
    PlatformDetails: 'Linux/UNIX',
    RootDeviceName: '/dev/xvda',
    RootDeviceType: 'ebs',
    VirtualizationType: 'hvm',
    Hypervisor: 'xen',
    ...(launched ? { LastLaunchedTime: launched } : {}),
    EnaSupport: true,
    SourceInstanceId: image.sourceInstanceId,
    SourceImageId: image.sourceImageId,
    SourceImageRegion: image.sourceRegion,
    ...(image.deprecateAt !== undefined ? { DeprecationTime: new Date(image.deprecateAt).toISOString() } : {}),
  };
}

const deprecated = (ctx: HandlerContext, image: ImageRecord): boolean => image.deprecateAt !== undefined && image.deprecateAt <= ctx.now;

function describeImages(ctx: HandlerContext, input: DescribeImagesCommandInput) {
  const byId = input.ImageIds?.length ? findImages(ctx, input.ImageIds) : undefined;
  if (byId) requireSettledImages(ctx, byId);
  // Like EC2, a deprecated image is listed only when asked for by id or with IncludeDeprecated.
  let images = byId ?? visibleImages(ctx).filter((image) => imageSettled(ctx, image) && (input.IncludeDeprecated || !deprecated(ctx, image)));
  // A disabled image is left out even when asked for by id, unless IncludeDisabled.
  if (!input.IncludeDisabled) images = images.filter((image) => !image.disabled);
  if (input.Owners?.length) {
    const owners = input.Owners;
    images = images.filter((image) =>
      owners.some((owner) =>
        owner === 'self' ? image.ownerId === ctx.world.accountId : owner === image.ownerAlias || owner === image.ownerId,
      ),
    );
  }
  images = applyFilters(
    images,
    input.Filters,
    {
      name: (i) => i.name,
      'image-id': (i) => i.imageId,
      state: (i) => imageState(i, ctx.now),
      'owner-id': (i) => i.ownerId,
      'owner-alias': (i) => i.ownerAlias,
      description: (i) => i.description,
      'is-public': (i) => String(i.public),
      architecture: () => 'x86_64',
      'root-device-type': () => 'ebs',
      'virtualization-type': () => 'hvm',
    },
    (i) => visibleTags(ctx, i),
  );
  if (byId && input.MaxResults !== undefined) fail('InvalidParameterCombination', 'The parameter imagesSet cannot be used with the parameter maxResults');
  const shown = page(images, input, { command: 'DescribeImages', min: 1, max: 1000 });
  return { Images: shown.items.map((image) => describe(ctx, image)), ...(shown.NextToken ? { NextToken: shown.NextToken } : {}) };
}

/** AMI names: 3-128 characters of letters, digits and ( ) [ ] space . / - ' @ _ */
const AMI_NAME = /^[A-Za-z0-9()[\] ./\-'@_]{3,128}$/;

function checkName(ctx: HandlerContext, name: string | undefined): string {
  const value = required(name, 'Name');
  if (!AMI_NAME.test(value)) {
    fail('InvalidAMIName.Malformed', `AMI names must be between 3 and 128 characters long, and may contain letters, numbers, '(', ')', '.', '-', '/' and '_'`);
  }
  // Names are unique per account and region among registered images; a deregistered name is free again.
  const taken = state(ctx).images.find((image) => image.name === value && image.ownerId === ctx.world.accountId);
  if (taken) fail('InvalidAMIName.Duplicate', `AMI name ${value} is already in use by AMI ${taken.imageId}`);
  return value;
}

/** A new image and its one snapshot, both ready at `readyAt` (null: never). */
function addImage(
  ctx: HandlerContext,
  fields: Omit<ImageRecord, 'imageId' | 'region' | 'ownerId' | 'createdAt' | 'availableAt' | 'snapshotId' | 'launchPermissions' | 'public'>,
  snapshotTags: Record<string, string>,
  readyAt: number | null,
  snapshotDescription: (imageId: string) => string,
  kmsKeyId?: string,
): ImageRecord {
  const imageId = nextId(ctx.world, 'ami');
  const snapshot: SnapshotRecord = {
    snapshotId: nextId(ctx.world, 'snap'),
    region: ctx.region,
    volumeId: nextId(ctx.world, 'vol'),
    ownerId: ctx.world.accountId,
    description: snapshotDescription(imageId),
    startedAt: ctx.now,
    completedAt: readyAt,
    tags: snapshotTags,
    createVolumePermissions: [],
    volumeSize: 8,
    ...(kmsKeyId ? { kmsKeyId } : {}),
  };
  const image: ImageRecord = {
    ...fields,
    imageId,
    region: ctx.region,
    ownerId: ctx.world.accountId,
    createdAt: ctx.now,
    availableAt: readyAt,
    snapshotId: snapshot.snapshotId,
    launchPermissions: [],
    public: false,
  };
  state(ctx).snapshots.push(snapshot);
  state(ctx).images.push(image);
  return image;
}

/** An image made a week before ctx.now (or at `createdAt`) and available since: a base image, or a fleet's release before Bakery. */
export function seedImage(ctx: HandlerContext, input: { name: string; ownerAlias?: 'amazon'; ownerId?: string; description?: string; createdAt?: number; kmsKeyId?: string; tags?: Record<string, string> }): ImageRecord {
  const createdAt = input.createdAt ?? ctx.now - 7 * 24 * 3_600_000;
  const ownerId = input.ownerAlias === 'amazon' ? AMAZON_OWNER_ID : (input.ownerId ?? ctx.world.accountId);
  const image: ImageRecord = {
    imageId: nextId(ctx.world, 'ami'),
    region: ctx.region,
    name: input.name,
    description: input.description,
    ownerId,
    ownerAlias: input.ownerAlias,
    createdAt,
    availableAt: createdAt,
    snapshotId: nextId(ctx.world, 'snap'),
    tags: { ...input.tags },
    launchPermissions: [],
    // Amazon's images and a stranger's (the only way another account's image is seen) are public.
    public: ownerId !== ctx.world.accountId,
  };
  state(ctx).snapshots.push({
    snapshotId: image.snapshotId,
    region: ctx.region,
    volumeId: 'vol-ffffffff',
    ownerId,
    ownerAlias: input.ownerAlias,
    description: `Seeded image ${input.name}`,
    startedAt: createdAt,
    completedAt: createdAt,
    // As CreateImage with Bakery's TagSpecifications: the snapshot carries the image's tags.
    tags: { ...input.tags },
    createVolumePermissions: [],
    volumeSize: 8,
    ...(input.kmsKeyId ? { kmsKeyId: input.kmsKeyId } : {}),
  });
  state(ctx).images.push(image);
  return image;
}

function createImage(ctx: HandlerContext, input: CreateImageCommandInput) {
  const [instance] = findInstances(ctx, [required(input.InstanceId, 'InstanceId')]);
  const current = instanceState(instance!, ctx.now);
  if (!['running', 'stopping', 'stopped'].includes(current)) {
    fail('IncorrectInstanceState', `The instance '${instance!.instanceId}' is not in the 'running' or 'stopped' state (it is '${current}').`);
  }
  const name = checkName(ctx, input.Name);
  const tags = tagsFromSpecifications(input.TagSpecifications, ['image', 'snapshot']);
  // Without NoReboot, EC2 reboots the instance for the image, and a reboot drops a scheduled shutdown.
  if (!input.NoReboot) delete instance!.shutdownAfterMs;
  const app = instance!.tags['bakery:app'];
  const image = addImage(
    ctx,
    { name, description: input.Description, tags: tags.image ?? {}, sourceInstanceId: instance!.instanceId, app, release: ctx.faults.releaseTraits(app) },
    tags.snapshot ?? {},
    ctx.faults.imageStuck(app) ? null : ctx.now + ctx.timings.imageMs,
    (imageId) => `Created by CreateImage(${instance!.instanceId}) for ${imageId}`,
    // The snapshot is of the builder's volume: encrypted as it was.
    instance!.kmsKeyId,
  );
  return { ImageId: image.imageId };
}

/** Why a copy goes 'failed' part way, as EC2 reports it in the image's StateReason. */
const copyFailures = {
  internal: { code: 'Server.InternalError', message: 'Copy image failed with an internal error' },
  kmsKey: { code: 'Client.InvalidKMSKey.InvalidState', message: 'Client.InvalidKMSKey.InvalidState: The KMS key provided is in an incorrect state' },
};

function copyImage(ctx: HandlerContext, input: CopyImageCommandInput) {
  const sourceRegion = required(input.SourceRegion, 'SourceRegion');
  const source = findImage(ctx, required(input.SourceImageId, 'SourceImageId'), sourceRegion);
  if (imageState(source, ctx.now) !== 'available') {
    fail('IncorrectState', `Image ${source.imageId} is not in a valid state for copying: ${imageState(source, ctx.now)}`);
  }
  if (input.KmsKeyId !== undefined && input.Encrypted !== true) fail('InvalidParameterDependency', 'The parameter KmsKeyId requires the parameter Encrypted to be set.');
  const tags = tagsFromSpecifications(input.TagSpecifications, ['image', 'snapshot']);
  const { id } = idempotent(ctx, 'CopyImage', input.ClientToken, input, () => {
    const name = checkName(ctx, input.Name);
    const copied = input.CopyImageTags ? source.tags : {};
    // An encrypted source makes an encrypted copy: with the key asked for, else the region's default
    // for EBS. EC2 resolves KmsKeyId only as the copy runs, so a key the region lacks fails the copy, not the call.
    const sourceKey = snapshotOf(ctx, source)?.kmsKeyId;
    const asked = input.KmsKeyId !== undefined ? resolveKey(ctx.world, ctx.region, input.KmsKeyId) : undefined;
    const kmsKeyId = input.KmsKeyId !== undefined ? asked?.arn : sourceKey || input.Encrypted ? defaultEbsKey(ctx) : undefined;
    const failure = input.KmsKeyId !== undefined && !asked ? copyFailures.kmsKey : ctx.faults.copyFails(ctx.region) ? copyFailures.internal : undefined;
    const image = addImage(
      ctx,
      {
        name,
        description: input.Description,
        tags: { ...copied, ...tags.image },
        sourceImageId: source.imageId,
        sourceRegion,
        app: source.app,
        release: source.release,
        ...(failure ? { failedAt: ctx.now + ctx.timings.copyMs / 2, stateReason: failure } : {}),
      },
      tags.snapshot ?? {},
      ctx.faults.imageStuck(source.app) || failure ? null : ctx.now + ctx.timings.copyMs,
      (imageId) => `Copied for DestinationAmi ${imageId} from SourceAmi ${source.imageId} for SourceSnapshot ${source.snapshotId}.`,
      kmsKeyId,
    );
    return image.imageId;
  });
  return { ImageId: id };
}

function ownImage(ctx: HandlerContext, imageId: string | undefined): ImageRecord {
  const image = findImage(ctx, imageId);
  if (image.ownerId !== ctx.world.accountId) fail('AuthFailure', `Not authorized for image:${image.imageId}`);
  return image;
}

const ACCOUNT_ID = /^\d{12}$/;

function modifyImageAttribute(ctx: HandlerContext, input: ModifyImageAttributeCommandInput) {
  const image = ownImage(ctx, input.ImageId);
  if (image.disabled && (input.LaunchPermission?.Add?.length || input.OperationType === 'add')) fail('IncorrectState', `Image ${image.imageId} is disabled and cannot be shared.`);
  const byUserIds: LaunchPermission[] = input.Attribute === 'launchPermission' ? (input.UserIds ?? []).map((UserId) => ({ UserId })) : [];
  const add = [...(input.LaunchPermission?.Add ?? []), ...(input.OperationType === 'add' ? byUserIds : [])];
  const remove = [...(input.LaunchPermission?.Remove ?? []), ...(input.OperationType === 'remove' ? byUserIds : [])];
  for (const permission of [...add, ...remove]) {
    if (permission.Group === 'all') continue;
    if (!ACCOUNT_ID.test(permission.UserId ?? '')) {
      fail('InvalidAMIAttributeItemValue', `Invalid attribute item value "${permission.UserId}" for userId item type.`);
    }
  }
  if (input.Description?.Value !== undefined) image.description = input.Description.Value;
  if (add.some((p) => p.Group === 'all')) image.public = true;
  if (remove.some((p) => p.Group === 'all')) image.public = false;
  const added = add.flatMap((p) => (p.UserId ? [p.UserId] : []));
  if (added.length > 0 && isAwsManaged(ctx.world, snapshotOf(ctx, image)?.kmsKeyId)) {
    fail('InvalidParameter', "Snapshots encrypted with the AWS Managed CMK can't be shared. Specify another snapshot.");
  }
  const removed = remove.flatMap((p) => (p.UserId ? [p.UserId] : []));
  image.launchPermissions = [...new Set([...image.launchPermissions, ...added])].filter((id) => !removed.includes(id));
  return {};
}

function describeImageAttribute(ctx: HandlerContext, input: DescribeImageAttributeCommandInput) {
  const image = ownImage(ctx, input.ImageId);
  switch (input.Attribute) {
    case 'launchPermission':
      return {
        ImageId: image.imageId,
        LaunchPermissions: [...(image.public ? [{ Group: 'all' as const }] : []), ...image.launchPermissions.map((UserId) => ({ UserId }))],
      };
    case 'description':
      return { ImageId: image.imageId, Description: { Value: image.description } };
    case 'lastLaunchedTime': {
      // Never launched (or not reported yet): the attribute comes back empty, with no Value.
      const at = lastLaunchedTime(image, ctx.now);
      return { ImageId: image.imageId, LastLaunchedTime: at === undefined ? {} : { Value: at } };
    }
    default:
      return fail('UnsupportedOperation', `The simulated AWS does not model the image attribute '${input.Attribute}'`);
  }
}

function deregisterImage(ctx: HandlerContext, input: DeregisterImageCommandInput) {
  const image = ownImage(ctx, input.ImageId);
  // Like EC2, the snapshots stay: whoever deregisters deletes them.
  state(ctx).images = state(ctx).images.filter((other) => other !== image);
  return { Return: true };
}

/** EC2 rounds the time down to the minute and refuses one in the past or more than 10 years ahead. */
function enableImageDeprecation(ctx: HandlerContext, input: EnableImageDeprecationCommandInput) {
  const image = ownImage(ctx, input.ImageId);
  const at = required(input.DeprecateAt, 'DeprecateAt').getTime();
  if (at > ctx.now + 10 * 365 * 24 * 3_600_000) fail('InvalidParameterValue', 'The deprecation time must be within 10 years.');
  if (at < ctx.now) fail('InvalidParameterValue', 'The deprecation time cannot be in the past.');
  image.deprecateAt = at - (at % 60_000);
  return { Return: true };
}

function disableImageDeprecation(ctx: HandlerContext, input: DisableImageDeprecationCommandInput) {
  delete ownImage(ctx, input.ImageId).deprecateAt;
  return { Return: true };
}

/** Like EC2: only the owner may disable; a disabled image loses every launch permission and stops being public. */
function disableImage(ctx: HandlerContext, input: DisableImageCommandInput) {
  const image = ownImage(ctx, input.ImageId);
  if (imageState(image, ctx.now) === 'pending') fail('IncorrectState', `Image ${image.imageId} is not in a valid state for disabling: pending`);
  if (image.disabled) fail('IncorrectState', `Image ${image.imageId} is already disabled.`);
  image.disabled = true;
  image.launchPermissions = [];
  image.public = false;
  return { Return: true };
}

/** Available again; the launch permissions DisableImage removed are not given back (share it again). */
function enableImage(ctx: HandlerContext, input: EnableImageCommandInput) {
  const image = ownImage(ctx, input.ImageId);
  if (!image.disabled) fail('IncorrectState', `Image ${image.imageId} is not disabled.`);
  delete image.disabled;
  return { Return: true };
}

export const imageHandlers = {
  DisableImage: disableImage,
  EnableImage: enableImage,
  EnableImageDeprecation: enableImageDeprecation,
  DisableImageDeprecation: disableImageDeprecation,
  DescribeImages: describeImages,
  CreateImage: createImage,
  CopyImage: copyImage,
  ModifyImageAttribute: modifyImageAttribute,
  DescribeImageAttribute: describeImageAttribute,
  DeregisterImage: deregisterImage,
};
