import { z } from 'zod';
import type { ChatMessage } from '../src/chat/surface.js';
import type { Command } from './command.js';
import { usageError } from './grammar.js';

export const usage = '/bakery help | /bakery apps';

const subcommand = z.enum(['help', 'apps']);

/** The umbrella command for everything that is not an operation. */
export function bakeryCommand(all: () => Command[]): Command {
  return {
    name: '/bakery',
    summary: 'Help, and what Bakery knows: configured apps',
    usage,
    answerAtOnce(text) {
      const word = text.trim().split(/\s+/)[0]?.toLowerCase() || 'help';
      const parsed = subcommand.safeParse(word);
      if (!parsed.success) return usageError(`unknown subcommand "${word.slice(0, 30)}"`, usage);
      return parsed.data === 'help' ? helpText(all()) : undefined;
    },
    async handle(core, command) {
      const word = command.text.trim().split(/\s+/)[0]?.toLowerCase() || 'help';
      const parsed = subcommand.safeParse(word);
      if (!parsed.success) return usageError(`unknown subcommand "${word.slice(0, 30)}"`, usage);
      if (parsed.data === 'help') return helpText(all());
      const apps = await core.store.listAppConfigs();
      const names = Object.keys(apps).sort();
      if (names.length === 0) return { text: 'No apps are configured.', tone: 'info' };
      return {
        text: `*Configured apps* (${names.length})`,
        lines: names.map((name) => {
          const app = apps[name]!;
          return `• *${name}* — channel ${app.channel}, ${app.region}, ${app.instanceType}${app.copyTo.length ? `, copies to ${app.copyTo.join(', ')}` : ''}`;
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
