import { describe, expect, it } from 'vitest';
import { judgeWindow } from '../src/judge/judge.js';
import { effectiveMinutes, lagOneAutocorrelation, meanVarianceFactor } from '../src/judge/dependence.js';
import type { MetricConfigInput, Verdict, WindowInput } from '../src/judge/judge.js';
import { seededRandom } from './support/random.js';

// The judge on metrics as real fleets produce them: short windows, visible regressions
// that are not yet significant, minutes that move together, offsets within the tolerance
// and missing datapoints.

const errors: MetricConfigInput = { name: 'errors', label: '5xx rate', kind: 'count', requests: 'requests', unit: 'errors', tolerance: 'x1.5', critical: 'x5' };
const latency: MetricConfigInput = { name: 'latency', label: 'p99 latency', kind: 'gauge', unit: 'ms', tolerance: '+10%', critical: '+200%' };

/** The local demo's canary (config/apps.example.yml): 10-second periods, a 30-second warm-up, `--for` sets the plan. */
function demo(durationMinutes: number) {
  return { durationMinutes, warmupMinutes: 0.5, recentMinutes: Math.max(1 / 3, Math.min(10, durationMinutes / 3)), confidence: 0.99, metrics: [errors, latency] };
}
// The stage extends a canary the judge still waits on by at most this (the demo's maxExtension).
const DEMO_EXTENSION_MINUTES = 1;

function normal(next: () => number): number {
  return Math.sqrt(-2 * Math.log(Math.max(next(), 1e-12))) * Math.cos(2 * Math.PI * next());
}

function poisson(next: () => number, mean: number): number {
  const limit = Math.exp(-mean);
  let k = 0;
  let p = next();
  while (p > limit) {
    k++;
    p *= next();
  }
  return k;
}

/** The demo fleet's periods: three live instances beside one canary, 0.4 % errors, p99 about 130 ms. */
function demoWindow(periods: number, shape: { seed?: number; errorsX?: number; latencySpread?: number } = {}): WindowInput {
  const next = seededRandom(shape.seed ?? 1);
  const spread = shape.latencySpread ?? 0.03;
  const baseline = { requests: [] as number[], errors: [] as number[], latency: [] as number[] };
  const canary = { requests: [] as number[], errors: [] as number[], latency: [] as number[] };
  for (let t = 0; t < periods; t++) {
    const b = 350;
    const c = 120;
    baseline.requests.push(b);
    canary.requests.push(c);
    baseline.errors.push(poisson(next, b * 0.004));
    canary.errors.push(poisson(next, c * 0.004 * (shape.errorsX ?? 1)));
    const shared = 130 * Math.exp(spread * normal(next));
    baseline.latency.push(shared);
    canary.latency.push(shared * Math.exp(spread * normal(next)));
  }
  return { intervalMinutes: 1 / 6, baseline, canary };
}

function prefix(data: WindowInput, periods: number): WindowInput {
  const cut = (g: Record<string, (number | null)[]>) => Object.fromEntries(Object.entries(g).map(([k, v]) => [k, v.slice(0, periods)]));
  return { intervalMinutes: data.intervalMinutes ?? 1, baseline: cut(data.baseline), canary: cut(data.canary) };
}

/** The stage's protocol: a look every period; a fail stops; a pass at the plan's end or after is final; a wait extends. */
function stage(data: WindowInput, cfg: ReturnType<typeof demo>): { looks: Verdict[]; atPlanEnd: Verdict; last: Verdict } {
  const step = data.intervalMinutes ?? 1;
  const planned = Math.round(cfg.durationMinutes / step);
  const cap = planned + Math.round(DEMO_EXTENSION_MINUTES / step);
  const looks: Verdict[] = [];
  for (let t = 1; t <= cap; t++) {
    const verdict = judgeWindow(prefix(data, t), cfg);
    looks.push(verdict);
    if (verdict.outcome === 'fail' || (verdict.outcome === 'pass' && t >= planned)) break;
  }
  return { looks, atPlanEnd: looks[planned - 1] ?? looks[looks.length - 1]!, last: looks[looks.length - 1]! };
}

function metric(verdict: Verdict, name: string) {
  const found = verdict.metrics.find((m) => m.metric === name);
  if (!found) throw new Error(`no verdict for ${name}`);
  return found;
}

describe('canary judge on short windows', () => {
  it("says it has too little data on the demo's one-minute canary, and how many periods it needs, instead of failing it", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      for (const latencySpread of [0.001, 0.03, 0.1]) {
        const run = stage(demoWindow(12, { seed, latencySpread }), demo(1));
        expect(run.looks.map((v) => v.outcome)).not.toContain('fail');
        const p99 = metric(run.atPlanEnd, 'latency');
        expect(p99.verdict).toBe('Inconclusive');
        expect(p99.reason).toBe('too-little-data');
        expect(p99.explanation).toMatch(/Inconclusive: too little data, 3 periods with data, 5 needed; ~20 more seconds/);
        expect(run.atPlanEnd.summary).toMatch(/p99 latency: too little data/);
      }
    }
  });
});

