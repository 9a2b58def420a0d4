import { DeleteAutoScalingGroupCommand, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bakery } from '../src/bakery.js';
import { alice, approvalRequest, bake, bob, groupNames, pressOn, releaseApp, until } from './support/lifecycle.js';
import { TestWorld } from './support/world.js';

async function group(world: TestWorld, name: string) {
  const result = await world.sim.clients().autoScaling('us-east-1').send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
  return result.AutoScalingGroups?.find((g) => g.Status !== 'Delete in progress');
}

async function rollBack(world: TestWorld, bakery: Bakery): Promise<void> {
  const confirm = await bakery.handlers.onCommand(world.command('demo', { command: '/rollback', user: bob }));
  await bakery.handlers.onButton(pressOn(confirm!, 'rollback.confirm', bob));
}

describe('a red-black promotion', () => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  async function switched(): Promise<Bakery> {
    world = await TestWorld.create({ demo: releaseApp({ strategy: 'red-black' }) });
    world.sim.seedFleet({ region: 'us-east-1', app: 'demo' });
    const bakery = world.replica();
    await bake(world, bakery, 'v1');
    await bakery.handlers.onCommand(world.command('demo v1', { command: '/canary', user: alice }));
    await until(world, () => approvalRequest(world) !== undefined);
    await bakery.handlers.onButton(pressOn(approvalRequest(world)!, 'release.promote', bob));
    await until(world, async () => (await world.store.getLive('demo'))?.standby !== undefined);
    return bakery;
  }

  it('grows the canary into the new fleet, moves the traffic, and keeps the old group scaled as it was', async () => {
    await switched();
    const live = await world.store.getLive('demo');
    expect(live?.live).toMatchObject({ version: 'v1', group: expect.stringMatching(/^demo-canary-v1-/) });
    expect(live?.standby?.group).toBe('demo-live');
    const grown = await group(world, live!.live.group!);
    expect(grown?.DesiredCapacity).toBe(3);
    expect(grown?.MinSize).toBe(3);
    const old = await group(world, 'demo-live');
    expect(old?.DesiredCapacity).toBe(3);
    expect(old?.TargetGroupARNs ?? []).toEqual([]);
  });

  it('switches back at once when rolled back while the old group is kept', async () => {
    const bakery = await switched();
    await rollBack(world, bakery);
    await until(world, async () => (await world.store.getLock('demo', 'deploy')) === undefined);
    await bakery.runner.idle();
    expect((await group(world, 'demo-live'))?.TargetGroupARNs).toHaveLength(1);
    expect(await groupNames(world)).toEqual(['demo-live']);
    expect((await world.store.getLive('demo'))?.live.group).toBe('demo-live');
    expect((await world.store.getRelease('demo', 'v1'))?.status).toBe('rolled-back');
  });

  it('still ends well when someone removed the old group by hand while it was kept', async () => {
    const bakery = await switched();
    const operationId = (await world.store.getLock('demo', 'deploy'))!.operationId;
    await world.sim.clients().autoScaling('us-east-1').send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'demo-live', ForceDelete: true }));
    await until(world, async () => (await world.store.getLock('demo', 'deploy')) === undefined);
    await bakery.runner.idle();
    expect((await world.store.getOperation(operationId))?.status).toBe('succeeded');
    expect((await world.store.getLive('demo'))?.standby).toBeUndefined();
    expect(await groupNames(world)).toEqual([expect.stringMatching(/^demo-canary-v1-/)]);
  });

  it('removes the old group after the keep time, and a later rollback rolls the new group forward to the old image', async () => {
    const bakery = await switched();
    const oldImage = (await world.store.getLive('demo'))!.previous!.ami;
    await until(world, async () => (await world.store.getLock('demo', 'deploy')) === undefined);
    await bakery.runner.idle();
    expect(await groupNames(world)).toEqual([expect.stringMatching(/^demo-canary-v1-/)]);

    await rollBack(world, bakery);
    await until(world, async () => (await world.store.getLock('demo', 'deploy')) === undefined);
    await bakery.runner.idle();
    const live = await world.store.getLive('demo');
    expect(live?.live).toMatchObject({ ami: oldImage, group: expect.stringMatching(/^demo-canary-v1-/) });
    expect((await world.store.getRelease('demo', 'v1'))?.status).toBe('rolled-back');
  });
});
