import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { bakePipeline } from '../src/pipelines/bake/pipeline.js';
import { VirtualClock } from '../src/clock.js';
import { cancelAction } from '../src/pipelines/bake/messages.js';
import { bob, pressOn, tickEvery, until } from './support/lifecycle.js';
import { TestWorld } from './support/world.js';

const bakeSteps = bakePipeline({} as never).steps;

/** After any interruption, the world must look as if the bake had run once, without a hitch. */
async function expectBakedOnce(world: TestWorld, options: { ignoreUnreadable?: boolean } = {}) {
  const release = await world.store.getRelease('demo', 'v1');
  expect(release?.status).toBe('baked');
  const images = world.bakedImages();
  expect(images.filter((image) => image.region === 'us-east-1')).toHaveLength(1);
  expect(images.filter((image) => image.region === 'eu-west-1')).toHaveLength(1);
  expect(world.sim.snapshot().instances).toHaveLength(1);
  expect(world.liveInstances()).toEqual([]);
  expect(world.chat.roots).toHaveLength(1);
  expect(world.chat.roots[0]!.message.tone).toBe('succeeded');
  expect(await world.store.getLock('demo')).toBeUndefined();
  expect(await world.store.listActiveOperations(options.ignoreUnreadable ? () => undefined : undefined)).toEqual([]);
}

describe('a bake survives a restart', () => {
  let world: TestWorld;
  beforeEach(async () => {
    world = await TestWorld.create();
  });
  afterEach(async () => {
    await world.close();
  });

  for (const { name: step, title } of bakeSteps) {
    it(`resumes in the same thread after the bot is killed during ${step}`, async () => {
      const first = world.replica('replica-a', {
        onEvent: (event, self) => {
          if (event.type === 'step-started' && event.step === step) void self.runner.stop();
        },
      });
      await first.handlers.onCommand(world.command('demo v1'));
      await first.runner.idle();
      expect((await world.store.listActiveOperations()).map((op) => op.status)).toEqual(['running']);

      world.clock.advance(61_000); // the dead replica's lease runs out
      const restarted = world.replica('replica-b');
      await restarted.runner.resumeAbandoned();
      await restarted.runner.idle();

      await expectBakedOnce(world);
      expect(world.chat.threadText()).toContain(`Resumed after a restart, at *${title}*`);
    });
  }
});

describe('cleanup is never skipped', () => {
  let world: TestWorld;
  beforeEach(async () => {
    world = await TestWorld.create();
  });
  afterEach(async () => {
    await world.close();
  });

  it('keeps a failed bake open until its builder is terminated, retrying the cleanup', async () => {
    world.sim.inject({ kind: 'provision-fails' });
    world.sim.inject({ kind: 'api-error', command: 'TerminateInstances', code: 'UnauthorizedOperation', status: 403, times: 1 });
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1'));
    await bakery.runner.idle();
    expect(world.liveInstances()).toHaveLength(1);
    expect(world.chat.threadText()).toContain('Cleanup failed');
    expect(await world.store.getLock('demo')).toBeDefined();

    await bakery.runner.resumeAbandoned();
    await bakery.runner.idle();
    expect(world.liveInstances()).toEqual([]);
    expect(world.chat.roots[0]!.message.tone).toBe('failed');
    expect(await world.store.getLock('demo')).toBeUndefined();
  });

  it('resumes a cleanup cut short by a restart as cleanup, without running the steps again', async () => {
    world.sim.inject({ kind: 'smoke-fails' });
    const first = world.replica('replica-a', {
      onEvent: (event, self) => {
        if (event.type === 'cleanup-started') void self.runner.stop();
      },
    });
    await first.handlers.onCommand(world.command('demo v1'));
    await first.runner.idle();

    world.clock.advance(61_000);
    const restarted = world.replica('replica-b');
    await restarted.runner.resumeAbandoned();
    await restarted.runner.idle();
    expect(world.events.filter((e) => e.replica === 'replica-b' && e.type === 'step-started')).toEqual([]);
    expect(world.chat.threadText()).toContain('Resumed after a restart, at *the cleanup*');
    expect(world.chat.roots[0]!.message.tone).toBe('failed');
    expect(world.chat.roots[0]!.message.lines?.join('\n')).toContain('Failed at *Smoke test*');
    expect(world.liveInstances()).toEqual([]);
  });
});

describe('a damaged operation item', () => {
  it('does not stop other bakes from being resumed', async () => {
    const world = await TestWorld.create();
    try {
      const first = world.replica('replica-a', {
        onEvent: (event, self) => {
          if (event.type === 'step-started' && event.step === 'provision') void self.runner.stop();
        },
      });
      await first.handlers.onCommand(world.command('demo v1'));
      await first.runner.idle();
      await world.doc.send(new PutCommand({ TableName: world.store.tableName, Item: { pk: 'OP#op-broken', sk: 'OP', gsi1pk: 'ACTIVE', gsi1sk: '000000000000000', id: 'op-broken', status: 'running' } }));

      world.clock.advance(61_000);
      const restarted = world.replica('replica-b');
      await restarted.runner.resumeAbandoned();
      await restarted.runner.idle();
      await expectBakedOnce(world, { ignoreUnreadable: true });
    } finally {
      await world.close();
    }
  });
});

