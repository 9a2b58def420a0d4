import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { builderDeadlineMinutes } from '../src/pipelines/bake/user-data.js';
import { demoApp, TestWorld } from './support/world.js';

/** A bake whose builder never finishes, and whose only replica stops as provision starts. */
async function bakeAndDie(world: TestWorld): Promise<void> {
  world.sim.inject({ kind: 'builder-hangs' });
  const bot = world.replica('replica-a', {
    onEvent: (event, self) => {
      if (event.type === 'step-started' && event.step === 'provision') void self.runner.stop();
    },
  });
  await bot.handlers.onCommand(world.command('demo v1'));
  await bot.runner.idle();
}

describe('a builder whose bot is gone', () => {
  let world: TestWorld;
  beforeEach(async () => {
    world = await TestWorld.create();
  });
  afterEach(async () => {
    await world.close();
  });

  it('terminates itself when its own timer fires, with no replica left to clean up', async () => {
    await bakeAndDie(world);
    expect(world.liveInstances()).toHaveLength(1);

    // Every replica is gone; nobody calls TerminateInstances.
    world.clock.advance(builderDeadlineMinutes(demoApp) * 60_000 - 60_000);
    expect(world.liveInstances()).toHaveLength(1);
    world.clock.advance(5 * 60_000);
    expect(world.liveInstances()).toEqual([]);
    const calls = world.sim.calls().map((call) => call.command);
    expect(calls).not.toContain('TerminateInstances');
  });

  it('fails the bake of a replica that comes back later, and EC2 says the builder shut itself down', async () => {
    await bakeAndDie(world);
    world.clock.advance(builderDeadlineMinutes(demoApp) * 60_000 + 10 * 60_000);

    // A replica that comes back finds the bake's builder gone, fails the bake and cleans up.
    const back = world.replica('replica-b');
    await back.runner.resumeAbandoned();
    await back.runner.idle();
    expect(world.chat.threadText()).toMatch(/builder i-\w+ is (terminated|gone|shutting-down) before finishing its provision phase/);
    expect(world.liveInstances()).toEqual([]);
    const { Reservations = [] } = await (await world.sim.clients().ec2('us-east-1')).send(new DescribeInstancesCommand({}));
    expect(Reservations[0]?.Instances?.[0]?.StateTransitionReason).toMatch(/^Client\.InstanceInitiatedShutdown/);
  });
});