describe('canary judge on a visible regression that is not yet significant', () => {
  it("does not pass the demo's 5xx rate at ×1.9: Inconclusive leaning High, and the canary extends", () => {
    const run = stage(demoWindow(24, { seed: 11, errorsX: 1.9 }), demo(3));
    const planEnd = run.atPlanEnd;
    const rate = metric(planEnd, 'errors');
    expect(rate.ratio).toBeGreaterThan(1.5);
    expect(rate.verdict).toBe('Inconclusive');
    expect(rate.reason).toBe('leaning');
    expect(rate.explanation).toMatch(/Inconclusive, leaning High: ×1\.\d+ is beyond the ×1\.5 tolerance, not yet shown at 99 % confidence \(p = 0\.\d+, a verdict needs p < /);
    expect(planEnd.outcome).toBe('wait');
    expect(planEnd.summary).toMatch(/^inconclusive: ~.* \(5xx rate: leaning High\)$/);
    // Extended to its cap, it never turns into a silent pass: the stage then asks a person.
    expect(run.looks.slice(17).map((v) => v.outcome)).not.toContain('pass');
  });
});

describe('canary judge on minutes that move together', () => {
  const gauge = { durationMinutes: 30, warmupMinutes: 5, recentMinutes: 10, confidence: 0.99, metrics: [{ name: 'latency', kind: 'gauge', unit: 'ms', tolerance: '+10%' }] };

  /** A canary exactly at the +10 % tolerance whose own noise lingers: AR(1), ρ = 0.8, under shared drift. */
  function lingering(seed: number): WindowInput {
    const next = seededRandom(seed);
    const baseline: number[] = [];
    const canary: number[] = [];
    let noise = normal(next) / 0.6;
    for (let t = 0; t < 30; t++) {
      const drift = 200 * (1 + 0.2 * Math.sin(t / 5));
      noise = 0.8 * noise + normal(next);
      baseline.push(Math.round(drift * Math.exp(0.02 * normal(next)) * 10) / 10);
      canary.push(Math.round(drift * 1.1 * Math.exp(0.04 * noise) * 10) / 10);
    }
    return { intervalMinutes: 1, baseline: { latency: baseline }, canary: { latency: canary } };
  }

  it('does not count 25 minutes that move together as 25 independent ones, and says so', () => {
    // A slow stretch at the tolerance: the rank tests, counting minutes as independent, failed it at minute 24.
    const data = lingering(8);
    const looks = Array.from({ length: 30 }, (_, t) => judgeWindow(prefix(data, t + 1), gauge));
    expect(looks.map((v) => v.outcome)).not.toContain('fail');
    const end = metric(looks[29]!, 'latency');
    expect(end.verdict).toBe('Inconclusive');
    expect(end.effectiveIntervals).toBeLessThan(10);
    expect(end.explanation).toMatch(/25 vs 25 minutes; minutes move together here, so 25 minutes count as about \d\): Inconclusive, leaning High/);
  });

  it('computes the variance of a mean of AR(1) minutes exactly, and estimates their autocorrelation without its small-sample bias', () => {
    expect(meanVarianceFactor(2, 0.5)).toBeCloseTo(1.5, 12);
    expect(meanVarianceFactor(3, 0.5)).toBeCloseTo(1 + 2 * ((2 / 3) * 0.5 + (1 / 3) * 0.25), 12);
    expect(meanVarianceFactor(30, 0)).toBe(1);
    // Long windows: the effective sample size tends to m(1 − ρ)/(1 + ρ).
    expect(effectiveMinutes(10_000, 0.5) / (10_000 / 3)).toBeCloseTo(1, 2);
    // 2,000 windows of 40 minutes at ρ = 0.6: the plain lag-1 estimate averages about 0.54, the corrected one 0.6.
    const next = seededRandom(5);
    let sum = 0;
    for (let k = 0; k < 2_000; k++) {
      let x = normal(next) / 0.8;
      const values = Array.from({ length: 40 }, () => (x = 0.6 * x + normal(next)));
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      sum += lagOneAutocorrelation(values.map((v) => v - mean));
    }
    expect(sum / 2_000).toBeCloseTo(0.6, 1);
    // Too few minutes to estimate from: taken as independent.
    expect(lagOneAutocorrelation([0.1, -0.1, 0.2, 0.1, -0.2])).toBe(0);
  });
});
