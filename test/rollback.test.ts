import { DescribeLaunchTemplateVersionsCommand } from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bakery } from '../src/bakery.js';
import type { ChatMessage } from '../src/message.js';
import { alice, approvalRequest, bake, bob, deployEnded, everything, groupNames, liveGroup, mallory, operationOf, pressOn, releaseApp, until } from './support/lifecycle.js';
import { TestWorld } from './support/world.js';

async function fleetWorld(): Promise<TestWorld> {
  const world = await TestWorld.create({ demo: releaseApp() });
  world.sim.seedFleet({ region: 'us-east-1', app: 'demo' });
  return world;
}

/** The images the live group's instances run now, from their launch template versions. */
async function imagesServed(world: TestWorld): Promise<string[]> {
  const group = await liveGroup(world);
  const images = new Set<string>();
  for (const instance of group?.Instances ?? []) {
    if (instance.LifecycleState !== 'InService') continue;
    const template = instance.LaunchTemplate!;
    const versions = await world.sim.clients().ec2('us-east-1').send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: template.LaunchTemplateId, Versions: [template.Version!] }));
    images.add(versions.LaunchTemplateVersions![0]!.LaunchTemplateData!.ImageId!);
  }
  return [...images];
}

async function canary(world: TestWorld, bakery: Bakery, version: string): Promise<void> {
  await bakery.handlers.onCommand(world.command(`demo ${version}`, { command: '/canary', user: alice }));
}

async function promoted(world: TestWorld, bakery: Bakery, version: string): Promise<void> {
  await bake(world, bakery, version);
  await canary(world, bakery, version);
  await until(world, () => approvalRequest(world)?.text.includes(`demo ${version}`) === true);
  await bakery.handlers.onButton(pressOn(approvalRequest(world)!, 'release.promote', bob));
  await deployEnded(world, bakery);
}

/** Types /rollback and presses its confirm button, as a person would. */
async function rollBack(world: TestWorld, bakery: Bakery, text = 'demo', user = bob): Promise<ChatMessage | undefined> {
  const confirm = await bakery.handlers.onCommand(world.command(text, { command: '/rollback', user }));
  if (!confirm?.buttons?.length) return confirm;
  return bakery.handlers.onButton(pressOn(confirm, 'rollback.confirm', user));
}

