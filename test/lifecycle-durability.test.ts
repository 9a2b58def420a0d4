import { afterEach, describe, expect, it } from 'vitest';
import type { Bakery } from '../src/bakery.js';
import type { RunnerEvent } from '../src/operations/runner.js';
import { canaryState } from '../src/pipelines/canary/state.js';
import { alice, approvalRequest, bake, bob, deployEnded, pressOn, releaseApp, tickEvery, until } from './support/lifecycle.js';
import { TestWorld } from './support/world.js';

/** A replica that dies (as a crash would) the first time `when` holds for one of its events. */
function doomed(world: TestWorld, name: string, when: (event: RunnerEvent) => boolean | Promise<boolean>): Bakery {
  let dead = false;
  return world.replica(name, {
    onEvent: async (event, self) => {
      if (!dead && (await when(event))) {
        dead = true;
        void self.runner.stop();
      }
    },
  });
}

async function canaryOp(world: TestWorld) {
  const lock = await world.store.getLock('demo', 'deploy');
  return lock ? world.store.getOperation(lock.operationId) : undefined;
}

/** The minutes judged so far, from the operation's saved window. */
async function judgedMinutes(world: TestWorld): Promise<number> {
  const operation = await canaryOp(world);
  return operation ? (canaryState.parse(operation.state).window?.periods ?? 0) : 0;
}

/** Another replica takes the dead one's operation over once its lease has lapsed. */
async function takeOver(world: TestWorld, name = 'replica-b'): Promise<Bakery> {
  world.clock.advance(61_000);
  const next = world.replica(name);
  await next.runner.resumeAbandoned();
  return next;
}

describe('a release across restarts', () => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  async function start(): Promise<void> {
    world = await TestWorld.create({ demo: releaseApp() });
    world.sim.seedFleet({ region: 'us-east-1', app: 'demo' });
  }

  /** A canary of demo v1 on replica-a, which goes down once `minutes` of the window are judged. */
  async function canaryDownAfter(minutes: number): Promise<void> {
    await start();
    const first = doomed(world, 'replica-a', async (event) => event.type === 'step-waiting' && event.step === 'judge' && (await judgedMinutes(world)) >= minutes);
    await bake(world, first, 'v1');
    await first.handlers.onCommand(world.command('demo v1', { command: '/canary', user: alice }));
    await until(world, async () => (await canaryOp(world))?.lease?.owner === 'replica-a' && (await judgedMinutes(world)) >= minutes);
    await first.runner.idle();
  }

  it('resumes a canary mid-window on another replica without judging a minute twice or losing one', async () => {
    await canaryDownAfter(12);
    const before = await judgedMinutes(world);

    const second = await takeOver(world);
    await until(world, () => approvalRequest(world) !== undefined);
    const operation = (await canaryOp(world))!;
    const window = canaryState.parse(operation.state).window!;
    // Every period from the window's start is there exactly once: the 30 planned minutes (and any the judge
    // extended by while it leaned), no gap, no repeat, and the verdict asked about is the one on all of them.
    expect(before).toBeGreaterThanOrEqual(12);
    expect(window.periods).toBeGreaterThanOrEqual(30);
    expect(window.periods).toBeLessThanOrEqual(30 + 15);
    for (const series of [...Object.values(window.canary), ...Object.values(window.baseline)]) expect(series).toHaveLength(window.periods);
    expect(approvalRequest(world)?.lines?.[0]).toContain(`Verdict at minute ${window.periods}:`);
    expect(world.chat.allReplies().some((reply) => reply.text.startsWith('Resumed after a restart, at *Judge the canary*'))).toBe(true);
    await second.runner.stop();
  });

  it('judges the planned window at its end even when the look that reaches it comes late', async () => {
    await canaryDownAfter(25);

    // Ten minutes down: when the next look comes, minutes up to 36 have settled.
    world.clock.advance(10 * 60_000);
    const second = await takeOver(world);
    const firstLook = () => world.events.find((e) => e.replica === 'replica-b' && (e.type === 'step-waiting' || e.type === 'step-finished') && e.step === 'judge');
    await until(world, () => firstLook() !== undefined);
    expect(canaryState.parse(firstLook()!.operation.state).window?.periods).toBe(30);
    await second.runner.stop();
  });

  it('keeps waiting for approval after a restart, and takes the press on the new owner', async () => {
    await start();
    const first = doomed(world, 'replica-a', (event) => event.type === 'step-waiting' && event.step === 'approval');
    await bake(world, first, 'v1');
    await first.handlers.onCommand(world.command('demo v1', { command: '/canary', user: alice }));
    await until(world, () => approvalRequest(world) !== undefined);
    await first.runner.idle();

    const second = await takeOver(world);
    expect((await second.handlers.onButton(pressOn(approvalRequest(world)!, 'release.promote', bob)))?.text).toContain('Promoting');
    await deployEnded(world, second);
    expect((await world.store.getLive('demo'))?.live.version).toBe('v1');
    // One request was posted, not one per replica, and it now says who approved it.
    const requests = world.chat.allReplies().filter((reply) => reply.text.startsWith('Promote *demo v1*') || reply.text.startsWith('*demo v1*: approved'));
    expect(requests.map((reply) => reply.text)).toEqual([expect.stringContaining('*demo v1*: approved by <@U0BOB>')]);
  });

  it('finishes a refresh that was under way when the bot died, starting no second one', async () => {
    await start();
    const first = doomed(world, 'replica-a', (event) => event.type === 'step-waiting' && event.step === 'refresh');
    await bake(world, first, 'v1');
    await first.handlers.onCommand(world.command('demo v1', { command: '/canary', user: alice }));
    await until(world, () => approvalRequest(world) !== undefined);
    await first.handlers.onButton(pressOn(approvalRequest(world)!, 'release.promote', bob));
    await until(world, () => world.events.some((event) => event.type === 'step-waiting' && event.step === 'refresh'));
    await first.runner.idle();

    const second = await takeOver(world);
    await deployEnded(world, second);
    expect((await world.store.getLive('demo'))?.live.version).toBe('v1');
    expect(world.sim.calls().filter((call) => call.command === 'StartInstanceRefresh')).toHaveLength(1);
  });

  it('delivers a press on one replica to the canary another replica runs', async () => {
    await start();
    const owner = world.replica('replica-a');
    const other = world.replica('replica-b');
    await bake(world, owner, 'v1');
    await owner.handlers.onCommand(world.command('demo v1', { command: '/canary', user: alice }));
    await until(world, () => approvalRequest(world) !== undefined);

    expect((await other.handlers.onButton(pressOn(approvalRequest(world)!, 'release.promote', bob)))?.text).toContain('Promoting');
    await deployEnded(world, owner);
    expect((await world.store.getLive('demo'))?.live.version).toBe('v1');
    expect(world.events.filter((event) => event.type === 'finished').map((event) => event.replica).at(-1)).toBe('replica-a');
  });
});

