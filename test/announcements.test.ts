import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Bakery } from '../src/bakery.js';
import type { ChatSurface } from '../src/chat/surface.js';
import type { ChatMessage, MessageRef } from '../src/message.js';
import { until } from './support/lifecycle.js';
import type { RecordingChat } from './support/recording-chat.js';
import { TestWorld } from './support/world.js';

const isSummary = (message: ChatMessage): boolean => message.text.startsWith('*Baked demo v1*');

/**
 * The recording chat as a replica sees it, except that the replica dies the moment it posts a
 * message `when` picks: before the chat has it, or (`taken`) just after.
 */
function dyingChat(chat: RecordingChat, when: (message: ChatMessage) => boolean, die: () => void, options: { taken?: boolean } = {}): ChatSurface {
  return {
    post: (channel, message) => chat.post(channel, message),
    update: (ref, message) => chat.update(ref, message),
    upload: (thread, file) => chat.upload(thread, file),
    linkTo: (ref, label) => chat.linkTo(ref, label),
    publishHome: (user, view) => chat.publishHome(user, view),
    members: (of) => chat.members(of),
    presenceIn: (channels) => chat.presenceIn(channels),
    async reply(thread: MessageRef, message: ChatMessage): Promise<MessageRef> {
      if (!when(message)) return chat.reply(thread, message);
      if (options.taken) await chat.reply(thread, message);
      die();
      throw new Error('the process died');
    },
  };
}

describe('the end of an operation is announced even if the bot dies right then', () => {
  let world: TestWorld;
  beforeEach(async () => {
    world = await TestWorld.create();
  });
  afterEach(async () => {
    await world.close();
  });

  async function bakeUntilTheSummaryKills(options: { taken?: boolean } = {}): Promise<void> {
    let first: Bakery | undefined;
    const surface = dyingChat(world.chat, isSummary, () => void first?.runner.stop(), options);
    first = world.replica('replica-a', { surface });
    await first.handlers.onCommand(world.command('demo v1'));
    await until(world, async () => (await world.store.getLock('demo')) === undefined);
    await first.runner.idle();
  }

  it('posts the summary exactly once from the replica that restarts, when the bot died before posting it', async () => {
    await bakeUntilTheSummaryKills();
    expect(world.chat.allReplies().filter(isSummary)).toEqual([]);

    world.clock.advance(61_000); // the dead replica's claim on posting it runs out
    const restarted = world.replica('replica-b');
    await restarted.runner.resumeAbandoned();
    await restarted.runner.idle();

    expect(world.chat.roots).toHaveLength(1);
    expect(world.chat.roots[0]!.replies.filter(isSummary)).toHaveLength(1);
    expect(world.chat.roots[0]!.message.tone).toBe('succeeded');
    // Nothing is left to post: a later look posts nothing more.
    await restarted.runner.resumeAbandoned();
    expect(world.chat.roots[0]!.replies.filter(isSummary)).toHaveLength(1);
  });

  it('posts a summary the chat took just before the bot died again, marked as a second attempt', async () => {
    await bakeUntilTheSummaryKills({ taken: true });
    world.clock.advance(61_000);
    const restarted = world.replica('replica-b');
    await restarted.runner.resumeAbandoned();

    // At least once: Slack takes no idempotency key, so the copy says which attempt it is (as message metadata).
    const summaries = world.chat.roots[0]!.replies.filter(isSummary);
    expect(summaries.map((message) => message.origin?.attempt)).toEqual([1, 2]);
    expect(new Set(summaries.map((message) => message.origin?.key)).size).toBe(1);
  });
});

describe('a finished operation', () => {
  let world: TestWorld;
  beforeEach(async () => {
    world = await TestWorld.create();
  });
  afterEach(async () => {
    await world.close();
  });

  it('carries no lease, even when its summary waits out a rate limit', async () => {
    const chat = world.chat;
    const slowChat: ChatSurface = dyingChat(chat, () => false, () => undefined);
    // Slack's 429 on the summary: the Web API client waits its Retry-After (30 s) before posting.
    slowChat.reply = async (thread, message) => {
      if (isSummary(message)) await world.clock.sleep(30_000);
      return chat.reply(thread, message);
    };
    const bakery = world.replica('replica-a', { surface: slowChat });
    await bakery.handlers.onCommand(world.command('demo v1'));
    await until(world, () => chat.allReplies().some(isSummary));
    await bakery.runner.idle();

    const [operation] = world.events.filter((event) => event.type === 'finished').map((event) => event.operation);
    const stored = await world.store.getOperation(operation!.id);
    expect(stored?.status).toBe('succeeded');
    expect(stored?.lease).toBeUndefined();
    expect(stored?.announcing).toBeUndefined();
    await world.clock.sleep(120_000);
    expect((await world.store.getOperation(operation!.id))?.revision).toBe(stored?.revision);
  });

  it('reads finished, with its summary posted once, when this replica looks for unposted work just as it ends', async () => {
    const bakery = world.replica('replica-a');
    // The replica's own look for work (its watch) comes between the operation's last write and its summary's post.
    const releaseLock = world.store.releaseLock.bind(world.store);
    world.store.releaseLock = async (...args) => {
      await releaseLock(...args);
      await bakery.runner.resumeAbandoned();
    };
    await bakery.handlers.onCommand(world.command('demo v1'));
    await until(world, async () => (await world.store.getLock('demo')) === undefined);
    await bakery.runner.idle();

    expect(world.chat.roots[0]!.message.tone).toBe('succeeded');
    expect(world.chat.allReplies().filter(isSummary)).toHaveLength(1);
    expect(world.events.filter((event) => event.type === 'finished')).toHaveLength(1);
  });
});
