import { afterEach, describe, expect, it } from 'vitest';
import { parseAppsFile } from '../src/config/apps.js';
import { environmentsOf } from '../src/config/environments.js';
import { formatDuration, formatTime } from '../src/operations/format.js';
import type { Bakery } from '../src/bakery.js';
import type { ChatMessage, ChatUser } from '../src/message.js';
import { alice, approvalRequest, bake, bob, everything, groupNames, mallory, pressOn, rollBack, until } from './support/lifecycle.js';
import { appsFile, fleet, stagingAndProduction, twoEnvironments, twoFleetWorld } from './support/environments.js';
import { TestWorld } from './support/world.js';

describe('deploy.environments in the apps file', () => {
  it('reads the environments in order, each with its own fleet, the app’s region and a soak after the one it follows', () => {
    const environments = environmentsOf(stagingAndProduction());
    expect(environments.map((e) => [e.name, e.deploy.group, e.region, e.after, e.soakMs])).toEqual([
      ['staging', 'demo-stg-live', 'us-east-1', undefined, 0],
      ['production', 'demo-live', 'us-east-1', 'staging', 2 * 3_600_000],
    ]);
    // The fleet fields are the plain deploy section's, with its defaults.
    expect(environments[1]!.deploy.canary.baseline).toBe('live');
    expect(environments[1]!.deploy.fourEyes).toBe(true);
  });

  it('soaks an hour when `after` gives no soak', () => {
    const config = parseAppsFile('apps.yml', twoEnvironments.replace('          soak: 2h\n', '')).demo!;
    expect(environmentsOf(config)[1]!.soakMs).toBe(3_600_000);
  });

  it('names the file, the app and the field of a mistake in an environment', () => {
    const wrong = (from: string, to: string) => () => parseAppsFile('apps.yml', twoEnvironments.replace(from, to));
    expect(wrong('after: staging', 'after: qa')).toThrow('apps.yml: app "demo", field "deploy.environments.1.after": "qa" is not an environment before this one');
    expect(wrong('- name: staging', '- name: Staging')).toThrow('apps.yml: app "demo", field "deploy.environments.0.name": an environment name is a short slug');
    expect(wrong('- name: production', '- name: staging')).toThrow('field "deploy.environments.1.name": "staging" is named twice');
    expect(wrong('soak: 2h', 'soak: a while')).toThrow('field "deploy.environments.1.soak": a duration is a number and s, m or h');
    expect(wrong('group: demo-live', 'group: "demo live"')).toThrow('field "deploy.environments.1.group": an Auto Scaling group name');
    expect(wrong('- name: staging\n', '- name: staging\n          soak: 1h\n')).toThrow('field "deploy.environments.0.soak": a soak is how long a release is live in `after` first');
  });

  it('copies the image to every environment’s region, whether or not copyTo names it', () => {
    const elsewhere = parseAppsFile('apps.yml', twoEnvironments.replace('          after: staging\n', '          region: eu-west-1\n          after: staging\n')).demo!;
    expect(elsewhere.copyTo).toEqual(['eu-west-1']);
    expect(environmentsOf(elsewhere)[1]!.region).toBe('eu-west-1');
  });

  it('keeps an app with a plain deploy section as one environment with no name', () => {
    const plain = appsFile('').replace('      environments:\n', fleet('demo').replace(/^ {4}/gm, '') + '\n');
    const environments = environmentsOf(parseAppsFile('apps.yml', plain).demo!);
    expect(environments).toHaveLength(1);
    expect(environments[0]!.name).toBeUndefined();
    expect(environments[0]!.deploy.group).toBe('demo-live');
  });
});

