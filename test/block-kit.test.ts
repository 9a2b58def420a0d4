import { afterEach, describe, expect, it } from 'vitest';
import { limits, renderHome, renderMessage, type Block } from '../src/chat/blocks.js';
import type { ChatMessage } from '../src/message.js';
import { alice, approvalRequest, bake, bob, deployEnded, pressOn, promoted, releaseApp, rollBack, until } from './support/lifecycle.js';
import { promotedIn, twoFleetWorld } from './support/environments.js';
import { TestWorld } from './support/world.js';

/** The text of each block, as Slack would show it (a button's label, a context's items). */
function textsOf(block: Block): string[] {
  switch (block.type) {
    case 'section':
    case 'header':
      return [block.text.text];
    case 'context':
      return block.elements.map((element) => element.text);
    case 'actions':
      return block.elements.map((element) => element.text.text);
    case 'divider':
      return [];
  }
}

/** What a person would see of one message in Slack: its headline once, in top-level blocks within Slack's limits. */
function expectShownOnce(message: ChatMessage): void {
  const rendered = renderMessage(message);
  const where = `"${message.text.slice(0, 80)}"`;
  expect(rendered, where).not.toHaveProperty('attachments');
  expect(rendered.blocks.length, where).toBeLessThanOrEqual(limits.messageBlocks);
  const texts = rendered.blocks.flatMap(textsOf);
  // The fallback text is the headline; it is in the blocks once, and no other block repeats it.
  expect(rendered.blocks[0], where).toEqual({ type: 'section', text: { type: 'mrkdwn', text: rendered.text } });
  expect(texts.filter((text) => text.includes(rendered.text.trim())), where).toHaveLength(1);
  for (const block of rendered.blocks) {
    if (block.type === 'section') expect(block.text.text.length, where).toBeLessThanOrEqual(limits.sectionText);
    if (block.type === 'header') expect(block.text.text.length, where).toBeLessThanOrEqual(limits.headerText);
    if (block.type === 'context') expect(block.elements.length, where).toBeLessThanOrEqual(limits.contextElements);
  }
}

describe('Every message Bakery shows, in Slack', () => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  it('renders once, in top-level blocks, with no legacy attachment: every root, reply, update, answer and Home', async () => {
    world = await TestWorld.create({ demo: releaseApp() });
    world.sim.seedFleet({ region: 'us-east-1', app: 'demo' });
    // Everything the chat was given, each state of a message kept current included.
    const shown: ChatMessage[] = [];
    const chat = world.chat;
    const post = chat.post.bind(chat);
    const reply = chat.reply.bind(chat);
    const update = chat.update.bind(chat);
    chat.post = (channel, message) => (shown.push(message), post(channel, message));
    chat.reply = (thread, message) => (shown.push(message), reply(thread, message));
    chat.update = (ref, message) => (shown.push(message), update(ref, message));
    const bakery = world.replica();
    const answered = async (answer: Promise<ChatMessage | undefined> | ChatMessage | undefined): Promise<void> => {
      const message = await answer;
      if (message) shown.push(message);
    };

    // Help, usage errors and bad input, answered at once or after.
    for (const [command, text] of [['/bake', 'help'], ['/canary', 'help'], ['/rollback', 'help'], ['/promote', 'help'], ['/bakery', 'help'], ['/bake', 'demo *v1* extra'], ['/bake', 'demo <!here>'], ['/bakery', 'nonsense'], ['/bakery', 'apps']]) {
      await answered(bakery.handlers.answerAtOnce?.(world.command(text!, { command })));
      await answered(bakery.handlers.onCommand(world.command(text!, { command })));
    }
    // A bake (and a second one while it runs), a canary promoted, a canary rolled back, a /rollback, the digest.
    const first = bakery.handlers.onCommand(world.command('demo v1', { user: alice }));
    await answered(bakery.handlers.onCommand(world.command('demo v1', { user: bob })));
    await answered(first);
    await until(world, async () => (await world.store.getLock('demo')) === undefined);
    await answered(bakery.handlers.onCommand(world.command('demo v1', { user: alice })));
    await promoted(world, bakery, 'v1');
    await bake(world, bakery, 'v2');
    await answered(bakery.handlers.onCommand(world.command('demo v2', { command: '/canary', user: alice })));
    await until(world, () => approvalRequest(world)?.text.includes('demo v2') === true);
    await answered(bakery.handlers.onButton(pressOn(approvalRequest(world)!, 'release.rollback', bob)));
    await deployEnded(world, bakery);
    await answered(rollBack(world, bakery));
    await deployEnded(world, bakery);
    for (const text of ['digest', 'stale', 'home']) await answered(bakery.handlers.onCommand(world.command(text, { command: '/bakery' })));
    await answered(bakery.handlers.onCommand(world.command('demo', { command: '/releases' })));

    const all = shown.map((message) => message.text).join('\n');
    for (const kind of ['*Bake demo v1*', 'Baked demo v1', '*Release demo v1*', '*Canary demo v1*', 'Promote *demo v1*', 'demo v1 is live', 'demo v2 rolled back', '*Rollback demo*', 'busy']) expect(all).toContain(kind);
    expect(shown.length).toBeGreaterThan(60);
    for (const message of shown) expectShownOnce(message);
    for (const home of world.chat.homes.values()) {
      const view = renderHome(home);
      expect(view).not.toHaveProperty('attachments');
      expect(view.blocks.length).toBeLessThanOrEqual(limits.viewBlocks);
    }
  }, 300_000);

  it('renders the matrix of an app of several environments, one environment of it, and its Home', async () => {
    world = await twoFleetWorld();
    const bakery = world.replica();
    for (const version of ['v1', 'v2']) {
      await bake(world, bakery, version);
      await promotedIn(world, bakery, version, 'staging');
    }
    const shown = await Promise.all(['demo', 'demo --env staging', 'demo --env production'].map((text) => bakery.handlers.onCommand(world.command(text, { command: '/releases' }))));
    expect(shown.map((message) => message?.text)).toEqual(['*Releases of demo*', '*Releases of demo* in staging', '*Releases of demo* in production']);
    for (const message of shown) expectShownOnce(message!);
    await bakery.handlers.onHomeOpened!(bob);
    const view = renderHome(world.chat.homes.get(bob.id)!);
    expect(view.blocks.length).toBeLessThanOrEqual(limits.viewBlocks);
  }, 300_000);
});
