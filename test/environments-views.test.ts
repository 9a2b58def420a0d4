import { afterEach, describe, expect, it } from 'vitest';
import type { Bakery } from '../src/bakery.js';
import type { ChatMessage } from '../src/message.js';
import { formatTime } from '../src/operations/format.js';
import { alice, bake, bob, deployEnded, rollBack, until } from './support/lifecycle.js';
import { rebakeAction } from '../src/jobs/digest-message.js';
import { promotedIn, twoEnvironments, twoFleetWorld } from './support/environments.js';
import { TestWorld } from './support/world.js';
import { parseAppsFile } from '../src/config/apps.js';

const SOAK_MS = 2 * 3_600_000;

/** The matrix as a person reads it: per version, what it is in staging and in production (columns as the header lines them up). */
function matrixOf(message: ChatMessage | undefined): Record<string, string[]> {
  const lines = message?.lines ?? [];
  const open = lines.indexOf('```');
  const [header, ...rows] = lines.slice(open + 1, lines.indexOf('```', open + 1));
  const starts = [...(header ?? '').matchAll(/\S+/g)].map((match) => match.index);
  expect(header?.split(/\s+/)).toEqual(['version', 'staging', 'production']);
  return Object.fromEntries(
    rows.map((row) => {
      const [version, ...cells] = starts.map((start, i) => row.slice(start, starts[i + 1]).trim());
      return [version!, cells];
    }),
  );
}

describe('/releases of an app of several environments', () => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  const releases = (bakery: Bakery, text = 'demo') => bakery.handlers.onCommand(world.command(text, { command: '/releases', user: alice }));

  it('shows each version in each environment, soaking until when, and who moved what when', async () => {
    world = await twoFleetWorld();
    const bakery = world.replica();
    await bake(world, bakery, 'v1');
    await promotedIn(world, bakery, 'v1', 'staging');
    const staged = (await world.store.getLive('demo', 'staging'))!;
    expect(matrixOf(await releases(bakery))).toEqual({ v1: [`soaking until ${formatTime(staged.since + SOAK_MS, world.clock.now())}`, ''] });

    await world.clock.sleep(SOAK_MS);
    expect(matrixOf(await releases(bakery))).toEqual({ v1: ['live', ''] });
    await promotedIn(world, bakery, 'v1', 'production');
    await bake(world, bakery, 'v2');
    await promotedIn(world, bakery, 'v2', 'staging');
    const v2Staged = (await world.store.getLive('demo', 'staging'))!;
    const shown = await releases(bakery);
    expect(shown?.text).toBe('*Releases of demo*');
    expect(matrixOf(shown)).toEqual({ v2: [`soaking until ${formatTime(v2Staged.since + SOAK_MS, world.clock.now())}`, ''], v1: ['rollback target', 'live'] });
    // Under the matrix, each environment's latest moves, newest first: who put what live, asked and approved by whom.
    const moves = shown?.lines?.filter((line) => /^. (staging|production): /.test(line));
    expect(moves).toEqual([
      expect.stringMatching(/^✓ staging: \*v2\* went live .+ by <@U0BOB> \(asked by <@U0ALICE>, approved by <@U0BOB>\)$/),
      expect.stringMatching(/^✓ staging: \*v1\* went live .+ by <@U0BOB> \(asked by <@U0ALICE>, approved by <@U0BOB>\)$/),
      expect.stringMatching(/^✓ production: \*v1\* went live .+ by <@U0BOB> \(asked by <@U0ALICE>, approved by <@U0BOB>\)$/),
    ]);
    expect(shown?.lines).toContain('One environment, with its images and rollback target: `/releases demo --env production`');
  }, 300_000);

  it('marks a version rolled back, rejected or in its canary in the environment where it was', async () => {
    world = await twoFleetWorld();
    const bakery = world.replica();
    for (const version of ['v1', 'v2']) {
      await bake(world, bakery, version);
      await promotedIn(world, bakery, version, 'staging');
    }
    await rollBack(world, bakery, 'demo --env staging');
    await until(world, async () => (await world.store.getLive('demo', 'staging'))?.live.version === 'v1' && (await world.store.getLock('demo', 'deploy', 'staging')) === undefined);
    await bakery.runner.idle();

    world.sim.inject({ kind: 'bad-release', app: 'demo' });
    await bake(world, bakery, 'v3');
    world.sim.clearFaults();
    await bakery.handlers.onCommand(world.command('demo v3', { command: '/canary', user: alice }));
    await until(world, async () => (await world.store.getRelease('demo', 'v3'))?.status === 'rejected');
    await deployEnded(world, bakery);

    await bake(world, bakery, 'v4');
    await bakery.handlers.onCommand(world.command('demo v4', { command: '/canary', user: alice }));
    await until(world, async () => (await world.store.getLock('demo', 'deploy', 'staging'))?.version === 'v4');

    const shown = await releases(bakery);
    // Rolled back to, v1 is live in staging again from then on, and soaks anew before production.
    const back = (await world.store.getLive('demo', 'staging'))!;
    expect(matrixOf(shown)).toEqual({ v4: ['canary', ''], v3: ['rejected', ''], v2: ['rolled back', ''], v1: [`soaking until ${formatTime(back.since + SOAK_MS, world.clock.now())}`, ''] });
    expect(shown?.lines).toContainEqual(expect.stringMatching(/^Under way in staging: canary of v4 since .+, by <@U0ALICE>$/));
    expect(shown?.lines).toContainEqual(expect.stringMatching(/^✗ staging: \*v3\* rejected by its canary .+ by <@U0ALICE> \(.*5xx rate.*\)$/));
    expect(shown?.lines).toContainEqual(expect.stringMatching(/^↶ staging: \*v2\* rolled back .+ by <@U0BOB> \(rolled back to v1\)$/));
    // Production saw none of it.
    expect(shown?.lines?.some((line) => line.includes('production:'))).toBe(false);

    // --env: one environment as an app of one fleet reads, each release as it stands there.
    const staging = await releases(bakery, 'demo --env staging');
    expect(staging?.text).toBe('*Releases of demo* in staging');
    expect(staging?.lines).toContainEqual(expect.stringMatching(/^Live in staging: \*v1\* \(.*ami-[0-9a-f]+.*\) since .+, asked by <@U0BOB>$/));
    expect(staging?.lines).toContainEqual(expect.stringMatching(/^Under way in staging: canary of v4 since /));
    expect(staging?.lines).toContain('Rollback target in staging: none yet');
    expect(staging?.lines?.filter((line) => /^. \*v\d\*/.test(line)).map((line) => line.split(' · ')[0])).toEqual(['⏳ *v4* canary', '✗ *v3* rejected', '↶ *v2* rolled back', `✓ *v1* soaking until ${formatTime(back.since + SOAK_MS, world.clock.now())}`]);
    const production = await releases(bakery, 'demo --env production');
    expect(production?.lines?.slice(0, 2)).toEqual(['Live in production: not promoted by Bakery yet', 'Rollback target in production: none yet']);
    expect(production?.lines?.filter((line) => /^. \*v\d\*/.test(line)).map((line) => line.split(' · ')[0])).toEqual(['• *v4* baked', '✗ *v3* rejected in staging', '• *v2* baked', '• *v1* baked']);
  }, 300_000);

  it('names the environments there are when --env names none of them', async () => {
    world = await twoFleetWorld();
    const answer = await releases(world.replica(), 'demo --env qa');
    expect(answer?.text).toContain('demo has no environment "qa"; its environments: staging, production');
  });
});