describe('/rollback', () => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  it('removes a canary that is being judged, and the fleet never changes', async () => {
    world = await fleetWorld();
    const bakery = world.replica();
    await bake(world, bakery, 'v1');
    const before = await imagesServed(world);
    await canary(world, bakery, 'v1');
    await until(world, () => world.events.some((event) => event.type === 'step-waiting' && event.step === 'judge'));

    const confirm = await bakery.handlers.onCommand(world.command('demo', { command: '/rollback', user: bob }));
    expect(confirm?.text).toContain('Stop the canary of *demo v1*');
    const answer = await bakery.handlers.onButton(pressOn(confirm!, 'rollback.confirm', bob));
    expect(answer?.text).toContain('Rolling back demo: stopping the canary of v1');
    await deployEnded(world, bakery);

    expect(await groupNames(world)).toEqual(['demo-live']);
    expect(await imagesServed(world)).toEqual(before);
    expect(everything(world)).toMatch(/rolled back\*? by @bob/i);
    expect((await world.store.getRelease('demo', 'v1'))?.status).toBe('baked');
  });

  it('stops a promotion half-way and returns every instance to the image it ran', async () => {
    world = await fleetWorld();
    const bakery = world.replica();
    await bake(world, bakery, 'v1');
    const before = await imagesServed(world);
    await canary(world, bakery, 'v1');
    await until(world, () => approvalRequest(world) !== undefined);
    await bakery.handlers.onButton(pressOn(approvalRequest(world)!, 'release.promote', bob));
    await until(world, () => world.events.some((event) => event.type === 'step-waiting' && event.step === 'refresh'));

    expect((await rollBack(world, bakery))?.text).toContain('stopping the canary of v1');
    await deployEnded(world, bakery);

    await until(world, async () => (await imagesServed(world)).join() === before.join() && ((await liveGroup(world))?.Instances?.length ?? 0) === 3, 3_600_000).catch(async (error: unknown) => {
      console.log(await imagesServed(world), before, JSON.stringify((await liveGroup(world))?.Instances), everything(world).slice(-1500));
      throw error;
    });
    expect(everything(world)).toMatch(/rolled back the instance refresh of demo-live|cancelled the instance refresh of demo-live/);
    expect(await world.store.getLive('demo')).toBeUndefined();
  });

  it('returns a live release to the one before it, and says how long the fleet took', async () => {
    world = await fleetWorld();
    const bakery = world.replica();
    const original = await imagesServed(world);
    await promoted(world, bakery, 'v1');
    expect(await imagesServed(world)).not.toEqual(original);

    const confirm = await bakery.handlers.onCommand(world.command('demo', { command: '/rollback', user: bob }));
    expect(confirm?.text).toContain('from v1 to');
    await bakery.handlers.onButton(pressOn(confirm!, 'rollback.confirm', bob));
    await deployEnded(world, bakery);

    expect(await imagesServed(world)).toEqual(original);
    const summary = world.chat.allReplies().findLast((reply) => reply.text.includes('rolled back* from v1'));
    expect(summary?.text).toMatch(/the fleet served it \d+m \d\ds after \/rollback/);
    expect(summary?.broadcast).toBe(true);
    expect((await world.store.getRelease('demo', 'v1'))?.status).toBe('rolled-back');
    expect((await world.store.getLive('demo'))?.live.ami).toBe(original[0]);
  });

  it('rolls forward to a named version from the release history', async () => {
    world = await fleetWorld();
    const bakery = world.replica();
    await promoted(world, bakery, 'v1');
    const v1 = await imagesServed(world);
    await promoted(world, bakery, 'v2');
    expect(await imagesServed(world)).not.toEqual(v1);

    await rollBack(world, bakery, 'demo v1');
    await deployEnded(world, bakery);
    expect(await imagesServed(world)).toEqual(v1);
    expect((await world.store.getLive('demo'))?.live.version).toBe('v1');
    expect((await world.store.getRelease('demo', 'v2'))?.status).toBe('rolled-back');
  });

  it('is refused to someone who is neither an approver nor the one who started the release, and audited', async () => {
    world = await fleetWorld();
    const bakery = world.replica();
    await bake(world, bakery, 'v1');
    await canary(world, bakery, 'v1');
    const refused = await bakery.handlers.onCommand(world.command('demo', { command: '/rollback', user: mallory }));
    expect(refused?.text).toContain('Not done: only <@U0BOB>, <@U0ALICE> and whoever started it may roll back demo');
    expect(refused?.buttons ?? []).toEqual([]);
    const forged = await bakery.handlers.onButton({ actionId: 'rollback.confirm', value: '{"app":"demo"}', user: mallory, team: 'T0HOME', channel: 'C0DEMO', channelName: 'demo', message: { channel: 'C0DEMO', ts: '0.000001', ephemeral: true }, requestId: 'forged' });
    expect(forged?.text).toContain('Not done');
    expect((await world.store.listAudit('demo')).some((entry) => entry.action === 'rollback refused' && entry.actor === 'U0MALLORY')).toBe(true);
    const running = await operationOf(world, 'canary');
    expect(running?.status).toBe('running');
    expect(running?.cancelRequested).toBeUndefined();
  });

  it('says there is nothing to return to before anything was promoted', async () => {
    world = await fleetWorld();
    const bakery = world.replica();
    const answer = await bakery.handlers.onCommand(world.command('demo', { command: '/rollback', user: bob }));
    expect(answer?.text).toContain('Nothing to roll back to');
  });
});
