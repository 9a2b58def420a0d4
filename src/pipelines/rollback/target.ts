import { formatDuration, formatTime } from '../../operations/format.js';
import type { FleetImage, LiveRelease, Release } from '../../store/items.js';

/*
 * What a rollback may return a fleet to: a release that was live before and is neither rejected nor
 * retired (the gate's second door; the first is a canary and an approval). The live release's recorded
 * predecessor always was live; a named version must show a `live` event in its history.
 */

export interface RollbackTarget {
  image: FleetImage;
  /** It is the release the live one replaced (its recorded predecessor): whoever asked for the live one may return to it. */
  replaced: boolean;
  /** When it was live and how it came to be, e.g. "live 3d until 12:04 UTC, rolled back from v43". */
  history: string;
}

export type TargetAnswer = { ok: true; target: RollbackTarget } | { ok: false; reason: string };

/**
 * The target of `/rollback <app> [<version>]`: the named version, or the live release's predecessor.
 * `release` is the named version's release, or the predecessor's when it has a version.
 */
export function rollbackTarget(request: { app: string; region: string; version?: string }, live: LiveRelease | undefined, release: Release | undefined, now: number): TargetAnswer {
  const { app, version } = request;
  if (!version) {
    if (!live?.previous) return { ok: false, reason: `there is no earlier release of ${app} to return to (Bakery has not promoted one yet)` };
    const refused = release ? unfit(app, release) : undefined;
    if (refused) return { ok: false, reason: refused };
    return { ok: true, target: { image: live.previous, replaced: true, history: release ? historyOf(release, now) : 'the image the fleet ran before Bakery promoted a release' } };
  }
  // The image it was live with: a rebake since gave the version a newer one that never was.
  const ami = release ? (liveImageOf(release) ?? release.amis[request.region]) : undefined;
  if (!release || !ami) return { ok: false, reason: `${app} ${version} was never baked in ${request.region}` };
  if (live?.live.ami === ami) return { ok: false, reason: `${app} ${version} is the live release` };
  const refused = unfit(app, release);
  if (refused) return { ok: false, reason: refused };
  const replaced = live?.previous?.ami === ami;
  return { ok: true, target: { image: { version, ami, launchTemplateVersion: replaced ? live.previous!.launchTemplateVersion : undefined }, replaced, history: historyOf(release, now) } };
}

/** The image a release was last live with, when its history recorded it. */
function liveImageOf(release: Release): string | undefined {
  return release.history.findLast((event) => event.status === 'live')?.ami;
}

/**
 * What a fleet a rollback returned to `live` may in turn be rolled back to: the release live most
 * recently before that is still fit (never one rolled back, rejected or pruned); none when Bakery knows of none.
 */
export function nextTarget(releases: Release[], live: FleetImage, region: string): FleetImage | undefined {
  const lastLive = (release: Release): number => release.history.findLast((event) => event.status === 'live')?.at ?? 0;
  const fit = releases.filter((release) => release.status === 'previous' && release.version !== live.version && lastLive(release) > 0);
  const newest = fit.sort((a, b) => lastLive(b) - lastLive(a))[0];
  const ami = newest ? (liveImageOf(newest) ?? newest.amis[region]) : undefined;
  return newest && ami ? { version: newest.version, ami } : undefined;
}

/** Why a release may not be rolled back to, with the way to ship it instead; undefined when it may. */
function unfit(app: string, release: Release): string | undefined {
  const { version } = release;
  if (release.status === 'rejected') {
    return `${app} ${version} was rejected by its canary, so no rollback takes it to the fleet; to ship it, \`/bake ${app} ${version} --force\` and \`/canary ${app} ${version}\``;
  }
  if (release.status === 'rolled-back') {
    return `${app} ${version} was rolled back from the fleet, so no rollback takes it there again; to ship it, \`/bake ${app} ${version} --force\` and \`/canary ${app} ${version}\``;
  }
  if (release.status === 'retired') return `${app} ${version} was pruned (its images are deregistered); to ship it, \`/bake ${app} ${version}\` and \`/canary ${app} ${version}\``;
  if (!release.history.some((event) => event.status === 'live')) {
    return `${app} ${version} was never live, and a rollback returns only to a release that was; a new version reaches the fleet through a canary and an approval: \`/canary ${app} ${version}\``;
  }
  return undefined;
}

/** Its last time live: how long, until when, and how it came to be live. */
function historyOf(release: Release, now: number): string {
  const start = release.history.findLastIndex((event) => event.status === 'live');
  const began = release.history[start];
  if (!began) return 'never live';
  const ended = release.history[start + 1];
  const how = began.note ?? `approved by <@${began.by}>`;
  return ended ? `live ${formatDuration(ended.at - began.at)} until ${formatTime(ended.at, now)}, ${how}` : `live since ${formatTime(began.at, now)}, ${how}`;
}
