import { z } from 'zod';
import type { Button, ChatMessage } from '../message.js';
import { appName, version } from '../config/names.js';
import { approversOf } from '../config/environments.js';
import { formatTime, lockActivity } from '../operations/format.js';
import { describeReason } from '../stale/reasons.js';
import { isFresh, isStale, type AppPicture } from '../stale/survey.js';
import type { SweepSummary } from '../store/items.js';

/*
 * The digest as a person reads it: one message per channel, its stale apps each with why and a
 * Rebake button, its fresh apps in one line. The App Home (home-view.ts) shows the same pictures.
 */

export const rebakeAction = 'digest.rebake';
export const rebakeAllAction = 'digest.rebake-all';
/** Old images: each app's prune as a dry run (commands/prune.ts), to the presser only. */
export const pruneAppsAction = 'digest.prune';
export const pruneApps = z.string().max(2000).transform((text) => text.split(',')).pipe(z.array(appName).min(1));

/** What a Rebake button carries: the app, the version to bake again, and whether only --force makes a new image. */
export const rebakeTarget = z
  .string()
  .regex(/^[^:,]+:[^:,]+(:force)?$/, 'a rebake target is app:version[:force]')
  .transform((text) => {
    const [app, ver, force] = text.split(':');
    return { app: app!, version: ver!, force: force === 'force' };
  })
  .pipe(z.object({ app: appName, version, force: z.boolean() }));
export type RebakeTarget = z.infer<typeof rebakeTarget>;
/** Rebake all: the targets, comma-separated (a button value holds 2,000 characters; the digest stops adding before). */
export const rebakeTargets = z.string().max(2000).transform((text) => text.split(',')).pipe(z.array(rebakeTarget).min(1));

const DAY_MS = 24 * 3_600_000;
/** Slack allows 25 elements in an actions block: room for Rebake all and Old images. */
const MAX_REBAKE_BUTTONS = 23;

export function ageOf(picture: AppPicture, now: number): string {
  // The fleet can run an image Bakery did not bake although Bakery has baked for the app (a rollback to it).
  if (!picture.live) return picture.reasons.some((reason) => reason.kind === 'not-baked-by-bakery') ? 'no Bakery release live' : 'not baked yet';
  const days = Math.floor((now - picture.live.release.bakedAt) / DAY_MS);
  return days < 1 ? 'baked today' : `${days} day${days === 1 ? '' : 's'} old`;
}

/** What a Rebake of this picture bakes: its live version; --force when neither base nor recipe changed (age alone). */
export function rebakeTargetOf(picture: AppPicture): string | undefined {
  if (!picture.rebake || !picture.live) return undefined;
  const newIdentity = picture.reasons.some((reason) => reason.kind === 'base-superseded' || reason.kind === 'recipe-changed');
  return `${picture.app}:${picture.live.release.version}${newIdentity ? '' : ':force'}`;
}

/** "rebaked, not yet live: `/canary demo v2`": the live version's newer image, which a canary ships. */
export function rebakedNote(picture: AppPicture): string | undefined {
  const rebaked = picture.rebaked;
  return rebaked ? `rebaked, not yet live: \`/canary ${picture.app} ${rebaked.version}\`` : undefined;
}

