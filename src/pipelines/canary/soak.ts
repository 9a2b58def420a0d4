import type { Environment } from '../../config/environments.js';
import { formatDuration, formatTime } from '../../operations/format.js';
import { mention, type ChatMessage } from '../../message.js';
import type { LiveRelease, Release } from '../../store/items.js';

/*
 * Whether a release may be canaried in an environment that names another in `after`: its very image
 * must be live there, and have been for the soak. It is read from the live record of `after`, which a
 * rollback or a newer promotion there replaces, so a release rolled back (or passed over) since is
 * refused; a release whose canary failed is rejected and never canaried again.
 */
export type SoakAnswer = { ok: true } | { ok: false; reason: string };

export function soakGate(input: { release: Release; to: Environment; after?: Environment; afterLive?: LiveRelease; now: number }): SoakAnswer {
  const { release, to, after, afterLive, now } = input;
  if (!to.after || !after) return { ok: true };
  const { app, version } = release;
  const first = `\`/canary ${app} ${version} --to ${after.name}\` first`;
  if (afterLive?.live.version !== version) {
    return { ok: false, reason: `${version} is not live in ${after.name}; it can go to ${to.name} once it has been live there for ${formatDuration(to.soakMs)}: ${first}` };
  }
  // A rebake since gave the version another image: the one tested there is what goes on, or nothing.
  if (afterLive.live.ami !== release.amis[after.region]) {
    return { ok: false, reason: `${version} was baked again since it went live in ${after.name}, so its image now is not the one tested there: ${first}` };
  }
  const soaked = now - afterLive.since;
  if (soaked < to.soakMs) {
    return { ok: false, reason: `${version} has been live in ${after.name} for ${formatDuration(soaked)} of ${formatDuration(to.soakMs)}; it can go to ${to.name} at ${formatTime(soakEnds(to, afterLive), now)}` };
  }
  return { ok: true };
}

/** The button a soaked release's thread carries: it starts what `/canary <app> <version> --to <env>` starts. */
export const soakedAction = 'release.canaryNext';

/**
 * The outbox key of a soak's announcement, on the release's bake (its thread is the release's): one per
 * environment it may go to and per time it went live before (`liveOperationId`, the operation that made it live there).
 */
export const soakedAnnouncement = (to: string, liveOperationId: string): string => `soaked-${to}-${liveOperationId}`;

/** What the thread says once the soak has ended: the release may go on, and the button for `to`'s approvers. */
export function soakedMessage(input: { app: string; version: string; to: Environment; after: Environment; liveOperationId: string }): ChatMessage {
  const { app, version, to, after, liveOperationId } = input;
  const label = `Canary in ${to.name}`;
  return {
    text: `${version} has soaked in ${after.name} for ${formatDuration(to.soakMs)}: it can go to ${to.name}.`,
    lines: [`${to.deploy.approvers.map(mention).join(' ')}: *${label}* starts \`/canary ${app} ${version} --to ${to.name}\`.`],
    tone: 'info',
    buttons: [{ actionId: soakedAction, label, style: 'primary', value: JSON.stringify({ app, version, to: to.name, live: liveOperationId }) }],
  };
}

/** When the release live in `to.after` (as `afterLive` records it) has soaked there long enough to go to `to`. */
export function soakEnds(to: Pick<Environment, 'soakMs'>, afterLive: Pick<LiveRelease, 'since'>): number {
  return afterLive.since + to.soakMs;
}
