import { Resvg } from '@resvg/resvg-js';
import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import type { CanaryChartInput, CanaryChartMetric } from '../src/charts/canary-chart-input.js';
import { canaryChartSvg, renderCanaryChart } from '../src/charts/canary-chart.js';
import { canaryChartAltText, canaryChartLines } from '../src/charts/canary-chart-text.js';
import { chartFont } from '../src/charts/font.js';
import { sparkline } from '../src/charts/sparkline.js';
import { seededRandom } from './support/random.js';

const pngSignature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const canaryOrange = [0xd9, 0x48, 0x0f];
const baselineBlue = [0x1c, 0x7e, 0xd6];
const warmupGrey = [0xe9, 0xec, 0xef];
const toleranceBlue = [0x74, 0xc0, 0xfc];
const basisYellow = [0xff, 0xf3, 0xbf];

function metric(label: string, unit: string, verdict: CanaryChartMetric['verdict'], seed: number, shift = 0): CanaryChartMetric {
  const next = seededRandom(seed);
  const around = (level: number): number[] => Array.from({ length: 30 }, () => level + next());
  return { label, unit, verdict, gating: true, canary: around(10 + shift), baseline: around(10) };
}

function window(metrics: CanaryChartMetric[], overrides: Partial<CanaryChartInput> = {}): CanaryChartInput {
  return { title: 'demo v42: canary', start: Date.UTC(2026, 11, 7, 12, 0), intervalMinutes: 1, warmupMinutes: 5, verdictMinute: 22, outcome: 'fail', metrics, ...overrides };
}

const fourMetrics = [
  metric('Error rate', '%', 'High', 1, 3),
  metric('p99 latency', 'ms', 'Pass', 2),
  { ...metric('CPU', '%', 'Inconclusive', 3), gating: false },
  metric('Requests', 'req/min', 'Low', 4, -3),
];

function image(png: Buffer) {
  const { width, height, data, channels } = decode(png);
  /** How many pixels have this colour (give or take rounding). */
  const count = ([r, g, b]: number[]): number => {
    let n = 0;
    for (let i = 0; i < data.length; i += channels) {
      if (Math.abs(data[i]! - r!) + Math.abs(data[i + 1]! - g!) + Math.abs(data[i + 2]! - b!) < 6) n++;
    }
    return n;
  };
  const dark = (): number => {
    let n = 0;
    for (let i = 0; i < data.length; i += channels) if (data[i]! + data[i + 1]! + data[i + 2]! < 200) n++;
    return n;
  };
  return { width, height, count, dark };
}

describe('The canary chart', () => {
  it('is a PNG of one panel for one metric', async () => {
    const png = await renderCanaryChart(window([metric('p99 latency', 'ms', 'Pass', 2)], { outcome: 'pass' }));
    expect(png.subarray(0, 8)).toEqual(pngSignature);
    const { width, height } = image(png);
    expect(width).toBeGreaterThan(600);
    expect(width).toBeLessThan(1400);
    expect(height).toBeGreaterThan(350);
    expect(height).toBeLessThan(900);
  });

  it('lays four metrics out two by two', async () => {
    const one = image(await renderCanaryChart(window(fourMetrics.slice(0, 1))));
    const four = image(await renderCanaryChart(window(fourMetrics)));
    expect(four.width / one.width).toBeGreaterThan(1.7);
    expect(four.width / one.width).toBeLessThan(2.3);
    expect(four.height / one.height).toBeGreaterThan(1.4);
    expect(four.height / one.height).toBeLessThan(2.3);
  });

  it("puts each metric's verdict in its panel's title, and says a shadow metric never fails", async () => {
    const svg = await canaryChartSvg(window(fourMetrics));
    expect(svg).toContain('Error rate (%): High');
    expect(svg).toContain('p99 latency (ms): Pass');
    expect(svg).toContain('CPU (%): Inconclusive · shadow, never fails');
    expect(svg).toContain('Requests (req/min): Low');
    expect(svg).toContain('Canary failed: verdict at 12:22 UTC');
  });

  it('reads wall-clock time on whole minutes of the clock, and says each point is one interval', async () => {
    const svg = await canaryChartSvg(window([metric('p99 latency', 'ms', 'Pass', 2)], { start: Date.UTC(2026, 11, 7, 12, 3, 20), intervalMinutes: 1 / 6 }));
    expect(svg).toContain('>12:05<');
    expect(svg).not.toContain('12:03:20');
    expect(svg).toContain('One point per 10-s interval');
  });

  it("draws each metric's tolerance beside its baseline, and puts the judged figures in the panel's title", async () => {
    const judged = { ...metric('p99 latency', 'ms', 'High', 2, 3), tolerance: { upper: 1.1, text: '+10 %' }, figures: 'canary 13.4 ms vs baseline 10.5 ms' };
    const svg = await canaryChartSvg(window([judged]));
    expect(svg).toContain('canary 13.4 ms vs baseline 10.5 ms · tolerance +10 %');
    const withTolerance = image(await renderCanaryChart(window([judged])));
    const without = image(await renderCanaryChart(window([{ ...judged, tolerance: undefined }])));
    expect(withTolerance.count(toleranceBlue)).toBeGreaterThan(without.count(toleranceBlue) + 500);
  });

  it('shades the minutes a verdict rests on when they are only a part of the window', async () => {
    const shifted = { ...metric('p99 latency', 'ms', 'High', 2), basis: { fromMinute: 18, toMinute: 22, label: 'since a shift (shaded)' } };
    const shaded = image(await renderCanaryChart(window([shifted])));
    const whole = image(await renderCanaryChart(window([{ ...shifted, basis: undefined }])));
    expect(shaded.count(basisYellow)).toBeGreaterThan(5_000);
    expect(whole.count(basisYellow)).toBeLessThan(100);
    expect(await canaryChartSvg(window([shifted]))).toContain('since a shift (shaded)');
  });

  it('draws the canary and the baseline in their own colours, and shades the warm-up', async () => {
    const chart = image(await renderCanaryChart(window(fourMetrics)));
    expect(chart.count(canaryOrange)).toBeGreaterThan(2000);
    expect(chart.count(baselineBlue)).toBeGreaterThan(2000);
    expect(chart.count(warmupGrey)).toBeGreaterThan(10_000);

    const noWarmup = image(await renderCanaryChart(window(fourMetrics, { warmupMinutes: 0, verdictMinute: null, outcome: 'wait' })));
    expect(noWarmup.count(warmupGrey)).toBeLessThan(100);
  });

  it('leaves gaps where an interval had no data, and draws a metric with no data at all', async () => {
    const gappy = metric('Error rate', '%', 'Inconclusive', 5);
    gappy.canary = gappy.canary.map((value, i) => (i % 3 === 0 ? null : value));
    gappy.baseline = gappy.baseline.map(() => null);
    const png = await renderCanaryChart(window([gappy], { outcome: 'wait', verdictMinute: null }));
    expect(png.subarray(0, 8)).toEqual(pngSignature);
    const withBaseline = image(await renderCanaryChart(window([metric('Error rate', '%', 'Pass', 5)])));
    // Only the legend's dot is left of the baseline.
    expect(image(png).count(baselineBlue)).toBeLessThan(withBaseline.count(baselineBlue) / 5);

    const empty = await renderCanaryChart(window([{ ...gappy, canary: [], baseline: [] }]));
    expect(empty.subarray(0, 8)).toEqual(pngSignature);
  });

  it('draws its text with the font Bakery ships, whatever fonts the machine has', async () => {
    expect(chartFont.regular).toMatch(/node_modules\/source-sans\/TTF\/SourceSans3-Regular\.ttf$/);
    const input = window(fourMetrics);
    const shipped = image(await renderCanaryChart(input));
    // The same picture with no font at all: no text. The difference is the text drawn with the shipped font.
    const fontless = new Resvg(await canaryChartSvg(input), { fitTo: { mode: 'zoom', value: 2 }, background: '#fff', font: { loadSystemFonts: false } });
    const blank = image(Buffer.from(fontless.render().asPng()));
    expect(shipped.dark()).toBeGreaterThan(blank.dark() + 5_000);
  });
});

