/*
 * One operation's progress in chat: a root message kept current, and a thread of replies under it.
 *
 * Slack allows roughly one message per second per channel (short bursts aside), and chat.update is
 * rate limited too. So root updates are coalesced — at most one chat.update per interval, and only
 * the latest state is ever sent — and replies are paced by the same interval, strictly in order.
 * The Web API client already waits out a 429's Retry-After, so there is no retry loop here.
 *
 * Progress display must never fail a bake: after the root is posted, every Slack error is logged
 * and swallowed. Posting the root itself may throw (from `open`), since nothing has started then and
 * the user should hear why (e.g. the bot is not in the channel).
 */
import type { Clock } from '../clock.js';
import { redactSecrets, silentLogger, type Logger } from '../log.js';
import type { SlackPace } from './pace.js';
import type { ChatSurface } from './surface.js';
import type { ChatFile, ChatMessage, MessageRef } from '../message.js';

export interface ProgressThreadOptions {
  /** Minimum time between two writes of the same kind (root updates; replies). Default 1000. */
  minUpdateIntervalMs?: number;
  /** Shared by every thread in the process, so that together they keep to Slack's per-channel and per-method limits. */
  pace?: SlackPace;
  log?: Logger;
}

export class ProgressThread {
  private readonly interval: number;
  private readonly log: Logger;
  private readonly pace: SlackPace | undefined;
  private root: MessageRef | undefined;
  private pendingRoot: ChatMessage | undefined;
  private rootLoop: Promise<void> | undefined;
  private lastRootWrite = Number.NEGATIVE_INFINITY;
  private replies: Promise<void> = Promise.resolve();
  private lastReplyWrite = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly surface: ChatSurface,
    private readonly clock: Clock,
    options: ProgressThreadOptions = {},
  ) {
    this.interval = Math.max(0, options.minUpdateIntervalMs ?? 1000);
    this.log = options.log ?? silentLogger;
    this.pace = options.pace;
  }

  /** Posts the root in `channel` — or, for a resumed operation, continues the thread at `existing`. */
  static async open(
    surface: ChatSurface,
    clock: Clock,
    channel: string,
    root: ChatMessage,
    existing?: MessageRef,
    options?: ProgressThreadOptions,
  ): Promise<ProgressThread> {
    const thread = new ProgressThread(surface, clock, options);
    if (existing) {
      thread.root = existing;
      // The state may have moved on while no process was running: show the current one.
      thread.setRoot(root);
    } else {
      await options?.pace?.post(channel);
      thread.root = await surface.post(channel, root);
      thread.lastRootWrite = clock.now();
    }
    return thread;
  }

  get ref(): MessageRef {
    if (!this.root) throw new Error('ProgressThread used before open()');
    return this.root;
  }

  /** Shows `message` as the root's state, soon; a later call before it is sent replaces it. */
  setRoot(message: ChatMessage): void {
    this.pendingRoot = message;
    this.rootLoop ??= this.sendRoots().finally(() => {
      this.rootLoop = undefined;
    });
  }

  /** Posts a reply in the thread, after every earlier reply. Resolves once sent (or failed and logged). */
  reply(message: ChatMessage): Promise<void> {
    return this.inTurn(async () => {
      try {
        await this.surface.reply(this.ref, message);
      } catch (error) {
        this.log.warn({ err: errorMessage(error), ref: this.root }, 'Could not post a progress reply');
      }
    });
  }

  /**
   * Shows a picture in the thread, in turn with the replies. One that cannot be uploaded is
   * replaced by a reply saying why, with its text fallback; either way this never throws.
   */
  upload(file: ChatFile): Promise<void> {
    return this.inTurn(async () => {
      try {
        await this.surface.upload(this.ref, file);
        return;
      } catch (error) {
        this.log.warn({ err: errorMessage(error), ref: this.root, file: file.filename }, 'Could not upload a file');
        await this.pace?.post(this.ref.channel);
        try {
          await this.surface.reply(this.ref, { text: `${file.title}: the chart could not be uploaded (${errorMessage(error)}).`, lines: file.fallback });
        } catch (fallbackError) {
          this.log.warn({ err: errorMessage(fallbackError), ref: this.root }, "Could not post a file's text fallback");
        }
      }
    });
  }

  /** Runs one write to the thread after every earlier one, paced. */
  private inTurn(write: () => Promise<void>): Promise<void> {
    const sent = this.replies.then(async () => {
      await this.waitUntil(this.lastReplyWrite + this.interval);
      await this.pace?.post(this.ref.channel);
      this.lastReplyWrite = this.clock.now();
      await write();
    });
    this.replies = sent;
    return sent;
  }

  /**
   * A reply a step keeps current (a verdict table, an approval request): posted the first time,
   * updated in place when given the ref it was posted as. In order with the other replies; a Slack
   * error is logged and swallowed like theirs, and then there is no ref.
   */
  say(message: ChatMessage, existing?: MessageRef): Promise<MessageRef | undefined> {
    const sent = this.replies.then(async () => {
      await this.waitUntil(this.lastReplyWrite + this.interval);
      this.lastReplyWrite = this.clock.now();
      try {
        if (existing) {
          await this.pace?.update();
          await this.surface.update(existing, message);
          return existing;
        }
        await this.pace?.post(this.ref.channel);
        return await this.surface.reply(this.ref, message);
      } catch (error) {
        this.log.warn({ err: errorMessage(error), ref: existing ?? this.root }, 'Could not write a progress reply');
        return undefined;
      }
    });
    this.replies = sent.then(() => undefined);
    return sent;
  }

  /** Waits until every reply is posted and the latest root state is sent. */
  async flush(): Promise<void> {
    await this.replies;
    while (this.rootLoop) await this.rootLoop;
  }

  private async sendRoots(): Promise<void> {
    while (this.pendingRoot) {
      await this.waitUntil(this.lastRootWrite + this.interval);
      await this.pace?.update();
      const message = this.pendingRoot;
      this.pendingRoot = undefined;
      this.lastRootWrite = this.clock.now();
      try {
        await this.surface.update(this.ref, message);
      } catch (error) {
        this.log.warn({ err: errorMessage(error), ref: this.root }, 'Could not update a progress message');
      }
    }
  }

  private async waitUntil(at: number): Promise<void> {
    const wait = at - this.clock.now();
    if (wait > 0) await this.clock.sleep(wait);
  }
}

/** Only the message: Web API errors carry their HTTP request, token included. */
export function errorMessage(error: unknown): string {
  return redactSecrets(error instanceof Error ? error.message : String(error));
}
