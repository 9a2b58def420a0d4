import { CreateLaunchTemplateVersionCommand, DeregisterImageCommand } from '@aws-sdk/client-ec2';
import { UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { DeleteParameterCommand } from '@aws-sdk/client-ssm';
import { createTask } from 'node-cron';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Bakery } from '../src/bakery.js';
import { limits, renderHome } from '../src/chat/blocks.js';
import type { ChatMessage, ChatUser } from '../src/message.js';
import type { AppConfig } from '../src/config/apps.js';
import { digestMessage, rebakeAction, rebakeAllAction } from '../src/jobs/digest-message.js';
import { scheduleProblem } from '../src/config/schedule.js';
import { lastSlotWithin, scheduleJob } from '../src/jobs/schedule.js';
import { recipeHash } from '../src/pipelines/bake/recipe.js';
import { homeView } from '../src/stale/home-view.js';
import { describeReason } from '../src/stale/reasons.js';
import type { AppPicture } from '../src/stale/survey.js';
import type { Release } from '../src/store/items.js';
import { alice, approvalRequest, bob, canary, deployEnded, everything, fleetWorld, mallory, pressOn, promoted, releaseApp, rollBack, until } from './support/lifecycle.js';
import { demoApp, TestWorld } from './support/world.js';

const withProvision = (provision: string): AppConfig => ({ ...demoApp, provision });

describe('a bake’s identity', () => {
  let world: TestWorld;
  beforeEach(async () => {
    world = await TestWorld.create();
  });
  afterEach(async () => {
    await world.close();
  });

  it('records what the image was made of: the base (id, name, date), the artifact’s digest and the recipe', async () => {
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1', { user: alice }));
    await bakery.runner.idle();
    const release = (await world.store.getRelease('demo', 'v1'))!;
    const base = world.sim.snapshot().images.find((image) => image.imageId === release.baseAmi)!;
    expect(release.baseAmiCreatedAt).toBe(base.createdAt);
    expect(release.artifactSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(release.recipeHash).toBe(recipeHash(demoApp));
    for (const image of world.bakedImages()) {
      expect(image.tags).toMatchObject({
        'bakery:base-ami': release.baseAmi,
        'bakery:base-ami-created': new Date(base.createdAt).toISOString(),
        'bakery:artifact-sha256': release.artifactSha256,
        'bakery:recipe': release.recipeHash,
      });
    }
  });

  it('bakes a version again when its recipe has changed, instead of answering "already baked"', async () => {
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1', { user: alice }));
    await bakery.runner.idle();
    await world.store.putAppConfig('demo', withProvision('./install.sh --hardened'));
    const reply = await bakery.handlers.onCommand(world.command('demo v1', { user: alice }));
    expect(reply).toBeUndefined();
    await bakery.runner.idle();
    expect(world.chat.threadText(1)).toContain('Baked demo v1');
    expect(world.bakedImages().filter((image) => image.region === 'us-east-1')).toHaveLength(2);
    expect((await world.store.getRelease('demo', 'v1'))?.recipeHash).toBe(recipeHash(withProvision('./install.sh --hardened')));
  });

  it('reuses the image of the same version, base and recipe, and says so', async () => {
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1', { user: alice }));
    await bakery.runner.idle();
    const release = (await world.store.getRelease('demo', 'v1'))!;
    const reply = await bakery.handlers.onCommand(world.command(`demo v1 --base ${release.baseAmi}`, { user: alice }));
    await bakery.runner.idle();
    expect(reply?.text).toContain('*demo v1* is already baked');
    expect(world.bakedImages().filter((image) => image.region === 'us-east-1')).toHaveLength(1);
  });

  it('makes a new image with --force and keeps the old one registered', async () => {
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1', { user: alice }));
    await bakery.runner.idle();
    const first = (await world.store.getRelease('demo', 'v1'))!.amis['us-east-1'];
    await bakery.handlers.onCommand(world.command('demo v1 --force', { user: alice }));
    await bakery.runner.idle();
    const second = (await world.store.getRelease('demo', 'v1'))!.amis['us-east-1'];
    expect(second).not.toBe(first);
    expect(world.bakedImages().map((image) => image.imageId)).toEqual(expect.arrayContaining([first, second]));
  });
});

const DAY = 24 * 3_600_000;

async function bakedWorld(apps: Record<string, AppConfig> = { demo: demoApp }): Promise<{ world: TestWorld; bakery: Bakery }> {
  const world = await TestWorld.create(apps);
  const bakery = world.replica();
  await bakery.handlers.onCommand(world.command('demo v1', { user: alice }));
  await bakery.runner.idle();
  return { world, bakery };
}

async function reasonsOf(bakery: Bakery, app = 'demo'): Promise<string[]> {
  const [picture] = await bakery.core.survey.survey([app]);
  return picture!.reasons.map(describeReason);
}

/** Points the live group at a new launch template version launching `ami`, as someone outside Bakery might. */
async function runOnFleet(world: TestWorld, ami: string): Promise<void> {
  const ec2 = await world.sim.clients().ec2('us-east-1');
  const version = await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateName: 'demo', SourceVersion: '$Latest', LaunchTemplateData: { ImageId: ami } }));
  await (await world.sim.clients().autoScaling('us-east-1')).send(
    new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'demo-live', LaunchTemplate: { LaunchTemplateName: 'demo', Version: String(version.LaunchTemplateVersion?.VersionNumber) } }),
  );
}