describe('sparkline', () => {
  it('draws the lowest value as ▁, the highest as █ and a gap as a space', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7])).toBe('▁▂▃▄▅▆▇█');
    expect(sparkline([1, null, 8, Number.NaN, 1])).toBe('▁ █ ▁');
  });

  it('draws a flat series mid-height and an empty one as spaces', () => {
    expect(sparkline([3, 3, 3])).toBe('▄▄▄');
    expect(sparkline([null, null])).toBe('  ');
    expect(sparkline([])).toBe('');
  });

  it('draws canary and baseline on one scale, so the higher one looks higher', () => {
    const lines = canaryChartLines(window([{ label: 'Error rate', unit: '%', verdict: 'High', gating: true, canary: [4, 4, null, 4], baseline: [1, 1, 1, 1] }]));
    expect(lines).toEqual(['Error rate (%)  High', '  canary    ██ █  last 4', '  baseline  ▁▁▁▁  last 1']);
  });

  it('describes the picture for a screen reader', () => {
    const input = window([
      { label: 'Error rate', unit: '%', verdict: 'High', gating: true, canary: [4, 4.25], baseline: [1, null] },
      { label: 'CPU', unit: '%', verdict: 'Pass', gating: false, canary: [], baseline: [50] },
    ]);
    expect(canaryChartAltText(input)).toBe(
      'Chart of demo v42: canary: the canary failed, verdict at 12:22 UTC, minute 22. Error rate: High, last canary 4.25 % against baseline 1 %. CPU: Pass (shadow), last canary no data against baseline 50 %.',
    );
  });

  it('rounds the numbers it reads out', () => {
    const input = window([{ label: 'Error rate', unit: '%', verdict: 'High', gating: true, canary: [4.123456], baseline: [1], figures: 'canary 4.1 % vs baseline 1.0 %', tolerance: { upper: 1.5, text: '×1.5' } }], { verdictMinute: 4 / 3 });
    expect(canaryChartAltText(input)).toBe(
      'Chart of demo v42: canary: the canary failed, verdict at 12:01 UTC, minute 1. Error rate: High (canary 4.1 % vs baseline 1.0 %, tolerance ×1.5), last canary 4.12 % against baseline 1 %.',
    );
  });

  it('names a shadow metric and a series with no data', () => {
    const lines = canaryChartLines(window([{ label: 'CPU', unit: '%', verdict: 'Inconclusive', gating: false, canary: [50, 60], baseline: [null, null] }]));
    expect(lines).toEqual(['CPU (%)  Inconclusive, shadow', '  canary    ▁█  last 60', '  baseline      no data']);
  });
});
