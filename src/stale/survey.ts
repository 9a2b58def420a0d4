import type { AwsClients } from '../aws/clients.js';
import { describeAwsError } from '../aws/errors.js';
import { imageOfTemplateVersion, readLiveGroup } from '../aws/fleet.js';
import { describeImage, resolveBaseImage, timeOf, type BaseImage } from '../aws/images.js';
import { tagKeys } from '../aws/provenance.js';
import type { Clock } from '../clock.js';
import type { AppConfig } from '../config/apps.js';
import type { Logger } from '../log.js';
import { recipeHash } from '../pipelines/bake/recipe.js';
import type { AppLock, Operation, Release } from '../store/items.js';
import type { Store } from '../store/store.js';
import { fixedByRebake, staleReasons, type ImageFacts, type StaleReason } from './reasons.js';

/** The picture of one app the digest and the App Home show. */
export interface AppPicture {
  app: string;
  config: AppConfig;
  /** The release standing for the live one: the recorded live release, else what the fleet runs, else the last baked. */
  live?: { release: Release; ami: string; recorded: 'live' | 'fleet' | 'last baked' };
  reasons: StaleReason[];
  /** Whether a Rebake (this version on the newest base) would fix something. */
  rebake: boolean;
  /** Operations of the app running now (a bake, a canary, a promotion, a rollback), oldest first. */
  running: { lock: AppLock; operation?: Operation }[];
}

export const isStale = (picture: AppPicture): boolean => picture.reasons.length > 0;

export interface SurveyDependencies {
  aws: AwsClients;
  store: Store;
  clock: Clock;
  log: Logger;
}

/**
 * Gathers, per app, what its live image was made of and what the world offers now, and judges it
 * (reasons.ts). A failed AWS call becomes an "could not check" reason for that app, never a failed digest.
 */
export class StaleSurvey {
  constructor(private readonly deps: SurveyDependencies) {}

  /** Every configured app (or the named ones), sorted by name. */
  async survey(only?: string[]): Promise<AppPicture[]> {
    const configs = await this.deps.store.listAppConfigs();
    const names = Object.keys(configs).filter((name) => !only || only.includes(name)).sort();
    // Apps on one base source share its resolution: one lookup per source and region per survey.
    const bases = new Map<string, Promise<BaseImage>>();
    const newestBase = (config: AppConfig): Promise<BaseImage> => {
      const key = `${config.region} ${JSON.stringify(config.baseImage)} ${config.baseImageOwners.join(',')}`;
      if (!bases.has(key)) bases.set(key, resolveBaseImage(this.deps.aws, config.region, config.baseImage, config.baseImageOwners));
      return bases.get(key)!;
    };
    const pictures: AppPicture[] = [];
    for (const name of names) pictures.push(await this.picture(name, configs[name]!, newestBase));
    return pictures;
  }

  private async picture(app: string, config: AppConfig, newestBase: (config: AppConfig) => Promise<BaseImage>): Promise<AppPicture> {
    const { store, clock } = this.deps;
    const [liveItem, releases, running] = await Promise.all([store.getLive(app), store.listReleases(app), this.running(app)]);
    const fleetAmi = config.deploy ? await this.fleetImage(config).catch((error: unknown) => ({ error: describeAwsError(error) })) : undefined;
    const releaseOf = (ami: string): Release | undefined => releases.find((release) => release.amis[config.region] === ami);

    let live: AppPicture['live'];
    if (liveItem) {
      const release = releases.find((candidate) => candidate.version === liveItem.live.version);
      if (release) live = { release, ami: liveItem.live.ami, recorded: 'live' };
    } else if (typeof fleetAmi === 'string' && releaseOf(fleetAmi)) {
      live = { release: releaseOf(fleetAmi)!, ami: fleetAmi, recorded: 'fleet' };
    } else {
      const lastBaked = releases.find((release) => !['rejected', 'retired', 'rolled-back'].includes(release.status)) ?? releases[0];
      if (lastBaked) live = { release: lastBaked, ami: lastBaked.amis[config.region] ?? '', recorded: 'last baked' };
    }

    const fleet = await this.fleetFacts(config, fleetAmi, releaseOf, live?.ami);
    let reasons: StaleReason[];
    if (live) {
      reasons = staleReasons(await this.imageFacts(config, live.release, fleet, newestBase), clock.now());
    } else {
      // Never baked (or the live image is not Bakery's): only the fleet can be judged.
      const facts = fleet && !('error' in fleet) && !fleet.bakedByBakery ? [{ kind: 'not-baked-by-bakery' as const, fleetAmi: fleet.ami, name: fleet.name }] : [];
      reasons = fleet && 'error' in fleet ? [{ kind: 'unchecked', what: 'the fleet', why: fleet.error }] : facts;
    }
    // What could not be checked is the operator's to look into: the person sees it as a reason.
    for (const reason of reasons) if (reason.kind === 'unchecked') this.deps.log.warn({ app, what: reason.what, why: reason.why }, 'stale survey could not check');
    return { app, config, live, reasons, rebake: live !== undefined && reasons.some(fixedByRebake), running };
  }

