import { mention } from '../message.js';
import { clientsInAccount, type AwsClients } from '../aws/clients.js';
import { describeAwsError, errorCode } from '../aws/errors.js';
import { deleteImage, shareImage, snapshotIdsOf, timeOf } from '../aws/images.js';
import { tagKeys } from '../aws/provenance.js';
import type { Clock } from '../clock.js';
import type { AppConfig } from '../config/apps.js';
import { environmentsOf, type EnvironmentAccount } from '../config/environments.js';
import type { Logger } from '../log.js';
import { formatDuration, formatTime } from '../operations/format.js';
import type { RetireStage } from '../store/items.js';
import type { Store } from '../store/store.js';
import { planPrune, type Bake, type BakedImage, type ImageUses, type PruneOptions, type PrunePlan } from './plan.js';

/*
 * Retiring an app's old images: what it has in every region it copies to, what still uses them, and
 * the retirement itself: at once (deregister, then every snapshot of its block device mappings), or in
 * stages (deprecate, disable, deregister), each recorded before it is done (see README.md here).
 */

export interface RetireDependencies {
  aws: AwsClients;
  store: Store;
  clock: Clock;
  log: Logger;
}

/** What a carried-out plan did, bake by bake, in words (the Slack answer, the audit). */
export interface RetireOutcome {
  bake: Bake;
  did: 'deregistered' | 'deprecated' | 'disabled' | 'restored';
  /** For a deprecation: when EC2 deprecates. */
  at?: number;
  images: number;
  snapshots: number;
}

const regionsOf = (config: AppConfig): string[] => [config.region, ...config.copyTo];
const tag = (tags: { Key?: string; Value?: string }[] | undefined, key: string): string | undefined => tags?.find((t) => t.Key === key)?.Value;

/** The app's images Bakery made, in every region it copies to. */
async function bakedImages(aws: AwsClients, app: string, config: AppConfig): Promise<BakedImage[]> {
  const all: BakedImage[] = [];
  for (const region of regionsOf(config)) {
    const { Images = [] } = await (await aws.ec2(region)).describeImages({ Owners: ['self'], IncludeDeprecated: true, IncludeDisabled: true, Filters: [{ Name: `tag:${tagKeys.app}`, Values: [app] }, { Name: `tag:${tagKeys.createdBy}`, Values: ['bakery'] }] });
    for (const image of Images) {
      const operationId = tag(image.Tags, tagKeys.operation);
      if (!image.ImageId || !operationId) continue;
      all.push({ imageId: image.ImageId, region, name: image.Name ?? image.ImageId, version: tag(image.Tags, tagKeys.version), operationId, createdAt: timeOf(image.CreationDate) ?? 0, snapshotIds: snapshotIdsOf(image), state: image.State ?? 'unknown', deprecatedAt: timeOf(image.DeprecationTime) });
    }
  }
  return all;
}

/**
 * Why each image may not go (`inUse`): the releases that need it (or pin it), the instances launched from it, the
 * launch template versions groups point at, in Bakery's own account and in each other account an environment runs
 * in. `unchecked`: the images of a region whose other account could not be read, and why; never taken for unused.
 */
async function imagesInUse(deps: RetireDependencies, app: string, config: AppConfig, images: BakedImage[]): Promise<ImageUses> {
  const inUse = new Map<string, string[]>();
  const unchecked = new Map<string, string[]>();
  const add = (uses: Map<string, string[]>, imageId: string | undefined, why: string): void => {
    if (imageId) uses.set(imageId, [...(uses.get(imageId) ?? []), why]);
  };
  const [lives, releases] = await Promise.all([deps.store.listLive(app), deps.store.listReleases(app)]);
  for (const live of lives) {
    const where = live.environment ? ` in ${live.environment}` : '';
    add(inUse, live.live.ami, `live${where}`);
    add(inUse, live.previous?.ami, `the rollback target${where}`);
  }
  const wanted: Record<string, string> = { live: 'live', canary: 'in canary', previous: 'the rollback target' };
  // Without a recorded live release, the last baked one stands for it.
  const standIn = lives.length > 0 ? undefined : releases.find((release) => !['rejected', 'retired', 'rolled-back'].includes(release.status));
  for (const release of releases) {
    const why = wanted[release.status] ?? (release === standIn ? 'the last baked release (nothing recorded live)' : undefined);
    if (why) for (const ami of Object.values(release.amis)) add(inUse, ami, why);
    if (release.pin) for (const ami of Object.values(release.amis)) add(inUse, ami, `pinned by ${mention(release.pin.by)}`);
  }

  const inRegion = (region: string): string[] => images.filter((image) => image.region === region).map((image) => image.imageId);
  for (const region of regionsOf(config)) await fleetUses(deps.aws, region, inRegion(region), '', (imageId, why) => add(inUse, imageId, why));
  // Each other account an environment runs in, read with the role Bakery assumes there; one that cannot be read keeps that region's images.
  for (const { account, region, names } of otherAccounts(config)) {
    const label = names.join(' and ');
    try {
      await fleetUses(clientsInAccount(deps.aws, account, 'bakery-prune'), region, inRegion(region), ` in ${label}'s account`, (imageId, why) => add(inUse, imageId, why));
    } catch (error) {
      const why = `could not check what ${label} runs: ${describeAwsError(error)}`;
      deps.log.warn({ app, account: account.id, region, why }, 'prune could not check an environment');
      for (const imageId of inRegion(region)) add(unchecked, imageId, why);
    }
  }
  return { inUse, unchecked };
}