describe('/canary through environments', () => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  const canary = (bakery: Bakery, text: string) => bakery.handlers.onCommand(world.command(text, { command: '/canary', user: alice }));
  /** /canary's answer when it continues the bake's thread, as it does in the app's channel. */
  const started = (version: string, environment: string) => `Canary of demo ${version} in ${environment} started: it continues in the thread where ${version} was baked.`;

  /** Presses Promote on the latest request, as bob, and waits until that environment's deploy has ended. */
  async function promote(bakery: Bakery, environment: string): Promise<void> {
    await bakery.handlers.onButton(pressOn(approvalRequest(world)!, 'release.promote', bob));
    await until(world, async () => (await world.store.getLock('demo', 'deploy', environment)) === undefined);
    await bakery.runner.idle();
  }

  it('goes to the first environment, refuses production before the soak in staging ends, and takes it after', async () => {
    world = await twoFleetWorld();
    const bakery = world.replica();
    await bake(world, bakery, 'v1');

    expect((await canary(bakery, 'demo v1'))?.text).toBe(started('v1', 'staging'));
    await until(world, () => approvalRequest(world)?.text.includes('whole fleet in staging') === true);
    expect(await groupNames(world)).toContainEqual(expect.stringMatching(/^demo-canary-v1-/));
    expect(everything(world)).toContain('Canary demo v1 in staging');
    await promote(bakery, 'staging');
    const staging = (await world.store.getLive('demo', 'staging'))!;
    expect(staging.live).toMatchObject({ version: 'v1', group: 'demo-stg-live' });
    // Production was not touched: nothing is recorded live there, nor under the one-fleet key.
    expect(await world.store.getLive('demo', 'production')).toBeUndefined();
    expect(await world.store.getLive('demo')).toBeUndefined();
    const releases = (env: string) => bakery.handlers.onCommand(world.command(`demo --env ${env}`, { command: '/releases', user: alice }));
    expect((await releases('staging'))?.lines).toContainEqual(expect.stringMatching(/^Live in staging: \*v1\* \(.*ami-[0-9a-f]+.*\) since /));
    expect((await releases('production'))?.lines).toContain('Live in production: not promoted by Bakery yet');

    await world.clock.sleep(40 * 60_000);
    const early = await canary(bakery, 'demo v1 --to production');
    const now = world.clock.now();
    expect(early?.text).toBe(`Not yet: v1 has been live in staging for ${formatDuration(now - staging.since)} of 2h 00m; it can go to production at ${formatTime(staging.since + 2 * 3_600_000, now)}.`);
    expect(early?.tone).toBe('failed');
    // Refused means nothing started: no lock, and the release is still live in staging only.
    expect(await world.store.getLock('demo', 'deploy', 'production')).toBeUndefined();
    expect((await world.store.getRelease('demo', 'v1'))?.status).toBe('live');

    await world.clock.sleep(2 * 3_600_000);
    expect((await canary(bakery, 'demo v1 --to production'))?.text).toBe(started('v1', 'production'));
    await until(world, () => approvalRequest(world)?.text.includes('whole fleet in production') === true);
    await promote(bakery, 'production');
    // The very image tested in staging, on production's own fleet.
    expect((await world.store.getLive('demo', 'production'))?.live).toMatchObject({ version: 'v1', ami: staging.live.ami, group: 'demo-live' });
  }, 300_000);

  it('refuses production for a version never live in staging, and names the environments there are', async () => {
    world = await twoFleetWorld();
    const bakery = world.replica();
    await bake(world, bakery, 'v1');
    expect((await canary(bakery, 'demo v1 --to production'))?.text).toBe(
      'Not yet: v1 is not live in staging; it can go to production once it has been live there for 2h 00m: `/canary demo v1 --to staging` first.',
    );
    const unknown = await canary(bakery, 'demo v1 --to qa');
    expect(unknown?.text).toBe('demo has no environment "qa"; its environments: staging, production');
    expect(await world.store.getLock('demo', 'deploy', 'staging')).toBeUndefined();
    expect(await world.store.getLock('demo', 'deploy', 'production')).toBeUndefined();
  }, 120_000);

  it('lets staging move while production is mid-canary', async () => {
    world = await twoFleetWorld();
    const bakery = world.replica();
    await bake(world, bakery, 'v1');
    await canary(bakery, 'demo v1');
    await until(world, () => approvalRequest(world)?.text.includes('*demo v1*') === true);
    await promote(bakery, 'staging');
    await world.clock.sleep(2 * 3_600_000);
    await bake(world, bakery, 'v2');

    expect((await canary(bakery, 'demo v1 --to production'))?.text).toBe(started('v1', 'production'));
    expect((await canary(bakery, 'demo v2'))?.text).toBe(started('v2', 'staging'));
    expect((await world.store.getLock('demo', 'deploy', 'production'))?.version).toBe('v1');
    expect((await world.store.getLock('demo', 'deploy', 'staging'))?.version).toBe('v2');
    // A second canary in production is still refused while the first runs there.
    expect((await canary(bakery, 'demo v2 --to production'))?.text).toMatch(/^busy: releasing demo v1 in production since/);
    await until(world, async () => (await groupNames(world)).filter((name) => /^demo-canary-v[12]-/.test(name)).length === 2);

    // Promote's request, shown again, is of the environment named when two are waiting.
    const shown = (text: string) => bakery.handlers.onCommand(world.command(text, { command: '/promote', user: bob }));
    await until(world, () => ['staging', 'production'].every((name) => world.chat.allReplies().some((reply) => reply.text.includes(`whole fleet in ${name}`))));
    expect((await shown('demo'))?.text).toBe('canaries of demo are running in staging and production; name one with --env');
    expect((await shown('demo --env production'))?.text).toMatch(/^Promote \*demo v1\* to the whole fleet in production\?/);
  }, 300_000);
});

