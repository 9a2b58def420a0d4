import type { Environment } from '../config/environments.js';
import type { AppLock, LiveRelease, Release, ReleaseEvent } from '../store/items.js';
import { soakEnds } from './canary/soak.js';

/*
 * Where a release stands in each of an app's environments, read from the records that decide it:
 * each environment's live record and deploy lock, and the release's history (its events name their
 * environment). /releases draws the matrix from it; the App Home and the digest say what runs where.
 */

export type Standing =
  | { kind: 'canary' }
  | { kind: 'live' }
  /** Live, and the environment after this one takes it once its soak here ends. */
  | { kind: 'soaking'; until: number; next: string }
  /** The environment's rollback target. */
  | { kind: 'previous' }
  | { kind: 'rolled-back' }
  | { kind: 'rejected' };

/** What the standings are read from: every environment's live record and deploy lock the app has. */
export interface EnvironmentRecords {
  environments: Environment[];
  lives: LiveRelease[];
  locks: AppLock[];
}

export const liveIn = (records: Pick<EnvironmentRecords, 'lives'>, environment: Pick<Environment, 'name'>): LiveRelease | undefined =>
  records.lives.find((live) => live.environment === environment.name);

export const deployIn = (records: Pick<EnvironmentRecords, 'locks'>, environment: Pick<Environment, 'name'>): AppLock | undefined =>
  records.locks.find((lock) => lock.kind !== 'bake' && lock.environment === environment.name);

/** The release's events in the environment, oldest first. */
export const eventsIn = (release: Release, environment: Pick<Environment, 'name'>): ReleaseEvent[] =>
  release.history.filter((event) => event.environment !== undefined && event.environment === environment.name);

/** Where `release` stands in `environment`; undefined when it has never been there, or was and left without a mark. */
export function standingOf(release: Release, environment: Environment, records: EnvironmentRecords, now: number): Standing | undefined {
  const lock = deployIn(records, environment);
  if (lock?.kind === 'canary' && lock.version === release.version) return { kind: 'canary' };
  const live = liveIn(records, environment);
  if (live?.live.version === release.version) return soaking(release, environment, records, live, now) ?? { kind: 'live' };
  const last = eventsIn(release, environment).at(-1);
  if (last?.status === 'rolled-back' || last?.status === 'rejected') return { kind: last.status };
  if (live?.previous?.version === release.version) return { kind: 'previous' };
  return undefined;
}

/**
 * Live in `environment` with its soak for a next environment not over, and not there yet. A version
 * baked again since it went live never soaks: its image now is not the one tested (soak.ts).
 */
function soaking(release: Release, environment: Environment, records: EnvironmentRecords, live: LiveRelease, now: number): Standing | undefined {
  if (live.live.ami !== release.amis[environment.region]) return undefined;
  for (const next of records.environments.filter((candidate) => candidate.name !== undefined && candidate.after === environment.name)) {
    const there = liveIn(records, next)?.live.version === release.version || deployIn(records, next)?.version === release.version;
    const until = soakEnds(next, live);
    if (!there && now < until) return { kind: 'soaking', until, next: next.name! };
  }
  return undefined;
}
