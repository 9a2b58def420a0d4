import { afterEach, describe, expect, it } from 'vitest';
import { parseAppsFile } from '../src/config/apps.js';
import { environmentsOf } from '../src/config/environments.js';
import { formatDuration, formatTime } from '../src/operations/format.js';
import type { Bakery } from '../src/bakery.js';
import { alice, approvalRequest, bake, bob, everything, groupNames, pressOn, rollBack, until } from './support/lifecycle.js';
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
    expect(wrong('          after: staging\n', '          region: eu-west-1\n          after: staging\n')).toThrow(
      'field "deploy.environments.1.region": eu-west-1 is neither the app\'s region (us-east-1) nor in copyTo, so no image is baked there',
    );
  });

  it('refuses another AWS account or role for now, saying so', () => {
    const withAccount = twoEnvironments.replace('          after: staging\n', '          account: "210987654321"\n          role: arn:aws:iam::210987654321:role/bakery\n          after: staging\n');
    expect(() => parseAppsFile('apps.yml', withAccount)).toThrow('field "deploy.environments.1.account": account: environments in other AWS accounts are not supported yet');
    expect(() => parseAppsFile('apps.yml', withAccount)).toThrow('field "deploy.environments.1.role"');
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

    expect((await canary(bakery, 'demo v1'))?.text).toBe('Canary of demo v1 in staging started: it continues in the thread where v1 was baked.');
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
    expect((await canary(bakery, 'demo v1 --to production'))?.text).toBe('Canary of demo v1 in production started: it continues in the thread where v1 was baked.');
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

    expect((await canary(bakery, 'demo v1 --to production'))?.text).toMatch(/^Canary of demo v1 in production started/);
    expect((await canary(bakery, 'demo v2'))?.text).toMatch(/^Canary of demo v2 in staging started/);
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
