/*
 * The one small interface between Bakery's core and a chat: Slack (through Bolt) or the local
 * terminal. The core speaks in neutral messages (src/message.ts); each surface renders them its own way.
 */
import type { ChatFile, ChatMessage, ChatUser, HomeView, MessageRef } from '../message.js';

/** Outbound: what the core may do in a chat. */
export interface ChatSurface {
  post(channel: string, message: ChatMessage): Promise<MessageRef>;
  reply(thread: MessageRef, message: ChatMessage): Promise<MessageRef>;
  update(ref: MessageRef, message: ChatMessage): Promise<void>;
  /** Shows `file` in the thread; rejects, saying why, when it could not. */
  upload(thread: MessageRef, file: ChatFile): Promise<void>;
  /** A link to a posted message (an operation's thread), in mrkdwn, for the Home to point at. */
  linkTo(ref: MessageRef, label: string): string;
  /** Replaces what `user` sees in Bakery's Home (Slack's App Home tab; the terminal prints it). */
  publishHome(user: ChatUser, view: HomeView): Promise<void>;
  /** The user ids in a channel (by id) or a user group (S…): who "members of the app's channel" and a group in config are. */
  members(of: { channel: string } | { userGroup: string }): Promise<string[]>;
  /** Whether Bakery itself is in each channel (an id, or a name with #), so an app's channel it was never invited to is said plainly. */
  presenceIn(channels: string[]): Promise<Record<string, ChannelPresence>>;
}

/**
 * 'member': Bakery can post there. 'outside': the channel exists but Bakery was not invited.
 * 'unseen': no channel Bakery can see has that id or name (a typo, or a private channel it is not in).
 * 'unknown': Slack did not say (an error), with why. A channel asked by #name carries its id.
 */
export type ChannelPresence = { is: 'member' | 'outside'; id?: string } | { is: 'unseen' } | { is: 'unknown'; why: string };

/** Inbound: a slash command as the surface received it, before any parsing. */
export interface SlashCommand {
  command: string;
  text: string;
  /** The id is who it is (Slack's user id); the name is for display only, never for a decision. */
  user: ChatUser;
  /** The workspace (Slack team id) the person belongs to. */
  team: string;
  /** The channel's id, and its name without # where the surface knows it (Slack's channel_name). */
  channel: string;
  channelName?: string;
  /** Stable across Slack's retries of one delivery (the trigger id); used to never start work twice. */
  requestId: string;
}

/** Inbound: a button pressed on a message the core posted. */
export interface ButtonPress {
  actionId: string;
  value: string;
  user: ChatUser;
  team: string;
  /** Where the pressed message is; '' for a press in the Home, which is no channel. */
  channel: string;
  channelName?: string;
  /** The message the button is on; an ephemeral one was shown only to the person it answered. */
  message?: MessageRef & { ephemeral: boolean };
  requestId: string;
}

/**
 * What a surface calls once it has acknowledged a request. A returned message is shown only to
 * the person who asked (ephemeral in Slack).
 */
export interface ChatHandlers {
  /**
   * The answer a command's text alone decides (help, a usage error), without I/O, so that Slack
   * can show it in the ack instead of a second request; undefined when the command needs onCommand.
   */
  answerAtOnce?(command: SlashCommand): ChatMessage | undefined;
  onCommand(command: SlashCommand): Promise<ChatMessage | undefined>;
  onButton(press: ButtonPress): Promise<ChatMessage | undefined>;
  /** The person opened Bakery's Home: the core publishes it, current. */
  onHomeOpened?(user: ChatUser): Promise<void>;
}