describe('a deploy of Bakery itself', () => {
  let world: TestWorld;
  beforeEach(async () => {
    world = await TestWorld.create();
  });
  afterEach(async () => {
    await world.close();
  });

  it('hands a running bake over at once when a replica is stopped gracefully', async () => {
    let stopped: Promise<void> | undefined;
    const old = world.replica('replica-old', {
      onEvent: (event, self) => {
        if (event.type === 'step-started' && event.step === 'provision') stopped = self.runner.stop({ handOver: true });
      },
    });
    await old.handlers.onCommand(world.command('demo v1'));
    await old.runner.idle();
    await stopped;

    const next = world.replica('replica-new');
    await next.runner.resumeAbandoned(); // no waiting for the old lease to lapse
    await next.runner.idle();
    await expectBakedOnce(world);
  });
});

describe('a deploy of Bakery itself, with a replica watching', () => {
  let world: TestWorld;
  beforeEach(async () => {
    world = await TestWorld.create();
  });
  afterEach(async () => {
    await world.close();
  });

  it('is taken over by the watching replica within two seconds of the old one stopping', async () => {
    let resumedAt: number | undefined;
    let stopTicking = (): void => undefined;
    const next = world.replica('replica-new', {
      watchMs: 1_000,
      onEvent: (event) => {
        if (event.type === 'resumed') resumedAt = world.clock.now();
      },
    });
    next.runner.watch();
    let stoppedAt = 0;
    const old = world.replica('replica-old', {
      onEvent: (event, self) => {
        if (event.type === 'step-started' && event.step === 'provision') {
          stopTicking = tickEvery(world, 10);
          stoppedAt = world.clock.now();
          void self.runner.stop({ handOver: true });
        }
      },
    });
    await old.handlers.onCommand(world.command('demo v1'));
    await until(world, () => resumedAt !== undefined, 10 * 60_000);
    stopTicking();
    expect(resumedAt! - stoppedAt).toBeLessThan(2_000);
    await until(world, async () => (await world.store.getLock('demo')) === undefined);
    await next.runner.idle();
    await expectBakedOnce(world);
  });
});

describe('several replicas on one table', () => {
  let world: TestWorld;
  beforeEach(async () => {
    world = await TestWorld.create();
  });
  afterEach(async () => {
    await world.close();
  });

  it('never runs one operation twice: a live lease keeps other replicas off', async () => {
    let other: ReturnType<TestWorld['replica']> | undefined;
    const owner = world.replica('replica-a', {
      onEvent: (event) => {
        if (event.type === 'step-started' && event.step === 'provision') {
          // The other replica looks at this moment; its own clock stands still while its read is in flight
          // (the shared virtual clock would race ahead of the lease while the first replica waits).
          void other!.runner.resumeAbandoned();
        }
      },
    });
    other = world.replica('replica-b', { clock: new VirtualClock(world.clock.now()) });
    await owner.handlers.onCommand(world.command('demo v1'));
    await owner.runner.idle();
    await other.runner.idle();
    await expectBakedOnce(world);
    expect(world.events.filter((e) => e.replica === 'replica-b')).toEqual([]);
  });

  it('takes over a dead replica’s bake exactly once when two replicas race for it', async () => {
    const dead = world.replica('replica-a', {
      onEvent: (event, self) => {
        if (event.type === 'step-started' && event.step === 'create-image') void self.runner.stop();
      },
    });
    await dead.handlers.onCommand(world.command('demo v1'));
    await dead.runner.idle();

    world.clock.advance(61_000);
    const b = world.replica('replica-b');
    const c = world.replica('replica-c');
    await Promise.all([b.runner.resumeAbandoned(), c.runner.resumeAbandoned()]);
    await Promise.all([b.runner.idle(), c.runner.idle()]);

    await expectBakedOnce(world);
    const finishers = world.events.filter((e) => e.type === 'finished').map((e) => e.replica);
    expect(finishers).toHaveLength(1);
  });

  it('lets a replica cancel a bake another replica is running', async () => {
    let other: ReturnType<TestWorld['replica']> | undefined;
    const owner = world.replica('replica-a', {
      onEvent: (event) => {
        if (event.type === 'step-started' && event.step === 'provision') {
          void other!.handlers.onButton(pressOn(world.chat.roots[0]!.message, cancelAction, bob, 'press-1'));
        }
      },
    });
    other = world.replica('replica-b');
    await owner.handlers.onCommand(world.command('demo v1'));
    await owner.runner.idle();
    expect(world.chat.roots[0]!.message.tone).toBe('cancelled');
    expect(world.liveInstances()).toEqual([]);
    expect(world.bakedImages()).toEqual([]);
  });
});
