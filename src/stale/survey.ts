import type { AwsClients } from '../aws/clients.js';
import type { Image } from '@aws-sdk/client-ec2';
import { describeAwsError } from '../aws/errors.js';
import { imagesOfGroups } from '../aws/fleet.js';
import { describeImagesById, resolveBaseImage, timeOf, type BaseImage } from '../aws/images.js';
import { tagKeys } from '../aws/provenance.js';
import type { Clock } from '../clock.js';
import type { AppConfig } from '../config/apps.js';
import { fleetOf } from '../config/environments.js';
import type { Logger } from '../log.js';
import { recipeHash } from '../pipelines/bake/recipe.js';
import type { AppLock, LiveRelease, Operation, Release } from '../store/items.js';
import type { AppRecords, Store } from '../store/store.js';
import { fixedByRebake, staleReasons, type ImageFacts, type StaleReason } from './reasons.js';

/** The picture of one app the digest and the App Home show. */
export interface AppPicture {
  app: string;
  config: AppConfig;
  /** The release standing for the live one: the recorded live release, else what the fleet runs, else the last baked. */
  live?: { release: Release; ami: string; recorded: 'live' | 'fleet' | 'last baked' };
  /**
   * The live version baked again (--force, a Rebake) into an image the fleet does not run yet: the
   * live one is still judged (`live.release` is then the earlier bake's record), and this is shipped by a canary.
   */
  rebaked?: Release;
  /** The newest release, baked or not live: what Bakery has for an app whose fleet runs none of its images. */
  latest?: Release;
  reasons: StaleReason[];
  /** Whether a Rebake (this version on the newest base) would fix something. */
  rebake: boolean;
  /** Operations of the app running now (a bake, a canary, a promotion, a rollback), oldest first. */
  running: { lock: AppLock; operation?: Operation }[];
}

/** Stale: something was found that a person can act on. What could not be checked is said, never counted (neither stale nor fresh). */
export const isStale = (picture: AppPicture): boolean => picture.reasons.some((reason) => reason.kind !== 'unchecked');
export const isFresh = (picture: AppPicture): boolean => picture.reasons.length === 0;

export interface SurveyDependencies {
  aws: AwsClients;
  store: Store;
  clock: Clock;
  log: Logger;
}

/** What the store says of one app, read before AWS is asked anything. */
interface StoredApp {
  app: string;
  config: AppConfig;
  liveItem?: LiveRelease;
  releases: Release[];
  running: AppPicture['running'];
}

type Failed = { error: string };
const failed = (error: unknown): Failed => ({ error: describeAwsError(error) });

