import { CreateLaunchTemplateVersionCommand, DescribeImagesCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Bakery } from '../src/bakery.js';
import type { ChatMessage, ChatUser } from '../src/message.js';
import type { AppConfig } from '../src/config/apps.js';
import { retireConfig } from '../src/config/retire.js';
import { pruneAppsAction } from '../src/jobs/digest-message.js';
import { pruneAction } from '../commands/prune.js';
import { alice, bob, mallory, pressOn, releaseApp } from './support/lifecycle.js';
import { TestWorld } from './support/world.js';

const DAY = 24 * 3_600_000;
const app = { ...releaseApp(), copyTo: ['eu-west-1'] };

/**
 * Six bakes a day apart, v1 to v6: v6 is the newest; v5 is live and v4 the rollback target; a launch
 * template version the live group uses launches v3; an instance runs v2. Only v1 is free to go.
 */
async function preparedWorld(config: AppConfig): Promise<{ world: TestWorld; bakery: Bakery }> {
  const world = await TestWorld.create({ demo: config });
  world.sim.seedFleet({ region: 'us-east-1', app: 'demo' });
  const bakery = world.replica();
  for (const version of ['v1', 'v2', 'v3', 'v4', 'v5', 'v6']) {
    await bakery.handlers.onCommand(world.command(`demo ${version}`, { user: alice }));
    await bakery.runner.idle();
    world.clock.advance(DAY);
  }
  const ami = async (version: string): Promise<string> => (await world.store.getRelease('demo', version))!.amis['us-east-1']!;
  await world.store.putLive({ app: 'demo', live: { version: 'v5', ami: await ami('v5') }, previous: { version: 'v4', ami: await ami('v4') }, since: world.clock.now(), askedBy: bob.id, operationId: 'op-test' });
  const ec2 = await world.sim.clients().ec2('us-east-1');
  const template = await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateName: 'demo', SourceVersion: '1', LaunchTemplateData: { ImageId: await ami('v3') } }));
  await (await world.sim.clients().autoScaling('us-east-1')).send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'demo-live', LaunchTemplate: { LaunchTemplateName: 'demo', Version: String(template.LaunchTemplateVersion?.VersionNumber) } }));
  await ec2.send(new RunInstancesCommand({ ImageId: await ami('v2'), InstanceType: 't3.small', MinCount: 1, MaxCount: 1 }));
  // EC2's filtered lists show a new instance only after a moment (eventual consistency).
  world.clock.advance(10 * 60_000);
  return { world, bakery };
}

