import type { ButtonPress, SlashCommand } from '../src/chat/surface.js';
import type { ChatMessage } from '../src/message.js';
import type { Core } from '../src/core.js';

/** One slash command: its name, its one-line summary and usage, and what it does. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  handle(core: Core, command: SlashCommand): Promise<ChatMessage | undefined>;
  /** Help and usage errors, known from the text alone (see ChatHandlers.answerAtOnce). */
  answerAtOnce?(text: string): ChatMessage | undefined;
  /** Buttons this command's messages carry, by action id. */
  buttons?: Record<string, (core: Core, press: ButtonPress) => Promise<ChatMessage | undefined>>;
}