/** The environments in other accounts, by account and region: each is read once, named for all its environments. */
function otherAccounts(config: AppConfig): { account: EnvironmentAccount; region: string; names: string[] }[] {
  const places = new Map<string, { account: EnvironmentAccount; region: string; names: string[] }>();
  for (const { account, region, name } of environmentsOf(config)) {
    if (!account) continue;
    const key = `${account.role} ${account.externalId ?? ''} ${region}`;
    const place = places.get(key) ?? { account, region, names: [] };
    place.names.push(name ?? account.id);
    places.set(key, place);
  }
  return [...places.values()];
}

/**
 * What uses `ids` in one region of one account: the instances launched from them, and every group's launch
 * template (the version it names, and $Default and $Latest, which a change of the group could pick up). `where`
 * names another account in the reasons.
 */
async function fleetUses(aws: AwsClients, region: string, ids: string[], where: string, add: (imageId: string | undefined, why: string) => void): Promise<void> {
  for (let start = 0; start < ids.length; start += 200) {
    const pages = (await aws.ec2(region)).paginateDescribeInstances({ Filters: [{ Name: 'image-id', Values: ids.slice(start, start + 200) }, { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] }] });
    for await (const page of pages) {
      for (const instance of (page.Reservations ?? []).flatMap((reservation) => reservation.Instances ?? [])) add(instance.ImageId, `used by instance ${instance.InstanceId} (${instance.State?.Name})${where}`);
    }
  }
  const templates = new Map<string, Set<string>>();
  for await (const page of (await aws.autoScaling(region)).paginateDescribeAutoScalingGroups({})) {
    for (const group of page.AutoScalingGroups ?? []) {
      const spec = group.LaunchTemplate ?? group.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;
      if (!spec?.LaunchTemplateId) continue;
      const versions = templates.get(spec.LaunchTemplateId) ?? new Set(['$Default', '$Latest']);
      versions.add(spec.Version ?? '$Default');
      templates.set(spec.LaunchTemplateId, versions);
    }
  }
  for (const [templateId, versions] of templates) {
    const result = await (await aws.ec2(region)).describeLaunchTemplateVersions({ LaunchTemplateId: templateId, Versions: [...versions] });
    for (const version of result.LaunchTemplateVersions ?? []) {
      add(version.LaunchTemplateData?.ImageId, `in launch template ${version.LaunchTemplateName ?? templateId} version ${version.VersionNumber}, which an Auto Scaling group${where} uses`);
    }
  }
}

/** How recently a shared image's last launch keeps it, when the prune names no --older-than. */
export const SHARED_LAUNCH_RETENTION_MS = 30 * 24 * 3_600_000;

/**
 * The shared images among `images` some account launched within `retentionMs`, with the rule that
 * keeps each. EC2 reports a launch a day late and not at all for an image never launched
 * (DescribeImageAttribute `lastLaunchedTime` without a Value): such an image is not kept by this rule.
 * A disabled image is not asked: no account can launch it, and its last launch came before it was disabled.
 */
