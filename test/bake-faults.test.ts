import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Fault } from '../src/aws/simulator/index.js';
import { TestWorld } from './support/world.js';

/** What every failed bake must leave behind: a red thread, and nothing running or half-made in AWS. */
async function expectCleanFailure(world: TestWorld, stepTitle: string) {
  const operation = world.events.find((e) => e.type === 'finished');
  expect(operation && 'status' in operation ? operation.status : undefined).toBe('failed');
  const thread = world.chat.roots[0]!;
  expect(thread.message.tone).toBe('failed');
  expect(thread.message.lines?.join('\n')).toContain(`Failed at *${stepTitle}*`);
  expect(world.liveInstances()).toEqual([]);
  expect(world.bakedImages()).toEqual([]);
  expect(await world.store.getRelease('demo', 'v1')).toBeUndefined();
  expect(await world.store.getLock('demo')).toBeUndefined();
  return thread;
}

describe('/bake when things go wrong', () => {
  let world: TestWorld;
  beforeEach(async () => {
    world = await TestWorld.create();
  });
  afterEach(async () => {
    await world.close();
  });

  async function bakeWith(fault: Fault) {
    world.sim.inject(fault);
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1'));
    await bakery.runner.idle();
  }

  it('terminates the builder when the provision script fails, and shows the tail of its log', async () => {
    await bakeWith({ kind: 'provision-fails' });
    const thread = await expectCleanFailure(world, 'Download and provision');
    const summary = thread.replies.at(-1)!;
    expect(summary.lines?.join('\n')).toContain("the builder's provision phase failed");
    expect(summary.lines?.join('\n')).toContain('bakery: result failure phase=provision');
  });

  it('terminates the builder when the smoke test fails', async () => {
    await bakeWith({ kind: 'smoke-fails' });
    const thread = await expectCleanFailure(world, 'Smoke test');
    expect(thread.replies.at(-1)!.lines?.join('\n')).toContain("the builder's smoke phase failed");
  });

  it('blames the smoke test, not provisioning, even when one look at the console shows both', async () => {
    world.sim.inject({ kind: 'smoke-fails' });
    const bakery = world.replica('replica-a', { pollIntervalMs: 20 * 60_000 });
    await bakery.handlers.onCommand(world.command('demo v1'));
    await bakery.runner.idle();
    await expectCleanFailure(world, 'Smoke test');
  });

  it('terminates the builder when the release artifact cannot be downloaded', async () => {
    await bakeWith({ kind: 'download-fails' });
    const thread = await expectCleanFailure(world, 'Download and provision');
    expect(thread.replies.at(-1)!.lines?.join('\n')).toContain("the builder's download phase failed");
  });

  it('gives up on a builder that never finishes, says AWS may still be working, and terminates it', async () => {
    await bakeWith({ kind: 'builder-hangs' });
    const thread = await expectCleanFailure(world, 'Download and provision');
    expect(thread.replies.at(-1)!.lines?.join('\n')).toMatch(/gave up waiting for builder i-\w+ .* after 60 min; AWS still reports it as still in its provision phase/);
  });

  it('gives up on an image that never becomes available, and deletes it', async () => {
    await bakeWith({ kind: 'image-stuck' });
    const thread = await expectCleanFailure(world, 'Create image');
    expect(thread.replies.at(-1)!.lines?.join('\n')).toMatch(/gave up waiting for image ami-\w+ in us-east-1 .*pending/);
    expect(thread.replies.at(-1)!.lines?.join('\n')).toContain('Cleanup: deleted unfinished image');
  });

  it('waits out EC2 not yet knowing the builder, image and copy it just made', async () => {
    await bakeWith({ kind: 'slow-consistency', ms: 3 * 60_000 });
    expect((await world.store.getRelease('demo', 'v1'))?.status).toBe('baked');
    expect(world.bakedImages()).toHaveLength(2);
    expect(world.liveInstances()).toEqual([]);
  });

  it('gives up, clearly, on a builder EC2 still does not know minutes after launching it, and terminates it', async () => {
    await bakeWith({ kind: 'slow-consistency', ms: 30 * 60_000 });
    const thread = await expectCleanFailure(world, 'Download and provision');
    expect(thread.replies.at(-1)!.lines?.join('\n')).toMatch(/builder i-\w+ is still unknown to EC2 5 min after it was launched/);
    expect(thread.replies.at(-1)!.lines?.join('\n')).toMatch(/Cleanup: terminated builder i-\w+/);
  });

  it('rides out throttling through the SDK’s own retries, launching one builder only', async () => {
    await bakeWith({ kind: 'throttle', command: 'RunInstances', times: 3 });
    expect(await world.store.getRelease('demo', 'v1')).toBeDefined();
    expect(world.sim.calls().filter((call) => call.command === 'RunInstances').length).toBe(4);
    expect(world.sim.snapshot().instances).toHaveLength(1);
    expect(world.liveInstances()).toEqual([]);
    expect(world.chat.roots[0]!.replies.at(-1)!.context?.join('\n')).toMatch(/AWS: \d+ calls \(3 retried\)/);
  });

  const failingCalls: [command: string, stepTitle: string][] = [
    ['GetParameter', 'Resolve base image'],
    ['RunInstances', 'Launch builder'],
    ['GetConsoleOutput', 'Download and provision'],
    ['CreateImage', 'Create image'],
    ['ModifyImageAttribute', 'Share with accounts'],
    ['TerminateInstances', 'Terminate builder'],
  ];
  for (const [command, stepTitle] of failingCalls) {
    it(`fails at “${stepTitle}” when ${command} is refused, leaving no builder and no image`, async () => {
      await bakeWith({ kind: 'api-error', command, code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.', status: 403 });
      const thread = await expectCleanFailure(world, stepTitle);
      expect(thread.replies.at(-1)!.lines?.join('\n')).toContain('not authorized');
    });
  }
});
