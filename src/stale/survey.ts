import { clientsInAccount, type AwsClients } from '../aws/clients.js';
import type { Image } from '@aws-sdk/client-ec2';
import { describeAwsError } from '../aws/errors.js';
import { imagesOfGroups } from '../aws/fleet.js';
import { describeImagesById, resolveBaseImage, timeOf, type BaseImage } from '../aws/images.js';
import { tagKeys } from '../aws/provenance.js';
import type { Clock } from '../clock.js';
import type { AppConfig } from '../config/apps.js';
import { environmentsOf, fleetOf, type Environment, type EnvironmentAccount } from '../config/environments.js';
import type { Logger } from '../log.js';
import { recipeHash } from '../pipelines/bake/recipe.js';
import type { AppLock, LiveRelease, Operation, Release } from '../store/items.js';
import type { AppRecords, Store } from '../store/store.js';
import { fixedByRebake, staleReasons, type ImageFacts, type StaleReason } from './reasons.js';

/**
 * The picture of one app the digest and the App Home show; an app of several environments has one per
 * environment, each judged on what is live there.
 */
export interface AppPicture {
  app: string;
  config: AppConfig;
  /** The environment pictured, of an app of several; with how far its live release is behind the one it follows (`after`). */
  environment?: { name: string; behind?: Behind };
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

/** How many releases the environment it follows has had live since the one live here: "two releases behind staging". */
export interface Behind {
  of: string;
  /** Undefined when nothing of Bakery's is live here yet. */
  releases?: number;
  /** What runs there. */
  version: string;
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

/** What the store says of one app's fleet (of one of its environments), read before AWS is asked anything. */
interface StoredApp {
  app: string;
  config: AppConfig;
  environment?: AppPicture['environment'];
  /** Where the fleet runs and its group: the images judged are the release's in this region. */
  region: string;
  /** The other account the fleet runs in, read with the role Bakery assumes there. */
  account?: EnvironmentAccount;
  group?: string;
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
    for (const app of names) stored.push(...(await this.stored(app, configs[app]!, records?.get(app) ?? (records ? { lives: [], releases: [], locks: [] } : undefined))));
    // Fleets are read where they run: per account and region, each other account with its role's clients (one set per survey).
    const byPlace = new Map<string, { region: string; account?: EnvironmentAccount; apps: StoredApp[] }>();
    for (const app of stored) {
      const key = `${app.account?.role ?? ''} ${app.account?.externalId ?? ''} ${app.region}`;
      const place = byPlace.get(key) ?? { region: app.region, account: app.account, apps: [] };
      place.apps.push(app);
      byPlace.set(key, place);
    }
    const accounts = new Map<string, AwsClients>();
    const clientsOf = (account: EnvironmentAccount): AwsClients => {
      const key = `${account.role} ${account.externalId ?? ''}`;
      if (!accounts.has(key)) accounts.set(key, clientsInAccount(this.deps.aws, account, 'bakery-survey'));
      return accounts.get(key)!;
    };
    const pictures = (await Promise.all([...byPlace.values()].map(({ region, account, apps }) => this.region(region, apps, account && clientsOf(account), newestBase)))).flat();
    // An app's environments stay in their order.
    const order = (picture: AppPicture): number => environmentsOf(picture.config).findIndex((environment) => environment.name === picture.environment?.name);
    return pictures.sort((a, b) => a.app.localeCompare(b.app) || order(a) - order(b));
  }

  /** The app's fleet, or each of its environments' with that environment's live record and deploy. */
  private async stored(app: string, config: AppConfig, records?: AppRecords): Promise<StoredApp[]> {
    const { live, lives, releases, locks } = records ?? (await this.deps.store.getAppRecords(app));
    const running = await this.running(locks);
    const named = environmentsOf(config).filter((environment): environment is Environment & { name: string } => environment.name !== undefined);
    if (named.length === 0) return [{ app, config, region: config.region, group: fleetOf(config)?.group, liveItem: live, releases, running }];
    const liveIn = (name: string) => lives.find((record) => record.environment === name);
    return named.map((environment, index) => ({
      app,
      config,
      environment: { name: environment.name, behind: environment.after === undefined ? undefined : behind(environment.after, liveIn(environment.name), liveIn(environment.after), releases) },
      region: environment.region,
      ...(environment.account && { account: environment.account }),
      group: environment.deploy.group,
      liveItem: liveIn(environment.name),
      releases,
      // A bake is the app's, shown with its first environment; a deploy with its environment.
      running: running.filter(({ lock }) => (lock.kind === 'bake' ? index === 0 : lock.environment === environment.name)),
    }));
  }

