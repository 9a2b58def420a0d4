import { DeleteAutoScalingGroupCommand, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { ModifyTargetGroupAttributesCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterEach, describe, expect, it } from 'vitest';
import { alice, approvalRequest, bake, bob, deployEnded, everything, pressOn, releaseApp, until } from './support/lifecycle.js';
import { createGroup, readLiveGroup } from '../src/aws/fleet.js';
import { TestWorld } from './support/world.js';

async function allGroups(world: TestWorld) {
  return (await (await world.sim.clients().autoScaling('us-east-1')).send(new DescribeAutoScalingGroupsCommand({}))).AutoScalingGroups ?? [];
}

describe('deletions take time', () => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  it('a canary started again right after one was removed gets a group of its own, not the one still being deleted', async () => {
    world = await TestWorld.create({ demo: releaseApp() });
    const fleet = world.sim.seedFleet({ region: 'us-east-1', app: 'demo' });
    // ELB's default deregistration delay: the removed canary's group stays "Delete in progress" while its instance drains.
    await (await world.sim.clients().elbv2('us-east-1')).send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: fleet.targetGroupArn, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '300' }] }));
    const bakery = world.replica();
    await bake(world, bakery, 'v1');
    await bakery.handlers.onCommand(world.command('demo v1', { command: '/canary', user: alice }));
    await until(world, () => world.events.some((event) => event.type === 'step-waiting' && event.step === 'judge'));
    await bakery.handlers.onButton(pressOn((await bakery.handlers.onCommand(world.command('demo', { command: '/rollback', user: bob })))!, 'rollback.confirm', bob));
    await deployEnded(world, bakery);
    const going = (await allGroups(world)).filter((group) => group.Status === 'Delete in progress');
    expect(going.map((group) => group.AutoScalingGroupName)).toEqual([expect.stringMatching(/^demo-canary-v1/)]);

    await bakery.handlers.onCommand(world.command('demo v1', { command: '/canary', user: alice }));
    await until(world, async () => approvalRequest(world) !== undefined || (await world.store.getLock('demo', 'deploy')) === undefined);
    expect(everything(world)).not.toMatch(/timed out|did not/);
    expect(approvalRequest(world)?.text).toContain('Promote *demo v1* to the whole fleet?');
  });

  it('takes a group of the same name as its own only when its tags name this operation', async () => {
    world = await TestWorld.create({ demo: releaseApp() });
    world.sim.seedFleet({ region: 'us-east-1', app: 'demo' });
    const aws = world.sim.clients();
    const live = (await readLiveGroup(aws, 'us-east-1', 'demo-live'))!;
    const canary = (operation: string) => ({ name: 'demo-canary-v1-x', live, launchTemplateVersion: '1', size: 1, targetGroups: [], tags: { 'bakery:operation': operation } });
    await createGroup(aws, 'us-east-1', canary('op-a'));
    // A resumed step of the same operation finds its own group…
    await expect(createGroup(aws, 'us-east-1', canary('op-a'))).resolves.toBeUndefined();
    // …another operation (or someone by hand) is told the name is taken.
    await expect(createGroup(aws, 'us-east-1', canary('op-b'))).rejects.toThrow("a group named demo-canary-v1-x already exists and is not this operation's");
    await world.clock.sleep(120_000);
    await (await aws.autoScaling('us-east-1')).send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'demo-canary-v1-x', ForceDelete: true }));
    // Being deleted, it is nobody's to adopt, this operation's own included: its name is still taken.
    await expect(createGroup(aws, 'us-east-1', canary('op-a'))).rejects.toThrow('a group named demo-canary-v1-x is still being deleted');
  });
});