describe('/rollback of an app of several environments', () => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  it('rolls back the environment it names, and the release rolled back there may not go on to production', async () => {
    world = await twoFleetWorld();
    const bakery = world.replica();
    for (const version of ['v1', 'v2']) {
      await bake(world, bakery, version);
      await bakery.handlers.onCommand(world.command(`demo ${version}`, { command: '/canary', user: alice }));
      await until(world, () => approvalRequest(world)?.text.includes(`*demo ${version}*`) === true);
      await bakery.handlers.onButton(pressOn(approvalRequest(world)!, 'release.promote', bob));
      await until(world, async () => (await world.store.getLive('demo', 'staging'))?.live.version === version && (await world.store.getLock('demo', 'deploy', 'staging')) === undefined);
    }
    await world.clock.sleep(3 * 3_600_000);

    expect((await rollBack(world, bakery, 'demo --env staging'))?.text).toBe('Rolling demo back to v1.');
    await until(world, async () => (await world.store.getLock('demo', 'deploy', 'staging')) === undefined);
    await bakery.runner.idle();
    expect((await world.store.getLive('demo', 'staging'))?.live.version).toBe('v1');
    expect(await world.store.getLive('demo', 'production')).toBeUndefined();

    const refused = await bakery.handlers.onCommand(world.command('demo v2 --to production', { command: '/canary', user: alice }));
    expect(refused?.text).toBe('Not yet: v2 is not live in staging; it can go to production once it has been live there for 2h 00m: `/canary demo v2 --to staging` first.');
  }, 300_000);

  it('asks which environment rather than moving the wrong fleet', async () => {
    world = await TestWorld.create({ demo: stagingAndProduction() });
    const bakery = world.replica();
    const answer = await bakery.handlers.onCommand(world.command('demo', { command: '/rollback', user: bob }));
    expect(answer?.text).toBe('demo has environments (staging, production); name one with --env');
  });
});

