import { afterEach, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../src/message.js';
import { pruneAction } from '../commands/prune.js';
import { alice, bake, bob, deployEnded, fleetWorld, pressOn, promoted, rollBack } from './support/lifecycle.js';
import type { TestWorld } from './support/world.js';

describe('a release’s record', () => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  it('keeps its whole history through a rebake, which adds what it replaced, on which base, who and why', async () => {
    world = await fleetWorld();
    const bakery = world.replica();
    await promoted(world, bakery, 'v1');
    await rollBack(world, bakery);
    await deployEnded(world, bakery);
    const before = (await world.store.getRelease('demo', 'v1'))!;

    await bakery.handlers.onCommand(world.command('demo v1 --force', { user: bob }));
    await bakery.runner.idle();

    const after = (await world.store.getRelease('demo', 'v1'))!;
    expect(after.history.map((event) => event.status)).toEqual(['baked', 'canary', 'live', 'rolled-back', 'baked']);
    expect(after.history.at(-1)).toMatchObject({
      by: bob.id,
      ami: after.amis['us-east-1'],
      baseAmi: after.baseAmi,
      replaced: { ami: before.amis['us-east-1'], baseAmi: before.baseAmi },
      note: expect.stringContaining('re-baked with --force'),
    });
    expect(after.amis['us-east-1']).not.toBe(before.amis['us-east-1']);
  });

  it('lists the image a rebake replaced until a prune takes it, and then forgets it', async () => {
    world = await fleetWorld();
    const bakery = world.replica();
    await bake(world, bakery, 'v1');
    const replaced = (await world.store.getRelease('demo', 'v1'))!;
    const ami = replaced.amis['us-east-1']!;
    await bakery.handlers.onCommand(world.command('demo v1 --force', { user: alice }));
    await bakery.runner.idle();

    const shown = async (): Promise<string> => (await bakery.handlers.onCommand(world.command('demo', { command: '/releases', user: alice })))?.lines?.join('\n') ?? '';
    expect(await shown()).toMatch(new RegExp(`↳ replaced: <[^|]+\\|${ami}> on base \`${replaced.baseAmi}\` · baked .* by <@U0ALICE>`));

    const plan = (await bakery.handlers.onCommand(world.command('prune demo --keep 1', { command: '/bakery', user: bob })))!;
    await bakery.handlers.onButton(pressOn(plan as ChatMessage, pruneAction, bob));
    expect(world.sim.snapshot().images.map((image) => image.imageId)).not.toContain(ami);
    const after = (await world.store.getRelease('demo', 'v1'))!;
    expect(after.status).toBe('baked');
    expect(after.superseded ?? []).toEqual([]);
    expect(await shown()).not.toContain(ami);
  });
});
