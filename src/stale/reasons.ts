/*
 * Why an app's live image is stale, decided from facts the survey gathered (survey.ts), without I/O,
 * and said in words a person understands.
 */

export const DEFAULT_MAX_IMAGE_AGE_DAYS = 30;
const DAY_MS = 24 * 3_600_000;

export interface ImageRef {
  id: string;
  name: string;
}

export type StaleReason =
  | { kind: 'too-old'; ageDays: number; maxDays: number }
  /** behindDays is unknown when EC2 gave no dates, or the new base is not newer. */
  | { kind: 'base-superseded'; newBase: ImageRef; behindDays?: number }
  | { kind: 'base-deprecated'; base: ImageRef; since: number }
  | { kind: 'base-gone'; baseAmi: string }
  | { kind: 'recipe-changed' }
  | { kind: 'drift'; fleetAmi: string; fleetVersion: string; recordedVersion: string }
  | { kind: 'not-baked-by-bakery'; fleetAmi: string; name?: string }
  /** Something the survey could not find out: said, so a gap is never mistaken for "fresh". */
  | { kind: 'unchecked'; what: string; why: string };

/** What the survey learned about the image standing for an app's live release. */
export interface ImageFacts {
  bakedAt: number;
  maxAgeDays?: number;
  base: { ami: string; name: string; createdAt?: number; deprecatedAt?: number; gone: boolean };
  /** What the app's base source resolves to now, or why it could not be resolved. */
  newestBase: { id: string; name: string; createdAt?: number } | { error: string };
  recipeHash?: string;
  currentRecipeHash: string;
  recordedVersion: string;
  /** The fleet's image, where the app has one: its version when Bakery baked it. */
  fleet?: { ami: string; version?: string; name?: string; bakedByBakery: boolean; matchesRecorded: boolean } | { error: string };
}

export function staleReasons(facts: ImageFacts, now: number): StaleReason[] {
  const reasons: StaleReason[] = [];
  const maxDays = facts.maxAgeDays ?? DEFAULT_MAX_IMAGE_AGE_DAYS;
  const ageDays = Math.floor((now - facts.bakedAt) / DAY_MS);
  if (ageDays >= maxDays) reasons.push({ kind: 'too-old', ageDays, maxDays });

  const { base, newestBase } = facts;
  if ('error' in newestBase) {
    reasons.push({ kind: 'unchecked', what: 'the newest base', why: newestBase.error });
  } else if (newestBase.id !== base.ami) {
    const newer = newestBase.createdAt !== undefined && base.createdAt !== undefined ? newestBase.createdAt - base.createdAt : undefined;
    reasons.push({
      kind: 'base-superseded',
      newBase: { id: newestBase.id, name: newestBase.name },
      behindDays: newer !== undefined && newer > 0 ? Math.round(newer / DAY_MS) : undefined,
    });
  }
  if (base.gone) reasons.push({ kind: 'base-gone', baseAmi: base.ami });
  else if (base.deprecatedAt !== undefined && base.deprecatedAt <= now) reasons.push({ kind: 'base-deprecated', base: { id: base.ami, name: base.name }, since: base.deprecatedAt });

  if (facts.recipeHash !== undefined && facts.recipeHash !== facts.currentRecipeHash) reasons.push({ kind: 'recipe-changed' });

  const { fleet } = facts;
  if (fleet && 'error' in fleet) reasons.push({ kind: 'unchecked', what: 'the fleet', why: fleet.error });
  else if (fleet && !fleet.bakedByBakery) reasons.push({ kind: 'not-baked-by-bakery', fleetAmi: fleet.ami, name: fleet.name });
  else if (fleet && !fleet.matchesRecorded) reasons.push({ kind: 'drift', fleetAmi: fleet.ami, fleetVersion: fleet.version ?? 'an unknown version', recordedVersion: facts.recordedVersion });
  return reasons;
}

const days = (n: number): string => `${n} day${n === 1 ? '' : 's'}`;

/** One reason, as a person reads it in the digest. */
export function describeReason(reason: StaleReason): string {
  switch (reason.kind) {
    case 'too-old':
      return `the image is ${days(reason.ageDays)} old, past the app’s maximum of ${days(reason.maxDays)}`;
    case 'base-superseded':
      return `a newer base is out${reason.behindDays === undefined ? '' : reason.behindDays === 0 ? ': this one is less than a day behind' : `: this one is ${days(reason.behindDays)} behind`} (now \`${reason.newBase.id}\` ${reason.newBase.name})`;
    case 'base-deprecated':
      return `its base \`${reason.base.id}\` ${reason.base.name} is deprecated since ${new Date(reason.since).toISOString().slice(0, 10)}`;
    case 'base-gone':
      return `its base \`${reason.baseAmi}\` no longer exists (deregistered)`;
    case 'recipe-changed':
      return 'the app’s recipe (provision script, smoke test, instance type or builder settings) changed since it was baked';
    case 'drift':
      return `the fleet runs ${reason.fleetVersion} (\`${reason.fleetAmi}\`), not the recorded live release ${reason.recordedVersion}`;
    case 'not-baked-by-bakery':
      return `the fleet runs \`${reason.fleetAmi}\`${reason.name ? ` (${reason.name})` : ''}, an image Bakery did not bake`;
    case 'unchecked':
      return `could not check ${reason.what}: ${reason.why}`;
  }
}

/** Rebaking fixes what is inside the image; it cannot fix a fleet that runs something else. */
export const fixedByRebake = (reason: StaleReason): boolean => !['drift', 'not-baked-by-bakery', 'unchecked'].includes(reason.kind);