  /**
   * The pictures of one region's apps: their fleets read together, then every image they name in one go. `other`:
   * the clients of the other account these fleets run in, which reads their groups and the images they run (a role
   * that cannot be assumed is a "could not check" of each fleet); bases are Bakery's own, where the app bakes.
   */
  private async region(region: string, apps: StoredApp[], other: AwsClients | undefined, newestBase: (config: AppConfig) => Promise<BaseImage>): Promise<AppPicture[]> {
    const { clock } = this.deps;
    const aws = other ?? this.deps.aws;
    const basesHere = (app: StoredApp): boolean => !other && app.config.region === region;
    const groupOf = (app: StoredApp): string | undefined => app.group;
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
      return [...(lives[index] && basesHere(app) ? [lives[index].release.baseAmi] : []), ...foreign];
    });
    const images = wanted.length ? await describeImagesById(aws, region, wanted).catch(failed) : new Map<string, Image>();
    if ('error' in images) this.deps.log.warn({ region, why: images.error }, 'stale survey could not describe images');
    // A base is in the app's home region and account, where it bakes: an environment whose fleet runs elsewhere has its base described there.
    const elsewhere = new Map<string, string[]>();
    apps.forEach((app, index) => {
      if (lives[index] && !basesHere(app)) elsewhere.set(app.config.region, [...(elsewhere.get(app.config.region) ?? []), lives[index].release.baseAmi]);
    });
    const homeImages = new Map(await Promise.all([...elsewhere].map(async ([home, bases]) => [home, await describeImagesById(this.deps.aws, home, bases).catch(failed)] as const)));
    const basesOf = (app: StoredApp): Map<string, Image> | Failed => (basesHere(app) ? images : (homeImages.get(app.config.region) ?? images));

    return Promise.all(
      apps.map(async (app, index) => {
        const live = lives[index];
        const fleet = this.fleetFacts(app, fleetAmiOf(app), images, live?.ami);
        let reasons: StaleReason[];
        if (live) {
          const newest = await newestBase(app.config).catch(failed);
          reasons = staleReasons(this.imageFacts(app.config, live.release, fleet, basesOf(app), newest), clock.now());
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
        return { app: app.app, config: app.config, ...(app.environment ? { environment: app.environment } : {}), live, ...(rebaked ? { rebaked } : {}), ...(app.releases[0] ? { latest: app.releases[0] } : {}), reasons, rebake, running: app.running };
      }),
    );
  }

  /** The recorded live release, else the release the fleet runs, else the last baked one. */
  private liveOf(app: StoredApp, fleetAmi: string | Failed | undefined): AppPicture['live'] {
    const { liveItem, releases } = app;
    if (liveItem) {
      const release = releases.find((candidate) => candidate.version === liveItem.live.version);
      return release ? { release: bakeOf(release, liveItem.live.ami, app.region), ami: liveItem.live.ami, recorded: 'live' } : undefined;
    }
    const running = typeof fleetAmi === 'string' ? releaseOf(app, fleetAmi) : undefined;
    if (running) return { release: bakeOf(running, fleetAmi as string, app.region), ami: fleetAmi as string, recorded: 'fleet' };
    const lastBaked = releases.find((release) => !['rejected', 'retired', 'rolled-back'].includes(release.status)) ?? releases[0];
    return lastBaked ? { release: lastBaked, ami: lastBaked.amis[app.region] ?? '', recorded: 'last baked' } : undefined;
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
  const { region } = app;
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
  return current && current.amis[app.region] !== ami && current.status !== 'retired' ? current : undefined;
}

/**
 * How far `here` is behind the environment it follows: the releases live there since (or up to) the one
 * live there now that are newer than the one live here, newest bakedAt first as `releases` are.
 */
function behind(of: string, here: LiveRelease | undefined, there: LiveRelease | undefined, releases: Release[]): Behind | undefined {
  const version = there?.live.version;
  if (version === undefined) return undefined;
  const newest = releases.findIndex((release) => release.version === version);
  if (newest < 0) return { of, version };
  const oldest = here?.live.version === undefined ? -1 : releases.findIndex((release) => release.version === here.live.version);
  if (here && oldest < 0) return { of, version };
  const between = releases.slice(newest, oldest < 0 ? undefined : oldest);
  const wentLive = between.filter((release) => release.history.some((event) => event.status === 'live' && event.environment === of));
  return { of, version, ...(here ? { releases: wentLive.length } : {}) };
}
