import { DescribeLaunchTemplateVersionsCommand } from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppConfig } from '../src/config/apps.js';
import { alice, approvalRequest, bake, bob, canary, deployEnded, everything, fleetWorld, groupNames, liveGroup, mallory, operationOf, pressOn, promoted, releaseApp, rollBack, until } from './support/lifecycle.js';
import { TestWorld } from './support/world.js';

/** The images the live group's instances run now, from their launch template versions. */
async function imagesServed(world: TestWorld): Promise<string[]> {
  const group = await liveGroup(world);
  const images = new Set<string>();
  for (const instance of group?.Instances ?? []) {
    if (instance.LifecycleState !== 'InService') continue;
    const template = instance.LaunchTemplate!;
    const versions = await (await world.sim.clients().ec2('us-east-1')).send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: template.LaunchTemplateId, Versions: [template.Version!] }));
    images.add(versions.LaunchTemplateVersions![0]!.LaunchTemplateData!.ImageId!);
  }
  return [...images];
}

/** Two promotions and a rollback take a minute of real time on a busy machine (virtual time runs their hours). */
const twoPromotions = 120_000;

/** The demo app approved by bob alone: alice, who asks for releases, is a member of #demo and no approver. */
function bobApproves(strategy: 'rolling' | 'red-black' = 'rolling'): AppConfig {
  const config = releaseApp({ strategy });
  return { ...config, deploy: { ...config.deploy!, approvers: ['U0BOB'] } };
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
    expect(everything(world)).toMatch(/rolled back\*? by <@U0BOB>/i);
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
  }, twoPromotions);

  it('is refused to someone who is neither an approver nor the one who started the release, and audited', async () => {
    world = await fleetWorld();
    const bakery = world.replica();
    await bake(world, bakery, 'v1');
    await canary(world, bakery, 'v1');
    const refused = await bakery.handlers.onCommand(world.command('demo', { command: '/rollback', user: mallory }));
    expect(refused?.text).toContain('Not done: only <@U0BOB>, <@U0ALICE> may roll back demo; whoever asked for a release may stop it or return it to the one it replaced');
    expect(refused?.buttons ?? []).toEqual([]);
    const forged = await bakery.handlers.onButton({ actionId: 'rollback.confirm', value: JSON.stringify({ app: 'demo', for: mallory.id, until: world.clock.now() + 60_000 }), user: mallory, team: 'T0HOME', channel: 'C0DEMO', channelName: 'demo', message: { channel: 'C0DEMO', ts: '0.000001', ephemeral: true }, requestId: 'forged' });
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

  describe('after a rollback', () => {
    it('never offers the release it rolled back as the next target', async () => {
      world = await fleetWorld();
      const bakery = world.replica();
      await promoted(world, bakery, 'v1');
      await rollBack(world, bakery);
      await deployEnded(world, bakery);

      const releases = await bakery.handlers.onCommand(world.command('demo', { command: '/releases', user: bob }));
      expect(releases?.lines).toContain('Rollback target: none yet');
      expect((await bakery.handlers.onCommand(world.command('demo', { command: '/rollback', user: bob })))?.text).toContain('Nothing to roll back to');
      const named = await bakery.handlers.onCommand(world.command('demo v1', { command: '/rollback', user: bob }));
      expect(named?.text).toBe('Nothing to roll back to: demo v1 was rolled back from the fleet, so no rollback takes it there again; to ship it, `/bake demo v1 --force` and `/canary demo v1`.');
    });

    it('offers the release live before the one it returned to, once a release between was rolled back', async () => {
      world = await fleetWorld();
      const bakery = world.replica();
      await promoted(world, bakery, 'v1');
      await promoted(world, bakery, 'v2');
      await promoted(world, bakery, 'v3');
      await rollBack(world, bakery);
      await deployEnded(world, bakery);
      expect((await world.store.getLive('demo'))?.live.version).toBe('v2');
      const confirm = await bakery.handlers.onCommand(world.command('demo', { command: '/rollback', user: bob }));
      expect(confirm?.text).toMatch(/^Roll \*demo\* back from v2 to v1 /);
    }, 2 * twoPromotions);

    it('continues in the release’s thread, broadcast to the channel, and its root no longer reads live', async () => {
      world = await fleetWorld();
      const bakery = world.replica();
      await promoted(world, bakery, 'v1');
      const thread = world.chat.roots[0]!;
      expect(thread.message.text).toMatch(/live\*? ✓/);
      await rollBack(world, bakery);
      await deployEnded(world, bakery);

      expect(world.chat.roots).toHaveLength(1);
      const broadcast = thread.replies.filter((reply) => reply.broadcast).map((reply) => reply.text);
      expect(broadcast).toEqual([expect.stringMatching(/^\*Rolling back demo\* from v1 to ami-/), expect.stringMatching(/^\*demo rolled back\* from v1 to ami-/)]);
      expect(thread.message.text).not.toMatch(/live\*? ✓/);
      expect([thread.message.text, ...(thread.message.lines ?? [])].join('\n')).toMatch(/is live again/);
    });
  });

  describe('a target', () => {
    it('is refused when it was never live, saying how it ships instead, and the fleet stays as it is', async () => {
      world = await fleetWorld();
      const bakery = world.replica();
      await promoted(world, bakery, 'v1');
      await bake(world, bakery, 'v2');
      const before = await imagesServed(world);

      const answer = await bakery.handlers.onCommand(world.command('demo v2', { command: '/rollback', user: bob }));
      expect(answer?.text).toBe('Nothing to roll back to: demo v2 was never live, and a rollback returns only to a release that was; a new version reaches the fleet through a canary and an approval: `/canary demo v2`.');
      expect(answer?.buttons ?? []).toEqual([]);
      expect(await world.store.getLock('demo', 'deploy')).toBeUndefined();
      expect(await imagesServed(world)).toEqual(before);
    });

    it('is refused when its canary rejected it since, by name or as the previous release', async () => {
      world = await fleetWorld();
      const bakery = world.replica();
      await promoted(world, bakery, 'v1');
      await promoted(world, bakery, 'v2');
      // A later canary of v1 failed: what the canary records when its judge fails it.
      await world.store.setReleaseStatus('demo', 'v1', 'rejected', { at: world.clock.now(), by: alice.id, note: 'errors: x3.1 the baseline' });

      for (const text of ['demo v1', 'demo']) {
        const answer = await bakery.handlers.onCommand(world.command(text, { command: '/rollback', user: bob }));
        expect(answer?.text).toContain('demo v1 was rejected by its canary, so no rollback takes it to the fleet; to ship it, `/bake demo v1 --force` and `/canary demo v1`');
        expect(answer?.buttons ?? []).toEqual([]);
      }
    }, twoPromotions);

    it('is named in the confirm with its history: how long it was live, until when, and how it came to be', async () => {
      world = await fleetWorld();
      const bakery = world.replica();
      await promoted(world, bakery, 'v1');
      await promoted(world, bakery, 'v2');
      const confirm = await bakery.handlers.onCommand(world.command('demo v1', { command: '/rollback', user: bob }));
      expect(confirm?.text).toMatch(/^Roll \*demo\* back from v2 to v1 \(live \d+[hm] \d\d[ms] until \d\d:\d\d UTC, asked by <@U0ALICE>, approved by <@U0BOB>\)\?$/);
      expect(confirm?.buttons?.[0]?.label).toBe('Roll back now');
    }, twoPromotions);
  });

  describe('who may', () => {
    it('lets whoever asked for a rolling release return it to the one it replaced, though she is no approver', async () => {
      world = await fleetWorld(bobApproves());
      const bakery = world.replica();
      const original = await imagesServed(world);
      await promoted(world, bakery, 'v1');
      const live = await world.store.getLive('demo');
      expect([live?.askedBy, live?.approvedBy]).toEqual(['U0ALICE', 'U0BOB']);

      const answer = await rollBack(world, bakery, 'demo', alice);
      expect(answer?.text).toContain('Rolling demo back to');
      await deployEnded(world, bakery);
      expect(await imagesServed(world)).toEqual(original);
    });

    it('does not make whoever stopped a red-black promotion in its keep-old window the owner of the release it restored', async () => {
      world = await fleetWorld(bobApproves('red-black'));
      const bakery = world.replica();
      await bake(world, bakery, 'v1');
      await canary(world, bakery, 'v1');
      await until(world, () => approvalRequest(world) !== undefined);
      await bakery.handlers.onButton(pressOn(approvalRequest(world)!, 'release.promote', bob));
      await until(world, async () => (await world.store.getLive('demo'))?.standby !== undefined);
      // alice asked for v1, so she may stop it: the old group takes the traffic again.
      expect((await rollBack(world, bakery, 'demo', alice))?.text).toContain('stopping the canary of v1');
      await deployEnded(world, bakery);
      const restored = await world.store.getLive('demo');
      expect(restored?.live.group).toBe('demo-live');
      expect(restored?.askedBy).toBeUndefined();

      // Asking for v1 again takes the rollback permission, which only the app's people have; and v1, rolled back, is no target.
      const refused = await bakery.handlers.onCommand(world.command('demo v1', { command: '/rollback', user: alice }));
      expect(refused?.text).toBe('Not done: only <@U0BOB> may roll back demo; whoever asked for a release may stop it or return it to the one it replaced.');
      expect((await rollBack(world, bakery, 'demo v1', bob))?.text).toContain('Nothing to roll back to: demo v1 was rolled back from the fleet');
    });
  });

  describe('the confirm button', () => {
    it('does nothing once it has expired, and says how to ask again', async () => {
      world = await fleetWorld();
      const bakery = world.replica();
      await promoted(world, bakery, 'v1');
      const confirm = await bakery.handlers.onCommand(world.command('demo', { command: '/rollback', user: bob }));
      expect(confirm?.lines?.[0]).toMatch(/good until \d\d:\d\d UTC/);
      world.clock.advance(6 * 60_000);
      const answer = await bakery.handlers.onButton(pressOn(confirm!, 'rollback.confirm', bob));
      expect(answer?.text).toMatch(/^Not done: that confirm expired at \d\d:\d\d UTC \(a confirm is good for 5m 00s\); `\/rollback demo` again to see what it would do now\.$/);
      expect(await world.store.getLock('demo', 'deploy')).toBeUndefined();
      expect((await world.store.getLive('demo'))?.live.version).toBe('v1');
    });

    it('pressed twice to return to a release, rolls back once and names the version to the second press', async () => {
      world = await fleetWorld();
      const bakery = world.replica();
      await promoted(world, bakery, 'v1');
      await promoted(world, bakery, 'v2');
      const confirm = await bakery.handlers.onCommand(world.command('demo', { command: '/rollback', user: bob }));
      const first = await bakery.handlers.onButton(pressOn(confirm!, 'rollback.confirm', bob));
      const second = await bakery.handlers.onButton(pressOn(confirm!, 'rollback.confirm', bob));
      expect(first?.text).toBe('Rolling demo back to v1.');
      expect(second?.text).toMatch(/^busy: rolling demo back to v1 since \d\d:\d\d UTC, asked by <@U0BOB>$/);
      expect(second?.lines).toEqual(['Its thread shows when the fleet is back; nothing more to press.']);
      await deployEnded(world, bakery);
      expect((await world.store.listAudit('demo')).filter((entry) => entry.action === 'rollback requested')).toHaveLength(1);
    }, twoPromotions);

    it('pressed twice to stop a canary, stops it once and says who asked first', async () => {
      world = await fleetWorld();
      const bakery = world.replica();
      await bake(world, bakery, 'v1');
      await canary(world, bakery, 'v1');
      await until(world, () => world.events.some((event) => event.type === 'step-waiting' && event.step === 'judge'));
      const confirm = await bakery.handlers.onCommand(world.command('demo', { command: '/rollback', user: bob }));
      await bakery.handlers.onButton(pressOn(confirm!, 'rollback.confirm', bob));
      const second = await bakery.handlers.onButton(pressOn(confirm!, 'rollback.confirm', bob));
      expect(second?.text).toMatch(/^Already rolling back demo: <@U0BOB> asked to stop the canary of v1 at \d\d:\d\d UTC; the thread shows when the fleet is back\.$/);
      await deployEnded(world, bakery);
      expect((await world.store.listAudit('demo')).filter((entry) => entry.action === 'rollback requested')).toHaveLength(1);
    });

    it('is not replayed onto the release that is live by the time it is pressed', async () => {
      world = await fleetWorld();
      const bakery = world.replica();
      await promoted(world, bakery, 'v1');
      await promoted(world, bakery, 'v2');
      const first = await bakery.handlers.onCommand(world.command('demo', { command: '/rollback', user: bob }));
      expect(first?.text).toContain('from v2 to v1');
      await rollBack(world, bakery, 'demo', bob);
      await deployEnded(world, bakery);
      expect((await world.store.getLive('demo'))?.live.version).toBe('v1');

      // The first confirm showed v2 → v1; pressed now it would take the fleet back to v2.
      const answer = await bakery.handlers.onButton(pressOn(first!, 'rollback.confirm', bob));
      expect(answer?.text).toMatch(/^Not done: that confirm is stale: the live release changed since it was shown \(v1 is live since \d\d:\d\d UTC\); `\/rollback demo` again/);
      expect(await world.store.getLock('demo', 'deploy')).toBeUndefined();
      expect((await world.store.getLive('demo'))?.live.version).toBe('v1');
    }, twoPromotions);
  });
});