describe('what makes a live image stale', () => {
  let world: TestWorld;
  let bakery: Bakery;
  afterEach(async () => {
    await world.close();
  });

  it('finds nothing wrong with a fresh image, and the digest sums it up in one line', async () => {
    ({ world, bakery } = await bakedWorld());
    world.clock.advance(3 * DAY);
    expect(await reasonsOf(bakery)).toEqual([]);
    const message = digestMessage(await bakery.core.survey.survey(), world.clock.now());
    expect(message.text).toContain('nothing is stale');
    expect(message.lines).toEqual(['Fresh: demo v1 (3 days old)']);
    expect(message.buttons ?? []).toEqual([]);
  });

  it('is too old past the app’s maximum age', async () => {
    ({ world, bakery } = await bakedWorld({ demo: { ...demoApp, maxImageAgeDays: 14 } }));
    world.clock.advance(15 * DAY);
    expect(await reasonsOf(bakery)).toEqual(['the image is 15 days old, past the app’s maximum of 14 days']);
  });

  it('has a superseded base when the app’s base source resolves to a newer image, saying how far behind', async () => {
    ({ world, bakery } = await bakedWorld());
    world.clock.advance(10 * DAY);
    const newer = world.sim.seedBaseImage({ region: 'us-east-1', name: 'al2023-ami-2023.6.20260111.0-kernel-6.1-x86_64', ownerAlias: 'amazon', ssmParameter: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64' });
    expect(await reasonsOf(bakery)).toEqual([`a newer base is out: this one is 10 days behind (now \`${newer}\` al2023-ami-2023.6.20260111.0-kernel-6.1-x86_64)`]);
  });

  it('has a deprecated base once its owner deprecates it', async () => {
    ({ world, bakery } = await bakedWorld());
    const { baseAmi } = (await world.store.getRelease('demo', 'v1'))!;
    world.sim.deprecateImage(baseAmi);
    world.clock.advance(DAY);
    expect(await reasonsOf(bakery)).toEqual([expect.stringMatching(new RegExp(`^its base \`${baseAmi}\` .* is deprecated since 2026-01-01$`))]);
  });

  it('has a gone base when the base image is deregistered, and says when the base source finds nothing', async () => {
    world = await TestWorld.create();
    const golden = world.sim.seedBaseImage({ region: 'us-east-1', name: 'golden-1' });
    await world.store.putAppConfig('demo', { ...demoApp, baseImage: { name: 'golden-*', owner: 'self' } });
    bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1', { user: alice }));
    await bakery.runner.idle();
    await (await world.sim.clients().ec2('us-east-1')).send(new DeregisterImageCommand({ ImageId: golden }));
    expect(await reasonsOf(bakery)).toEqual([
      'could not check the newest base: no available image named golden-* owned by self in us-east-1',
      `its base \`${golden}\` no longer exists (deregistered)`,
    ]);
  });

  it('says what it could not check, and counts an app it could not check neither stale nor fresh', async () => {
    ({ world, bakery } = await bakedWorld());
    await (await world.sim.clients().ssm('us-east-1')).send(new DeleteParameterCommand({ Name: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64' }));
    const why = 'could not check the newest base: SSM parameter /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64 does not exist in us-east-1';
    expect(await reasonsOf(bakery)).toEqual([why]);
    const pictures = await bakery.core.survey.survey();
    const message = digestMessage(pictures, world.clock.now());
    expect(message.text).toBe('*Image digest*: nothing is stale; 1 could not be checked');
    expect(message.lines).toEqual([`• *demo* v1 (last baked) · baked today · ${why}`]);
    expect(message.buttons ?? []).toEqual([]);
    const home = homeView(pictures, world.clock.now(), (_ref, label) => label);
    expect(home.title).toBe('Bakery · 0 of 1 apps stale');
    expect(home.sections).toEqual([{ text: '*demo* · v1 (last baked) · baked today', lines: [`• ${why}`], buttons: [] }]);
  });

  it('has a changed recipe when the provision script, smoke test, instance type or builder settings change', async () => {
    ({ world, bakery } = await bakedWorld());
    await world.store.putAppConfig('demo', { ...demoApp, instanceType: 't3.medium' });
    expect(await reasonsOf(bakery)).toEqual(['the app’s recipe (provision script, smoke test, instance type or builder settings) changed since it was baked']);
  });

  it('says so when the fleet runs an image Bakery did not bake', async () => {
    ({ world, bakery } = await bakedWorld({ demo: releaseApp() }));
    const fleet = world.sim.seedFleet({ region: 'us-east-1', app: 'demo' });
    expect(await reasonsOf(bakery)).toEqual([`the fleet runs \`${fleet.imageId}\` (demo-v0), an image Bakery did not bake`]);
  });

  it('has drifted when the fleet runs another release than the recorded live one', async () => {
    ({ world, bakery } = await bakedWorld({ demo: releaseApp() }));
    world.sim.seedFleet({ region: 'us-east-1', app: 'demo' });
    await bakery.handlers.onCommand(world.command('demo v2', { user: alice }));
    await bakery.runner.idle();
    const v1 = (await world.store.getRelease('demo', 'v1'))!.amis['us-east-1']!;
    const v2 = (await world.store.getRelease('demo', 'v2'))!.amis['us-east-1']!;
    await world.store.putLive({ app: 'demo', live: { version: 'v2', ami: v2 }, since: world.clock.now(), askedBy: 'U0BOB', operationId: 'op-test' });
    await runOnFleet(world, v1);
    expect(await reasonsOf(bakery)).toEqual([`the fleet runs v1 (\`${v1}\`), not the recorded live release v2`]);
  });
});

describe('the digest', () => {
  let world: TestWorld;
  let bakery: Bakery;
  beforeEach(async () => {
    ({ world, bakery } = await bakedWorld());
    world.clock.advance(40 * DAY);
  });
  afterEach(async () => {
    await world.close();
  });

  const digests = (): ChatMessage[] => world.chat.roots.map((root) => root.message).filter((message) => message.text.startsWith('*Image digest*'));

  it('lists a channel’s stale apps with their version, age and why, each with a Rebake button', async () => {
    await bakery.digest.postAll();
    const [digest] = digests();
    expect(world.chat.roots.at(-1)?.ref.channel).toBe('#demo');
    expect(digest?.text).toBe('*Image digest*: 1 of 1 app stale');
    expect(digest?.lines).toEqual(['• *demo* v1 (last baked) · 40 days old · the image is 40 days old, past the app’s maximum of 30 days']);
    expect(digest?.buttons?.map((button) => button.label)).toEqual(['Rebake demo v1']);
  });

  it('posts one digest per slot however many replicas run, also after a restart', async () => {
    const other = world.replica('replica-b');
    const slot = Date.parse('2026-02-10T09:00:00Z');
    const taken = await Promise.all([bakery.digest.postSlot(slot), other.digest.postSlot(slot)]);
    expect(taken.sort()).toEqual([false, true]);
    const restarted = world.replica('replica-a');
    expect(await restarted.digest.postSlot(slot + 20_000)).toBe(false);
    expect(digests()).toHaveLength(1);
    expect(await restarted.digest.postSlot(slot + DAY)).toBe(true);
    expect(digests()).toHaveLength(2);
  });

  it('posts a slot missed while Bakery was down once, on start, within the grace period', async () => {
    // 2026-02-10 is a Tuesday; it is 40 days after the bake, 12:00 UTC.
    const schedule = { expression: '0 9 * * 1-5', timezone: 'UTC', graceMs: 4 * 3_600_000 };
    const started = [bakery, world.replica('replica-b')].map((replica) => scheduleJob('digest', schedule, world.clock, replica.core.log, (slot) => replica.digest.postSlot(slot)));
    await Promise.all(started.map((s) => s.caughtUp));
    await Promise.all(started.map((s) => s.stop()));
    expect(digests()).toHaveLength(1);

    const late = scheduleJob('digest', { ...schedule, graceMs: 2 * 3_600_000 }, world.clock, bakery.core.log, async (slot) => {
      throw new Error(`posted ${new Date(slot).toISOString()} past the grace period`);
    });
    await late.caughtUp;
    await late.stop();
    expect(digests()).toHaveLength(1);
  });

  it('finds the last slot with node-cron’s own matcher, in the configured timezone', async () => {
    const task = createTask('0 9 * * 1-5', () => undefined, { timezone: 'Europe/Berlin' });
    const tuesdayNoon = Date.parse('2026-02-10T12:00:00Z');
    expect(lastSlotWithin((date) => task.match(date), tuesdayNoon, 4 * 3_600_000)).toBe(Date.parse('2026-02-10T08:00:00Z'));
    expect(lastSlotWithin((date) => task.match(date), Date.parse('2026-02-08T12:00:00Z'), 12 * 3_600_000)).toBeUndefined();
    await task.destroy();
    expect(scheduleProblem('0 9 * *', 'UTC')).toMatch(/five fields/);
    expect(scheduleProblem('0 25 * * *', 'UTC')).toMatch(/not a cron expression/);
    expect(scheduleProblem('0 9 * * 1-5', 'Mars/Olympus')).toMatch(/unknown timezone/);
  });

  it('Rebake bakes the live version on the newest base, as the person who pressed it', async () => {
    const newer = world.sim.seedBaseImage({ region: 'us-east-1', name: 'al2023-ami-2023.7.20260201.0-kernel-6.1-x86_64', ownerAlias: 'amazon', ssmParameter: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64' });
    await bakery.digest.postAll();
    const [digest] = digests();
    expect(digest?.lines?.[0]).toContain('a newer base is out');
    const answer = await bakery.handlers.onButton(pressOn(digest!, rebakeAction, bob));
    expect(answer).toBeUndefined();
    await bakery.runner.idle();
    const release = (await world.store.getRelease('demo', 'v1'))!;
    expect(release.baseAmi).toBe(newer);
    expect(release.bakedBy).toBe(bob.id);
    expect(everything(world)).toContain('*Bake demo v1*');
    expect(everything(world)).toContain('asked by <@U0BOB>');
    expect((await world.store.listAudit('demo'))[1]).toMatchObject({ actor: bob.id, action: 'rebake requested' });
    expect(await reasonsOf(bakery)).toEqual([]);
  });

  it('Rebake of an image that is only too old makes a new image on the same base', async () => {
    const before = (await world.store.getRelease('demo', 'v1'))!;
    await bakery.digest.postAll();
    await bakery.handlers.onButton(pressOn(digests()[0]!, rebakeAction, bob));
    await bakery.runner.idle();
    const after = (await world.store.getRelease('demo', 'v1'))!;
    expect(after.baseAmi).toBe(before.baseAmi);
    expect(after.amis['us-east-1']).not.toBe(before.amis['us-east-1']);
  });

  it('Rebake pressed while the app is busy says who is baking what, and starts nothing', async () => {
    await bakery.digest.postAll();
    await bakery.handlers.onCommand(world.command('demo v2', { user: alice }));
    const answer = await bakery.handlers.onButton(pressOn(digests()[0]!, rebakeAction, bob));
    expect(answer?.text).toMatch(/^busy: baking demo v2 since .*, asked by <@U0ALICE>$/);
    await bakery.runner.idle();
    expect(world.chat.roots.filter((root) => root.message.text.startsWith('*Bake demo'))).toHaveLength(2);
  });

  it('`/bakery digest` posts it now, and `/bakery stale demo` answers only the person who asked', async () => {
    expect(await bakery.handlers.onCommand(world.command('digest', { command: '/bakery' }))).toBeUndefined();
    expect(digests()).toHaveLength(1);
    const answer = await bakery.handlers.onCommand(world.command('stale demo', { command: '/bakery' }));
    expect(answer?.lines?.[0]).toContain('40 days old');
    expect(digests()).toHaveLength(1);
    expect((await bakery.handlers.onCommand(world.command('stale nope', { command: '/bakery' })))?.text).toBe('unknown app "nope"');
  });
});

describe('Rebake all', () => {
  it('rebakes only the apps the person approves', async () => {
    const { world, bakery } = await bakedWorld({ demo: releaseApp() });
    try {
      world.clock.advance(40 * DAY);
      const pressAll = (user: ChatUser) => bakery.handlers.onButton({ actionId: rebakeAllAction, value: 'demo:v1:force', user, team: 'T0HOME', channel: 'C0DEMO', channelName: 'demo', requestId: `all-${user.id}` });
      expect(await pressAll(mallory)).toMatchObject({ text: 'Nothing was rebaked.', lines: ['Not rebaked, you are not an approver of: demo'] });
      expect((await pressAll(bob))?.text).toBe('Rebaking demo v1; each bake posts its own thread.');
      await bakery.runner.idle();
      expect((await world.store.getRelease('demo', 'v1'))?.bakedBy).toBe(bob.id);
    } finally {
      await world.close();
    }
  });
});

describe('the App Home', () => {
  let world: TestWorld;
  let bakery: Bakery;
  afterEach(async () => {
    await world.close();
  });

  it('shows each app’s live release, age and stale reasons with a Rebake button, and stays current as operations end', async () => {
    // A Home press is asked of the channel's members by id: Slack cannot list a channel by #name.
    ({ world, bakery } = await bakedWorld({ demo: { ...demoApp, channel: 'C0DEMO' } }));
    world.clock.advance(40 * DAY);
    await bakery.handlers.onHomeOpened!(bob);
    const home = world.chat.homes.get(bob.id)!;
    expect(home.title).toBe('Bakery · 1 of 1 apps stale');
    expect(home.sections[0]).toMatchObject({ text: '*demo* · v1 (last baked) · 40 days old', lines: ['• the image is 40 days old, past the app’s maximum of 30 days'] });
    // A Home press is on no message and in no channel: bob may bake demo as a member of its channel.
    const { message: _onNoMessage, ...fromHome } = pressOn(home.sections[0]!, rebakeAction, bob);
    await bakery.handlers.onButton({ ...fromHome, channel: '', channelName: undefined });
    await bakery.runner.idle();
    // The bake went to the app's channel, and the Home was refreshed when it ended.
    expect(world.chat.roots.findLast((root) => root.message.text.startsWith('*Bake demo v1*'))?.ref.channel).toBe('C0DEMO');
    await until(world, () => world.chat.homes.get(bob.id)?.title === 'Bakery · 0 of 1 apps stale');
    expect(world.chat.homes.get(bob.id)?.sections).toEqual([{ text: 'Fresh: demo v1 (baked today)' }]);
  });

  it('refuses a Rebake pressed in the Home by someone outside the app’s channel, saying why', async () => {
    ({ world, bakery } = await bakedWorld({ demo: { ...demoApp, channel: 'C0DEMO' } }));
    world.clock.advance(40 * DAY);
    await bakery.handlers.onHomeOpened!(bob);
    // Mallory's Home does not show demo; a press made up from bob's is still refused.
    const { message: _onNoMessage, ...fromHome } = pressOn(world.chat.homes.get(bob.id)!.sections[0]!, rebakeAction, mallory);
    const answer = await bakery.handlers.onButton({ ...fromHome, channel: '', channelName: undefined });
    expect(answer?.text).toBe('Not done: only members of <#C0DEMO> may bake demo.');
    await bakery.runner.idle();
    expect(world.chat.roots.filter((root) => root.message.text.startsWith('*Bake demo v1*'))).toHaveLength(1);
  });

  it('shows what is running, with where its thread is', async () => {
    ({ world, bakery } = await bakedWorld({ demo: { ...demoApp, channel: 'C0DEMO' } }));
    await bakery.handlers.onCommand(world.command('demo v2', { user: alice }));
    await bakery.handlers.onCommand(world.command('home', { command: '/bakery', user: bob }));
    const thread = world.chat.roots.at(-1)!.ref;
    expect(world.chat.homes.get(bob.id)?.sections[0]?.lines?.[0]).toMatch(new RegExp(`^Baking v2 since .* UTC, asked by <@U0ALICE> · <https://chat.example/C0DEMO/${thread.ts.replace('.', '\\.')}\\|its thread>$`));
    await bakery.runner.idle();
  });

  it('keeps within Slack’s Block Kit limits however many apps there are', () => {
    const pictures = Array.from({ length: 80 }, (_, n) => picture(`app-${n}`));
    const view = renderHome(homeView(pictures, Date.parse('2026-03-01T00:00:00Z'), (ref, label) => `<https://x.slack.com/archives/${ref.channel}/p1|${label}>`));
    expect(view.blocks.length).toBeLessThanOrEqual(limits.viewBlocks);
    expect(view.blocks.at(-1)).toMatchObject({ type: 'context' });
    for (const block of view.blocks) {
      if (block.type === 'section') expect(block.text.text.length).toBeLessThanOrEqual(limits.sectionText);
      if (block.type === 'actions') {
        expect(block.elements.length).toBeLessThanOrEqual(limits.actionsElements);
        for (const button of block.elements) expect(button.value.length).toBeLessThanOrEqual(limits.buttonValue);
      }
    }
  });
});

/** A stale app's picture, as the survey would make it. */
function picture(app: string): AppPicture {
  const release: Release = {
    app, version: 'v1', amis: { 'us-east-1': 'ami-0123456789abcdef0' }, amiName: `${app}-v1`, baseAmi: 'ami-0fedcba9876543210', baseAmiName: 'al2023',
    status: 'baked', bakedBy: 'U0ALICE', bakedAt: Date.parse('2026-01-01T00:00:00Z'), operationId: 'op-1', history: [],
  };
  return {
    app, config: demoApp, live: { release, ami: 'ami-0123456789abcdef0', recorded: 'last baked' }, rebake: true, running: [],
    reasons: [{ kind: 'too-old', ageDays: 59, maxDays: 30 }, { kind: 'base-superseded', newBase: { id: 'ami-0aaaaaaaaaaaaaaaa', name: 'al2023 '.repeat(200) }, behindDays: 40 }],
  };
}

describe('who sees what', () => {
  // demo lives in #demo (alice and bob); vault in a private channel only carol is in. #partners is a
  // Slack Connect channel of no app: people of another organisation read whatever is posted there.
  const carol: ChatUser = { id: 'U0CAROL', name: 'carol' };
  const inPartners = { channel: 'C0PARTNERS', channelName: 'partners' };
  const inVault = { channel: 'C0VAULT', channelName: 'vault' };
  let world: TestWorld;
  let bakery: Bakery;
  beforeEach(async () => {
    world = await TestWorld.create({ demo: { ...releaseApp(), channel: 'C0DEMO' }, vault: { ...demoApp, channel: 'C0VAULT' } });
    world.chat.channelMembers.set('C0VAULT', [carol.id]);
    world.chat.channelMembers.set('C0PARTNERS', [alice.id, carol.id, 'U0OUTSIDER']);
    bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1', { user: alice }));
    await bakery.runner.idle();
    await bakery.handlers.onCommand(world.command('vault v7', { user: carol, ...inVault }));
    await bakery.runner.idle();
    world.clock.advance(40 * DAY);
  });
  afterEach(async () => {
    await world.close();
  });

  const digests = () => world.chat.roots.filter((root) => root.message.text.startsWith('*Image digest*'));
  const text = (message: ChatMessage | undefined): string => [message?.text, ...(message?.lines ?? []), ...(message?.context ?? [])].join('\n');

  it('`/bakery digest` outside an app’s channel posts nothing there, and shows the person only the apps of their channels', async () => {
    const answer = await bakery.handlers.onCommand(world.command('digest', { command: '/bakery', user: alice, ...inPartners }));
    expect(digests()).toEqual([]);
    expect(answer?.text).toBe('*Image digest*: 1 of 1 app stale');
    expect(text(answer)).toContain('*demo* v1');
    expect(text(answer)).not.toContain('vault');
    expect(answer?.lines?.at(-1)).toBe('Shown only to you. `/bakery digest` in <#C0DEMO> posts it there, with its Rebake buttons.');
    expect(answer?.buttons?.map((button) => button.label)).toEqual(['Old images (dry run)']);

    // In an app's channel it is posted there, of that channel's apps only.
    expect(await bakery.handlers.onCommand(world.command('digest', { command: '/bakery', user: carol, ...inVault }))).toBeUndefined();
    expect(digests().map((root) => root.ref.channel)).toEqual(['C0VAULT']);
    expect(text(digests()[0]!.message)).not.toContain('demo');
  });

  it('the scheduled digest goes to each app’s own channel, with that channel’s apps only', async () => {
    await bakery.digest.postAll();
    expect(digests().map((root) => [root.ref.channel, root.message.lines?.[0]?.split(' ')[1]])).toEqual([['C0DEMO', '*demo*'], ['C0VAULT', '*vault*']]);
  });

  it('`/releases --share` posts only in the app’s own channel, and `/releases` shows an app only to its channel’s members', async () => {
    const shared = await bakery.handlers.onCommand(world.command('vault --share', { command: '/releases', user: carol, ...inPartners }));
    expect(shared?.text).toBe("Not posted: `--share` posts vault's releases only in its channel, <#C0VAULT>. Without it they are shown only to you.");
    expect(world.chat.roots.filter((root) => root.message.text.startsWith('*Releases'))).toEqual([]);

    expect((await bakery.handlers.onCommand(world.command('vault', { command: '/releases', user: carol, ...inPartners })))?.text).toBe('*Releases of vault*');
    expect((await bakery.handlers.onCommand(world.command('vault', { command: '/releases', user: alice })))?.text).toBe('Not shown: vault is shown only to the members of <#C0VAULT>.');

    expect(await bakery.handlers.onCommand(world.command('vault --share', { command: '/releases', user: carol, ...inVault }))).toBeUndefined();
    expect(world.chat.roots.filter((root) => root.message.text === '*Releases of vault*').map((root) => root.ref.channel)).toEqual(['C0VAULT']);
  });

  it('the App Home shows each person only the apps whose channel they are in', async () => {
    for (const user of [alice, carol, mallory]) await bakery.handlers.onHomeOpened!(user);
    const shown = (user: ChatUser) => world.chat.homes.get(user.id)!.sections.map((section) => section.text);
    expect(shown(alice)).toEqual(['*demo* · v1 (last baked) · 40 days old']);
    expect(shown(carol)).toEqual(['*vault* · v7 (last baked) · 40 days old']);
    expect(world.chat.homes.get(carol.id)!.title).toBe('Bakery · 1 of 1 apps stale');
    expect(shown(mallory)).toEqual(['None of the apps is in a channel you are in: Bakery shows each app only to the members of its channel.']);

    // Kept current as operations end, still each person's own.
    await bakery.handlers.onCommand(world.command('vault v8', { user: carol, ...inVault }));
    await bakery.runner.idle();
    expect(shown(alice)).toEqual(['*demo* · v1 (last baked) · 40 days old']);
  });

  it('`/bakery stale` and `/bakery apps` name only the apps of the person’s channels', async () => {
    const stale = await bakery.handlers.onCommand(world.command('stale', { command: '/bakery', user: alice, ...inPartners }));
    expect(text(stale)).toContain('*demo*');
    expect(text(stale)).not.toContain('vault');
    expect((await bakery.handlers.onCommand(world.command('stale vault', { command: '/bakery', user: alice })))?.text).toBe('Not shown: vault is shown only to the members of <#C0VAULT>.');
    const apps = await bakery.handlers.onCommand(world.command('apps', { command: '/bakery', user: carol, ...inPartners }));
    expect(apps?.text).toBe('*Configured apps* (1)');
    expect(text(apps)).toContain('*vault*');
  });

  it('the digest’s Old images button shows the presser only the apps of their channels', async () => {
    await bakery.digest.postAll();
    const demoDigest = digests().find((root) => root.ref.channel === 'C0DEMO')!.message;
    // Anyone who can open #demo can press it; one outside the channel sees nothing of its images.
    expect((await bakery.handlers.onButton(pressOn(demoDigest, 'digest.prune', mallory)))?.text).toBe('None of these apps is in a channel you are in: Bakery shows each app only to the members of its channel.');
    // A value naming another channel's app (made up, or from an old message) shows only the presser's.
    const press = { ...pressOn(demoDigest, 'digest.prune', alice), value: 'demo,vault' };
    const answer = await bakery.handlers.onButton(press);
    expect(text(answer)).toContain('*Prune demo*');
    expect(text(answer)).not.toContain('vault');
  });

  it('Rebake all rebakes for a member of an approvers’ user group', async () => {
    const config = (await world.store.getAppConfig('demo'))!;
    await world.store.putAppConfig('demo', { ...config, deploy: { ...config.deploy!, approvers: ['S0RELEASE'] } });
    world.chat.userGroups.set('S0RELEASE', [bob.id]);
    const pressAll = (user: ChatUser) => bakery.handlers.onButton({ actionId: rebakeAllAction, value: 'demo:v1:force', user, team: 'T0HOME', channel: 'C0DEMO', channelName: 'demo', requestId: `all-${user.id}` });
    expect((await pressAll(alice))?.lines).toEqual(['Not rebaked, you are not an approver of: demo']);
    expect((await pressAll(bob))?.text).toBe('Rebaking demo v1; each bake posts its own thread.');
    await bakery.runner.idle();
    expect((await world.store.getRelease('demo', 'v1'))?.bakedBy).toBe(bob.id);
  });
});

describe('a fleet’s digest and Home', () => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  it('judges the image the fleet runs, not the newest bake: a rebake not yet live is named with its canary', async () => {
    world = await fleetWorld();
    const bakery = world.replica();
    await promoted(world, bakery, 'v1');
    world.sim.seedBaseImage({ region: 'us-east-1', name: 'al2023-ami-2023.7.20260201.0-kernel-6.1-x86_64', ownerAlias: 'amazon', ssmParameter: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64' });
    const digestNow = async (): Promise<ChatMessage> => digestMessage(await bakery.core.survey.survey(), world.clock.now());
    const stale = await digestNow();
    await bakery.handlers.onButton(pressOn(stale, rebakeAction, bob));
    await bakery.runner.idle();
    expect((await world.store.getRelease('demo', 'v1'))?.history.at(-1)).toMatchObject({ status: 'baked', by: bob.id, note: expect.stringContaining('Rebake') });

    const after = await digestNow();
    expect(after.text).toBe('*Image digest*: 1 of 1 app stale');
    expect(after.lines?.[0]).toMatch(/^• \*demo\* v1 · baked today · a newer base is out.* · rebaked, not yet live: `\/canary demo v1`$/);
    expect(after.buttons?.map((button) => button.label) ?? []).not.toContain('Rebake demo v1');

    const first = approvalRequest(world);
    await canary(world, bakery, 'v1');
    await until(world, () => approvalRequest(world) !== first);
    await bakery.handlers.onButton(pressOn(approvalRequest(world)!, 'release.promote', bob));
    await deployEnded(world, bakery);
    expect((await digestNow()).text).toBe('*Image digest*: nothing is stale');
  }, 120_000);

  it('the Home names the release a rollback left, and is redrawn when an operation starts and ends', async () => {
    world = await fleetWorld({ ...releaseApp(), channel: 'C0DEMO' });
    const bakery = world.replica();
    await promoted(world, bakery, 'v1');
    await bakery.handlers.onHomeOpened!(bob);
    await rollBack(world, bakery);
    await deployEnded(world, bakery);
    const section = (): ChatMessage | undefined => world.chat.homes.get(bob.id)?.sections[0];
    await until(world, () => section()?.text !== '*demo* · v1 live · baked today', 60_000);
    expect(section()?.text).toBe('*demo* · v1 rolled-back · no Bakery release live');

    // Every Home bob is shown from now on, as he would see it if he kept the tab open.
    const seen: string[] = [];
    const publish = world.chat.publishHome.bind(world.chat);
    world.chat.publishHome = async (user, view) => {
      seen.push(view.sections.map((shown) => [shown.text, ...(shown.lines ?? [])].join('\n')).join('\n'));
      return publish(user, view);
    };
    await bakery.handlers.onCommand(world.command('demo v2', { user: alice }));
    await bakery.runner.idle();
    await until(world, () => section()?.text === '*demo* · v2 baked · no Bakery release live', 60_000);
    expect(seen.some((home) => /Baking v2 since \d\d:\d\d UTC, asked by <@U0ALICE>/.test(home))).toBe(true);
  });
});
