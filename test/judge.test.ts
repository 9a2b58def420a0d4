import { describe, expect, it } from 'vitest';
import { judgeWindow, JudgeInputError, parseConfig, judgeParsed } from '../src/judge/judge.js';
import {
  capLoneSpikes,
  changePointScan,
  groupSequentialLevels,
  lookLevel,
  signCusum,
  signCusumExtension,
  signCusumP,
  signCusumThreshold,
  spendingLevels,
} from '../src/judge/sequential.js';
import { normalUpper, pairedTGreater, signedRankGreater, studentTUpper } from '../src/judge/stats.js';
import { FIRST_LOOKS, firstMinutesLevels } from '../src/judge/tests/first-minutes.js';
import { shiftLooks } from '../src/judge/tests/since-shift.js';
import type { MetricConfigInput, Verdict, WindowInput } from '../src/judge/judge.js';
import { seededRandom } from './support/random.js';

// ---------------------------------------------------------------------------
// Small, seeded window builders: every test's data is reproducible.

function normal(next: () => number): number {
  return Math.sqrt(-2 * Math.log(Math.max(next(), 1e-12))) * Math.cos(2 * Math.PI * next());
}

function poisson(next: () => number, mean: number): number {
  if (mean > 60) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal(next)));
  const limit = Math.exp(-mean);
  let k = 0;
  let p = next();
  while (p > limit) {
    k++;
    p *= next();
  }
  return k;
}

const errors: MetricConfigInput = { name: 'http_5xx', label: '5xx rate', kind: 'count', requests: 'requests', unit: 'errors', tolerance: 'x1.5' };
const latency: MetricConfigInput = { name: 'latency_p99', label: 'p99 latency', kind: 'gauge', unit: 'ms', tolerance: '+10%' };

interface Shape {
  minutes?: number;
  seed?: number;
  /** Baseline error rate per request. */
  errorRate?: number;
  /** Canary error rate multiplier at minute t (0-based). */
  errorFactor?: (t: number) => number;
  /** Extra canary error rate at minute t, on top of the baseline's. */
  extraErrors?: (t: number) => number;
  /** Canary latency multiplier at minute t. */
  latencyFactor?: (t: number) => number;
  canaryRequests?: number;
}

function window(shape: Shape = {}): WindowInput {
  const next = seededRandom(shape.seed ?? 1);
  const minutes = shape.minutes ?? 30;
  const rate = shape.errorRate ?? 0.002;
  const canaryRequests = shape.canaryRequests ?? 2_000;
  const baseline = { requests: [] as number[], http_5xx: [] as number[], latency_p99: [] as number[] };
  const canary = { requests: [] as number[], http_5xx: [] as number[], latency_p99: [] as number[] };
  for (let t = 0; t < minutes; t++) {
    const drift = 1 + 0.1 * Math.sin(t / 4); // shared by both groups
    const bRequests = poisson(next, 10 * canaryRequests * drift);
    const cRequests = poisson(next, canaryRequests * drift);
    baseline.requests.push(bRequests);
    canary.requests.push(cRequests);
    baseline.http_5xx.push(poisson(next, bRequests * rate));
    canary.http_5xx.push(poisson(next, cRequests * (rate * (shape.errorFactor?.(t) ?? 1) + (shape.extraErrors?.(t) ?? 0))));
    const base = 200 * drift;
    baseline.latency_p99.push(Math.round(base * Math.exp(0.03 * normal(next)) * 10) / 10);
    canary.latency_p99.push(Math.round(base * (shape.latencyFactor?.(t) ?? 1) * Math.exp(0.05 * normal(next)) * 10) / 10);
  }
  return { intervalMinutes: 1, baseline, canary };
}

function config(metrics: MetricConfigInput[], extra: Record<string, unknown> = {}) {
  return { durationMinutes: 30, warmupMinutes: 3, recentMinutes: 10, confidence: 0.99, metrics, ...extra };
}

/** Judge as the canary stage does: after every minute; the first fail, else the last verdict. */
function judgeEveryMinute(data: WindowInput, cfg: unknown): Verdict {
  const minutes = Object.values(data.canary)[0]?.length ?? 0;
  let last: Verdict | undefined;
  for (let t = 1; t <= minutes; t++) {
    last = judgeWindow(prefix(data, t), cfg);
    if (last.outcome === 'fail') return last;
  }
  if (!last) throw new Error('empty window');
  return last;
}

