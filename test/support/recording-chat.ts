import type { ChatFile, ChatMessage, ChatSurface, MessageRef } from '../../src/chat/surface.js';

/** A chat that remembers what was posted, as a person scrolling the channel would see it. */
export class RecordingChat implements ChatSurface {
  readonly roots: { ref: MessageRef; message: ChatMessage; replies: ChatMessage[]; updates: number; uploads: ChatFile[] }[] = [];
  private next = 1;

  async post(channel: string, message: ChatMessage): Promise<MessageRef> {
    const ref = { channel, ts: `${this.next++}.000100` };
    this.roots.push({ ref, message, replies: [], updates: 0, uploads: [] });
    return ref;
  }

  async reply(thread: MessageRef, message: ChatMessage): Promise<MessageRef> {
    this.find(thread).replies.push(message);
    return { channel: thread.channel, ts: `${this.next++}.000200` };
  }

  async update(ref: MessageRef, message: ChatMessage): Promise<void> {
    const root = this.find(ref);
    root.message = message;
    root.updates++;
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
