import { paginateDescribeAutoScalingGroups } from '@aws-sdk/client-auto-scaling';
import { DescribeImagesCommand, DescribeLaunchTemplateVersionsCommand, paginateDescribeInstances } from '@aws-sdk/client-ec2';
import type { AwsClients } from '../aws/clients.js';
import { errorCode } from '../aws/errors.js';
import { deleteImage, snapshotIdsOf, timeOf } from '../aws/images.js';
import { tagKeys } from '../aws/provenance.js';
import type { AppConfig } from '../config/apps.js';
import type { Store } from '../store/store.js';
import { planPrune, type BakedImage, type PruneOptions, type PrunePlan } from './plan.js';

/*
 * Retiring an app's old images: what it has in every region it copies to, what still uses them, and
 * the removal itself (deregister, then every snapshot of its block device mappings).
 */

export interface RetireDependencies {
  aws: AwsClients;
  store: Store;
}

const regionsOf = (config: AppConfig): string[] => [config.region, ...config.copyTo];
const tag = (tags: { Key?: string; Value?: string }[] | undefined, key: string): string | undefined => tags?.find((t) => t.Key === key)?.Value;

/** The app's images Bakery made, in every region it copies to. */
async function bakedImages(aws: AwsClients, app: string, config: AppConfig): Promise<BakedImage[]> {
  const all: BakedImage[] = [];
  for (const region of regionsOf(config)) {
    const { Images = [] } = await aws.ec2(region).send(
      new DescribeImagesCommand({ Owners: ['self'], IncludeDeprecated: true, Filters: [{ Name: `tag:${tagKeys.app}`, Values: [app] }, { Name: `tag:${tagKeys.createdBy}`, Values: ['bakery'] }] }),
    );
    for (const image of Images) {
      const operationId = tag(image.Tags, tagKeys.operation);
      if (!image.ImageId || !operationId) continue;
      all.push({ imageId: image.ImageId, region, name: image.Name ?? image.ImageId, version: tag(image.Tags, tagKeys.version), operationId, createdAt: timeOf(image.CreationDate) ?? 0, snapshotIds: snapshotIdsOf(image) });
    }
  }
  return all;
}

/** Why each image may not go: the releases that need it, the instances launched from it, the launch template versions groups point at. */
async function imagesInUse(deps: RetireDependencies, app: string, config: AppConfig, images: BakedImage[]): Promise<Map<string, string[]>> {
  const inUse = new Map<string, string[]>();
  const add = (imageId: string | undefined, why: string): void => {
    if (imageId) inUse.set(imageId, [...(inUse.get(imageId) ?? []), why]);
  };
  const [live, releases] = await Promise.all([deps.store.getLive(app), deps.store.listReleases(app)]);
  if (live) {
    add(live.live.ami, 'live');
    add(live.previous?.ami, 'the rollback target');
  }
  const wanted: Record<string, string> = { live: 'live', canary: 'in canary', previous: 'the rollback target' };
  // Without a recorded live release, the last baked one stands for it.
  const standIn = live ? undefined : releases.find((release) => !['rejected', 'retired', 'rolled-back'].includes(release.status));
  for (const release of releases) {
    const why = wanted[release.status] ?? (release === standIn ? 'the last baked release (nothing recorded live)' : undefined);
    if (why) for (const ami of Object.values(release.amis)) add(ami, why);
  }

  for (const region of regionsOf(config)) {
    const ids = images.filter((image) => image.region === region).map((image) => image.imageId);
    for (let start = 0; start < ids.length; start += 200) {
      const pages = paginateDescribeInstances(
        { client: deps.aws.ec2(region) },
        { Filters: [{ Name: 'image-id', Values: ids.slice(start, start + 200) }, { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] }] },
      );
      for await (const page of pages) {
        for (const instance of (page.Reservations ?? []).flatMap((reservation) => reservation.Instances ?? [])) add(instance.ImageId, `used by instance ${instance.InstanceId} (${instance.State?.Name})`);
      }
    }
    // Every group's launch template: the version it names, and $Default and $Latest, which a change of the group could pick up.
    const templates = new Map<string, Set<string>>();
    for await (const page of paginateDescribeAutoScalingGroups({ client: deps.aws.autoScaling(region) }, {})) {
      for (const group of page.AutoScalingGroups ?? []) {
        const spec = group.LaunchTemplate ?? group.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;
        if (!spec?.LaunchTemplateId) continue;
        const versions = templates.get(spec.LaunchTemplateId) ?? new Set(['$Default', '$Latest']);
        versions.add(spec.Version ?? '$Default');
        templates.set(spec.LaunchTemplateId, versions);
      }
    }
    for (const [templateId, versions] of templates) {
      const result = await deps.aws.ec2(region).send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: templateId, Versions: [...versions] }));
      for (const version of result.LaunchTemplateVersions ?? []) {
        add(version.LaunchTemplateData?.ImageId, `in launch template ${version.LaunchTemplateName ?? templateId} version ${version.VersionNumber}, which an Auto Scaling group uses`);
      }
    }
  }
  return inUse;
}

/** Plans and carries out the retirement of an app's old images. */
export class Retirement {
  constructor(private readonly deps: RetireDependencies) {}

  async plan(app: string, config: AppConfig, options: PruneOptions): Promise<PrunePlan> {
    const images = await bakedImages(this.deps.aws, app, config);
    return planPrune(images, await imagesInUse(this.deps, app, config, images), options);
  }

  /** Removes the plan's bakes, every region, snapshots included; returns what was removed. An image already gone is skipped. */
  retire(plan: PrunePlan): Promise<string[]> {
    return retire(this.deps, plan);
  }
}

async function retire(deps: RetireDependencies, plan: PrunePlan): Promise<string[]> {
  const done: string[] = [];
  for (const bake of plan.remove) {
    for (const image of bake.images) {
      try {
        await deleteImage(deps.aws, image.region, { ImageId: image.imageId, BlockDeviceMappings: image.snapshotIds.map((SnapshotId) => ({ Ebs: { SnapshotId } })) });
        done.push(`${image.imageId} (${image.region}) and ${image.snapshotIds.length} snapshot${image.snapshotIds.length === 1 ? '' : 's'}`);
      } catch (error) {
        if (errorCode(error) !== 'InvalidAMIID.Unavailable' && errorCode(error) !== 'InvalidAMIID.NotFound') throw error;
      }
    }
  }
  return done;
}
