import type { ChannelPresence, ChatSurface } from '../../src/chat/surface.js';
import type { ChatFile, ChatMessage, ChatUser, HomeView, MessageRef } from '../../src/message.js';

/** Where each message a RecordingChat showed is, so a test presses a button on the message it is on. */
const posted = new WeakMap<ChatMessage, MessageRef>();

/** The message's place in a chat; undefined for an answer shown only to its reader (ephemeral). */
export function whereIs(message: ChatMessage): MessageRef | undefined {
  return posted.get(message);
}

/** A chat that remembers what was posted, as a person scrolling the channel would see it. */
export class RecordingChat implements ChatSurface {
  /** Who is in each channel and user group; a test changes them to tell members from strangers. */
  readonly channelMembers = new Map<string, string[]>([['C0DEMO', ['U0ALICE', 'U0BOB']]]);
  readonly userGroups = new Map<string, string[]>();

  async members(of: { channel: string } | { userGroup: string }): Promise<string[]> {
    return ('channel' in of ? this.channelMembers.get(of.channel) : this.userGroups.get(of.userGroup)) ?? [];
  }

  /** Channels Bakery was never invited to; it is in every other one. */
  readonly notInvitedTo = new Set<string>();
  /** The channel each name belongs to (conversations.list); a name not here is no channel's. */
  readonly channelIds = new Map([['#demo', 'C0DEMO']]);

  async presenceIn(channels: string[]): Promise<Record<string, ChannelPresence>> {
    return Object.fromEntries(
      channels.map((channel) => {
        if (!channel.startsWith('#')) return [channel, { is: this.notInvitedTo.has(channel) ? 'outside' : 'member' } as const];
        const id = this.channelIds.get(channel);
        return [channel, id ? ({ is: this.notInvitedTo.has(channel) ? 'outside' : 'member', id } as const) : ({ is: 'unseen' } as const)];
      }),
    );
  }


  /** Each root as it is now, and `updates`: every content it was updated to, in order, as a person watching it saw them. */
  readonly roots: { ref: MessageRef; message: ChatMessage; replies: ChatMessage[]; updates: ChatMessage[]; uploads: ChatFile[] }[] = [];
  private next = 1;

  async post(channel: string, message: ChatMessage): Promise<MessageRef> {
    const ref = { channel, ts: `${this.next++}.000100` };
    this.roots.push({ ref, message, replies: [], updates: [], uploads: [] });
    posted.set(message, ref);
    return ref;
  }

  /** Where each reply is, so a reply kept current (a verdict table) can be updated in place. */
  private readonly replyAt = new Map<string, { root: MessageRef; index: number }>();

  async reply(thread: MessageRef, message: ChatMessage): Promise<MessageRef> {
    const root = this.find(thread);
    root.replies.push(message);
    const ref = { channel: thread.channel, ts: `${this.next++}.000200` };
    this.replyAt.set(ref.ts, { root: root.ref, index: root.replies.length - 1 });
    posted.set(message, ref);
    return ref;
  }

  async update(ref: MessageRef, message: ChatMessage): Promise<void> {
    posted.set(message, ref);
    const reply = this.replyAt.get(ref.ts);
    if (reply) {
      this.find(reply.root).replies[reply.index] = message;
      return;
    }
    const root = this.find(ref);
    root.message = message;
    root.updates.push(message);
  }

  /** Every reply in every thread, for a test looking for one message wherever it is. */
  allReplies(): ChatMessage[] {
    return this.roots.flatMap((root) => root.replies);
  }

  /** Each person's Home as last published. */
  readonly homes = new Map<string, HomeView>();

  linkTo(ref: MessageRef, label: string): string {
    return `<https://chat.example/${ref.channel}/${ref.ts}|${label}>`;
  }

  async publishHome(user: ChatUser, view: HomeView): Promise<void> {
    this.homes.set(user.id, view);
  }

  async upload(thread: MessageRef, file: ChatFile): Promise<void> {
    this.find(thread).uploads.push(file);
  }

  /** Everything in a thread as plain text, root last (its current state). */
  threadText(index = 0): string {
    const root = this.roots[index];
    if (!root) return '';
    const text = (m: ChatMessage): string => [m.text, ...(m.lines ?? []), ...(m.context ?? [])].join('\n');
    return [...root.replies.map(text), text(root.message)].join('\n');
  }

  private find(ref: MessageRef) {
    const root = this.roots.find((r) => r.ref.ts === ref.ts && r.ref.channel === ref.channel);
    if (!root) throw new Error(`no message ${ref.channel}/${ref.ts}`);
    return root;
  }
}
