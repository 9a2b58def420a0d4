import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../scripts/judge.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  return { code, out, err };
}

function tempFile(name: string, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'bakery-judge-'));
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}

describe('judge replay (npm run judge)', () => {
  it.each([
    ['examples/good-release.json', 'PASS'],
    ['examples/warmup-passes.json', 'PASS'],
    ['examples/lone-spike-passes.json', 'PASS'],
    ['examples/three-lone-spikes-pass.json', 'PASS'],
    ['examples/latency-regression.json', 'FAIL'],
    ['examples/zero-baseline-errors.json', 'FAIL'],
    ['examples/mid-window-regression.json', 'FAIL'],
    ['examples/too-little-data.json', 'WAIT'],
  ])('prints the verdict table for %s (%s)', async (file, outcome) => {
    const { code, out } = await run(file);
    expect(code).toBe(0);
    expect(out.split('\n')[1]).toMatch(new RegExp(`^${outcome}  `));
    expect(out).toMatch(/metric +verdict +canary +baseline +ratio/);
    expect(out).toMatch(/^• /m);
  });

  it('names the lone spikes it set aside, and shows the figures without them', async () => {
    const { out } = await run('examples/three-lone-spikes-pass.json');
    expect(out).toMatch(/5xx rate 0\.11 % vs 0\.12 % \(×0\.92, .*\): Pass, within the ×1\.5 tolerance with minutes 6, 13 and 24 set aside as lone spikes/);
  });

  it('stops where the canary stage would have: at the first failing minute', async () => {
    const { out } = await run('examples/zero-baseline-errors.json');
    expect(out).toMatch(/fail at minute \d+: 5xx rate High/);
    expect(out).not.toMatch(/minute 30 of 30/);
  });

  it('prints the verdict as data with --json', async () => {
    const { code, out } = await run('examples/latency-regression.json', '--json');
    expect(code).toBe(0);
    const data = JSON.parse(out) as { name: string; outcome: string; metrics: Array<{ metric: string; verdict: string }> };
    expect(data.outcome).toBe('fail');
    expect(data.metrics.find((m) => m.metric === 'latency_p99')?.verdict).toBe('High');
  });

  it('accepts an array of windows', async () => {
    const windows = ['good-release', 'latency-regression'].map((n) => JSON.parse(readFileSync(`examples/${n}.json`, 'utf8')) as unknown);
    const file = tempFile('two.json', JSON.stringify(windows));
    const json = JSON.parse((await run(file, '--json')).out) as Array<{ outcome: string }>;
    expect(json.map((w) => w.outcome)).toEqual(['pass', 'fail']);
    const { out } = await run(file);
    expect(out).toMatch(/checkout-api 2\.15\.0[\s\S]*checkout-api 2\.16\.0/);
  });

  it('answers a missing file with a message and exit code 2', async () => {
    const { code, err, out } = await run('examples/nope.json');
    expect(code).toBe(2);
    expect(err).toBe('cannot read examples/nope.json: no such file\n');
    expect(out).toBe('');
  });

  it('answers a file that is not JSON with exit code 2', async () => {
    const { code, err } = await run(tempFile('bad.json', '{ "name": '));
    expect(code).toBe(2);
    expect(err).toMatch(/is not valid JSON/);
  });

  it('answers a malformed window naming the window, the metric and the field', async () => {
    const recorded = JSON.parse(readFileSync('examples/good-release.json', 'utf8')) as { metrics: Array<Record<string, unknown>> };
    recorded.metrics[1] = { ...recorded.metrics[1], tolerance: 'x0.5' };
    const { code, err } = await run(tempFile('bad-window.json', JSON.stringify(recorded)));
    expect(code).toBe(2);
    expect(err).toBe(
      'cannot judge window "checkout-api 2.15.0 (good release)":\n  - metric latency_p99, field tolerance: a ratio must be greater than 1 (got "x0.5")\n',
    );
    expect(err).not.toMatch(/at .*\.ts:\d+/);
  });

  it('explains its usage when called without a file', async () => {
    const { code, err } = await run();
    expect(code).toBe(2);
    expect(err).toMatch(/usage: npm run judge -- <window\.json> \[--json\]/);
  });
});