describe('a press, a cancel or a hand-over on another replica', () => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  /** demo v1's canary on its owner, up to the approval request; a bystander replica beside it. Both look every second, as in production. */
  async function canaryAwaitingApproval(): Promise<{ owner: Bakery; other: Bakery }> {
    world = await TestWorld.create({ demo: releaseApp() });
    world.sim.seedFleet({ region: 'us-east-1', app: 'demo' });
    const owner = world.replica('replica-a', { watchMs: 1_000 });
    const other = world.replica('replica-b', { watchMs: 1_000 });
    await bake(world, owner, 'v1');
    await owner.handlers.onCommand(world.command('demo v1', { command: '/canary', user: alice }));
    await until(world, () => approvalRequest(world) !== undefined);
    return { owner, other };
  }

  const firstCall = (command: string): number | undefined => world.sim.calls().find((call) => call.command === command)?.at;

  it('reaches the owner within two seconds: a Promote pressed on the other replica starts the refresh', async () => {
    const { other } = await canaryAwaitingApproval();
    const stopTicking = tickEvery(world, 10);
    const pressedAt = world.clock.now();
    expect((await other.handlers.onButton(pressOn(approvalRequest(world)!, 'release.promote', bob)))?.text).toContain('Promoting');
    await until(world, () => firstCall('StartInstanceRefresh') !== undefined);
    stopTicking();
    expect(firstCall('StartInstanceRefresh')! - pressedAt).toBeLessThan(2_000);
  });

  it('reaches the owner within two seconds: a /rollback confirmed on the other replica rolls the refresh back', async () => {
    const { owner, other } = await canaryAwaitingApproval();
    await owner.handlers.onButton(pressOn(approvalRequest(world)!, 'release.promote', bob));
    await until(world, () => world.events.some((event) => event.type === 'step-waiting' && event.step === 'refresh'));
    const confirm = await other.handlers.onCommand(world.command('demo', { command: '/rollback', user: bob }));
    const stopTicking = tickEvery(world, 10);
    const confirmedAt = world.clock.now();
    await other.handlers.onButton(pressOn(confirm!, 'rollback.confirm', bob));
    const undone = (): number | undefined => firstCall('RollbackInstanceRefresh') ?? firstCall('CancelInstanceRefresh');
    await until(world, () => undone() !== undefined);
    stopTicking();
    expect(undone()! - confirmedAt).toBeLessThan(2_000);
  });
});