async function launchedWithin(aws: AwsClients, config: AppConfig, images: BakedImage[], retentionMs: number, now: number): Promise<Map<string, string>> {
  const kept = new Map<string, string>();
  for (const image of images.filter((candidate) => candidate.state !== 'disabled')) {
    const attribute = await (await aws.ec2(image.region))
      .describeImageAttribute({ ImageId: image.imageId, Attribute: 'lastLaunchedTime' })
      .catch((error: unknown) => {
        if (gone(error)) return undefined;
        throw error;
      });
    const value = attribute?.LastLaunchedTime?.Value;
    if (value === undefined) continue;
    const at = Date.parse(value);
    if (now - at >= retentionMs) continue;
    const when = Number.isNaN(at) ? `its last launch is given as "${value.slice(0, 40)}", which Bakery cannot read` : `last launched ${formatTime(at, now)}, within the ${formatDuration(retentionMs)} retention`;
    kept.set(image.imageId, `shared with ${config.shareWith.join(', ')} and ${when}`);
  }
  return kept;
}

/** Plans and carries out the retirement of an app's old images. */
export class Retirement {
  constructor(private readonly deps: RetireDependencies) {}

  /**
   * The plan, from the facts. An app that shares its images (`shareWith`) is planned twice: the bakes
   * the first plan would retire are asked when any account last launched them, and one launched within
   * the retention is kept (or given back) like one in use: only those few images cost a call each.
   */
  async plan(app: string, config: AppConfig, options: PruneOptions): Promise<PrunePlan> {
    const [images, records] = await Promise.all([bakedImages(this.deps.aws, app, config), this.deps.store.listRetirements(app)]);
    const uses = await imagesInUse(this.deps, app, config, images);
    const retiring = new Map(records.map((record) => [record.bake, record]));
    const plan = planPrune(images, uses, retiring, config.retire, options);
    if (config.shareWith.length === 0) return plan;
    const candidates = plan.retire.flatMap(({ bake }) => bake.images);
    const launched = await launchedWithin(this.deps.aws, config, candidates, options.olderThanMs ?? SHARED_LAUNCH_RETENTION_MS, options.now);
    if (launched.size === 0) return plan;
    for (const [imageId, why] of launched) uses.inUse.set(imageId, [...(uses.inUse.get(imageId) ?? []), why]);
    return planPrune(images, uses, retiring, config.retire, options);
  }

  /**
   * Carries the plan out as `actor`: each stage is recorded (a conditional write) before it is done,
   * so of two replicas only one does it, and one cut short is finished by the next run. Audited.
   */
  async carryOut(app: string, config: AppConfig, plan: PrunePlan, actor: string): Promise<RetireOutcome[]> {
    const outcomes: RetireOutcome[] = [];
    const now = this.deps.clock.now();
    for (const { bake, record, why } of plan.restore) {
      await restore(this.deps.aws, config, bake);
      if (!(await this.deps.store.endRetirement(record))) continue;
      outcomes.push(outcome(bake, 'restored'));
      await this.audit(app, actor, 'images restored', bake, why.join('; '));
    }
    for (const { bake, step, record } of plan.retire) {
      const base = { app, bake: bake.operationId, version: bake.version, startedBy: record?.startedBy ?? actor };
      if (step.kind === 'wait') {
        // A stage recorded by a run cut short before it was done is done now; one already done is left alone.
        if ((await applyStage(this.deps.aws, step.stage, bake, Math.max(record!.since, now + 60_000))) === 0) continue;
        outcomes.push(outcome(bake, step.stage === 'deregistered' ? 'deregistered' : step.stage));
        await this.audit(app, actor, `images ${step.stage}`, bake, 'finishing a stage a failure cut short');
        continue;
      }
      if (step.kind === 'deprecate' || step.kind === 'disable') {
        const stage: RetireStage = step.kind === 'deprecate' ? 'deprecated' : 'disabled';
        const since = step.kind === 'deprecate' ? step.at : now;
        if (!(await this.deps.store.advanceRetirement({ ...base, stage, since }, record))) continue;
        await applyStage(this.deps.aws, stage, bake, since);
        outcomes.push({ ...outcome(bake, stage), at: since });
        await this.audit(app, actor, `images ${stage}`, bake, stage === 'deprecated' ? `EC2 deprecates them at ${new Date(since).toISOString()}` : undefined);
        continue;
      }
      // Deregistering: recorded first when staged, so a second replica does not take it too.
      const finishing = record?.stage === 'deregistered';
      if (record && !finishing && !(await this.deps.store.advanceRetirement({ ...base, stage: 'deregistered', since: now }, record))) continue;
      const removed = await applyStage(this.deps.aws, 'deregistered', bake, now);
      // Finishing one cut short: told only when this run removed something (another may just have).
      if (finishing && removed === 0) continue;
      outcomes.push(outcome(bake, 'deregistered'));
      await this.audit(app, actor, 'images pruned', bake);
      await this.markRetired(app, actor, bake);
    }
    return outcomes;
  }