describe('the end of a soak, in the release’s thread', () => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  async function twoFleetWorld(): Promise<TestWorld> {
    world = await TestWorld.create({ demo: stagingAndProduction() });
    world.sim.seedFleet({ region: 'us-east-1', app: 'demo-stg' });
    world.sim.seedFleet({ region: 'us-east-1', app: 'demo' });
    return world;
  }

  /** Bakes the version, canaries it in staging as alice and has bob promote it there. */
  async function liveInStaging(bakery: Bakery, version: string): Promise<void> {
    await bake(world, bakery, version);
    await bakery.handlers.onCommand(world.command(`demo ${version}`, { command: '/canary', user: alice }));
    await until(world, () => approvalRequest(world)?.text.includes(`*demo ${version}*`) === true);
    await bakery.handlers.onButton(pressOn(approvalRequest(world)!, 'release.promote', bob));
    await until(world, async () => (await world.store.getLive('demo', 'staging'))?.live.version === version && (await world.store.getLock('demo', 'deploy', 'staging')) === undefined);
    await bakery.runner.idle();
  }

  /** The messages saying a soak ended, wherever they are. */
  const soakEnds = () => world.chat.allReplies().filter((reply) => reply.buttons?.some((button) => button.actionId === 'release.canaryNext'));
  const soakEndOf = (version: string) => soakEnds().find((reply) => reply.text.startsWith(`${version} has soaked`))!;
  const threadOf = (message: ChatMessage) => world.chat.roots.find((root) => root.replies.includes(message))?.ref;
  const press = (bakery: Bakery, message: ChatMessage, user: ChatUser) => bakery.handlers.onButton(pressOn(message, 'release.canaryNext', user));

  it('says once, when the soak in staging ends, that the release can go to production, and its button continues the thread there', async () => {
    await twoFleetWorld();
    const [a, b] = [world.replica('replica-a'), world.replica('replica-b')];
    await liveInStaging(a, 'v1');
    await world.clock.sleep(60 * 60_000);
    expect(await a.soaked.announce()).toBe(0);
    expect(soakEnds()).toEqual([]);

    await world.clock.sleep(60 * 60_000);
    const release = (await world.store.getRelease('demo', 'v1'))!;
    const root = world.chat.roots.find((r) => r.ref.ts === release.thread?.ts)!;
    const rootBefore = root.message.text;
    // Two replicas look at once, and again a minute later: one message.
    await Promise.all([a.soaked.announce(), b.soaked.announce()]);
    await world.clock.sleep(60_000);
    await Promise.all([a.soaked.announce(), b.soaked.announce()]);
    expect(soakEnds()).toHaveLength(1);
    const soaked = soakEnds()[0]!;
    expect(soaked.text).toBe('v1 has soaked in staging for 2h 00m: it can go to production.');
    expect(soaked.lines).toEqual(['<@U0BOB> <@U0ALICE>: *Canary in production* starts `/canary demo v1 --to production`.']);
    expect(soaked.buttons?.map((button) => button.label)).toEqual(['Canary in production']);
    // In the release's own thread, the one it was baked in, whose root still shows where the release stands.
    expect(threadOf(soaked)).toEqual(release.thread);
    expect(root.message.text).toBe(rootBefore);

    expect((await press(a, soaked, bob))?.text).toBe('Canary of demo v1 in production started: it continues in the thread where v1 was baked.');
    // Pressed again, here or on another replica: the canary under way is the one there is.
    expect((await press(b, soaked, bob))?.text).toMatch(/^busy: releasing demo v1 in production since/);
    expect((await press(a, soaked, alice))?.text).toMatch(/^busy: releasing demo v1 in production since/);
    // The message now says who took it on, and offers the button no more.
    const taken = world.chat.allReplies().find((reply) => reply.text.startsWith('v1 has soaked'))!;
    expect(taken.lines).toEqual([expect.stringMatching(/^\*Canary in production\* pressed by <@U0BOB> at \d\d:\d\d UTC: the canary runs below\.$/)]);
    expect(taken.buttons).toBeUndefined();
    await until(world, () => approvalRequest(world)?.text.includes('whole fleet in production') === true);
    expect(threadOf(approvalRequest(world)!)).toEqual(release.thread);
    const requested = (await world.store.listAudit('demo')).filter((entry) => entry.action === 'canary requested' && entry.detail?.startsWith('v1 in production'));
    expect(requested).toHaveLength(1);
    expect(await groupNames(world)).toEqual(expect.arrayContaining([expect.stringMatching(/^demo-canary-v1-/)]));
    expect((await groupNames(world)).filter((name) => /^demo-canary-v1-/.test(name))).toHaveLength(1);
  }, 300_000);

  it('posts the soak’s message from another replica when the one that wrote it could not post it', async () => {
    await twoFleetWorld();
    const bakery = world.replica('replica-a');
    await liveInStaging(bakery, 'v1');
    await world.clock.sleep(2 * 3_600_000);
    // A replica whose chat connection is gone: the message is written, and not posted.
    const cut = new Proxy(world.chat, {
      get: (chat, name) => (name === 'reply' ? () => Promise.reject(new Error('socket closed')) : Reflect.get(chat, name, chat)),
    });
    const dying = world.replica('replica-c', { surface: cut });
    expect(await dying.soaked.announce()).toBe(1);
    expect(soakEnds()).toEqual([]);
    await dying.runner.stop();

    // Another replica finds it pending once the first one's claim has lapsed, and says it once.
    await world.clock.sleep(2 * 60_000);
    expect(await bakery.soaked.announce()).toBe(0);
    await bakery.runner.resumeAbandoned();
    await bakery.runner.resumeAbandoned();
    expect(soakEnds().map((reply) => reply.text)).toEqual(['v1 has soaked in staging for 2h 00m: it can go to production.']);
  }, 300_000);

  it('refuses a press by someone who does not approve production, and a press once the release is no longer live in staging, saying why', async () => {
    await twoFleetWorld();
    const bakery = world.replica();
    await liveInStaging(bakery, 'v1');
    await world.clock.sleep(2 * 3_600_000);
    expect(await bakery.soaked.announce()).toBe(1);

    expect((await press(bakery, soakEndOf('v1'), mallory))?.text).toBe('Not done: only the approvers of demo in production may canary it there (<@U0BOB>, <@U0ALICE>).');
    expect((await world.store.listAudit('demo')).find((entry) => entry.actor === mallory.id)).toMatchObject({ action: 'advance refused' });
    // Its value pressed from another message (the bake's root) is not this button.
    const elsewhere = { ...pressOn(soakEndOf('v1'), 'release.canaryNext', bob), message: { ...world.chat.roots[0]!.ref, ephemeral: false } };
    expect((await bakery.handlers.onButton(elsewhere))?.text).toBe('Not done: that button is not on the message of the operation it names.');

    // v2 replaces v1 in staging: v1's button no longer takes it on.
    await liveInStaging(bakery, 'v2');
    expect((await press(bakery, soakEndOf('v1'), bob))?.text).toBe(
      'Not yet: v1 is not live in staging; it can go to production once it has been live there for 2h 00m: `/canary demo v1 --to staging` first.',
    );
    await world.clock.sleep(2 * 3_600_000);
    expect(await bakery.soaked.announce()).toBe(1);

    // Rolled back in staging after its soak was announced: v2's button is refused, and v1, live there again, soaks again first.
    expect((await rollBack(world, bakery, 'demo --env staging'))?.text).toBe('Rolling demo back to v1.');
    await until(world, async () => (await world.store.getLock('demo', 'deploy', 'staging')) === undefined);
    await bakery.runner.idle();
    expect((await press(bakery, soakEndOf('v2'), bob))?.text).toBe(
      'Not yet: v2 is not live in staging; it can go to production once it has been live there for 2h 00m: `/canary demo v2 --to staging` first.',
    );
    expect((await press(bakery, soakEndOf('v1'), bob))?.text).toMatch(/^Not yet: v1 has been live in staging for .+ of 2h 00m; it can go to production at /);
    expect(await bakery.soaked.announce()).toBe(0);
    expect(await world.store.getLock('demo', 'deploy', 'production')).toBeUndefined();
    expect(soakEnds()).toHaveLength(2);
  }, 300_000);
});