describe('/bakery prune', () => {
  let world: TestWorld;
  let bakery: Bakery;
  const ami = async (version: string, region = 'us-east-1'): Promise<string> => (await world.store.getRelease('demo', version))!.amis[region]!;
  const prune = (text: string, user = alice) => bakery.handlers.onCommand(world.command(`prune demo ${text}`, { command: '/bakery', user }));
  const registered = (): string[] => world.sim.snapshot().images.map((image) => image.imageId);
  const snapshotIds = (): string[] => world.sim.snapshot().snapshots.map((snapshot) => snapshot.snapshotId);

  beforeEach(async () => {
    ({ world, bakery } = await preparedWorld(app));
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

  it('refuses a Prune button whose value is not one it made, removing nothing', async () => {
    const plan = (await prune('--keep 1'))!;
    const before = registered();
    for (const value of ['', 'demo', '{"app":', '{"app":"demo","keep":0}', 'x'.repeat(300)]) {
      const forged = { ...pressOn(plan as ChatMessage, pruneAction, bob), value };
      expect((await bakery.handlers.onButton(forged))?.text).toBe('That button is not one Bakery made.');
    }
    expect(registered()).toEqual(before);
  });

  it('removes, for an approver who confirms, the images of every region and all their snapshots', async () => {
    const plan = (await prune('--keep 1'))!;
    const v1 = [await ami('v1'), await ami('v1', 'eu-west-1')];
    const v1Snapshots = world.sim.snapshot().images.filter((image) => v1.includes(image.imageId)).map((image) => image.snapshotId);
    expect(plan.buttons?.[0]).toMatchObject({ label: 'Remove 1 bake', style: 'danger', confirm: { title: 'Prune demo?' } });
    expect((await bakery.handlers.onButton(pressOn(plan as ChatMessage, pruneAction, mallory)))?.text).toBe('Not done: only <@U0BOB>, <@U0ALICE> may prune images of demo.');
    expect(registered()).toEqual(expect.arrayContaining(v1));

    const done = await bakery.handlers.onButton(pressOn(plan as ChatMessage, pruneAction, bob));
    expect(done?.text).toBe('*Pruned demo*: 2 images removed');
    expect(registered()).not.toEqual(expect.arrayContaining([v1[0]]));
    expect(registered()).not.toEqual(expect.arrayContaining([v1[1]]));
    for (const snapshot of v1Snapshots) expect(snapshotIds()).not.toContain(snapshot);
    for (const version of ['v2', 'v3', 'v4', 'v5', 'v6']) expect(registered()).toContain(await ami(version));
    expect(await world.store.listAudit('demo')).toContainEqual(expect.objectContaining({ actor: bob.id, action: 'images pruned' }));
  });

  it('retires the pruned release: /canary and a region retry refuse it, and /bake bakes it afresh', async () => {
    const plan = (await prune('--keep 1'))!;
    await bakery.handlers.onButton(pressOn(plan as ChatMessage, pruneAction, bob));
    expect((await world.store.getRelease('demo', 'v1'))?.status).toBe('retired');

    const canary = await bakery.handlers.onCommand(world.command('demo v1', { command: '/canary', user: alice }));
    expect(canary?.text).toBe('demo v1 was pruned: its images are deregistered.');
    const retry = await bakery.handlers.onCommand(world.command('demo v1 --retry-region eu-west-1', { command: '/bake', user: alice }));
    expect(retry?.text).toContain('is retired, its images deleted');
    expect(await bakery.handlers.onCommand(world.command('demo v1', { command: '/bake', user: alice }))).toBeUndefined();
  });

  it('keeps what is younger than --older-than', async () => {
    const answer = await prune('--keep 1 --older-than 10d --dry-run');
    expect(answer?.text).toBe('*Prune demo*: nothing to remove');
    expect(answer?.lines?.join('\n')).toMatch(/Kept: v1 .*: not old enough/);
  });
});

/** Helpers over one prepared world. */
function on(world: TestWorld, bakery: () => Bakery) {
  const ami = async (version: string, region = 'us-east-1'): Promise<string> => (await world.store.getRelease('demo', version))!.amis[region]!;
  const v1 = async (): Promise<string[]> => [await ami('v1'), await ami('v1', 'eu-west-1')];
  return {
    ami,
    v1,
    bakery: (text: string, user: ChatUser = bob) => bakery().handlers.onCommand(world.command(text, { command: '/bakery', user })),
    /** The dry run, then the approver's press on its button. */
    prune: async (user: ChatUser = bob): Promise<ChatMessage | undefined> => {
      const plan = (await bakery().handlers.onCommand(world.command('prune demo --keep 1', { command: '/bakery', user: bob })))!;
      return plan.buttons?.length ? bakery().handlers.onButton(pressOn(plan, pruneAction, user)) : plan;
    },
    images: (ids: string[]) => world.sim.snapshot().images.filter((image) => ids.includes(image.imageId)),
    calls: (command: string) => world.sim.calls().filter((call) => call.command === command).length,
  };
}

describe('/bakery pin and unpin', () => {
  let world: TestWorld;
  let bakery: Bakery;
  let t: ReturnType<typeof on>;
  beforeEach(async () => {
    ({ world, bakery } = await preparedWorld(app));
    t = on(world, () => bakery);
  });
  afterEach(async () => {
    await world.close();
  });

  it('keeps a pinned image from every prune, saying who pinned it, and /releases shows the pin', async () => {
    expect((await t.bakery('pin demo v1'))?.text).toBe(`Pinned *demo v1*: no prune removes or retires its images (\`${await t.ami('v1')}\` us-east-1, \`${await t.ami('v1', 'eu-west-1')}\` eu-west-1) until someone unpins it.`);
    const answer = await t.bakery('prune demo --keep 1', alice);
    expect(answer?.text).toBe('*Prune demo*: nothing to remove');
    expect(answer?.lines?.join('\n')).toMatch(/Kept: v1 .*: pinned by <@U0BOB> \(us-east-1\); pinned by <@U0BOB> \(eu-west-1\)/);
    expect(world.sim.snapshot().images.map((image) => image.imageId)).toEqual(expect.arrayContaining(await t.v1()));

    const releases = await bakery.handlers.onCommand(world.command('demo', { command: '/releases', user: mallory }));
    expect(releases?.lines?.find((line) => line.includes('*v1*'))).toContain('📌 pinned by <@U0BOB>');
    expect((await world.store.listAudit('demo'))[0]).toMatchObject({ actor: bob.id, action: 'release pinned' });
  });

  it('refuses a pin or unpin by someone who is not an approver, and the pin stays', async () => {
    await t.bakery('pin demo v1');
    expect((await t.bakery('unpin demo v1', mallory))?.text).toBe('Not done: only <@U0BOB>, <@U0ALICE> may pin or unpin images of demo.');
    expect((await world.store.getRelease('demo', 'v1'))?.pin?.by).toBe(bob.id);
    expect(await world.store.listAudit('demo')).toContainEqual(expect.objectContaining({ actor: mallory.id, action: 'pin refused' }));

    expect((await t.bakery('unpin demo v1', alice))?.text).toMatch(/^Unpinned \*demo v1\*/);
    expect((await t.bakery('prune demo --keep 1 --dry-run'))?.text).toBe('*Prune demo* (dry run): 1 bake would go');
  });
});

describe('retirement in stages', () => {
  // deprecate 7 days after the prune, disable 14 days after that, deregister 30 days after that.
  const staged: AppConfig = { ...app, shareWith: ['210987654321'], retire: retireConfig.parse({}) };
  let world: TestWorld;
  let bakery: Bakery;
  let t: ReturnType<typeof on>;
  beforeEach(async () => {
    ({ world, bakery } = await preparedWorld(staged));
    t = on(world, () => bakery);
  });
  afterEach(async () => {
    await world.close();
  });

  it('deprecates, then disables, then deregisters, each once and on time, across a restart and two replicas', async () => {
    const v1 = await t.v1();
    const plan = await t.bakery('prune demo --keep 1');
    expect(plan?.text).toBe('*Prune demo* (dry run): 1 would be deprecated');
    expect(plan?.buttons?.[0]).toMatchObject({ label: 'Go ahead (1 bake)', confirm: { title: 'Prune demo?' } });
    // The approver agrees knowing when each stage comes, and which one is for good.
    expect(plan?.buttons?.[0]?.confirm?.text).toBe(
      'Moves each bake shown on in its retirement: deprecated 7d after it starts, disabled 14d after that, then deregistered with its snapshots deleted in every region 30d later. That last stage cannot be undone.',
    );
    expect((await t.prune())?.text).toBe('*Pruned demo*: 1 bake deprecated');
    const deprecateAt = world.clock.now() + 7 * DAY;
    for (const image of t.images(v1)) expect(image.deprecateAt).toBe(deprecateAt - (deprecateAt % 60_000));

    // A restart: another replica reads where the retirement stands, and repeats nothing.
    bakery = world.replica('replica-b');
    expect((await t.prune())?.lines?.join('\n')).toMatch(/In retirement: v1 .* deprecated; disabled from/);
    world.clock.advance(20 * DAY);
    expect((await t.prune())?.text).toBe('*Prune demo*: nothing to remove');

    // Both replicas' digests come due at once: one of them disables it.
    world.clock.advance(DAY);
    await Promise.all([bakery.digest.advanceRetirements(), world.replica('replica-c').digest.advanceRetirements()]);
    expect(t.images(v1).map((image) => image.state)).toEqual(['disabled', 'disabled']);
    const ec2 = await world.sim.clients().ec2('us-east-1');
    expect((await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images?.map((image) => image.ImageId)).not.toContain(v1[0]);
    expect((await ec2.send(new DescribeImagesCommand({ Owners: ['self'], IncludeDeprecated: true, IncludeDisabled: true }))).Images?.map((image) => image.ImageId)).toContain(v1[0]);
    await expect(ec2.send(new RunInstancesCommand({ ImageId: v1[0], InstanceType: 't3.small', MinCount: 1, MaxCount: 1 }))).rejects.toMatchObject({ name: 'InvalidAMIID.NotFound' });

    world.clock.advance(29 * DAY);
    expect((await t.prune())?.text).toBe('*Prune demo*: nothing to remove');
    world.clock.advance(DAY);
    const snapshots = t.images(v1).map((image) => image.snapshotId);
    expect((await t.prune())?.text).toBe('*Pruned demo*: 2 images removed');
    expect(t.images(v1)).toEqual([]);
    expect(world.sim.snapshot().snapshots.filter((snapshot) => snapshots.includes(snapshot.snapshotId))).toEqual([]);

    expect([t.calls('EnableImageDeprecation'), t.calls('DisableImage'), t.calls('DeregisterImage')]).toEqual([2, 2, 2]);
    const stages = (await world.store.listAudit('demo')).filter((entry) => entry.action.startsWith('images ')).map((entry) => entry.action);
    expect(stages).toEqual(['images pruned', 'images disabled', 'images deprecated']);
  });

  it('does at the next run a stage that a failure cut short, and only once', async () => {
    const v1 = await t.v1();
    await t.prune();
    world.clock.advance(21 * DAY);
    // The disable is recorded, then EC2 refuses the call: the digest logs it and goes on.
    world.sim.inject({ kind: 'api-error', command: 'DisableImage', code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.', status: 403, times: 1 });
    await bakery.digest.advanceRetirements();
    expect(t.images(v1).map((image) => image.state)).toEqual(['available', 'available']);
    await bakery.digest.advanceRetirements();
    expect(t.images(v1).map((image) => image.state)).toEqual(['disabled', 'disabled']);
    await bakery.digest.advanceRetirements();
    expect((await world.store.listAudit('demo')).filter((entry) => entry.action === 'images disabled')).toHaveLength(1);
    expect(t.calls('DisableImage')).toBe(3);
  });

  it('says in the digest what its run moved on, in the app’s channel', async () => {
    await t.v1();
    await t.prune();
    world.clock.advance(21 * DAY);
    expect(await bakery.digest.postSlot(world.clock.now())).toBe(true);
    const digest = world.chat.roots.findLast((root) => root.message.text.startsWith('*Image digest*'));
    expect(digest?.ref.channel).toBe('#demo');
    expect(digest?.message.lines).toContain('Retirement moved on: demo v1 disabled.');
  });

  it('never stages an image in use, and gives one back that is needed again', async () => {
    const v1 = await t.v1();
    await t.prune();
    world.clock.advance(21 * DAY);
    await bakery.digest.advanceRetirements();
    expect(t.images(v1).map((image) => image.state)).toEqual(['disabled', 'disabled']);

    // v1 is needed after all: pinning it enables it, shares it again and lifts its deprecation.
    expect((await t.bakery('pin demo v1'))?.text).toMatch(/Its retirement is undone/);
    for (const image of t.images(v1)) expect([image.state, image.launchPermissions, image.deprecateAt]).toEqual(['available', ['210987654321'], undefined]);
    world.clock.advance(60 * DAY);
    expect((await t.prune())?.text).toBe('*Prune demo*: nothing to remove');

    // Nothing in use was ever touched: live, rollback target, launch template, instance, newest.
    const others = await Promise.all(['v2', 'v3', 'v4', 'v5', 'v6'].map((version) => t.ami(version)));
    for (const image of t.images(others)) expect([image.state, image.deprecateAt]).toEqual(['available', undefined]);
    expect(t.calls('DisableImage')).toBe(2);
    expect((await world.store.listAudit('demo')).map((entry) => entry.action)).toContain('images restored');
  });

});

describe('the digest’s Old images', () => {
  let world: TestWorld;
  let bakery: Bakery;
  beforeEach(async () => {
    ({ world, bakery } = await preparedWorld(app));
  });
  afterEach(async () => {
    await world.close();
  });

  it('shows a dry run to any member of the channel who presses it, and only an approver who confirms removes anything', async () => {
    world.clock.advance(31 * DAY);
    world.chat.channelMembers.set('C0DEMO', [alice.id, bob.id, mallory.id]);
    await bakery.digest.postAll();
    const digest = world.chat.roots.map((root) => root.message).find((message) => message.text.startsWith('*Image digest*'))!;
    const before = world.sim.snapshot().images.length;
    const dryRun = (await bakery.handlers.onButton(pressOn(digest, pruneAppsAction, mallory)))!;
    expect(dryRun.text).toBe('*Old images* (dry run: nothing is removed until an approver presses its button)');
    expect(dryRun.lines).toContain('*Prune demo* (dry run): 1 bake would go');
    expect(world.sim.snapshot().images.length).toBe(before);
    expect(dryRun.buttons?.[0]?.confirm?.text).toBe('Deregisters the images and deletes their snapshots in every region. This cannot be undone.');
    expect((await bakery.handlers.onButton(pressOn(dryRun, pruneAction, mallory)))?.text).toMatch(/^Not done: only/);
    expect(world.sim.snapshot().images.length).toBe(before);
    expect((await bakery.handlers.onButton(pressOn(dryRun, pruneAction, bob)))?.text).toBe('*Pruned demo*: 2 images removed');
  });
});

describe('a prune of images shared with other accounts', () => {
  const partner = '210987654321';
  let world: TestWorld;
  let bakery: Bakery;
  const ami = async (version: string): Promise<string> => (await world.store.getRelease('demo', version))!.amis['us-east-1']!;
  const prune = (text: string) => bakery.handlers.onCommand(world.command(`prune demo ${text}`, { command: '/bakery', user: alice }));

  beforeEach(async () => {
    world = await TestWorld.create({ demo: { ...releaseApp(), shareWith: [partner] } });
    bakery = world.replica();
    for (const version of ['v1', 'v2']) {
      await bakery.handlers.onCommand(world.command(`demo ${version}`, { user: alice }));
      await bakery.runner.idle();
      world.clock.advance(DAY);
    }
    await world.store.putLive({ app: 'demo', live: { version: 'v2', ami: await ami('v2') }, since: world.clock.now(), askedBy: bob.id, operationId: 'op-test' });
  });
  afterEach(async () => {
    await world.close();
  });

  it('keeps an image another account launched within the retention, saying so, and lets it go once that launch is older', async () => {
    // The partner account's Auto Scaling group launches v1; EC2 reports it a day later.
    world.sim.launchInAccount(await ami('v1'), partner);
    world.clock.advance(DAY + 60_000);

    const kept = await prune('--keep 1 --dry-run');
    expect(kept?.text).toBe('*Prune demo*: nothing to remove');
    expect(kept?.lines).toContainEqual(expect.stringMatching(new RegExp(`^Kept: v1 \\(\`${await ami('v1')}\` us-east-1\\): shared with ${partner} and last launched .* UTC, within the 30d retention \\(us-east-1\\)$`)));

    world.clock.advance(30 * DAY);
    expect((await prune('--keep 1 --dry-run'))?.text).toBe('*Prune demo* (dry run): 1 bake would go');
  });

  it('lets a shared image nobody ever launched go', async () => {
    expect((await prune('--keep 1 --dry-run'))?.text).toBe('*Prune demo* (dry run): 1 bake would go');
  });
});