  /** The digest's run: moves on (or restores) the retirements already started; starts none. */
  async advance(app: string, config: AppConfig): Promise<RetireOutcome[]> {
    // A finished retirement's record stays (with a TTL); only one under way costs AWS calls.
    if (!(await this.deps.store.listRetirements(app)).some((record) => record.stage !== 'deregistered')) return [];
    const plan = await this.plan(app, config, { keep: 1, now: this.deps.clock.now(), start: false });
    return this.carryOut(app, config, plan, 'bakery');
  }

  /** The release whose images these were is retired: /bake bakes it afresh, /canary and a region retry refuse it. */
  private async markRetired(app: string, actor: string, bake: Bake): Promise<void> {
    if (!bake.version) return;
    const release = await this.deps.store.getRelease(app, bake.version);
    // A version baked again since (--force, a Rebake) has another bake's images: that release stays, and forgets the pruned bake.
    if (release && release.operationId !== bake.operationId) return this.deps.store.dropSupersededBake(app, bake.version, bake.operationId);
    if (!release) return;
    await this.deps.store.setReleaseStatus(app, bake.version, 'retired', { at: this.deps.clock.now(), by: actor, operationId: bake.operationId, note: 'images pruned' });
  }

  private async audit(app: string, actor: string, action: string, bake: Bake, note?: string): Promise<void> {
    const images = bake.images.map((image) => `${image.imageId} (${image.region})`).join(', ');
    const detail = `${bake.version ?? bake.operationId}: ${images}${note ? `; ${note}` : ''}`;
    await this.deps.store.appendAudit({ app, at: this.deps.clock.now(), actor, action, operationId: bake.operationId, detail: detail.slice(0, 1000) });
  }
}

function outcome(bake: Bake, did: RetireOutcome['did']): RetireOutcome {
  return { bake, did, images: bake.images.length, snapshots: bake.images.reduce((n, image) => n + image.snapshotIds.length, 0) };
}

const gone = (error: unknown): boolean => errorCode(error) === 'InvalidAMIID.Unavailable' || errorCode(error) === 'InvalidAMIID.NotFound';

/** Brings every image of the bake to `stage`, calling EC2 only for those not there yet (as it showed them this run); how many it changed. */
async function applyStage(aws: AwsClients, stage: RetireStage, bake: Bake, since: number): Promise<number> {
  let changed = 0;
  for (const image of bake.images) {
    const ec2 = await aws.ec2(image.region);
    try {
      if (stage === 'deprecated' && image.deprecatedAt === undefined) {
        await ec2.enableImageDeprecation({ ImageId: image.imageId, DeprecateAt: new Date(since) });
      } else if (stage === 'disabled' && image.state !== 'disabled') {
        await ec2.disableImage({ ImageId: image.imageId });
      } else if (stage === 'deregistered') {
        await deleteImage(aws, image.region, { ImageId: image.imageId, BlockDeviceMappings: image.snapshotIds.map((SnapshotId) => ({ Ebs: { SnapshotId } })) });
      } else {
        continue;
      }
      changed += 1;
    } catch (error) {
      if (!gone(error)) throw error;
    }
  }
  return changed;
}

/** Makes a bake in retirement usable again: enabled, shared again as configured (DisableImage unshares), no longer deprecated. */
async function restore(aws: AwsClients, config: AppConfig, bake: Bake): Promise<void> {
  for (const image of bake.images) {
    const ec2 = await aws.ec2(image.region);
    try {
      if (image.state === 'disabled') {
        await ec2.enableImage({ ImageId: image.imageId });
        if (config.shareWith.length) await shareImage(aws, image.region, { ImageId: image.imageId, BlockDeviceMappings: image.snapshotIds.map((SnapshotId) => ({ Ebs: { SnapshotId } })) }, config.shareWith);
      }
      if (image.deprecatedAt !== undefined) await ec2.disableImageDeprecation({ ImageId: image.imageId });
    } catch (error) {
      if (!gone(error)) throw error;
    }
  }
}