function prefix(data: WindowInput, minutes: number): WindowInput {
  const cut = (g: Record<string, (number | null)[]>) => Object.fromEntries(Object.entries(g).map(([k, v]) => [k, v.slice(0, minutes)]));
  return { intervalMinutes: data.intervalMinutes ?? 1, baseline: cut(data.baseline), canary: cut(data.canary) };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function metric(verdict: Verdict, name: string) {
  const found = verdict.metrics.find((m) => m.metric === name);
  if (!found) throw new Error(`no verdict for ${name}`);
  return found;
}

// ---------------------------------------------------------------------------

describe('canary judge', () => {
  describe('count metrics (events over requests, judged on the window totals)', () => {
    it('passes a canary whose error rate matches the baseline', () => {
      const verdict = judgeWindow(window(), config([errors]));
      expect(verdict.outcome).toBe('pass');
      expect(metric(verdict, 'http_5xx').verdict).toBe('Pass');
      expect(metric(verdict, 'http_5xx').explanation).toMatch(/^5xx rate .* vs .* errors over .* requests\): Pass/);
    });

    it('fails a canary with three times the errors, with the figures a person compares', () => {
      const verdict = judgeEveryMinute(window({ errorFactor: () => 3 }), config([errors]));
      const m = metric(verdict, 'http_5xx');
      expect(verdict.outcome).toBe('fail');
      expect(m.verdict).toBe('High');
      expect(m.canary).toMatchObject({ kind: 'count' });
      expect(m.ratio).toBeGreaterThan(2);
      expect(m.test.name).toBe('exact rate ratio');
      expect(m.test.p).toBeLessThan(m.test.level);
      expect(m.explanation).toMatch(/High, beyond the ×1\.5 tolerance at 99 % confidence/);
      expect(verdict.minute).toBeLessThan(10);
    });

    it('fails a release that turns 0 errors into some errors', () => {
      const verdict = judgeEveryMinute(window({ errorRate: 0, extraErrors: () => 0.002 }), config([errors]));
      const m = metric(verdict, 'http_5xx');
      expect(verdict.outcome).toBe('fail');
      expect(m.verdict).toBe('High');
      expect(m.reason).toBe('zero-baseline');
      expect(m.baseline).toMatchObject({ events: 0 });
      expect(m.explanation).toMatch(/0 vs some/);
    });

    it('passes an app that never errors in either group', () => {
      const verdict = judgeWindow(window({ errorRate: 0 }), config([errors]));
      expect(verdict.outcome).toBe('pass');
      expect(metric(verdict, 'http_5xx').ratio).toBeNull();
    });

    it('does not fail a single stray canary error when the baseline had none', () => {
      const data = window({ errorRate: 0 });
      data.canary['http_5xx']![12] = 1;
      expect(judgeEveryMinute(data, config([errors])).outcome).toBe('pass');
    });

    it('says Low when a metric whose bad direction is down drops beyond tolerance', () => {
      const orders: MetricConfigInput = { ...errors, name: 'http_5xx', label: 'orders', direction: 'decrease', unit: 'orders' };
      const verdict = judgeEveryMinute(window({ errorFactor: () => 0.3 }), config([orders]));
      expect(verdict.outcome).toBe('fail');
      expect(metric(verdict, 'http_5xx').verdict).toBe('Low');
    });

    it('is Inconclusive, not Pass, when the canary served too few requests', () => {
      const verdict = judgeWindow(window({ canaryRequests: 10 }), config([errors]));
      const m = metric(verdict, 'http_5xx');
      expect(m.verdict).toBe('Inconclusive');
      expect(m.reason).toBe('too-little-data');
      expect(verdict.outcome).toBe('wait');
      expect(verdict.summary).toMatch(/^inconclusive: ~\d+ more minutes? of data/);
    });
  });

  describe('gauge metrics (rank tests, and a paired t-test on the first judged minutes)', () => {
    it('passes a canary with the baseline latency', () => {
      const verdict = judgeWindow(window(), config([latency]));
      expect(metric(verdict, 'latency_p99').verdict).toBe('Pass');
      expect(metric(verdict, 'latency_p99').test.name).toBe('Mann–Whitney / signed-rank');
    });

    it('fails a 30 % latency regression within minutes, High beyond the tolerance', () => {
      const verdict = judgeEveryMinute(window({ latencyFactor: () => 1.3 }), config([latency]));
      const m = metric(verdict, 'latency_p99');
      expect(verdict.outcome).toBe('fail');
      expect(m.verdict).toBe('High');
      expect(m.ratio).toBeGreaterThan(1.2);
      expect(m.explanation).toMatch(/^p99 latency \d+ ms vs \d+ ms \(×1\.\d+, .*\): High, beyond the \+10 % tolerance at 99 % confidence$/);
      expect(verdict.minute).toBeLessThanOrEqual(12);
    });

    it('fails a large regression from the start within six judged minutes, before a rank test could', () => {
      // Warm-up 3: the rank tests cannot reach 99 % before six judged minutes each way (minute 9).
      const verdict = judgeEveryMinute(window({ latencyFactor: () => 1.6 }), config([latency]));
      const m = metric(verdict, 'latency_p99');
      expect(verdict.outcome).toBe('fail');
      expect(m.test.name).toBe('paired t-test');
      expect(verdict.minute).toBeLessThanOrEqual(3 + 6);
      // The figures are the test's own: the mean minute ratio, its interval clear of the tolerance.
      expect(m.ratio).toBeGreaterThan(1.4);
      expect(m.interval?.[0]).toBeGreaterThan(1.1);
      expect(m.explanation).toMatch(/High, beyond the \+10 % tolerance at 99 % confidence$/);
    });

    it('computes Student t tails as the tables give them', () => {
      // Two-sided 5 % and 1 % points for 1, 3 and 5 degrees of freedom.
      expect(studentTUpper(12.706, 1)).toBeCloseTo(0.025, 4);
      expect(studentTUpper(5.841, 3)).toBeCloseTo(0.005, 4);
      expect(studentTUpper(2.571, 5)).toBeCloseTo(0.025, 4);
      expect(studentTUpper(-2.571, 5)).toBeCloseTo(0.975, 4);
      expect(studentTUpper(0, 5)).toBe(0.5);
    });

    it('fails a canary at the tolerance at one of its first-minute looks with chance at most its share', () => {
      // The t-test's looks share their minutes, and its levels count on that: checked on
      // normal minute ratios exactly at the tolerance, each look's minutes the previous ones' and one more.
      const share = 0.0025;
      const levels = firstMinutesLevels(share);
      const next = seededRandom(11);
      const n = 20_000;
      let failed = 0;
      for (let k = 0; k < n; k++) {
        const ratios = Array.from({ length: Math.max(...FIRST_LOOKS) }, () => 0.05 * normal(next));
        if (FIRST_LOOKS.some((look, i) => pairedTGreater(ratios.slice(0, look)) < (levels[i] ?? 0))) failed++;
      }
      expect(levels[2]).toBeGreaterThan(share / 3); // more than a union bound would give
      expect(failed / n).toBeLessThanOrEqual(share + 3 * Math.sqrt((share * (1 - share)) / n));
    });

    it('fails a regression that starts mid-window within eight minutes of its start, on the minutes since it', () => {
      // The rank tests on the latest minutes need about ten such minutes; the t-test on
      // the latest few, with the spread of the whole window, needs far fewer.
      const verdict = judgeEveryMinute(window({ latencyFactor: (t) => (t >= 17 ? 1.3 : 1) }), config([latency]));
      const m = metric(verdict, 'latency_p99');
      expect(verdict.outcome).toBe('fail');
      expect(m.reason).toBe('beyond-tolerance-since');
      expect(m.test.name).toBe('paired t-test');
      expect(m.test.since?.fromMinute).toBeGreaterThanOrEqual(17);
      expect(verdict.minute).toBeLessThanOrEqual(17 + 8);
      expect(m.ratio).toBeGreaterThan(1.2);
      expect(m.explanation).toMatch(/: High over the latest [48] minutes \(since minute \d+\), beyond the \+10 % tolerance at 99 % confidence \(paired t-test of each minute against its baseline, with the whole window's spread\)$/);
    });

    it("tests the latest minutes with the whole window's spread on Student's t with n − 2 degrees of freedom", () => {
      // 20 normal minutes at the tolerance, the latest 4 tested: each p-value is uniform.
      const next = seededRandom(12);
      const n = 20_000;
      let below5 = 0;
      let below1 = 0;
      for (let k = 0; k < n; k++) {
        const p = pairedTGreater(Array.from({ length: 20 }, () => 0.05 * normal(next)), 0, 4);
        if (p < 0.05) below5++;
        if (p < 0.01) below1++;
      }
      expect(below5 / n).toBeCloseTo(0.05, 2);
      expect(below1 / n).toBeCloseTo(0.01, 2);
    });

    it('fails a canary at the tolerance at one of its since-a-shift looks with chance at most its share', () => {
      // Every planned look of a 30-minute plan after a 5-minute warm-up, each of its segments at the union bound's level.
      const share = 0.002;
      const looks = shiftLooks(25, 1);
      const level = share / looks.length;
      const next = seededRandom(13);
      const n = 20_000;
      let failed = 0;
      for (let k = 0; k < n; k++) {
        const ratios = Array.from({ length: 25 }, () => 0.05 * normal(next));
        if (looks.some(({ judged, latest }) => pairedTGreater(ratios.slice(0, judged), 0, latest) < level)) failed++;
      }
      expect(failed / n).toBeLessThanOrEqual(share + 3 * Math.sqrt((share * (1 - share)) / n));
    });

    it('does not take a few identical minutes just past the tolerance as certain', () => {
      // Every minute exactly 11 % above its baseline: no spread at all, the t statistic unbounded.
      const data = window();
      const baseline = data.baseline['latency_p99'] ?? [];
      data.canary['latency_p99'] = baseline.map((v) => (v === null ? null : v * 1.11));
      for (let t = 4; t <= 9; t++) {
        expect(judgeWindow(prefix(data, t), config([latency])).outcome).not.toBe('fail');
      }
    });

    it('says Low when throughput-like gauges drop beyond tolerance', () => {
      const throughput: MetricConfigInput = { ...latency, direction: 'decrease' };
      const verdict = judgeEveryMinute(window({ latencyFactor: () => 0.7 }), config([throughput]));
      expect(metric(verdict, 'latency_p99').verdict).toBe('Low');
    });

    it('does not call an improvement a regression', () => {
      const verdict = judgeWindow(window({ latencyFactor: () => 0.7 }), config([latency]));
      expect(metric(verdict, 'latency_p99').verdict).toBe('Pass');
      expect(metric(verdict, 'latency_p99').explanation).toMatch(/good direction/);
    });

    it('is Inconclusive with too few minutes of data', () => {
      const verdict = judgeWindow(window({ minutes: 6 }), config([latency]));
      expect(metric(verdict, 'latency_p99').verdict).toBe('Inconclusive');
      expect(metric(verdict, 'latency_p99').moreMinutes).toBeGreaterThan(0);
    });

    it('is Inconclusive, not Pass, when the window is complete but the canary leans beyond tolerance', () => {
      // +12 % with noise: past the +10 % tolerance, but not provably so in 30 minutes.
      const verdict = judgeWindow(window({ latencyFactor: () => 1.12, seed: 3 }), config([latency]));
      const m = metric(verdict, 'latency_p99');
      expect(m.verdict).toBe('Inconclusive');
      expect(m.reason).toBe('leaning');
      expect(verdict.outcome).toBe('wait');
      expect(verdict.moreMinutes).toBeGreaterThan(0);
    });
  });

  describe('the paired signed-rank test', () => {
    it('computes its exact p-value (checked against every sign pattern of 10 minutes)', () => {
      const d = [0.31, -0.12, 0.25, 0.7, -0.45, 0.05, 0.6, 0.15, -0.02, 0.38];
      const ranks = [...d].map(Math.abs).sort((a, b) => a - b);
      const observed = d.filter((x) => x > 0).reduce((sum, x) => sum + ranks.indexOf(Math.abs(x)) + 1, 0);
      let atLeast = 0;
      for (let signs = 0; signs < 1 << d.length; signs++) {
        let w = 0;
        for (let r = 0; r < d.length; r++) if ((signs >> r) & 1) w += r + 1;
        if (w >= observed) atLeast++;
      }
      expect(signedRankGreater(d)).toEqual({ p: atLeast / (1 << d.length), exact: true });
    });

    it('fails a modest CPU regression under a traffic wave that moves both groups', () => {
      // CPU follows traffic in both groups (±25 %); the canary is 22 % up against +10 %.
      const next = seededRandom(11);
      const baseline = { cpu: [] as number[] };
      const canary = { cpu: [] as number[] };
      for (let t = 0; t < 30; t++) {
        const traffic = 1 + 0.25 * Math.sin(t / 3);
        baseline.cpu.push(Math.round(40 * traffic * Math.exp(0.02 * normal(next)) * 100) / 100);
        canary.cpu.push(Math.round(40 * traffic * 1.22 * Math.exp(0.05 * normal(next)) * 100) / 100);
      }
      const cpu: MetricConfigInput = { name: 'cpu', label: 'CPU', kind: 'gauge', unit: '%', tolerance: '+10%' };
      const verdict = judgeEveryMinute({ intervalMinutes: 1, baseline, canary }, config([cpu]));
      expect(verdict.outcome).toBe('fail');
      expect(metric(verdict, 'cpu').ratio).toBeGreaterThan(1.15);
    });
  });

  describe('tolerance and critical bounds', () => {
    it('passes a change inside the tolerance even when it is clearly real', () => {
      // +5 % latency is measurable with this much data, and within +10 %.
      const verdict = judgeWindow(window({ latencyFactor: () => 1.05 }), config([latency]));
      expect(metric(verdict, 'latency_p99').verdict).toBe('Pass');
    });

    it('fails the same change when the team tolerates less', () => {
      const strict: MetricConfigInput = { ...latency, tolerance: '+1%' };
      const verdict = judgeEveryMinute(window({ latencyFactor: () => 1.08 }), config([strict]));
      expect(verdict.outcome).toBe('fail');
    });

    it('fails at once beyond the critical bound, even during warm-up', () => {
      const guarded: MetricConfigInput = { ...errors, critical: 'x10' };
      const verdict = judgeEveryMinute(window({ extraErrors: () => 0.2 }), config([guarded]));
      const m = metric(verdict, 'http_5xx');
      expect(verdict.outcome).toBe('fail');
      expect(m.reason).toBe('beyond-critical');
      expect(verdict.minute).toBeLessThanOrEqual(2);
      expect(m.explanation).toMatch(/beyond the critical ×10 bound: fails at once/);
    });
  });

  describe('warm-up, lone spikes and late regressions', () => {
    it('passes a canary that starts cold (slow, busy and erroring in its first minutes)', () => {
      const cold = (t: number) => 1 + 2 * Math.exp(-t / 0.8);
      const verdict = judgeEveryMinute(window({ latencyFactor: cold, errorFactor: (t) => (t < 2 ? 8 : 1) }), config([errors, latency]));
      expect(verdict.outcome).toBe('pass');
    });

    it('passes a canary with one bad minute of errors, and says which minute it left out', () => {
      const data = window();
      data.canary['http_5xx']![14] = 400;
      const verdict = judgeEveryMinute(data, config([errors]));
      const m = metric(verdict, 'http_5xx');
      expect(verdict.outcome).toBe('pass');
      expect(m.reason).toBe('lone-spike');
      expect(m.spikeMinute).toBe(15);
      expect(m.spikeMinutes).toEqual([15]);
      expect(m.explanation).toMatch(/with minute 15 set aside as a lone spike/);
    });

    // GC pauses, noisy neighbours, cache flushes: one canary minute goes bad in errors and
    // latency together while the minutes around it are normal. Fleets show two or three an hour.
    function spiked(shape: Shape, minutes: number[]): WindowInput {
      const data = window(shape);
      for (const t of minutes) {
        data.canary['http_5xx']![t] = (data.canary['http_5xx']![t] ?? 0) + 120;
        data.canary['latency_p99']![t] = (data.canary['latency_p99']![t] ?? 0) * 3;
      }
      return data;
    }

    it('passes a good canary with two lone spikes hitting errors and latency at once', () => {
      for (let seed = 1; seed <= 10; seed++) {
        const verdict = judgeEveryMinute(spiked({ seed }, [9, 21]), config([errors, latency]));
        expect(verdict.outcome).toBe('pass');
      }
    });

    it('passes a good canary with three lone spikes, and names the minutes it set aside', () => {
      for (let seed = 1; seed <= 10; seed++) {
        const verdict = judgeEveryMinute(spiked({ seed }, [6, 15, 26]), config([errors, latency]));
        expect(verdict.outcome).toBe('pass');
      }
      const m = metric(judgeEveryMinute(spiked({ seed: 1 }, [6, 15, 26]), config([errors, latency])), 'http_5xx');
      expect(m.reason).toBe('lone-spike');
      expect(m.spikeMinutes).toEqual([7, 16, 27]);
      expect(m.explanation).toMatch(/with minutes 7, 16 and 27 set aside as lone spikes$/);
    });

    it('still fails a sustained regression carrying the same three spikes, from the start or mid-window', () => {
      const fromStart = judgeEveryMinute(spiked({ errorFactor: () => 2.5 }, [6, 15, 26]), config([errors, latency]));
      expect(fromStart.outcome).toBe('fail');
      expect(metric(fromStart, 'http_5xx').verdict).toBe('High');
      const midWindow = judgeEveryMinute(spiked({ latencyFactor: (t) => (t >= 14 ? 1.3 : 1) }, [6, 15, 26]), config([errors, latency]));
      expect(midWindow.outcome).toBe('fail');
      expect(metric(midWindow, 'latency_p99').verdict).toBe('High');
    });

    it('fails a run of bad minutes: only isolated minutes are set aside', () => {
      const data = window({ minutes: 30 });
      for (const t of [12, 13, 14, 15]) data.canary['http_5xx']![t] = (data.canary['http_5xx']![t] ?? 0) + 60;
      const verdict = judgeEveryMinute(data, config([errors]));
      expect(verdict.outcome).toBe('fail');
      expect(verdict.minute).toBeLessThanOrEqual(17);
    });

    it('fails at once beyond a critical bound, lone spikes or not', () => {
      const guarded: MetricConfigInput = { ...errors, critical: 'x10' };
      const data = spiked({ extraErrors: (t) => (t >= 12 ? 0.2 : 0) }, [6]);
      const verdict = judgeEveryMinute(data, config([guarded, latency]));
      expect(verdict.outcome).toBe('fail');
      expect(metric(verdict, 'http_5xx').reason).toBe('beyond-critical');
      expect(verdict.minute).toBeLessThanOrEqual(14);
    });

    it('passes a canary with one very slow minute', () => {
      const verdict = judgeEveryMinute(window({ latencyFactor: (t) => (t === 9 ? 5 : 1) }), config([latency]));
      expect(verdict.outcome).toBe('pass');
    });

    it('fails a latency regression that starts mid-window', () => {
      const verdict = judgeEveryMinute(window({ latencyFactor: (t) => (t >= 15 ? 1.4 : 1) }), config([latency]));
      expect(verdict.outcome).toBe('fail');
      expect(verdict.minute).toBeGreaterThan(15);
    });

    it('fails an error regression that starts mid-window', () => {
      const verdict = judgeEveryMinute(window({ errorFactor: (t) => (t >= 18 ? 4 : 1) }), config([errors]));
      expect(verdict.outcome).toBe('fail');
      expect(verdict.minute).toBeGreaterThan(18);
    });
  });

  describe('overall verdict', () => {
    // The local demo judges 10-second high-resolution metrics over 3 minutes: 18 periods.
    const tenSeconds = (data: WindowInput): WindowInput => ({ ...data, intervalMinutes: 1 / 6 });
    const demo = config([errors, latency], { durationMinutes: 3, warmupMinutes: 0.5 });

    it('speaks in periods and seconds, not minutes, when an interval is 10 seconds', () => {
      const waiting = judgeWindow(tenSeconds(window({ minutes: 12 })), demo);
      expect(waiting.summary).toBe('wait: 2 minutes of 3 minutes, ~1 more minute');
      expect(judgeWindow(tenSeconds(window({ minutes: 15 })), demo).summary).toBe('wait: 2 min 30 s of 3 minutes, ~30 more seconds');
      const data = tenSeconds(window({ minutes: 18 }));
      data.canary['http_5xx']![9] = 400;
      data.canary['latency_p99']![9] = data.canary['latency_p99']![9]! * 4;
      const verdict = judgeEveryMinute(data, demo);
      expect(verdict.outcome).toBe('pass');
      expect(verdict.summary).toBe('pass: 2 gating metrics within tolerance over 3 minutes');
      const text = verdict.metrics.map((m) => m.explanation).join('\n');
      expect(text).toMatch(/with period 10 set aside as a lone spike/);
      expect(text).toMatch(/\d+ vs \d+ periods of 10 s/);
      expect(text).not.toMatch(/minute/);
    });

    it('waits until the window is complete, saying how many more minutes', () => {
      const verdict = judgeWindow(window({ minutes: 12 }), config([errors, latency]));
      expect(verdict.outcome).toBe('wait');
      expect(verdict.moreMinutes).toBe(18);
      expect(verdict.summary).toBe('wait: minute 12 of 30, ~18 more minutes');
    });

    it('waits while every minute is still warm-up', () => {
      const verdict = judgeWindow(window({ minutes: 2 }), config([errors, latency]));
      expect(verdict.outcome).toBe('wait');
      expect(verdict.metrics.every((m) => m.reason === 'warming-up')).toBe(true);
    });

    it('never lets a shadow metric fail the canary, but still shows its verdict', () => {
      const shadow: MetricConfigInput = { ...latency, gating: false };
      const verdict = judgeEveryMinute(window({ latencyFactor: () => 1.5 }), config([errors, shadow]));
      expect(verdict.outcome).toBe('pass');
      expect(metric(verdict, 'latency_p99').verdict).toBe('High');
      expect(metric(verdict, 'latency_p99').explanation).toMatch(/shadow/);
    });

    it('gives the same verdict for the same window', () => {
      const data = window({ latencyFactor: () => 1.12, seed: 9 });
      expect(judgeWindow(data, config([errors, latency]))).toEqual(judgeWindow(data, config([errors, latency])));
    });

    it('accepts missing datapoints (null) and judges the minutes that have data', () => {
      const data = window();
      data.canary['latency_p99']![5] = null;
      data.baseline['http_5xx']![7] = null;
      expect(judgeWindow(data, config([errors, latency])).outcome).toBe('pass');
    });
  });

  describe('repeated looks', () => {
    // The hardest good release: its error rate sits exactly at the tolerance (×1.5).
    // Judged once at the end, a test at 90 % confidence fails about 10 % of them. Judged
    // every minute with the correction, it must fail no more of them than that — and
    // without the correction it would fail many more.
    const lax = config([{ ...errors, tolerance: 'x1.5' }], { confidence: 0.9 });
    const parsed = parseConfig(lax);
    const windows = Array.from({ length: 300 }, (_, i) => window({ seed: 1000 + i, errorFactor: () => 1.5, errorRate: 0.01 }));

    it('judging every minute fails at-tolerance releases no more often than judging once at the end', () => {
      let onceAtEnd = 0;
      let everyMinute = 0;
      let everyMinuteUncorrected = 0;
      for (const data of windows) {
        const full = parseWindow(data);
        if (judgeParsed(full, parsed, { singleLook: true }).outcome === 'fail') onceAtEnd++;
        let failed = false;
        let failedUncorrected = false;
        for (let t = 1; t <= 30; t++) {
          const part = parseWindow(prefix(data, t));
          if (!failed && judgeParsed(part, parsed).outcome === 'fail') failed = true;
          if (!failedUncorrected && t > 3 && judgeParsed(part, parsed, { singleLook: true }).outcome === 'fail') failedUncorrected = true;
        }
        if (failed) everyMinute++;
        if (failedUncorrected) everyMinuteUncorrected++;
      }
      expect(onceAtEnd).toBeGreaterThan(10); // the test is not vacuous
      expect(everyMinute).toBeLessThanOrEqual(onceAtEnd);
      expect(everyMinuteUncorrected).toBeGreaterThan(onceAtEnd * 1.5);
    });
  });

  describe('regressions that start mid-window, under shared drift (sign CUSUM on paired minutes)', () => {
    // CPU follows traffic in both groups: a ±25 % wave that blurs any comparison of the
    // groups' values as two samples, but cancels minute by minute.
    const cpu: MetricConfigInput = { name: 'cpu', label: 'CPU', kind: 'gauge', unit: '%', tolerance: '+15%' };
    function cpuWindow(seed: number, factor: (t: number) => number): WindowInput {
      const next = seededRandom(seed);
      const baseline = { cpu: [] as number[] };
      const canary = { cpu: [] as number[] };
      for (let t = 0; t < 30; t++) {
        const traffic = 1 + 0.25 * Math.sin(t / 2.5);
        baseline.cpu.push(Math.round(40 * traffic * Math.exp(0.02 * normal(next)) * 100) / 100);
        canary.cpu.push(Math.round(40 * traffic * factor(t) * Math.exp(0.06 * normal(next)) * 100) / 100);
      }
      return { intervalMinutes: 1, baseline, canary };
    }

    it('fails a CPU regression that starts at minute 18, on the minutes since it', () => {
      const verdict = judgeEveryMinute(cpuWindow(5, (t) => (t >= 17 ? 1.4 : 1)), config([cpu]));
      const m = metric(verdict, 'cpu');
      expect(verdict.outcome).toBe('fail');
      expect(m.reason).toBe('beyond-tolerance-since');
      expect(m.test.p).toBeLessThan(m.test.level);
      expect(m.test.since?.fromMinute).toBeGreaterThanOrEqual(18);
      expect(verdict.minute).toBeGreaterThan(18);
      expect(verdict.minute).toBeLessThanOrEqual(18 + 6);
    });

    it('passes the same drift without a regression, and with one wild minute', () => {
      for (let seed = 1; seed <= 20; seed++) {
        expect(judgeEveryMinute(cpuWindow(seed, () => 1), config([cpu])).outcome).toBe('pass');
        expect(judgeEveryMinute(cpuWindow(seed, (t) => (t === 20 ? 1.8 : 1)), config([cpu])).outcome).toBe('pass');
      }
    });

    it('computes the chance of a false run exactly (checked against every sequence of 14 minutes)', () => {
      const design = { up: 1, down: 3, looks: 14 };
      const reached = new Map<number, number>();
      for (let bits = 0; bits < 1 << 14; bits++) {
        let best = 0;
        const minutes: boolean[] = [];
        for (let i = 0; i < 14; i++) {
          minutes.push(((bits >> i) & 1) === 1);
          best = Math.max(best, signCusum(minutes, design).value);
        }
        for (let h = 1; h <= best; h++) reached.set(h, (reached.get(h) ?? 0) + 1);
      }
      for (let h = 1; h <= 14; h++) expect(signCusumP(h, design)).toBeCloseTo((reached.get(h) ?? 0) / (1 << 14), 12);
      const h = signCusumThreshold(0.01, design);
      expect(signCusumP(h, design)).toBeLessThan(0.01);
      expect(signCusumP(h - 1, design)).toBeGreaterThanOrEqual(0.01);
    });

    it('judging gauges every minute fails at-tolerance canaries no more often than the α it was given', () => {
      // Canary exactly at the +15 % tolerance, minute by minute, under the same drift: the
      // edge of the null for every test the judge runs on a gauge. At 90 % confidence.
      const lax = parseConfig(config([cpu], { confidence: 0.9 }));
      let failed = 0;
      const n = 300;
      for (let seed = 0; seed < n; seed++) {
        const data = cpuWindow(5000 + seed, () => 1.15);
        for (let t = 1; t <= 30; t++) {
          if (judgeParsed(parseWindow(prefix(data, t)), lax).outcome === 'fail') {
            failed++;
            break;
          }
        }
      }
      // α = 10 %: allow for sampling (3 standard errors).
      expect(failed / n).toBeLessThanOrEqual(0.1 + 3 * Math.sqrt((0.1 * 0.9) / n));
    });
  });

  describe('error regressions that start mid-window (change-point scan over each minute\'s counts)', () => {
    it('fails an error regression starting at minute 17 on the minutes since its change point', () => {
      const verdict = judgeEveryMinute(window({ seed: 2, errorFactor: (t) => (t >= 16 ? 3 : 1) }), config([errors]));
      const m = metric(verdict, 'http_5xx');
      expect(verdict.outcome).toBe('fail');
      expect(m.reason).toBe('beyond-tolerance-since');
      expect(m.test.name).toBe('change-point scan');
      expect(m.test.scope).toBe('since');
      expect(m.test.p).toBeLessThan(m.test.level);
      expect(m.test.since?.fromMinute).toBeGreaterThanOrEqual(15);
      expect(m.test.since?.toMinute).toBe(verdict.minute);
      // The figures shown are the minutes since the change point, not the whole window.
      expect(m.canary).toMatchObject({ kind: 'count' });
      expect(m.ratio).toBeGreaterThan(2);
      expect(m.explanation).toMatch(/^5xx rate .*: High since minute \d+, beyond the ×1\.5 tolerance at 99 % confidence \(change-point scan/);
    });

    it('passes good releases and lone bursts of errors, whenever they come', () => {
      for (let seed = 1; seed <= 15; seed++) {
        expect(judgeEveryMinute(window({ seed }), config([errors])).outcome).toBe('pass');
        const data = window({ seed });
        data.canary['http_5xx']![5 + seed] = 60; // one minute with ~15× the usual errors
        expect(judgeEveryMinute(data, config([errors])).outcome).toBe('pass');
      }
    });

    // Exact check of the scan's guarantee on a case small enough to enumerate: 4 minutes,
    // 3 events between the groups each minute, the canary exactly at the tolerance
    // (π0 = 0.3). Every outcome of every minute is weighed by its null probability.
    const pi0 = 0.3;
    const alternatives = [0.45, 0.7];
    const llr = (k: number, pi1: number) => k * Math.log(pi1 / pi0) + (3 - k) * Math.log((1 - pi1) / (1 - pi0));
    const binom = (k: number) => [1, 3, 3, 1][k]! * pi0 ** k * (1 - pi0) ** (3 - k);
    function outcomes(): Array<{ ks: number[]; prob: number }> {
      const out: Array<{ ks: number[]; prob: number }> = [];
      for (let code = 0; code < 4 ** 4; code++) {
        const ks = [0, 1, 2, 3].map((i) => Math.floor(code / 4 ** i) % 4);
        out.push({ ks, prob: ks.reduce((p, k) => p * binom(k), 1) });
      }
      return out;
    }
    const rows = (ks: number[]) => alternatives.map((pi1) => ks.map((k) => llr(k, pi1)));

    it('has an e-value whose null expectation is exactly the share of start points seen so far', () => {
      for (let n = 1; n <= 4; n++) {
        let expectation = 0;
        for (const { ks, prob } of outcomes()) expectation += prob * Math.exp(changePointScan(rows(ks.slice(0, n)), [0.5, 0.5], 4).logE);
        expect(expectation).toBeCloseTo(n / 4, 12);
      }
    });

    it('crosses 1/α at any of the looks with chance at most α when the canary is at the tolerance', () => {
      for (const alpha of [0.5, 0.3, 0.2, 0.1]) {
        let crossed = 0;
        for (const { ks, prob } of outcomes()) {
          let best = -Infinity;
          for (let n = 1; n <= 4; n++) best = Math.max(best, changePointScan(rows(ks.slice(0, n)), [0.5, 0.5], 4).logE);
          if (best >= -Math.log(alpha)) crossed += prob;
        }
        expect(crossed).toBeLessThanOrEqual(alpha);
        expect(crossed).toBeGreaterThan(0); // not vacuous
      }
    });

    it('caps up to three isolated minutes carrying the most evidence at the next one\'s, never raising any', () => {
      const ratios = [
        [0.1, 2.5, -0.3, 0.4, 1.9, 0.0, 0.2, 1.2],
        [0.2, 4.0, -0.6, 0.9, 3.0, 0.1, 0.3, 2.0],
      ];
      const { llr: capped, spikes } = capLoneSpikes(ratios, 1);
      expect(spikes).toEqual([1, 4, 7]);
      expect(capped).toEqual([
        [0.1, 0.4, -0.3, 0.4, 0.4, 0.0, 0.2, 0.4],
        [0.2, 0.9, -0.6, 0.9, 0.9, 0.1, 0.3, 0.9],
      ]);
      expect(changePointScan(capped, [0.5, 0.5], 8).logE).toBeLessThan(changePointScan(ratios, [0.5, 0.5], 8).logE);
    });

    it('caps a run of bad minutes at its own level, never at an ordinary minute\'s', () => {
      const run = [[0.1, 0.2, 3.0, 2.8, 2.9, 0.1]];
      const { llr: capped, spikes } = capLoneSpikes(run, 0);
      // Minutes 2 and 4 are the worst, but minute 3 between them is as bad: they are capped at
      // its level, so the run keeps its evidence.
      expect(spikes).toEqual([2, 4]);
      expect(capped[0]).toEqual([0.1, 0.2, 2.8, 2.8, 2.8, 0.1]);
    });
  });

  describe('extended canaries (looks after the planned window)', () => {
    // The stage extends a canary the judge still waits on at the end of its planned window
    // and asks again every minute. Those looks must stay within α, and a wait must be one
    // that a later look can end.
    it('keeps testing the latest minutes past the planned window, and fails a late regression there', () => {
      const data = window({ seed: 1, minutes: 45, latencyFactor: (t) => (t >= 18 ? 1.22 : 1) });
      const atEnd = judgeWindow(prefix(data, 30), config([latency]));
      expect(atEnd.outcome).toBe('wait');
      const m = metric(atEnd, 'latency_p99');
      expect(m.reason).toBe('leaning');
      expect(m.test.scope).toBe('recent');
      // It asks for at least the minutes until the latest minutes are tested again, at the level shown.
      expect(atEnd.moreMinutes).toBeGreaterThanOrEqual(5);
      expect(m.test.level).toBeGreaterThan(0);
      // The latest minutes' test fails it at its extension look (minute 35)…
      const verdict = judgeWindow(prefix(data, 35), config([latency]));
      expect(verdict.outcome).toBe('fail');
      expect(verdict.minute).toBeGreaterThan(30);
      const failing = metric(verdict, 'latency_p99');
      expect(failing.reason).toBe('beyond-tolerance-recent');
      expect(failing.test.p).toBeLessThan(failing.test.level);
      expect(failing.test.level).toBeLessThanOrEqual(m.test.level);
      // …and judged every minute, the minutes since the shift fail it within the plan.
      const everyMinute = judgeEveryMinute(data, config([latency]));
      expect(everyMinute.outcome).toBe('fail');
      expect(everyMinute.minute).toBeLessThanOrEqual(30);
      const since = metric(everyMinute, 'latency_p99');
      expect(since.reason).toBe('beyond-tolerance-since');
      expect(since.test.p).toBeLessThan(since.test.level);
    });

    it('fails a regression that starts in the plan\'s last minutes soon after them, on the minutes since it', () => {
      // Too few minutes before the plan's end to fail it there: the canary waits, and the
      // latest minutes, with the whole window's spread, are still tested past the plan.
      const data = window({ seed: 1, minutes: 45, latencyFactor: (t) => (t >= 27 ? 1.4 : 1) });
      expect(judgeWindow(prefix(data, 30), config([latency])).outcome).toBe('wait');
      const verdict = judgeEveryMinute(data, config([latency]));
      const m = metric(verdict, 'latency_p99');
      expect(verdict.outcome).toBe('fail');
      expect(verdict.minute).toBeGreaterThan(30);
      expect(verdict.minute).toBeLessThanOrEqual(28 + 5);
      expect(m.reason).toBe('beyond-tolerance-since');
      expect(m.test.p).toBeLessThan(m.test.level);
      expect(m.test.since?.fromMinute).toBeGreaterThanOrEqual(28);
    });

    it('continues the sign CUSUM past the plan on the α its integer threshold left unused, exactly', () => {
      // Every sequence of 10 planned and 6 extra minutes, as fair coins: the chance that the
      // CUSUM reaches the planned threshold within the plan, or an extra look's threshold at
      // that look, is at most α — and the planned threshold is unchanged.
      const design = { up: 1, down: 3, looks: 10 };
      const alpha = 0.05;
      const h = signCusumThreshold(alpha, design);
      const extra = signCusumExtension(alpha, design, 6);
      expect(extra).toHaveLength(6);
      expect(signCusumP(h, design)).toBeLessThan(alpha);
      const total = design.looks + extra.length;
      let alarms = 0;
      for (let bits = 0; bits < 2 ** total; bits++) {
        let c = 0;
        let alarm = false;
        for (let n = 0; n < total && !alarm; n++) {
          c = (bits >> n) & 1 ? c + design.up : Math.max(0, c - design.down);
          const threshold = n < design.looks ? h : (extra[n - design.looks] ?? Infinity);
          if (c >= threshold) alarm = true;
        }
        if (alarm) alarms++;
      }
      const chance = alarms / 2 ** total;
      expect(chance).toBeGreaterThan(signCusumP(h, design)); // the extra looks do spend something
      expect(chance).toBeLessThanOrEqual(alpha + 1e-12);
      // A longer horizon never changes the earlier extra looks' thresholds.
      expect(signCusumExtension(alpha, design, 12).slice(0, 6)).toEqual(extra);
    });

    it('continues the whole-window design past the plan with levels that account for the looks\' correlation', () => {
      const plan = { first: 2, planned: 27 };
      const alpha = 0.1;
      // The planned looks keep their levels.
      const planned = groupSequentialLevels(range(2, 27), alpha * 0.9);
      for (let look = 2; look <= 27; look++) expect(lookLevel(look, plan, alpha)).toBe(planned[look - 2]);
      // Extra looks get far more than a union bound's share reserve/(j(j+1)) by look 15…
      expect(lookLevel(27 + 15, plan, alpha)).toBeGreaterThan(10 * ((alpha * 0.1) / (15 * 16)));
      // …and a look's level depends only on the looks up to it, so the horizon a design is
      // computed for (longer extensions) never changes earlier levels.
      expect(lookLevel(27 + 40, plan, alpha)).toBeGreaterThan(0);
      const information = range(1, 12);
      const cumulative = information.map((i) => (alpha * i) / 12);
      expect(spendingLevels(information.slice(0, 6), cumulative.slice(0, 6))).toEqual(spendingLevels(information, cumulative).slice(0, 6));
      // Under the null (a Gaussian random walk, the design's model), testing every look of the
      // plan and 15 extra ones crosses with chance at most α.
      const next = seededRandom(42);
      const paths = 20_000;
      let crossed = 0;
      for (let path = 0; path < paths; path++) {
        let sum = 0;
        for (let n = 1; n <= 27 + 15; n++) {
          sum += normal(next);
          if (n >= plan.first && normalUpper(sum / Math.sqrt(n)) < lookLevel(n, plan, alpha)) {
            crossed++;
            break;
          }
        }
      }
      expect(crossed / paths).toBeLessThanOrEqual(alpha + 3 * Math.sqrt((alpha * (1 - alpha)) / paths));
    });

    it('judging every minute through a 15-minute extension fails at-tolerance canaries no more often than α', () => {
      // Errors exactly at the ×1.5 tolerance, and latency exactly at +10 %, every minute of
      // 45 against a 30-minute plan, at 90 % confidence.
      const lax = parseConfig(config([errors, { ...latency, tolerance: '+10%' }], { confidence: 0.9 }));
      const n = 200;
      let failedErrors = 0;
      let failedLatency = 0;
      for (let seed = 0; seed < n; seed++) {
        const data = window({ seed: 7000 + seed, minutes: 45, errorRate: 0.01, errorFactor: () => 1.5, latencyFactor: () => 1.1 });
        let errorsFailed = false;
        let latencyFailed = false;
        for (let t = 1; t <= 45; t++) {
          const v = judgeParsed(parseWindow(prefix(data, t)), lax);
          if (metric(v, 'http_5xx').verdict === 'High') errorsFailed = true;
          if (metric(v, 'latency_p99').verdict === 'High') latencyFailed = true;
          if (v.outcome === 'fail') break;
        }
        if (errorsFailed) failedErrors++;
        if (latencyFailed) failedLatency++;
      }
      const bound = 0.1 + 3 * Math.sqrt((0.1 * 0.9) / n);
      expect(failedErrors / n).toBeLessThanOrEqual(bound);
      expect(failedLatency / n).toBeLessThanOrEqual(bound);
    });
  });

  describe('malformed input', () => {
    function problems(data: unknown, cfg: unknown): string[] {
      try {
        judgeWindow(data, cfg);
      } catch (error) {
        if (error instanceof JudgeInputError) return error.problems;
        throw error;
      }
      throw new Error('expected a JudgeInputError');
    }

    it('names the metric and field of a bad tolerance', () => {
      expect(problems(window(), config([{ ...latency, tolerance: 'a bit' }]))).toEqual([
        'metric latency_p99, field tolerance: write a ratio like "x1.5" or a percentage like "+10%" (got "a bit")',
      ]);
    });

    it('names a count metric without its requests series', () => {
      const { requests: _requests, ...noRequests } = errors as { requests: string };
      expect(problems(window(), config([noRequests as MetricConfigInput]))[0]).toMatch(/^metric http_5xx, field requests: /);
    });

    it('names a metric missing from the canary data', () => {
      const data = window();
      delete data.canary['latency_p99'];
      expect(problems(data, config([latency]))).toEqual([
        'metric latency_p99, field canary.latency_p99: missing — the canary data has no series "latency_p99" (its values)',
      ]);
    });

    it('names a series of the wrong length', () => {
      const data = window();
      data.canary['latency_p99'] = data.canary['latency_p99']!.slice(0, 20);
      expect(problems(data, config([errors, latency])).join('\n')).toMatch(/metric latency_p99, field canary\.latency_p99: has 20 values but .* has 30/);
    });

    it('names a negative or non-numeric value, with its position', () => {
      const data = window() as { baseline: Record<string, unknown[]> } & WindowInput;
      data.baseline['latency_p99']![3] = -5;
      expect(problems(data, config([latency]))[0]).toMatch(/^metric latency_p99, field baseline value 4: /);
    });

    it('names an unknown kind and an unknown field', () => {
      expect(problems(window(), config([{ ...latency, kind: 'histogram' } as unknown as MetricConfigInput]))[0]).toMatch(/^metric latency_p99, field kind: /);
      expect(problems(window(), config([{ ...latency, tolerence: '+5%' } as unknown as MetricConfigInput]))[0]).toMatch(/^metric latency_p99: .*tolerence/);
    });
  });
});

function parseWindow(data: WindowInput) {
  return { intervalMinutes: data.intervalMinutes ?? 1, baseline: data.baseline, canary: data.canary };
}
