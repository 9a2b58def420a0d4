import { z } from 'zod';
import { channelMention, inChannel } from '../src/access/access.js';
import { channelShown, presenceInAppChannels, presenceProblem } from '../src/access/channel-presence.js';
import { accessRisks } from '../src/access/risks.js';
import { ChannelMembers, notSeen } from '../src/access/visibility.js';
import type { SlashCommand } from '../src/chat/surface.js';
import type { ChatMessage, ChatUser } from '../src/message.js';
import { appName } from '../src/config/names.js';
import type { Core } from '../src/core.js';
import type { AppPicture } from '../src/stale/survey.js';
import { digestMessage, pruneAppsAction } from '../src/jobs/digest-message.js';
import type { Command } from './command.js';
import { firstIssue, usageError } from './grammar.js';
import { pinCommand } from './pin.js';
import { pressDigestPrune, pressPrune, pruneAction, pruneCommand } from './prune.js';
import { rebakeButtons } from './rebake.js';
import { sweepCommand } from './sweep.js';

export const usage = '/bakery help | /bakery apps | /bakery digest | /bakery stale [app] | /bakery home | /bakery prune <app> [--keep N] [--older-than 30d] [--dry-run] | /bakery pin|unpin <app> <version> | /bakery sweep [--dry-run]';

const subcommand = z.enum(['help', 'apps', 'digest', 'stale', 'home', 'prune', 'pin', 'unpin', 'sweep']);

/** The umbrella command for everything that is not an operation. */
export function bakeryCommand(all: () => Command[]): Command {
  return {
    name: '/bakery',
    summary: 'Help, and what Bakery knows: configured apps, stale images (the digest), your Home; pruning and the sweep',
    usage,
    buttons: { ...rebakeButtons, [pruneAction]: pressPrune, [pruneAppsAction]: pressDigestPrune },
    answerAtOnce(text) {
      const word = text.trim().split(/\s+/)[0]?.toLowerCase() || 'help';
      const parsed = subcommand.safeParse(word);
      if (!parsed.success) return usageError(`unknown subcommand "${word.slice(0, 30)}"`, usage);
      return parsed.data === 'help' ? helpText(all()) : undefined;
    },
    async handle(core, command) {
      const [first, ...rest] = command.text.trim().split(/\s+/);
      const word = first?.toLowerCase() || 'help';
      const parsed = subcommand.safeParse(word);
      if (!parsed.success) return usageError(`unknown subcommand "${word.slice(0, 30)}"`, usage);
      if (parsed.data === 'help') return helpText(all());
      if (parsed.data === 'digest') return postDigest(core, command);
      if (parsed.data === 'stale') return stale(core, command, rest);
      if (parsed.data === 'home') return publishHome(core, command.user);
      if (parsed.data === 'prune') return pruneCommand(core, command, rest);
      if (parsed.data === 'pin' || parsed.data === 'unpin') return pinCommand(core, command, parsed.data, rest);
      if (parsed.data === 'sweep') return sweepCommand(core, command, rest);
      const apps = await core.store.listAppConfigs();
      const names = await new ChannelMembers(core).appsSeenBy(command, apps);
      if (names.length === 0) return { text: Object.keys(apps).length ? 'None of the apps is in a channel you are in: Bakery shows each app only to the members of its channel.' : 'No apps are configured.', tone: 'info' };
      const presence = await presenceInAppChannels(core.chat, Object.fromEntries(names.map((name) => [name, apps[name]!])));
      return {
        text: `*Configured apps* (${names.length})`,
        lines: names.flatMap((name) => {
          const app = apps[name]!;
          const problem = presenceProblem(app.channel, presence[app.channel]);
          const line = `• *${name}* — channel ${channelShown(app.channel, core.access.channelIds)}, ${app.region}, ${app.instanceType}${app.copyTo.length ? `, copies to ${app.copyTo.join(', ')}` : ''}`;
          return [line, ...[...(problem ? [problem] : []), ...accessRisks(app, core.access)].map((warning) => `   :warning: ${warning}`)];
        }),
        tone: 'info',
      };
    },
  };
}

