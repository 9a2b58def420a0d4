import { z } from 'zod';
import type { SlashCommand } from '../src/chat/surface.js';
import type { ChatMessage } from '../src/message.js';
import { amiLink } from '../src/message.js';
import { environmentsOf } from '../src/config/environments.js';
import { appName } from '../src/config/names.js';
import type { Core } from '../src/core.js';
import { formatTime } from '../src/operations/format.js';
import { untrustedText } from '../src/message.js';
import { retryCommand } from '../src/pipelines/bake/messages.js';
import type { FleetImage, Release } from '../src/store/items.js';
import { unknownApp } from './apps.js';
import { channelMention, inChannel } from '../src/access/access.js';
import { ChannelMembers, notSeen } from '../src/access/visibility.js';
import { mention } from '../src/message.js';
import type { Command } from './command.js';
import { firstIssue, splitWords, usageError } from './grammar.js';

export const usage = '/releases <app> [--share]';
const SHOWN = 10;

const icons: Record<string, string> = { baked: '•', canary: '⏳', rejected: '✗', live: '✓', previous: '↩', 'rolled-back': '↶', retired: '–' };

/** Where an app's releases stand: live, under way, the rollback target, and the latest ones. */
export const releases: Command = {
  name: '/releases',
  summary: 'What is live, under way and the rollback target, and the latest releases',
  usage,

  async handle(core: Core, command: SlashCommand) {
    const words = splitWords(command.text, [], ['share']);
    if (!words.ok) return usageError(words.error, usage);
    const [first, extra] = words.value.positional;
    if (!first || first === 'help') return { text: '*/releases* — an app’s releases: live, under way, rollback target, history', lines: [`Usage: \`${usage}\` (\`--share\` posts it in the channel)`], tone: 'info' };
    if (extra) return usageError(`unexpected "${extra.slice(0, 40)}": give one app`, usage);
    const parsed = z.object({ app: appName }).safeParse({ app: first });
    if (!parsed.success) return usageError(firstIssue(parsed.error, { app: first }), usage);
    const { app } = parsed.data;
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
    // Each environment's fleet (an app of one fleet has one, with no name); the version × environment matrix comes later.
    const environments: { name?: string; region: string }[] = environmentsOf(config).length > 0 ? environmentsOf(config) : [{ region: config.region }];
    const [fleets, all] = await Promise.all([
      Promise.all(environments.map(async ({ name, region }) => ({ name, region, live: await core.store.getLive(app, name), lock: await core.store.getLock(app, 'deploy', name) }))),
      core.store.listReleases(app),
    ]);
    const lives = fleets.flatMap((fleet) => fleet.live ?? []);
    const now = core.clock.now();
    const image = (fleet: FleetImage, region: string): string => `${fleet.version ? `*${fleet.version}*` : 'an image Bakery did not bake'} (${amiLink(region, fleet.ami)})`;
    const message: ChatMessage = {
      text: `*Releases of ${app}*`,
      lines: [
        ...fleets.flatMap(({ name, region, live, lock }) => {
          const where = name ? ` in ${name}` : '';
          return [
            live ? `Live${where}: ${image(live.live, region)} since ${formatTime(live.since, now)}${live.askedBy ? `, asked by <@${live.askedBy}>` : ''}${live.approvedBy ? `, approved by <@${live.approvedBy}>` : ''}` : `Live${where}: not promoted by Bakery yet`,
            ...(lock ? [`Under way${where}: ${lock.kind} of ${lock.version} since ${formatTime(lock.since, now)}, by ${mention(lock.requestedBy)}`] : []),
            live?.previous ? `Rollback target${where}: ${image(live.previous, region)}` : `Rollback target${where}: none yet`,
          ];
        }),
        '',
        ...all.slice(0, SHOWN).flatMap((release) => {
          const last = release.history.at(-1);
          const line = `${icons[release.status] ?? '•'} *${release.version}* ${release.status} · ${amiLink(config.region, release.amis[config.region] ?? '')} · baked ${formatTime(release.bakedAt, now)} by <@${release.bakedBy}>${last && last.status !== 'baked' ? ` · ${last.status} ${formatTime(last.at, now)} by <@${last.by}>` : ''}${release.pin ? ` · 📌 pinned by ${mention(release.pin.by)} ${formatTime(release.pin.at, now)}` : ''}${copyGaps(release)}`;
          // Earlier bakes a rebake replaced: their images are there until pruned, and the fleet may still run one.
          const earlier = [...(release.superseded ?? [])].reverse().map((bake) => {
            const ami = bake.amis[config.region] ?? '';
            const standing = lives.some((live) => live.live.ami === ami) ? ' · *live*' : lives.some((live) => live.previous?.ami === ami) ? ' · the rollback target' : '';
            return `    ↳ replaced: ${amiLink(config.region, ami)} on base \`${bake.baseAmi}\` · baked ${formatTime(bake.bakedAt, now)} by <@${bake.bakedBy}>${standing}`;
          });
          return [line, ...earlier];
        }),
        ...(all.length > SHOWN ? [`…and ${all.length - SHOWN} older`] : []),
        ...(all.length === 0 ? ['No releases baked yet.'] : []),
      ],
      tone: 'info',
    };
    if (!share) return message;
    await core.chat.post(command.channel, message);
    return undefined;
  },
};

/** A region the bake could not copy to, and the way to retry it. */
function copyGaps(release: Release): string {
  return Object.entries(release.failedRegions ?? {})
    .map(([region, failure]) => ` · ⚠ no copy in ${region} (${untrustedText(failure.reason.slice(0, 120))}): \`${retryCommand(release, region)}\``)
    .join('');
}
