import type { ChatFile, ChatMessage, ChatSurface, ChatUser, HomeView, MessageRef } from '../../src/chat/surface.js';

/** A chat that remembers what was posted, as a person scrolling the channel would see it. */
export class RecordingChat implements ChatSurface {
  readonly roots: { ref: MessageRef; message: ChatMessage; replies: ChatMessage[]; updates: number; uploads: ChatFile[] }[] = [];
  private next = 1;

  async post(channel: string, message: ChatMessage): Promise<MessageRef> {
    const ref = { channel, ts: `${this.next++}.000100` };
    this.roots.push({ ref, message, replies: [], updates: 0, uploads: [] });
    return ref;
  }

  /** Where each reply is, so a reply kept current (a verdict table) can be updated in place. */
  private readonly replyAt = new Map<string, { root: MessageRef; index: number }>();

  async reply(thread: MessageRef, message: ChatMessage): Promise<MessageRef> {
    const root = this.find(thread);
    root.replies.push(message);
    const ref = { channel: thread.channel, ts: `${this.next++}.000200` };
    this.replyAt.set(ref.ts, { root: root.ref, index: root.replies.length - 1 });
    return ref;
  }

  async update(ref: MessageRef, message: ChatMessage): Promise<void> {
    const reply = this.replyAt.get(ref.ts);
    if (reply) {
      this.find(reply.root).replies[reply.index] = message;
      return;
    }
    const root = this.find(ref);
    root.message = message;
    root.updates++;
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
    const text = (m: ChatMessage): string => [m.text, ...(m.lines ?? [])].join('\n');
    return [...root.replies.map(text), text(root.message)].join('\n');
  }

  private find(ref: MessageRef) {
    const root = this.roots.find((r) => r.ref.ts === ref.ts && r.ref.channel === ref.channel);
    if (!root) throw new Error(`no message ${ref.channel}/${ref.ts}`);
    return root;
  }
}