/**
 * Gathers, per app, what its live image was made of and what the world offers now, and judges it
 * (reasons.ts). AWS is asked per region for all its apps at once (README.md: at most a handful of
 * calls per region, never one per image). A failed AWS call becomes an "could not check" reason for
 * the apps it concerns, never a failed digest.
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
    // Every app: one Scan of the table; a few: a Query each.
    const records = only ? undefined : await this.deps.store.scanAppRecords();
    const stored: StoredApp[] = [];
    for (const app of names) stored.push(await this.stored(app, configs[app]!, records?.get(app) ?? (records ? { lives: [], releases: [], locks: [] } : undefined)));
    const byRegion = new Map<string, StoredApp[]>();
    for (const app of stored) byRegion.set(app.config.region, [...(byRegion.get(app.config.region) ?? []), app]);
    const pictures = (await Promise.all([...byRegion].map(([region, apps]) => this.region(region, apps, newestBase)))).flat();
    return pictures.sort((a, b) => a.app.localeCompare(b.app));
  }

  private async stored(app: string, config: AppConfig, records?: AppRecords): Promise<StoredApp> {
    const { live, releases, locks } = records ?? (await this.deps.store.getAppRecords(app));
    return { app, config, liveItem: live, releases, running: await this.running(locks) };
  }

  /** The pictures of one region's apps: their fleets read together, then every image they name in one go. */
  private async region(region: string, apps: StoredApp[], newestBase: (config: AppConfig) => Promise<BaseImage>): Promise<AppPicture[]> {
    const { aws, clock } = this.deps;
    // An app of several environments is surveyed by its images alone until the Home shows each environment.
    const groupOf = (app: StoredApp): string | undefined => fleetOf(app.config)?.group;
    const groups = apps.flatMap((app) => groupOf(app) ?? []);
    const fleetImages: Map<string, string | Failed> | Failed = groups.length ? await imagesOfGroups(aws, region, groups).catch(failed) : new Map();
    const fleetAmiOf = (app: StoredApp): string | Failed | undefined => {
      const group = groupOf(app);
      return group === undefined ? undefined : 'error' in fleetImages ? fleetImages : fleetImages.get(group);
    };

    const lives = apps.map((app) => this.liveOf(app, fleetAmiOf(app)));
    // The live releases' bases, and fleet images that are no release: one batched describe.
    const wanted = apps.flatMap((app, index) => {
      const fleetAmi = fleetAmiOf(app);
      const foreign = typeof fleetAmi === 'string' && !releaseOf(app, fleetAmi) ? [fleetAmi] : [];
      return [...(lives[index] ? [lives[index].release.baseAmi] : []), ...foreign];
    });
    const images = wanted.length ? await describeImagesById(aws, region, wanted).catch(failed) : new Map<string, Image>();
    if ('error' in images) this.deps.log.warn({ region, why: images.error }, 'stale survey could not describe images');

    return Promise.all(
      apps.map(async (app, index) => {
        const live = lives[index];
        const fleet = this.fleetFacts(app, fleetAmiOf(app), images, live?.ami);
        let reasons: StaleReason[];
        if (live) {
          const newest = await newestBase(app.config).catch(failed);
          reasons = staleReasons(this.imageFacts(app.config, live.release, fleet, images, newest), clock.now());
        } else {
          // Never baked (or the live image is not Bakery's): only the fleet can be judged.
          const facts = fleet && !('error' in fleet) && !fleet.bakedByBakery ? [{ kind: 'not-baked-by-bakery' as const, fleetAmi: fleet.ami, name: fleet.name }] : [];
          reasons = fleet && 'error' in fleet ? [{ kind: 'unchecked', what: 'the fleet', why: fleet.error }] : facts;
        }
        // What could not be checked is the operator's to look into: the person sees it as a reason.
        for (const reason of reasons) if (reason.kind === 'unchecked') this.deps.log.warn({ app: app.app, what: reason.what, why: reason.why }, 'stale survey could not check');
        const rebaked = live ? rebakedOf(app, live.release, live.ami) : undefined;
        // A rebake not yet live is what fixes it: a canary ships it, a Rebake would bake it again.
        const rebake = live !== undefined && !rebaked && reasons.some(fixedByRebake);
        return { app: app.app, config: app.config, live, ...(rebaked ? { rebaked } : {}), ...(app.releases[0] ? { latest: app.releases[0] } : {}), reasons, rebake, running: app.running };
      }),
    );
  }

  /** The recorded live release, else the release the fleet runs, else the last baked one. */
  private liveOf(app: StoredApp, fleetAmi: string | Failed | undefined): AppPicture['live'] {
    const { liveItem, releases } = app;
    if (liveItem) {
      const release = releases.find((candidate) => candidate.version === liveItem.live.version);
      return release ? { release: bakeOf(release, liveItem.live.ami, app.config.region), ami: liveItem.live.ami, recorded: 'live' } : undefined;
    }
    const running = typeof fleetAmi === 'string' ? releaseOf(app, fleetAmi) : undefined;
    if (running) return { release: bakeOf(running, fleetAmi as string, app.config.region), ami: fleetAmi as string, recorded: 'fleet' };
    const lastBaked = releases.find((release) => !['rejected', 'retired', 'rolled-back'].includes(release.status)) ?? releases[0];
    return lastBaked ? { release: lastBaked, ami: lastBaked.amis[app.config.region] ?? '', recorded: 'last baked' } : undefined;
  }

  private imageFacts(config: AppConfig, release: Release, fleet: ImageFacts['fleet'], images: Map<string, Image> | Failed, newest: BaseImage | Failed): ImageFacts {
    // Could not describe: neither gone nor deprecated is known, so neither is claimed.
    const described = 'error' in images ? undefined : images.get(release.baseAmi);
    return {
      bakedAt: release.bakedAt,
      maxAgeDays: config.maxImageAgeDays,
      base: {
        ami: release.baseAmi,
        name: release.baseAmiName,
        createdAt: release.baseAmiCreatedAt ?? timeOf(described?.CreationDate),
        deprecatedAt: timeOf(described?.DeprecationTime),
        gone: !('error' in images) && described === undefined,
      },
      newestBase: newest,
      recipeHash: release.recipeHash,
      currentRecipeHash: recipeHash(config),
      recordedVersion: release.version,
      fleet,
    };
  }

  private fleetFacts(app: StoredApp, fleetAmi: string | Failed | undefined, images: Map<string, Image> | Failed, liveAmi: string | undefined): ImageFacts['fleet'] {
    if (fleetAmi === undefined || typeof fleetAmi !== 'string') return fleetAmi;
    const release = releaseOf(app, fleetAmi);
    if (release) return { ami: fleetAmi, version: release.version, bakedByBakery: true, matchesRecorded: fleetAmi === liveAmi };
    const image = 'error' in images ? undefined : images.get(fleetAmi);
    const tags = new Map((image?.Tags ?? []).map((tag) => [tag.Key, tag.Value]));
    // Bakery's image of a release it no longer records (a forced re-bake replaced it) is still Bakery's.
    const ours = tags.get(tagKeys.createdBy) === 'bakery';
    return { ami: fleetAmi, version: tags.get(tagKeys.version), name: image?.Name, bakedByBakery: ours, matchesRecorded: fleetAmi === liveAmi };
  }

  private async running(locks: AppLock[]): Promise<AppPicture['running']> {
    return Promise.all([...locks].sort((a, b) => a.since - b.since).map(async (lock) => ({ lock, operation: await this.deps.store.getOperation(lock.operationId) })));
  }
}

/** The release one of whose bakes made `ami`: its current bake, or one a rebake replaced. */
function releaseOf(app: StoredApp, ami: string): Release | undefined {
  const { region } = app.config;
  return app.releases.find((release) => release.amis[region] === ami || release.superseded?.some((bake) => bake.amis[region] === ami));
}

/** The release as the bake that made `ami` recorded it: what is judged is the image the fleet runs, not the version's newest bake. */
function bakeOf(release: Release, ami: string, region: string): Release {
  const earlier = release.amis[region] === ami ? undefined : release.superseded?.findLast((bake) => bake.amis[region] === ami);
  if (!earlier) return release;
  const { supersededAt: _replacedAt, ...bake } = earlier;
  return { ...release, ...bake, baseAmiCreatedAt: bake.baseAmiCreatedAt, artifactSha256: bake.artifactSha256, recipeHash: bake.recipeHash, commit: bake.commit, thread: bake.thread };
}

/** The live version's newer bake, when the live image is an earlier one. */
function rebakedOf(app: StoredApp, live: Release, ami: string): Release | undefined {
  const current = app.releases.find((release) => release.version === live.version);
  return current && current.amis[app.config.region] !== ami && current.status !== 'retired' ? current : undefined;
}
