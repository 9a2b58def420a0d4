import type { ButtonPress, ChatHandlers, SlashCommand } from '../src/chat/surface.js';
import type { ChatMessage, ChatUser } from '../src/message.js';
import type { Core } from '../src/core.js';
import { foreignRefusal } from '../src/access/access.js';
import { CorruptItemError } from '../src/store/store.js';
import { bake } from './bake.js';
import { bakeryCommand } from './bakery.js';
import { canary } from './canary.js';
import type { Command } from './command.js';
import { promote } from './promote.js';
import { releases } from './releases.js';
import { rollback } from './rollback.js';

export const commands: Command[] = [bake, canary, promote, rollback, releases, bakeryCommand(() => commands)];

/** What a person is told when a command fails on Bakery's side: the item at fault when the table holds a bad one. */
function failure(error: unknown): ChatMessage {
  if (error instanceof CorruptItemError) return { text: `Bakery’s table holds an item it cannot read: ${error.message}. An operator needs to fix or remove it.`, tone: 'failed' };
  return { text: 'Something went wrong on Bakery’s side; it has been logged. Try again in a moment.', tone: 'failed' };
}

function unknownCommand(command: SlashCommand): ChatMessage {
  return { text: `Unknown command ${command.command.slice(0, 30)}. Try \`/bakery help\`.`, tone: 'failed' };
}

/** Routes what a chat surface received to the command that owns it; nothing a user sends can crash it. */
export function commandHandlers(core: Core): ChatHandlers {
  return {
    answerAtOnce(command: SlashCommand) {
      const owner = commands.find((c) => c.name === command.command);
      return owner ? owner.answerAtOnce?.(command.text) : unknownCommand(command);
    },
    async onCommand(command: SlashCommand) {
      const owner = commands.find((c) => c.name === command.command);
      if (!owner) return unknownCommand(command);
      try {
        const foreign = await foreignRefusal(core, command, command.text.trim().split(/\s+/)[0]?.toLowerCase(), command.command);
        if (foreign) return foreign;
        return await owner.handle(core, command);
      } catch (error) {
        core.log.error({ err: error, command: command.command, user: command.user.id }, 'command failed');
        return failure(error);
      }
    },
    async onHomeOpened(user: ChatUser) {
      await core.home.show(user);
    },
    async onButton(press: ButtonPress) {
      const handler = commands.flatMap((c) => Object.entries(c.buttons ?? {})).find(([actionId]) => actionId === press.actionId)?.[1];
      if (!handler) return { text: 'That button is no longer in use.', tone: 'failed' };
      try {
        const foreign = await foreignRefusal(core, press, undefined, press.actionId);
        if (foreign) return foreign;
        return await handler(core, press);
      } catch (error) {
        core.log.error({ err: error, action: press.actionId, user: press.user.id }, 'button failed');
        return failure(error);
      }
    },
  };
}
