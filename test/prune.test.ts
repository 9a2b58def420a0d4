import { CreateLaunchTemplateVersionCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Bakery } from '../src/bakery.js';
import type { ChatMessage } from '../src/chat/surface.js';
import { pruneAction } from '../commands/prune.js';
import { alice, bob, mallory, pressOn, releaseApp } from './support/lifecycle.js';
import { TestWorld } from './support/world.js';

const app = { ...releaseApp(), copyTo: ['eu-west-1'] };

describe('/bakery prune', () => {
  let world: TestWorld;
  let bakery: Bakery;
  const ami = async (version: string, region = 'us-east-1'): Promise<string> => (await world.store.getRelease('demo', version))!.amis[region]!;
  const prune = (text: string, user = alice) => bakery.handlers.onCommand(world.command(`prune demo ${text}`, { command: '/bakery', user }));
  const registered = (): string[] => world.sim.snapshot().images.map((image) => image.imageId);
  const snapshotIds = (): string[] => world.sim.snapshot().snapshots.map((snapshot) => snapshot.snapshotId);

  beforeEach(async () => {
    world = await TestWorld.create({ demo: app });
    world.sim.seedFleet({ region: 'us-east-1', app: 'demo' });
    bakery = world.replica();
    for (const version of ['v1', 'v2', 'v3', 'v4', 'v5', 'v6']) {
      await bakery.handlers.onCommand(world.command(`demo ${version}`, { user: alice }));
      await bakery.runner.idle();
      world.clock.advance(24 * 3_600_000);
    }
    // v6 is the newest; v5 is live and v4 the rollback target; a launch template version the live group uses launches v3; an instance runs v2.
    await world.store.putLive({ app: 'demo', live: { version: 'v5', ami: await ami('v5') }, previous: { version: 'v4', ami: await ami('v4') }, since: world.clock.now(), by: bob.id, operationId: 'op-test' });
    const ec2 = world.sim.clients().ec2('us-east-1');
    const template = await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateName: 'demo', SourceVersion: '1', LaunchTemplateData: { ImageId: await ami('v3') } }));
    await world.sim.clients().autoScaling('us-east-1').send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'demo-live', LaunchTemplate: { LaunchTemplateName: 'demo', Version: String(template.LaunchTemplateVersion?.VersionNumber) } }));
    await ec2.send(new RunInstancesCommand({ ImageId: await ami('v2'), InstanceType: 't3.small', MinCount: 1, MaxCount: 1 }));
    // EC2's filtered lists show a new instance only after a moment (eventual consistency).
    world.clock.advance(10 * 60_000);
  });
  afterEach(async () => {
    await world.close();
  });

  it('keeps every image in use and says why, and a dry run removes nothing', async () => {
    const before = registered();
    const answer = await prune('--keep 1 --dry-run');
    expect(answer?.text).toBe('*Prune demo* (dry run): 1 bake would go');
    const lines = answer?.lines?.join('\n') ?? '';
    expect(lines).toContain(`Would remove: v1 (\`${await ami('v1')}\` us-east-1, \`${await ami('v1', 'eu-west-1')}\` eu-west-1), with 2 snapshots`);
    expect(lines).toMatch(/Kept: v6 .*: among the newest 1/);
    expect(lines).toMatch(/Kept: v5 .*: live \(us-east-1\)/);
    expect(lines).toMatch(/Kept: v4 .*: the rollback target \(us-east-1\)/);
    expect(lines).toMatch(/Kept: v3 .*: in launch template demo version 2, which an Auto Scaling group uses \(us-east-1\)/);
    expect(lines).toMatch(/Kept: v2 .*: used by instance i-[0-9a-f]+ \(running\) \(us-east-1\)/);
    expect(answer?.buttons ?? []).toEqual([]);
    expect(registered()).toEqual(before);
  });

  it('removes, for an approver who confirms, the images of every region and all their snapshots', async () => {
    const plan = (await prune('--keep 1'))!;
    const v1 = [await ami('v1'), await ami('v1', 'eu-west-1')];
    const v1Snapshots = world.sim.snapshot().images.filter((image) => v1.includes(image.imageId)).map((image) => image.snapshotId);
    expect(plan.buttons?.[0]).toMatchObject({ label: 'Remove 1 bake', style: 'danger', confirm: { title: 'Prune demo?' } });
    expect((await bakery.handlers.onButton(pressOn(plan as ChatMessage, pruneAction, mallory)))?.text).toBe('Only an approver of demo may prune its images.');
    expect(registered()).toEqual(expect.arrayContaining(v1));

    const done = await bakery.handlers.onButton(pressOn(plan as ChatMessage, pruneAction, bob));
    expect(done?.text).toBe('*Pruned demo*: 2 images removed');
    expect(registered()).not.toEqual(expect.arrayContaining([v1[0]]));
    expect(registered()).not.toEqual(expect.arrayContaining([v1[1]]));
    for (const snapshot of v1Snapshots) expect(snapshotIds()).not.toContain(snapshot);
    for (const version of ['v2', 'v3', 'v4', 'v5', 'v6']) expect(registered()).toContain(await ami(version));
    expect((await world.store.listAudit('demo'))[0]).toMatchObject({ actor: bob.id, action: 'images pruned' });
  });

  it('keeps what is younger than --older-than', async () => {
    const answer = await prune('--keep 1 --older-than 10d --dry-run');
    expect(answer?.text).toBe('*Prune demo*: nothing to remove');
    expect(answer?.lines?.join('\n')).toMatch(/Kept: v1 .*: not old enough/);
  });
});