  private async imageFacts(config: AppConfig, release: Release, fleet: ImageFacts['fleet'], newestBase: (config: AppConfig) => Promise<BaseImage>): Promise<ImageFacts> {
    const { aws } = this.deps;
    const [base, newest] = await Promise.all([
      describeImage(aws, config.region, release.baseAmi).catch((error: unknown) => ({ error: describeAwsError(error) })),
      newestBase(config).catch((error: unknown) => ({ error: describeAwsError(error) })),
    ]);
    const described = base && !('error' in base) ? base : undefined;
    return {
      bakedAt: release.bakedAt,
      maxAgeDays: config.maxImageAgeDays,
      base: {
        ami: release.baseAmi,
        name: release.baseAmiName,
        createdAt: release.baseAmiCreatedAt ?? timeOf(described?.CreationDate),
        deprecatedAt: timeOf(described?.DeprecationTime),
        gone: base === undefined,
      },
      newestBase: newest,
      recipeHash: release.recipeHash,
      currentRecipeHash: recipeHash(config),
      recordedVersion: release.version,
      fleet,
    };
  }

  /** The image the live group's launch template version launches. */
  private async fleetImage(config: AppConfig): Promise<string> {
    const group = await readLiveGroup(this.deps.aws, config.region, config.deploy!.group);
    if (!group) throw new Error(`the live group ${config.deploy!.group} does not exist in ${config.region}`);
    const ami = await imageOfTemplateVersion(this.deps.aws, config.region, group.launchTemplateId, group.launchTemplateVersion);
    if (!ami) throw new Error(`launch template ${group.launchTemplateName} version ${group.launchTemplateVersion} names no image`);
    return ami;
  }

  private async fleetFacts(
    config: AppConfig,
    fleetAmi: string | { error: string } | undefined,
    releaseOf: (ami: string) => Release | undefined,
    liveAmi: string | undefined,
  ): Promise<ImageFacts['fleet']> {
    if (fleetAmi === undefined || typeof fleetAmi !== 'string') return fleetAmi;
    const release = releaseOf(fleetAmi);
    if (release) return { ami: fleetAmi, version: release.version, bakedByBakery: true, matchesRecorded: fleetAmi === liveAmi };
    const image = await describeImage(this.deps.aws, config.region, fleetAmi).catch(() => undefined);
    const tags = new Map((image?.Tags ?? []).map((tag) => [tag.Key, tag.Value]));
    // Bakery's image of a release it no longer records (a forced re-bake replaced it) is still Bakery's.
    const ours = tags.get(tagKeys.createdBy) === 'bakery';
    return { ami: fleetAmi, version: tags.get(tagKeys.version), name: image?.Name, bakedByBakery: ours, matchesRecorded: fleetAmi === liveAmi };
  }

  private async running(app: string): Promise<AppPicture['running']> {
    const locks = (await Promise.all([this.deps.store.getLock(app, 'bake'), this.deps.store.getLock(app, 'deploy')])).filter((lock) => lock !== undefined);
    return Promise.all(locks.sort((a, b) => a.since - b.since).map(async (lock) => ({ lock, operation: await this.deps.store.getOperation(lock.operationId) })));
  }
}
