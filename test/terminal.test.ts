import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bakery } from '../src/bakery.js';
import type { ButtonPress, ChatHandlers, SlashCommand } from '../src/chat/surface.js';
import { mrkdwnToText, startTerminal } from '../src/chat/terminal.js';
import { parseAppsFile } from '../src/config/apps.js';
import type { ChatMessage } from '../src/message.js';
import { until } from './support/lifecycle.js';
import { Screen } from './support/screen.js';
import { TestWorld } from './support/world.js';

/** A terminal chat on a pipe, or on `screen` as a TTY. */
function terminal(handlers: Partial<ChatHandlers> = {}, screen?: Screen) {
  const dataDir = mkdtempSync(join(tmpdir(), 'bakery-terminal-'));
  const input = new PassThrough();
  const output = screen?.output ?? new PassThrough();
  let printed = '';
  output.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  const commands: SlashCommand[] = [];
  const presses: ButtonPress[] = [];
  const chat = startTerminal({
    input,
    output,
    user: { id: 'local', name: 'you' },
    team: 'local',
    channel: 'local',
    banner: ['Bakery, local mode. Try: */bake demo v1*'],
    dataDir,
    handlers: {
      onCommand: handlers.onCommand ?? (async (command) => (commands.push(command), undefined)),
      onButton: handlers.onButton ?? (async (press) => (presses.push(press), undefined)),
    },
  });
  const type = async (line: string): Promise<void> => {
    input.write(`${line}\n`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  };
  return { ...chat, input, type, commands, presses, dataDir, printed: () => printed };
}

describe('Terminal chat', () => {
  it('prints an updated message again in full, once per change, and its Cancel keeps its number', async () => {
    const t = terminal();
    const cancel = { actionId: 'bake.cancel', label: 'Cancel', value: 'op-1' };
    const root = await t.surface.post('local', { text: 'Bake demo v1', lines: ['starting'], tone: 'running', buttons: [cancel] });
    const step3: ChatMessage = { text: 'Bake demo v1', lines: ['Launch builder (step 3 of 10)', 'Operation op-1'], tone: 'running', buttons: [cancel] };
    await t.surface.update(root, step3);
    await t.surface.update(root, step3);
    const shown = '#1 updated: ⏳ Bake demo v1\n    Launch builder (step 3 of 10)\n    Operation op-1\n    [1] Cancel\n';
    expect(t.printed().split(shown)).toHaveLength(2);
    await t.type('1');
    expect(t.presses).toMatchObject([{ actionId: 'bake.cancel', value: 'op-1' }]);
    await t.surface.update(root, { text: 'Bake demo v1', lines: ['Baked', 'Operation op-1'], tone: 'succeeded' });
    expect(t.printed()).toContain('#1 updated: ✓ Bake demo v1\n    Baked\n    Operation op-1\n');
    t.input.end();
    await t.done;
  });

  describe('on a TTY', () => {
    const table = (minute: number): ChatMessage => ({
      text: `*Canary demo v1* · minute ${minute} of 3 · *WAIT*`,
      lines: ['```', 'metric    verdict       canary  baseline', `5xx rate  Inconclusive  ${minute} %     0.5 %`, '```'],
      tone: 'running',
    });
    const root = (status: string): ChatMessage => ({ text: '*Release demo v1* · baked ✓ → *canary*', lines: [status], context: ['Operation `op-1`'], tone: 'running' });

    it('keeps a canary’s root and verdict table current in place, what came after them below', async () => {
      const screen = new Screen(24);
      const t = terminal({}, screen);
      const ref = await t.surface.post('local', root('⏳ Judge the canary · minute 1 of 3'));
      const verdict = await t.surface.reply(ref, table(1));
      await t.surface.reply(ref, { text: 'Resumed after a restart', tone: 'info' });
      await t.type('help');
      for (const minute of [1.5, 2, 2.5]) {
        await t.surface.update(verdict, table(minute));
        await t.surface.update(ref, root(`⏳ Judge the canary · minute ${minute} of 3`));
      }
      expect(screen.text()).toBe(
        [
          'Bakery, local mode. Try: /bake demo v1',
          '#1 ⏳ Release demo v1 · baked ✓ → canary',
          '    ⏳ Judge the canary · minute 2.5 of 3',
          '    Operation `op-1`',
          '  #1 ↳ ⏳ Canary demo v1 · minute 2.5 of 3 · WAIT',
          '        ```',
          '        metric    verdict       canary  baseline',
          '        5xx rate  Inconclusive  2.5 %     0.5 %',
          '        ```',
          '  #1 ↳ ℹ Resumed after a restart',
          '> help',
          'Type a slash command (/bake help, /bakery help), a button number (1 or press 1), or quit.',
          '>',
        ].join('\n'),
      );
      t.input.end();
      await t.done;
    });

    it('redraws in place above lines that wrap, an emoji taking two columns', async () => {
      // 121 columns: the reply below is 122 wide with its ⏳, so it takes two rows.
      const screen = new Screen(24, 121);
      const t = terminal({}, screen);
      const ref = await t.surface.post('local', root('⏳ minute 1'));
      const healthy = '✓ Wait for the canary to be healthy (8s) — i-0ebba3db52b8d2c09, i-0c1d2e3f4a5b6c7d8, i-09a8b7c6d5e4f3a2b healthy';
      await t.surface.reply(ref, { text: healthy, tone: 'running' });
      for (const minute of [2, 3]) await t.surface.update(ref, root(`⏳ minute ${minute}`));
      const lines = screen.text().split('\n');
      expect(lines.slice(1)).toEqual(['#1 ⏳ Release demo v1 · baked ✓ → canary', '    ⏳ minute 3', '    Operation `op-1`', `  #1 ↳ ⏳ ${healthy.slice(0, -1)}`, 'y', '>']);
      t.input.end();
      await t.done;
    });

    it('prints an updated message again in full once it has scrolled away, and redraws that one after', async () => {
      const screen = new Screen(8);
      const t = terminal({}, screen);
      const ref = await t.surface.post('local', root('⏳ Judge the canary · minute 1 of 3'));
      const verdict = await t.surface.reply(ref, table(1));
      for (const step of ['one', 'two', 'three']) await t.surface.reply(ref, { text: `✓ Step ${step}`, tone: 'info' });
      await t.surface.update(verdict, table(2));
      await t.surface.update(verdict, table(3));
      const lines = screen.text().split('\n');
      expect(lines.filter((line) => line.includes('Canary demo v1'))).toEqual(['  #1 ↳ ⏳ Canary demo v1 · minute 1 of 3 · WAIT', '  #1 ↳ updated: ⏳ Canary demo v1 · minute 3 of 3 · WAIT']);
      expect(lines.slice(-6)).toEqual([
        '  #1 ↳ updated: ⏳ Canary demo v1 · minute 3 of 3 · WAIT',
        '        ```',
        '        metric    verdict       canary  baseline',
        '        5xx rate  Inconclusive  3 %     0.5 %',
        '        ```',
        '>',
      ]);
      t.input.end();
      await t.done;
    });
  });

  it('gives a message from before a restart a short id, and makes its buttons pressable again', async () => {
    const t = terminal();
    await t.surface.update({ channel: 'local', ts: '1795453746.000001' }, {
      text: 'Baking *demo v1*',
      tone: 'running',
      buttons: [{ actionId: 'bake.cancel', label: 'Cancel', value: 'op-1' }],
    });
    expect(t.printed()).toMatch(/#1 updated: ⏳ Baking demo v1\n\s+\[1\] Cancel/);
    await t.type('1');
    expect(t.presses).toMatchObject([{ actionId: 'bake.cancel', value: 'op-1' }]);
    t.input.end();
    await t.done;
  });

  it('prints the banner and hands /bake demo v1 to onCommand', async () => {
    const t = terminal();
    await t.type('/bake demo v1');
    expect(t.printed()).toContain('Bakery, local mode. Try: /bake demo v1');
    expect(t.commands).toEqual([
      { command: '/bake', text: 'demo v1', user: { id: 'local', name: 'you' }, team: 'local', channel: 'local', requestId: expect.any(String) },
    ]);
    t.input.end();
    await t.done;
  });

  it('numbers buttons and presses one by its number; an updated message loses its old buttons', async () => {
    const t = terminal();
    const root = await t.surface.post('local', {
      text: 'Baking *demo v1*',
      tone: 'running',
      buttons: [{ actionId: 'bake.cancel', label: 'Cancel', value: 'op-1', style: 'danger' }],
    });
    await t.surface.reply(root, { text: 'resolve base: 2s', tone: 'succeeded' });
    expect(t.printed()).toMatch(/#1 ⏳ Baking demo v1\n\s+\[1\] Cancel/);
    expect(t.printed()).toMatch(/#1 ↳ ✓ resolve base: 2s/);

    await t.type('1');
    expect(t.presses).toMatchObject([{ actionId: 'bake.cancel', value: 'op-1', channel: 'local' }]);

    await t.surface.update(root, { text: 'demo v1 failed at *provision*', tone: 'failed' });
    expect(t.printed()).toContain('#1 updated: ✗ demo v1 failed at provision');
    await t.type('press 1');
    expect(t.presses).toHaveLength(1);
    expect(t.printed()).toMatch(/Button \[1\] is no longer available/);
    t.input.end();
    await t.done;
  });

  it('shows ephemeral answers as (only you), and a hint for help or unknown input', async () => {
    const t = terminal({ onCommand: async () => ({ text: 'Usage: `/bake <app> <version>`', lines: ['unknown app: nope'] }) });
    await t.type('/bake nope v1');
    expect(t.printed()).toContain('(only you) Usage: `/bake <app> <version>`\n           unknown app: nope');
    await t.type('help');
    await t.type('what now');
    expect(t.printed()).toContain('Unknown input: what now');
    expect(t.printed().match(/Type a slash command/g)).toHaveLength(2);
    await t.type('quit');
    await t.done;
  });

  it('reports a failing handler instead of crashing', async () => {
    const t = terminal({ onCommand: async () => Promise.reject(new Error('store unavailable')) });
    await t.type('/bake demo v1');
    expect(t.printed()).toContain('(only you) ✗ Something went wrong: store unavailable');
    t.input.end();
    await t.done;
  });

  it("prints a chart's sparklines in its thread and saves the picture in the data folder, saying where", async () => {
    const t = terminal();
    const root = await t.surface.post('local', { text: 'Canary demo v42', tone: 'running' });
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    const fallback = ['Error rate (%)  High', '  canary    ▁▃▅█ █  last 4', '  baseline  ▁▁▁▁▁▁  last 1'];
    await t.surface.upload(root, { filename: 'canary-demo-v42.png', title: 'Canary window of demo v42', altText: 'chart', png, fallback });

    const saved = join(t.dataDir, 'charts', 'canary-demo-v42.png');
    expect(readFileSync(saved)).toEqual(png);
    expect(t.printed()).toContain(
      ['#1 ↳ Canary window of demo v42', ...fallback.map((line) => `        ${line}`), `        Chart saved: ${saved}`].join('\n'),
    );
    t.input.end();
    await t.done;
  });

  it("keeps a chart's file inside the data folder whatever its name", async () => {
    const t = terminal();
    const root = await t.surface.post('local', { text: 'Canary' });
    const png = Buffer.from('png');
    for (const filename of ['../../escape.png', '.hidden', 'demo v1/../../x*y.png', '']) {
      await t.surface.upload(root, { filename, title: 'chart', altText: 'chart', png, fallback: [] });
    }
    expect(readdirSync(join(t.dataDir, 'charts')).sort()).toEqual(['chart.png', 'demo-v1-x-y.png', 'escape.png', 'hidden.png']);
    expect(readdirSync(t.dataDir)).toEqual(['charts']);
    t.input.end();
    await t.done;
  });

  it('prints the Home, and its buttons press from no channel, as in Slack’s Home tab', async () => {
    const t = terminal();
    await t.surface.publishHome({ id: 'local', name: 'you' }, {
      title: 'Bakery · 1 of 2 apps stale',
      sections: [{ text: '*demo* · v1 (last baked) · 40 days old', lines: ['• too old'], buttons: [{ actionId: 'digest.rebake', label: 'Rebake demo v1', value: 'demo:v1:force' }] }, { text: 'Fresh: api v3 (2 days old)' }],
    });
    expect(t.printed()).toContain('── Bakery · 1 of 2 apps stale ──\n  demo · v1 (last baked) · 40 days old\n    • too old\n    [1] Rebake demo v1\n  Fresh: api v3 (2 days old)\n');
    await t.type('1');
    expect(t.presses).toMatchObject([{ actionId: 'digest.rebake', value: 'demo:v1:force', channel: '' }]);
    t.input.end();
    await t.done;
  });

  it('renders Slack mrkdwn as readable text', () => {
    expect(mrkdwnToText('See <https://example.com/ami|the AMI> by <@U123> in <#C1|releases> &amp; <https://x.io>', false)).toBe(
      'See the AMI (https://example.com/ami) by @U123 in #releases & https://x.io',
    );
    expect(mrkdwnToText('*bold*', true)).toBe('\x1b[1mbold\x1b[22m');
    expect(mrkdwnToText('log: \x1b[31mred\x1b[0m', false)).toBe('log: [31mred[0m');
  });

  it('names the person at the terminal by one display name, however a message mentions them', async () => {
    const t = terminal();
    await t.surface.post('local', { text: '*Bake demo v1*', lines: ['✗ Cancelled by <@local> after 12s'], context: ['asked by <@local>', 'Operation `op-1`'], tone: 'cancelled' });
    expect(t.printed()).toContain('✗ Cancelled by @you after 12s');
    expect(t.printed()).toContain('asked by @you · Operation `op-1`');
    expect(t.printed()).not.toContain('@local');
    t.input.end();
    await t.done;
  });
});

describe('a canary in the terminal', () => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  it('shows the whole verdict table, as of the minute the root names, at every look of the window', async () => {
    // The local demo's app: a 3-minute window judged every 10 seconds.
    const { demo } = parseAppsFile('config/apps.example.yml', readFileSync('config/apps.example.yml', 'utf8'));
    world = await TestWorld.create({ demo: demo! });
    world.sim.seedFleet({ region: 'us-east-1', app: 'demo' });
    let bakery: Bakery | undefined;
    const t = terminal({ onCommand: (command) => bakery!.handlers.onCommand(command), onButton: (press) => bakery!.handlers.onButton(press) });
    bakery = world.replica('local', { surface: t.surface, access: { workspace: 'local', channels: 'any' } });
    await t.type('/bake demo v1');
    await until(world, async () => (await world.store.getRelease('demo', 'v1')) !== undefined && (await world.store.getLock('demo')) === undefined);
    await t.type('/canary demo v1');
    await until(world, () => t.printed().includes('Canary demo v1: the window'));

    // What was printed, message by message: each starts with its id (#1, or #1 ↳ for a reply).
    const blocks = t.printed().split(/\n(?=#| {2}#)/);
    const looks = blocks.flatMap((block, at) => {
      // "1 min 30 s of 3 minutes": where the window is, as the verdict lines say it.
      const minute = /Judge the canary · (\d+ min \d+ s|\d+ minutes?|\d+ seconds?) of 3 minutes,/.exec(block)?.[1];
      return minute === undefined ? [] : [{ minute, table: blocks.slice(0, at).findLast((b) => b.includes('Canary demo v1 · ')) }];
    });
    expect(looks.length).toBeGreaterThanOrEqual(5);
    for (const { minute, table } of looks) {
      expect(table).toContain(`Canary demo v1 · ${minute} of 3 minutes`);
      expect(table).toMatch(/metric +verdict +canary +baseline\n +5xx rate .+\n +p99 latency /);
    }
    t.input.end();
    await t.done;
  });
});
