import { z } from 'zod';
import type { SlashCommand } from '../src/chat/surface.js';
import type { ChatMessage } from '../src/message.js';
import { amiLink } from '../src/message.js';
import type { AppConfig } from '../src/config/apps.js';
import { environmentName, environmentsOf, type Environment } from '../src/config/environments.js';
import { appName } from '../src/config/names.js';
import type { Core } from '../src/core.js';
import { alignColumns, formatTime } from '../src/operations/format.js';
import { untrustedText } from '../src/message.js';
import { retryCommand } from '../src/pipelines/bake/messages.js';
import { deployIn, eventsIn, liveIn, standingOf, type EnvironmentRecords, type Standing } from '../src/pipelines/standing.js';
import type { AppLock, FleetImage, Release } from '../src/store/items.js';
import { unknownApp } from './apps.js';
import { channelMention, inChannel } from '../src/access/access.js';
import { ChannelMembers, notSeen } from '../src/access/visibility.js';
import { mention } from '../src/message.js';
import type { Command } from './command.js';
import { noSuchEnvironment } from './environment.js';
import { firstIssue, splitWords, usageError } from './grammar.js';

export const usage = '/releases <app> [--env <environment>] [--share]';
const SHOWN = 10;
/** Who moved what when: the latest moves of each environment. */
const MOVES_SHOWN = 3;

const icons: Record<string, string> = { baked: '•', canary: '⏳', rejected: '✗', live: '✓', previous: '↩', 'rolled-back': '↶', retired: '–' };

/** Where an app's releases stand: live, under way, the rollback target, and the latest ones; per environment, as a matrix. */
export const releases: Command = {
  name: '/releases',
  summary: 'What is live, under way and the rollback target, and the latest releases (with environments, a matrix)',
  usage,

  async handle(core: Core, command: SlashCommand) {
    const words = splitWords(command.text, ['env'], ['share']);
    if (!words.ok) return usageError(words.error, usage);
    const [first, extra] = words.value.positional;
    if (!first || first === 'help') {
      return { text: '*/releases* — an app’s releases: live, under way, rollback target, history', lines: [`Usage: \`${usage}\` (\`--env\` shows one environment of an app of several; \`--share\` posts it in the channel)`], tone: 'info' };
    }
    if (extra) return usageError(`unexpected "${extra.slice(0, 40)}": give one app`, usage);
    const input = { app: first, env: words.value.flags.env };
    const parsed = z.object({ app: appName, env: environmentName.optional() }).safeParse(input);
    if (!parsed.success) return usageError(firstIssue(parsed.error, input), usage);
    const { app, env } = parsed.data;
    const unknown = await unknownApp(core, app, usage);
    if (unknown) return unknown;

    const config = await core.store.getAppConfig(app);
    if (!config) return usageError(`unknown app "${app}"`, usage);
    // Shown only to the app's channel's members, and posted only there: outsiders of a shared channel read what is posted.
    if (!(await new ChannelMembers(core).sees(command, config))) return notSeen(app, config);
    const share = words.value.flags.share === true;
    if (share && core.access.channels === 'app' && !inChannel(config.channel, command, core.access.channelIds)) {
      return { text: `Not posted: \`--share\` posts ${app}'s releases only in its channel, ${channelMention(config.channel)}. Without it they are shown only to you.`, tone: 'failed' };
    }
    const environments = environmentsOf(config);
    const named = environments.filter((environment) => environment.name !== undefined);
    const picked = named.find((environment) => environment.name === env);
    if (env !== undefined && !picked) return usageError(noSuchEnvironment(app, config, env, '--env'), usage);
    const { lives, locks, releases: all } = await core.store.getAppRecords(app);
    const records: EnvironmentRecords = { environments, lives, locks };
    const now = core.clock.now();
    const message = named.length > 0 && !picked ? matrixView(app, named, records, all, now) : fleetView(app, config, records, all, now, picked);
    if (!share) return message;
    await core.chat.post(command.channel, message);
    return undefined;
  },
};

/**
 * One fleet's view: what is live, under way and the rollback target, then the latest releases. For an
 * app of one fleet (or none) that is all there is; `environment` narrows an app of several to one.
 */