const inWords = ['no', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

/**
 * "production runs v40, two releases behind staging": what one environment of several runs, beside the
 * environment it follows; undefined for an app of one fleet.
 */
export function environmentLine(picture: AppPicture): string | undefined {
  const { environment, live } = picture;
  if (!environment) return undefined;
  const runs = live && live.recorded !== 'last baked' ? `${environment.name} runs ${live.release.version}${live.recorded === 'fleet' ? ' (its fleet says; not recorded live)' : ''}` : `nothing of Bakery's is live in ${environment.name} yet${live ? ` (${live.release.version} last baked)` : ''}`;
  const behind = environment.behind;
  if (!behind) return runs;
  if (behind.releases === undefined || !live || live.recorded === 'last baked') return `${runs}; ${behind.of} runs ${behind.version}`;
  if (behind.version === live.release.version) return `${runs}, as ${behind.of} does`;
  if (behind.releases === 0) return `${runs}; ${behind.of} runs ${behind.version}`;
  return `${runs}, ${inWords[behind.releases] ?? behind.releases} release${behind.releases === 1 ? '' : 's'} behind ${behind.of}`;
}

/** How many apps the pictures are of (an app of several environments has a picture for each). */
export const appsIn = (pictures: AppPicture[]): number => new Set(pictures.map((picture) => picture.app)).size;

/** "*demo* v1 · 41 days old (live) · why: …"; of an environment, "*demo* · production runs v1, … · 41 days old · why: …" */
export function staleLine(picture: AppPicture, now: number): string {
  const environment = environmentLine(picture);
  const version = environment ? ` · ${environment}` : picture.live ? ` ${picture.live.release.version}` : '';
  const recorded = !environment && picture.live && picture.live.recorded !== 'live' ? ` (${picture.live.recorded})` : '';
  const running = picture.running.map(({ lock }) => `${lockActivity(lock)} since ${formatTime(lock.since, now)}`);
  const rebaked = rebakedNote(picture);
  return `• *${picture.app}*${version}${recorded} · ${ageOf(picture, now)} · ${picture.reasons.map(describeReason).join('; ')}${rebaked ? ` · ${rebaked}` : ''}${running.length ? ` · now ${running.join(', ')}` : ''}`;
}

export function freshLine(pictures: AppPicture[], now: number): string | undefined {
  const fresh = pictures.filter(isFresh);
  if (fresh.length === 0) return undefined;
  const named = (picture: AppPicture): string => {
    const environment = environmentLine(picture);
    return environment ? `${picture.app}: ${environment}` : `${picture.app}${picture.live ? ` ${picture.live.release.version}` : ''}`;
  };
  return `Fresh: ${fresh.map((picture) => `${named(picture)} (${[ageOf(picture, now), rebakedNote(picture) ?? []].flat().join('; ')})`).join(', ')}`;
}

export function rebakeButton(picture: AppPicture, actionId = rebakeAction): Button | undefined {
  const target = rebakeTargetOf(picture);
  return target ? { actionId, label: `Rebake ${picture.app} ${picture.live!.release.version}`, value: target, style: 'primary' } : undefined;
}

const counted = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** "Last sweep (12:23 UTC) removed 1 builder, 1 volume and 2 snapshots that ended bakes left behind; 1 left for the next sweep." */
export function sweepLine(sweep: SweepSummary, now: number): string {
  const kinds = (['builder', 'volume', 'image', 'snapshot'] as const).filter((kind) => (sweep.removed[kind] ?? 0) > 0).map((kind) => counted(sweep.removed[kind]!, kind));
  const what = kinds.length === 0 ? 'found nothing that ended operations left behind' : `removed ${kinds.length > 1 ? `${kinds.slice(0, -1).join(', ')} and ${kinds.at(-1)}` : kinds[0]} that ended operations left behind`;
  const unrecorded = sweep.unrecorded ? `; ${counted(sweep.unrecorded, 'tagged resource')} no operation recorded left alone (\`/bakery sweep --dry-run\` names them)` : '';
  return `Last sweep (${formatTime(sweep.at, now)}) ${what}${sweep.left ? `; ${sweep.left} left for the next sweep` : ''}${unrecorded}.`;
}

/** "Retirement moved on: demo v3 disabled; demo v2 deregistered (1 image, 2 snapshots)." */
export function retirementLine(moves: RetirementMove[]): string {
  const said = moves.map((move) => `${move.app} ${move.version} ${move.did}${move.did === 'deregistered' ? ` (${counted(move.images, 'image')}, ${counted(move.snapshots, 'snapshot')})` : ''}`);
  return `Retirement moved on: ${said.join('; ')}.`;
}

/** One bake's images taken a stage on (or given back) by the digest's run. */
export interface RetirementMove {
  app: string;
  version: string;
  did: 'deprecated' | 'disabled' | 'deregistered' | 'restored';
  images: number;
  snapshots: number;
}

/**
 * The digest of some apps (one channel's): stale ones first with why, fresh ones in one line, then
 * what this run's retirements did and what the last sweep removed.
 */
export function digestMessage(pictures: AppPicture[], now: number, also: { sweep?: SweepSummary; retired?: RetirementMove[] } = {}): ChatMessage {
  const stale = pictures.filter(isStale);
  const fresh = freshLine(pictures, now);
  // Neither stale nor fresh: said with why, and not counted.
  const unchecked = pictures.filter((picture) => !isStale(picture) && !isFresh(picture)).map((picture) => staleLine(picture, now));
  const notChecked = unchecked.length ? `; ${unchecked.length} could not be checked` : '';
  const swept = [...(also.retired?.length ? [retirementLine(also.retired)] : []), ...(also.sweep ? [sweepLine(also.sweep, now)] : [])];
  if (stale.length === 0) {
    return { text: `*Image digest*: nothing is stale${notChecked}`, lines: [...unchecked, ...(fresh ? [fresh] : []), ...(pictures.length === 0 ? ['No apps are configured here.'] : []), ...swept], tone: 'info' };
  }
  // Two environments running the same version are one Rebake.
  const buttons = [...new Map(stale.flatMap((picture) => rebakeButton(picture) ?? []).map((button) => [button.value, button])).values()].slice(0, MAX_REBAKE_BUTTONS);
  // Only approvers may press it (the press is checked); shown where at least one app has approvers.
  const targets = [...new Set(stale.filter((picture) => approversOf(picture.config).length).flatMap((picture) => rebakeTargetOf(picture) ?? []))];
  const value = targets.reduce((all, target) => (all.length + target.length + 1 <= 2000 ? (all ? `${all},${target}` : target) : all), '');
  if (targets.length > 1) {
    buttons.push({
      actionId: rebakeAllAction,
      label: `Rebake all (${value.split(',').length})`,
      value,
      confirm: { title: 'Rebake all?', text: `Bakes ${value.split(',').length} apps again on their newest base, as you.`, confirm: 'Rebake all', deny: 'Cancel' },
    });
  }
  // A dry run anyone may look at; shown where an app has approvers, who alone may then go ahead.
  const prunable = [...new Set(pictures.filter((picture) => approversOf(picture.config).length).map((picture) => picture.app))];
  const pruneValue = prunable.reduce((all, app) => (all.length + app.length + 1 <= 2000 ? (all ? `${all},${app}` : app) : all), '');
  if (pruneValue) buttons.push({ actionId: pruneAppsAction, label: 'Old images (dry run)', value: pruneValue });
  return {
    text: `*Image digest*: ${appsIn(stale)} of ${appsIn(pictures)} app${appsIn(pictures) === 1 ? '' : 's'} stale${notChecked}`,
    lines: [...stale.map((picture) => staleLine(picture, now)), ...unchecked, ...(fresh ? [fresh] : []), ...swept],
    tone: 'info',
    buttons,
  };
}
