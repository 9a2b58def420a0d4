import { afterEach, describe, expect, it } from 'vitest';
import type { Bakery } from '../src/bakery.js';
import type { ChatSurface } from '../src/chat/surface.js';
import type { ChatMessage, MessageRef } from '../src/message.js';
import { approvalRequest, bake, bob, canary, deployEnded, fleetWorld, pressOn, promoted, rollBack, until } from './support/lifecycle.js';
import type { RecordingChat } from './support/recording-chat.js';
import type { TestWorld } from './support/world.js';

/** Two promotions and a rollback take a minute of real time on a busy machine (virtual time runs their hours). */
const twoPromotions = 120_000;

/** A root as a person reads it: its headline, then its lines. */
const shown = (root: { message: ChatMessage }): string[] => [root.message.text, ...(root.message.lines ?? [])];

/** The recording chat, except that the replica dies the moment it would update a message `when` picks, before the chat has it. */
function dyingOnUpdate(chat: RecordingChat, when: (message: ChatMessage) => boolean, die: () => void): ChatSurface {
  return {
    post: (channel, message) => chat.post(channel, message),
    reply: (thread, message) => chat.reply(thread, message),
    upload: (thread, file) => chat.upload(thread, file),
    linkTo: (ref, label) => chat.linkTo(ref, label),
    publishHome: (user, view) => chat.publishHome(user, view),
    members: (of) => chat.members(of),
    presenceIn: (channels) => chat.presenceIn(channels),
    async update(ref: MessageRef, message: ChatMessage): Promise<void> {
      if (!when(message)) return chat.update(ref, message);
      die();
      throw new Error('the process died');
    },
  };
}

describe('a release’s own thread', () => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  it('says which release replaced it, and when, once the next one is promoted', async () => {
    world = await fleetWorld();
    const bakery = world.replica();
    await promoted(world, bakery, 'v1');
    const v1 = world.chat.roots[0]!;
    expect(v1.message.text).toMatch(/\*live\* ✓$/);

    await promoted(world, bakery, 'v2');

    expect(v1.message.text).toMatch(/^\*Release demo v1\* · .* → live ✓ → \*replaced by v2\*$/);
    expect(v1.message.lines?.[0]).toMatch(/^Replaced by v2 at \d\d:\d\d UTC$/);
    expect(world.chat.roots[1]!.message.text).toMatch(/^\*Release demo v2\* · .*\*live\* ✓$/);
  }, twoPromotions);

  it('reads live again after a rollback to it, and the release rolled back reads rolled back, by whom and to what', async () => {
    world = await fleetWorld();
    const bakery = world.replica();
    await promoted(world, bakery, 'v1');
    await promoted(world, bakery, 'v2');
    await rollBack(world, bakery);
    await deployEnded(world, bakery);

    // The rollback continued v2's thread; v1's, the first, reads live again.
    expect(world.chat.roots).toHaveLength(2);
    const [v1, v2] = world.chat.roots;
    expect(v1!.message.text).toMatch(/ → \*live again\*$/);
    expect(v1!.message.lines?.[0]).toMatch(/^✓ Live again since \d\d:\d\d UTC \(rollback by <@U0BOB>\)$/);
    expect(shown(v2!)).toContainEqual(expect.stringMatching(/^✗ Rolled back at \d\d:\d\d UTC \(to v1\) by <@U0BOB>$/));
    expect(shown(v2!)).toContain('✓ v1 is live again');
  }, twoPromotions);

  it('is redrawn by the replica that takes the promotion over, when the bot died just before redrawing it', async () => {
    world = await fleetWorld();
    let first: Bakery | undefined;
    const replaced = (message: ChatMessage): boolean => message.text.startsWith('*Release demo v1*') && message.text.includes('replaced by v2');
    first = world.replica('replica-a', { surface: dyingOnUpdate(world.chat, replaced, () => void first?.runner.stop()) });
    await promoted(world, first, 'v1');
    await bake(world, first, 'v2');
    await canary(world, first, 'v2');
    await until(world, () => approvalRequest(world)?.text.includes('demo v2') === true);
    await first.handlers.onButton(pressOn(approvalRequest(world)!, 'release.promote', bob));
    await until(world, async () => (await world.store.getLive('demo'))?.live.version === 'v2');
    await first.runner.idle();
    expect(shown(world.chat.roots[0]!).join('\n')).not.toMatch(/replaced by v2/);

    world.clock.advance(61_000); // the dead replica's lease runs out
    const restarted = world.replica('replica-b');
    await restarted.runner.resumeAbandoned();
    await deployEnded(world, restarted);

    expect(world.chat.roots[0]!.message.lines?.[0]).toMatch(/^Replaced by v2 at \d\d:\d\d UTC$/);
  }, twoPromotions);
});
