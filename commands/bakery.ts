import { z } from 'zod';
import { presenceInAppChannels, presenceProblem } from '../src/access/channel-presence.js';
import type { ChatMessage, ChatUser, SlashCommand } from '../src/chat/surface.js';
import { appName } from '../src/config/names.js';
import type { Core } from '../src/core.js';
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
      if (parsed.data === 'stale') return stale(core, rest);
      if (parsed.data === 'home') return publishHome(core, command.user);
      if (parsed.data === 'prune') return pruneCommand(core, rest);
      if (parsed.data === 'pin' || parsed.data === 'unpin') return pinCommand(core, command, parsed.data, rest);
      if (parsed.data === 'sweep') return sweepCommand(core, command, rest);
      const apps = await core.store.listAppConfigs();
      const names = Object.keys(apps).sort();
      if (names.length === 0) return { text: 'No apps are configured.', tone: 'info' };
      const presence = await presenceInAppChannels(core.chat, apps);
      return {
        text: `*Configured apps* (${names.length})`,
        lines: names.flatMap((name) => {
          const app = apps[name]!;
          const problem = presenceProblem(app.channel, presence[app.channel]);
          const line = `• *${name}* — channel ${app.channel}, ${app.region}, ${app.instanceType}${app.copyTo.length ? `, copies to ${app.copyTo.join(', ')}` : ''}`;
          return problem ? [line, `   :warning: ${problem}`] : [line];
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
 * `/bakery digest`: the digest now, posted where it was asked, of the apps whose channel this is (or
 * of every app when none is: a DM, the terminal). It takes no slot: the scheduled one still goes out.
 */
async function postDigest(core: Core, command: SlashCommand): Promise<ChatMessage | undefined> {
  const [pictures, sweep] = await Promise.all([core.survey.survey(), core.store.getLastSweep()]);
  const here = pictures.filter((picture) => picture.config.channel === command.channel);
  try {
    await core.chat.post(command.channel, digestMessage(here.length ? here : pictures, core.clock.now(), { sweep }));
  } catch (error) {
    return { text: `The digest could not be posted here (${error instanceof Error ? error.message : String(error)}); invite Bakery to the channel, or try \`/bakery stale\`.`, tone: 'failed' };
  }
  return undefined;
}

/** `/bakery stale [app]`: the digest's picture, to the person who asked only. */
async function stale(core: Core, words: string[]): Promise<ChatMessage> {
  const staleUsage = '/bakery stale [app]';
  if (words.length > 1) return usageError(`unexpected "${words[1]!.slice(0, 40)}": give at most one app`, staleUsage);
  const app = words[0];
  if (app !== undefined) {
    const parsed = z.object({ app: appName }).safeParse({ app });
    if (!parsed.success) return usageError(firstIssue(parsed.error, { app }), staleUsage);
    if (!(await core.store.getAppConfig(app))) return usageError(`unknown app "${app}"`, staleUsage);
  }
  const pictures = await core.survey.survey(app === undefined ? undefined : [app]);
  return digestMessage(pictures, core.clock.now());
}

/** `/bakery home`: refreshes the person's App Home (in the terminal, prints it). */
async function publishHome(core: Core, user: ChatUser): Promise<ChatMessage> {
  await core.home.show(user);
  return { text: 'Your Bakery Home is up to date.', tone: 'info' };
}
