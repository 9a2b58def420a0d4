import { z } from 'zod';
import type { ChatHandlers } from '../../chat/surface.js';
import type { ChatMessage } from '../../message.js';
import type { AwsSimulator } from './index.js';

/*
 * `/sim`: what only the simulated world can do, typed in the local terminal (main.ts wires it in local
 * mode alone: Slack would not know the command). It stands for what happens outside Bakery, such as
 * Amazon publishing a newer base.
 */

/** The terminal's handlers, with `/sim` answered by the simulator and everything else by Bakery. */
export function withSimulatorCommand(handlers: ChatHandlers, simulator: AwsSimulator): ChatHandlers {
  return { ...handlers, onCommand: async (command) => (command.command === '/sim' ? simulatorCommand(simulator, command.text) : handlers.onCommand(command)) };
}

const usage = '`/sim publish-base`: Amazon publishes a newer Amazon Linux 2023 in the simulated AWS (the apps’ base parameter moves to it)';
const subcommand = z.enum(['publish-base', 'help']);

function simulatorCommand(simulator: AwsSimulator, text: string): ChatMessage {
  const word = text.trim().split(/\s+/)[0]?.toLowerCase() || 'help';
  const parsed = subcommand.safeParse(word);
  if (!parsed.success) return { text: `Unknown \`/sim\` subcommand "${word.slice(0, 30)}"`, lines: [usage], tone: 'failed' };
  if (parsed.data === 'help') return { text: 'The simulated AWS, local mode only', lines: [usage], tone: 'info' };
  const published = simulator.publishNewerAmazonLinux();
  const where = Object.entries(published.images).map(([region, id]) => `${region} \`${id}\``).join(', ');
  return {
    text: `Amazon published \`${published.name}\` (${where}); \`${published.parameter}\` points at it now.`,
    lines: ['Images baked on the previous base are stale: `/bakery digest` shows them, each with a Rebake button.'],
    tone: 'succeeded',
  };
}