function helpText(commands: Command[]): ChatMessage {
  return {
    text: '*Bakery* — machine images from Slack',
    lines: commands.map((command) => `\`${command.name}\` — ${command.summary} · \`${command.usage}\``),
    tone: 'info',
  };
}

/**
 * `/bakery digest`: the digest now. In an app's channel it is posted there, of that channel's apps;
 * anywhere else (another channel, a DM, a Slack Connect channel whose outsiders would read it) it is
 * shown only to the person, of the apps whose channel they are in. It takes no slot.
 */
async function postDigest(core: Core, command: SlashCommand): Promise<ChatMessage | undefined> {
  const [pictures, sweep] = await Promise.all([core.survey.survey(), core.store.getLastSweep()]);
  const here = core.access.channels === 'any' ? pictures : pictures.filter((picture) => inChannel(picture.config.channel, command, core.access.channelIds));
  if (here.length === 0) return digestForOne(core, command, pictures);
  try {
    await core.chat.post(command.channel, digestMessage(here, core.clock.now(), { sweep }));
  } catch (error) {
    return { text: `The digest could not be posted here (${error instanceof Error ? error.message : String(error)}); invite Bakery to the channel, or try \`/bakery stale\`.`, tone: 'failed' };
  }
  return undefined;
}

/** The digest typed outside any app's channel: only to the person, of their apps; a Rebake counts only in its app's channel. */
async function digestForOne(core: Core, command: SlashCommand, pictures: AppPicture[]): Promise<ChatMessage> {
  const seen = await visiblePictures(core, command, pictures);
  const channels = [...new Set(seen.map((picture) => picture.config.channel))].map(channelMention);
  if (seen.length === 0) return { text: 'No app here: Bakery shows each app only to the members of its channel, and this is no app’s channel.', tone: 'info' };
  const digest = digestMessage(seen, core.clock.now());
  return {
    ...digest,
    lines: [...(digest.lines ?? []), `Shown only to you. \`/bakery digest\` in ${channels.join(', ')} posts it there, with its Rebake buttons.`],
    buttons: digest.buttons?.filter((button) => button.actionId === pruneAppsAction),
  };
}

/** The pictures of the apps whose channel the person is in. */
async function visiblePictures(core: Core, viewer: SlashCommand, pictures: AppPicture[]): Promise<AppPicture[]> {
  const seen = new Set(await new ChannelMembers(core).appsSeenBy(viewer, Object.fromEntries(pictures.map((picture) => [picture.app, picture.config]))));
  return pictures.filter((picture) => seen.has(picture.app));
}

/** `/bakery stale [app]`: the digest's picture, to the person who asked only, of the apps they may see. */
async function stale(core: Core, command: SlashCommand, words: string[]): Promise<ChatMessage> {
  const staleUsage = '/bakery stale [app]';
  if (words.length > 1) return usageError(`unexpected "${words[1]!.slice(0, 40)}": give at most one app`, staleUsage);
  const app = words[0];
  if (app !== undefined) {
    const parsed = z.object({ app: appName }).safeParse({ app });
    if (!parsed.success) return usageError(firstIssue(parsed.error, { app }), staleUsage);
    const config = await core.store.getAppConfig(app);
    if (!config) return usageError(`unknown app "${app}"`, staleUsage);
    if (!(await new ChannelMembers(core).sees(command, config))) return notSeen(app, config);
  }
  const pictures = await visiblePictures(core, command, await core.survey.survey(app === undefined ? undefined : [app]));
  return digestMessage(pictures, core.clock.now());
}

/** `/bakery home`: refreshes the person's App Home (in the terminal, prints it). */
async function publishHome(core: Core, user: ChatUser): Promise<ChatMessage> {
  await core.home.show(user);
  return { text: 'Your Bakery Home is up to date.', tone: 'info' };
}