describe('the App Home and the digest of an app of several environments', () => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  const DAY = 24 * 3_600_000;

  it('say what each environment runs, how far behind the one it follows, and judge each on what is live there', async () => {
    world = await twoFleetWorld();
    const bakery = world.replica();
    const home = async () => {
      await bakery.handlers.onHomeOpened!(bob);
      return world.chat.homes.get(bob.id)!;
    };
    await bake(world, bakery, 'v1');
    await promotedIn(world, bakery, 'v1', 'staging');
    // Production's fleet still runs the image it had before Bakery: said, and judged, as for an app of one fleet.
    expect((await home()).sections).toEqual([
      { text: "*demo* · nothing of Bakery's is live in production yet (v1 last baked); staging runs v1 · baked today", lines: [expect.stringMatching(/^• the fleet runs `ami-[0-9a-f]+` \(demo-v0\), an image Bakery did not bake$/)], buttons: [] },
      { text: 'Fresh: demo: staging runs v1 (baked today)' },
    ]);

    await world.clock.sleep(SOAK_MS);
    await promotedIn(world, bakery, 'v1', 'production');
    for (const version of ['v2', 'v3']) {
      await bake(world, bakery, version);
      await promotedIn(world, bakery, version, 'staging');
    }
    expect((await home()).sections).toEqual([{ text: 'Fresh: demo: staging runs v3 (baked today), demo: production runs v1, two releases behind staging (baked today)' }]);

    // Weeks on, staging takes a fresh v4; production still runs v1, which is stale there alone.
    world.clock.advance(40 * DAY);
    await bake(world, bakery, 'v4');
    await promotedIn(world, bakery, 'v4', 'staging');
    const shown = await home();
    expect(shown.title).toBe('Bakery · 1 of 1 apps stale');
    expect(shown.sections).toEqual([
      expect.objectContaining({ text: '*demo* · production runs v1, three releases behind staging · 40 days old', lines: ['• the image is 40 days old, past the app’s maximum of 30 days'] }),
      { text: 'Fresh: demo: staging runs v4 (baked today)' },
    ]);
    expect(shown.sections[0]!.buttons).toEqual([expect.objectContaining({ actionId: rebakeAction, label: 'Rebake demo v1', value: 'demo:v1:force' })]);

    const digest = await bakery.handlers.onCommand(world.command('stale demo', { command: '/bakery', user: bob }));
    expect(digest?.text).toBe('*Image digest*: 1 of 1 app stale');
    expect(digest?.lines).toEqual([
      '• *demo* · production runs v1, three releases behind staging · 40 days old · the image is 40 days old, past the app’s maximum of 30 days',
      'Fresh: demo: staging runs v4 (baked today)',
    ]);
  }, 300_000);

  it('judges an environment in another region on the image it runs there, and its base where it was baked', async () => {
    const apps = twoEnvironments.replace('    instanceType: t3.small\n', '    instanceType: t3.small\n    copyTo: [eu-west-1]\n').replace('          after: staging\n', '          region: eu-west-1\n          after: staging\n');
    world = await TestWorld.create({ demo: parseAppsFile('apps.yml', apps).demo! });
    world.sim.seedFleet({ region: 'us-east-1', app: 'demo-stg' });
    world.sim.seedFleet({ region: 'eu-west-1', app: 'demo' });
    const bakery = world.replica();
    await bake(world, bakery, 'v1');
    await promotedIn(world, bakery, 'v1', 'staging');
    await world.clock.sleep(SOAK_MS);
    await promotedIn(world, bakery, 'v1', 'production');
    expect((await world.store.getLive('demo', 'production'))?.live.ami).toBe((await world.store.getRelease('demo', 'v1'))?.amis['eu-west-1']);

    await bakery.handlers.onHomeOpened!(bob);
    expect(world.chat.homes.get(bob.id)!.sections).toEqual([{ text: 'Fresh: demo: staging runs v1 (baked today), demo: production runs v1, as staging does (baked today)' }]);
  }, 300_000);
});