function fleetView(app: string, config: AppConfig, records: EnvironmentRecords, all: Release[], now: number, environment?: Environment): ChatMessage {
  const fleets: { name?: string; region: string }[] = environment ? [environment] : records.environments.length > 0 ? records.environments : [{ region: config.region }];
  const region = environment?.region ?? config.region;
  const lives = fleets.flatMap((fleet) => liveIn(records, fleet) ?? []);
  const image = (fleet: FleetImage, where: string): string => `${fleet.version ? `*${fleet.version}*` : 'an image Bakery did not bake'} (${amiLink(where, fleet.ami)})`;
  // In one environment of several, a release stands as it does there; an app of one fleet reads the release's own status.
  const statusOf = (release: Release): { icon: string; word: string } => (environment ? statusIn(release, environment, records, now) : { icon: release.status, word: release.status });
  const lastOf = (release: Release) => (environment ? eventsIn(release, environment) : release.history).at(-1);
  return {
    text: `*Releases of ${app}*${environment ? ` in ${environment.name}` : ''}`,
    lines: [
      ...fleets.flatMap((fleet) => {
        const where = fleet.name ? ` in ${fleet.name}` : '';
        const live = liveIn(records, fleet);
        const lock = deployIn(records, fleet);
        return [
          live ? `Live${where}: ${image(live.live, fleet.region)} since ${formatTime(live.since, now)}${live.askedBy ? `, asked by <@${live.askedBy}>` : ''}${live.approvedBy ? `, approved by <@${live.approvedBy}>` : ''}` : `Live${where}: not promoted by Bakery yet`,
          ...(lock ? [underWay(lock, where, now)] : []),
          live?.previous ? `Rollback target${where}: ${image(live.previous, fleet.region)}` : `Rollback target${where}: none yet`,
        ];
      }),
      '',
      ...all.slice(0, SHOWN).flatMap((release) => {
        const last = lastOf(release);
        const { icon, word } = statusOf(release);
        const line = `${icons[icon] ?? '•'} *${release.version}* ${word} · ${amiLink(region, release.amis[region] ?? '')} · baked ${formatTime(release.bakedAt, now)} by <@${release.bakedBy}>${last && last.status !== 'baked' ? ` · ${last.status} ${formatTime(last.at, now)} by <@${last.by}>` : ''}${release.pin ? ` · 📌 pinned by ${mention(release.pin.by)} ${formatTime(release.pin.at, now)}` : ''}${copyGaps(release)}`;
        // Earlier bakes a rebake replaced: their images are there until pruned, and the fleet may still run one.
        const earlier = [...(release.superseded ?? [])].reverse().map((bake) => {
          const ami = bake.amis[region] ?? '';
          const standing = lives.some((live) => live.live.ami === ami) ? ' · *live*' : lives.some((live) => live.previous?.ami === ami) ? ' · the rollback target' : '';
          return `    ↳ replaced: ${amiLink(region, ami)} on base \`${bake.baseAmi}\` · baked ${formatTime(bake.bakedAt, now)} by <@${bake.bakedBy}>${standing}`;
        });
        return [line, ...earlier];
      }),
      ...(all.length > SHOWN ? [`…and ${all.length - SHOWN} older`] : []),
      ...(all.length === 0 ? ['No releases baked yet.'] : []),
    ],
    tone: 'info',
  };
}

/**
 * An app of several environments: its latest versions × its environments, each cell what the version
 * is there, then what is under way and who moved what when in each environment.
 */
function matrixView(app: string, environments: Environment[], records: EnvironmentRecords, all: Release[], now: number): ChatMessage {
  const rows = all.slice(0, SHOWN).map((release) => [
    release.status === 'retired' ? `${release.version} (retired)` : release.version,
    ...environments.map((environment) => cellOf(standingOf(release, environment, records, now), now)),
  ]);
  const table = alignColumns([['version', ...environments.map((environment) => environment.name!)], ...rows]);
  const running = environments.flatMap((environment) => {
    const lock = deployIn(records, environment);
    return lock ? [underWay(lock, ` in ${environment.name}`, now)] : [];
  });
  const moves = environments.flatMap((environment) =>
    all
      // A canary's start is told by its end (or under way), a release replaced by the one that replaced it.
      .flatMap((release) => eventsIn(release, environment).flatMap((event) => (event.status === 'canary' || event.status === 'previous' ? [] : [{ version: release.version, event }])))
      .sort((a, b) => b.event.at - a.event.at)
      .slice(0, MOVES_SHOWN)
      .map(({ version, event }) => `${icons[event.status] ?? '•'} ${environment.name}: *${version}* ${moveWords[event.status] ?? event.status} ${formatTime(event.at, now)} by <@${event.by}>${event.note && event.status !== 'baked' ? ` (${event.note})` : ''}`),
  );
  return {
    text: `*Releases of ${app}*`,
    lines:
      all.length === 0
        ? ['No releases baked yet.', ...running]
        : [
            // A code block keeps the columns: versions are slugs, so nothing in a cell is mrkdwn.
            '```',
            ...table,
            '```',
            ...(all.length > SHOWN ? [`…and ${all.length - SHOWN} older`] : []),
            ...running,
            ...(moves.length > 0 ? ['', ...moves] : []),
            '',
            `One environment, with its images and rollback target: \`/releases ${app} --env ${environments.at(-1)!.name}\``,
          ],
    tone: 'info',
  };
}

const moveWords: Record<string, string> = { live: 'went live', 'rolled-back': 'rolled back', rejected: 'rejected by its canary', baked: 'canary removed' };

/** A matrix cell: what the version is in that environment, blank for nothing. */
function cellOf(standing: Standing | undefined, now: number): string {
  if (!standing) return '';
  switch (standing.kind) {
    case 'soaking':
      return `soaking until ${formatTime(standing.until, now)}`;
    case 'previous':
      return 'rollback target';
    case 'rolled-back':
      return 'rolled back';
    default:
      return standing.kind;
  }
}

/** A release in one environment of several: its standing there, else what holds everywhere (rejected, retired), else baked. */
function statusIn(release: Release, environment: Environment, records: EnvironmentRecords, now: number): { icon: string; word: string } {
  const standing = standingOf(release, environment, records, now);
  if (standing) return { icon: standing.kind === 'soaking' ? 'live' : standing.kind, word: cellOf(standing, now) };
  if (release.status === 'retired') return { icon: 'retired', word: 'retired' };
  if (release.status === 'rejected') {
    const where = release.history.findLast((event) => event.status === 'rejected')?.environment;
    return { icon: 'rejected', word: `rejected${where ? ` in ${where}` : ''}` };
  }
  return { icon: 'baked', word: 'baked' };
}

/** "Under way in staging: canary of v3 since 12:00 UTC, by @alice" */
function underWay(lock: AppLock, where: string, now: number): string {
  return `Under way${where}: ${lock.kind} of ${lock.version} since ${formatTime(lock.since, now)}, by ${mention(lock.requestedBy)}`;
}

/** A region the bake could not copy to, and the way to retry it. */
function copyGaps(release: Release): string {
  return Object.entries(release.failedRegions ?? {})
    .map(([region, failure]) => ` · ⚠ no copy in ${region} (${untrustedText(failure.reason.slice(0, 120))}): \`${retryCommand(release, region)}\``)
    .join('');
}
