import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
/*
 * Local mode across a restart: the terminal chat on a store that keeps the last run's request
 * marks (dynalite has no TTL), as `npm start` after Ctrl-C.
 */
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Bakery } from '../src/bakery.js';
import type { ChatHandlers } from '../src/chat/surface.js';
import { startTerminal } from '../src/chat/terminal.js';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { withSimulatorCommand } from '../src/aws/simulator/local-command.js';
import { AL2023_PARAMETER } from '../src/aws/simulator/index.js';
import { TestWorld } from './support/world.js';

/** One run of the bot in local mode: a terminal and a replica named `local`, as main.ts puts them together. */
function localRun(world: TestWorld, session?: string) {
  const input = new PassThrough();
  const output = new PassThrough();
  let printed = '';
  output.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  let bakery: Bakery | undefined;
  let handled: (() => void) | undefined;
  // As main.ts gives the terminal the simulator's `/sim` in local mode.
  const local = withSimulatorCommand({ onCommand: (command) => bakery!.handlers.onCommand(command), onButton: (press) => bakery!.handlers.onButton(press) }, world.sim);
  const handlers: ChatHandlers = {
    onCommand: async (command) => {
      try {
        return await local.onCommand(command);
      } finally {
        handled?.();
      }
    },
    onButton: async (press) => {
      try {
        return await local.onButton(press);
      } finally {
        handled?.();
      }
    },
  };
  const terminal = startTerminal({ handlers, input, output, user: { id: 'you', name: 'you' }, team: 'local', channel: 'local', banner: [], dataDir: mkdtempSync(join(tmpdir(), 'bakery-restart-')), ...(session ? { session } : {}) });
  // As local mode starts it: a workspace of its own, any channel.
  bakery = world.replica('local', { surface: terminal.surface, pollIntervalMs: 1_000, access: { workspace: 'local', channels: 'any' } });
  return {
    printed: () => printed,
    /** Types a command and waits until its handler has answered. */
    async type(line: string): Promise<void> {
      const answered = new Promise<void>((resolve) => (handled = resolve));
      input.write(`${line}\n`);
      await answered;
    },
    /** Presses the last button shown with this label, as a person types its number. */
    async press(label: string): Promise<void> {
      const shown = [...printed.matchAll(/\[(\d+)\] ([^[\n]+?)(?=\s*(?:\[|$))/gm)].filter((match) => match[2] === label);
      if (!shown.length) throw new Error(`no button "${label}" was shown`);
      await this.type(shown.at(-1)![1]!);
    },
    idle: () => bakery!.runner.idle(),
    async quit(): Promise<void> {
      input.end();
      await terminal.done;
      await bakery!.runner.stop({ handOver: true });
    },
  };
}

describe('local mode after a restart', () => {
  let world: TestWorld;
  beforeEach(async () => {
    world = await TestWorld.create();
  });
  afterEach(async () => {
    await world.close();
  });

  it('bakes on the first /bake after a restart instead of taking it for a retry of the last run', async () => {
    const first = localRun(world);
    await first.type('/bake demo v1');
    await first.idle();
    expect(first.printed()).toMatch(/Baked demo v1/);
    await first.quit();

    const restarted = localRun(world);
    await restarted.type('/bake demo v2');
    await restarted.idle();
    expect(restarted.printed()).toMatch(/Baked demo v2/);
    expect(restarted.printed()).not.toContain('Nothing was done');
    expect((await world.store.getRelease('demo', 'v2'))?.status).toBe('baked');
  });

  it('says so when a command is dropped as a repeat, rather than doing nothing in silence', async () => {
    // A run that numbers its requests as the last one did: the old bug, pinned on purpose.
    const first = localRun(world, 'same-session');
    await first.type('/bake demo v1');
    await first.idle();
    await first.quit();

    const restarted = localRun(world, 'same-session');
    await restarted.type('/bake demo v2');
    expect(restarted.printed()).toContain('(only you) ℹ Nothing was done for /bake demo v2: Bakery took it for a repeat of a request it had already handled.');
    expect(await world.store.getRelease('demo', 'v2')).toBeUndefined();
    await restarted.quit();
  });

  it('shows a stale image and rebakes it on a base published while Bakery runs, on the last run’s data', async () => {
    const first = localRun(world);
    await first.type('/bake demo v1');
    await first.idle();
    await first.quit();

    const restarted = localRun(world);
    await restarted.type('/bakery digest');
    expect(restarted.printed()).toContain('nothing is stale');
    await restarted.type('/sim publish-base');
    const published = (await (await world.sim.clients().ssm('us-east-1')).send(new GetParameterCommand({ Name: AL2023_PARAMETER }))).Parameter!.Value!;
    expect(restarted.printed()).toMatch(/\(only you\) ✓ Amazon published `al2023-ami-2023\.7\.\d+\.0-kernel-6\.1-x86_64` \(us-east-1 `ami-/);
    await restarted.type('/bakery digest');
    expect(restarted.printed()).toContain(`Image digest: 1 of 1 app stale`);
    expect(restarted.printed()).toMatch(new RegExp(`demo v1 \\(last baked\\) · baked today · a newer base is out: this one is \\d+ days behind \\(now \`${published}\` `));
    await restarted.press('Rebake demo v1');
    await restarted.idle();
    expect(restarted.printed()).toMatch(new RegExp(`Base: \`${published}\` al2023-ami-2023\\.7\\.`));
    expect((await world.store.getRelease('demo', 'v1'))?.baseAmi).toBe(published);
    await restarted.type('/bakery digest');
    expect(restarted.printed().split('Image digest').at(-1)).toContain(': nothing is stale');
    await restarted.quit();
  });
});
