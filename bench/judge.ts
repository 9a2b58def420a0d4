// Judge bench: a synthetic corpus of canary windows, half of them bad releases, judged
// three ways — a one-datapoint threshold alarm, a Kayenta-style Mann–Whitney once at
// the end, and Bakery's judge asked every minute as the window grows. Seeded, so the
// figures are reproducible: `npm run bench` (or `npx tsx bench/judge.ts` alone).

import { pathToFileURL } from 'node:url';
import { judgeParsed } from '../src/judge/judge.js';
import { parseConfig } from '../src/judge/window.js';
import type { CanaryConfig, Window } from '../src/judge/window.js';
import { hodgesLehmann, mannWhitneyGreater } from '../src/judge/stats.js';
import { seededRandom } from '../test/support/random.js';

const WINDOWS = 2_000;
const SEED = 20_240_601;
// The same corpus drawn from other seeds, for how much the Bakery judge's figures move
// with the draw (the main table stays on SEED).
const EXTRA_SEEDS = [7, 99];
const DURATION = 30;
const WARMUP = 3;
// The canary stage's protocol: a pass or fail at the end of the planned window is final;
// a wait there extends the canary, and the judge is asked again every minute while it
// says wait, up to this many extra minutes (the stage's cap on an extension).
const MAX_EXTENSION = 15;
const TOTAL = DURATION + MAX_EXTENSION;

// The config a team would write for a web service: what they accept, and what they want caught.
const CONFIG_INPUT = {
  durationMinutes: DURATION,
  warmupMinutes: WARMUP,
  recentMinutes: 10,
  confidence: 0.99,
  metrics: [
    { name: 'http_5xx', label: '5xx rate', kind: 'count', requests: 'requests', unit: 'errors', tolerance: 'x1.5' },
    { name: 'latency_p99', label: 'p99 latency', kind: 'gauge', unit: 'ms', tolerance: '+10%' },
    { name: 'cpu', label: 'CPU', kind: 'gauge', unit: '%', tolerance: '+15%' },
  ],
};

type Regression = 'errors' | 'errors-from-zero' | 'latency' | 'cpu';

interface Case {
  bad: boolean;
  regression: Regression | null;
  /** Minute the regression starts (0 = from the first minute). */
  start: number;
  /**
   * TOTAL minutes: the planned window, then the minutes an extended canary would see.
   * Every judge reads only the minutes its protocol gets to.
   */
  window: Window;
}

// ---------------------------------------------------------------------------
// Seeded randomness.

class Random {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = seededRandom(seed);
  }
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }
  logUniform(lo: number, hi: number): number {
    return Math.exp(this.uniform(Math.log(lo), Math.log(hi)));
  }
  int(lo: number, hi: number): number {
    return Math.floor(this.uniform(lo, hi + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  normal(): number {
    const u = Math.max(this.next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 60) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }
}

// ---------------------------------------------------------------------------
// Corpus. Good releases carry the noise canaries really have: shared drift (traffic,
// downstream blips), the canary's warm-up, lone spikes, a small canary's higher
// variance, apps that never error. Bad releases add one regression a person would want
// caught, from the first minute or starting mid-window.
//
// Each case runs on past the planned window for MAX_EXTENSION minutes, by the same
// process: the drift, blips and noise go on, a regression persists, a good release stays
// good, and lone spikes keep coming at the same rate per minute. Those extra minutes draw
// from a stream of their own per case (`extra`), so the planned 30 minutes of every case
// are exactly what they would be without them.

/** The chance of the planned window's lone spike, spread over its judged minutes, per minute. */
const SPIKE_CHANCE = 0.35;
const SPIKE_PER_MINUTE = SPIKE_CHANCE / (DURATION - WARMUP);

function generateCase(rng: Random, bad: boolean, extra: Random): Case {
  const baselineInstances = rng.int(4, 20);
  const canaryInstances = rng.int(1, 2);
  const perInstanceRpm = rng.logUniform(500, 5_000);
  const neverErrors = rng.chance(0.2);
  const errorRate = neverErrors ? 0 : rng.logUniform(0.001, 0.02);
  const latency = rng.logUniform(40, 800);
  const cpu = rng.uniform(15, 60);
  // Per-minute noise: the canary's figures come from fewer instances, so they are noisier.
  const latencyNoise = rng.uniform(0.02, 0.05);
  const cpuNoise = rng.uniform(0.015, 0.04);
  const canaryNoiseFactor = Math.sqrt(baselineInstances / canaryInstances) * rng.uniform(0.5, 0.8);

  let regression: Regression | null = null;
  let start = 0;
  let factor = 1;
  let zeroRate = 0;
  if (bad) {
    const kinds: Regression[] = neverErrors ? ['errors-from-zero', 'latency', 'cpu'] : ['errors', 'latency', 'cpu'];
    regression = kinds[rng.int(0, kinds.length - 1)] ?? 'latency';
    start = rng.chance(0.3) ? rng.int(8, 20) : 0;
    if (regression === 'errors') factor = rng.uniform(2, 6);
    if (regression === 'errors-from-zero') zeroRate = rng.logUniform(0.001, 0.01);
    if (regression === 'latency') factor = rng.uniform(1.25, 2);
    if (regression === 'cpu') factor = rng.uniform(1.3, 1.8);
  }

  // Warm-up: cold caches and JIT make the canary's first minutes slow and busy.
  const warm = rng.chance(0.7);
  const warmTau = rng.uniform(0.5, 1.2);
  const warmLatency = warm ? rng.uniform(0.3, 1.5) : 0;
  const warmCpu = warm ? rng.uniform(0.2, 0.8) : 0;
  const warmErrors = warm ? rng.uniform(0, 4) : 0;
  const warmup = (t: number, amplitude: number): number => 1 + amplitude * Math.exp(-(t + 0.5) / warmTau);

  // A lone spike: one canary minute goes bad (a GC pause, a noisy neighbour, one bad request burst).
  // At most one within the planned window; past it, more may come (see SPIKE_PER_MINUTE).
  const planned = rng.chance(SPIKE_CHANCE) ? { minute: rng.int(WARMUP, DURATION - 1), metric: rng.int(0, 2), size: rng.uniform(2, 4) } : null;

  // Shared drift: traffic follows a slow wave; downstream blips hit both groups.
  const phase = rng.uniform(0, 2 * Math.PI);
  const period = rng.uniform(20, 90);
  let walk = 0;

  const series = () => ({ http_5xx: [] as number[], requests: [] as number[], latency_p99: [] as number[], cpu: [] as number[] });
  const baseline = series();
  const canary = series();
  for (let t = 0; t < TOTAL; t++) {
    const r = t < DURATION ? rng : extra;
    // Past the planned window, a lone spike may come in any minute, at the planned window's rate.
    const spike = t < DURATION ? planned : r.chance(SPIKE_PER_MINUTE) ? { minute: t, metric: r.int(0, 2), size: r.uniform(2, 4) } : null;
    walk += 0.02 * r.normal();
    const traffic = (1 + 0.15 * Math.sin(phase + (2 * Math.PI * t) / period)) * Math.exp(walk);
    const blip = r.chance(0.05) ? r.uniform(1.5, 4) : 1;
    const sharedRate = errorRate * blip * (1 + 0.2 * r.normal() ** 2);
    const sharedLatency = latency * (1 + 0.1 * (traffic - 1)) * (blip > 1 ? r.uniform(1.05, 1.3) : 1);
    const sharedCpu = cpu * traffic;
    const regressed = bad && t >= start;

    const bRequests = r.poisson(baselineInstances * perInstanceRpm * traffic);
    const cRequests = r.poisson(canaryInstances * perInstanceRpm * traffic * r.uniform(0.9, 1.1));
    baseline.requests.push(bRequests);
    canary.requests.push(cRequests);

    baseline.http_5xx.push(r.poisson(bRequests * sharedRate));
    let canaryRate = sharedRate * warmup(t, warmErrors);
    if (regressed && regression === 'errors') canaryRate *= factor;
    if (regressed && regression === 'errors-from-zero') canaryRate += zeroRate;
    let canaryErrors = r.poisson(cRequests * canaryRate);
    if (spike?.minute === t && spike.metric === 0) canaryErrors += r.poisson(cRequests * Math.max(errorRate, 0.002) * spike.size * 3);
    canary.http_5xx.push(canaryErrors);

    baseline.latency_p99.push(round(sharedLatency * Math.exp(latencyNoise * r.normal())));
    let canaryLatency = sharedLatency * Math.exp(latencyNoise * canaryNoiseFactor * r.normal()) * warmup(t, warmLatency);
    if (regressed && regression === 'latency') canaryLatency *= factor;
    if (spike?.minute === t && spike.metric === 1) canaryLatency *= spike.size;
    canary.latency_p99.push(round(canaryLatency));

    baseline.cpu.push(round(Math.min(100, sharedCpu * Math.exp(cpuNoise * r.normal()))));
    let canaryCpu = sharedCpu * Math.exp(cpuNoise * canaryNoiseFactor * r.normal()) * warmup(t, warmCpu);
    if (regressed && regression === 'cpu') canaryCpu *= factor;
    if (spike?.minute === t && spike.metric === 2) canaryCpu *= Math.min(spike.size, 1.8);
    canary.cpu.push(round(Math.min(100, canaryCpu)));
  }
  return { bad, regression, start, window: { intervalMinutes: 1, baseline, canary } };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

export function generateCorpus(count = WINDOWS, seed = SEED): Case[] {
  const rng = new Random(seed);
  const cases: Case[] = [];
  for (let i = 0; i < count; i++) cases.push(generateCase(rng, i % 2 === 1, new Random(mix(seed, i))));
  return cases;
}

/** A well-spread seed for case i's extra minutes (murmur3's finaliser over seed and index). */
function mix(seed: number, i: number): number {
  let h = (seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

// ---------------------------------------------------------------------------
// The three judges. Each returns the minute of its first failing verdict, or null.

type Series = Record<string, (number | null)[]>;

function prefix(window: Window, minutes: number): Window {
  const cut = (s: Series): Series => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.slice(0, minutes)]));
  return { intervalMinutes: window.intervalMinutes, baseline: cut(window.baseline), canary: cut(window.canary) };
}

/** A CloudWatch-style alarm: any one minute (after warm-up) beyond tolerance fails. */
function oneDatapointThreshold(window: Window, config: CanaryConfig): number | null {
  for (let t = WARMUP; t < DURATION; t++) {
    for (const metric of config.metrics) {
      const c = window.canary[metric.name]?.[t] ?? 0;
      const b = window.baseline[metric.name]?.[t] ?? 0;
      if (metric.kind === 'count') {
        const cRate = c / Math.max(1, window.canary[metric.requests]?.[t] ?? 0);
        const bRate = b / Math.max(1, window.baseline[metric.requests]?.[t] ?? 0);
        if (c > 0 && cRate > bRate * metric.tolerance.upper) return t + 1;
      } else if (c > b * metric.tolerance.upper) {
        return t + 1;
      }
    }
  }
  return null;
}

/**
 * Kayenta's NetflixACAJudge, once at the end: per metric, Mann–Whitney on per-minute
 * values (counts as per-minute rates) at 98 % confidence, High when significant and the
 * Hodges–Lehmann effect is beyond the tolerance. Warm-up skipped, as Spinnaker's
 * beginCanaryAnalysisAfterMins does.
 */
function kayentaOnce(window: Window, config: CanaryConfig): number | null {
  for (const metric of config.metrics) {
    const values = (group: Series): number[] => {
      const out: number[] = [];
      for (let t = WARMUP; t < DURATION; t++) {
        const v = group[metric.name]?.[t] ?? 0;
        out.push(metric.kind === 'count' ? v / Math.max(1, group[metric.requests]?.[t] ?? 0) : v);
      }
      return out;
    };
    const b = values(window.baseline);
    const c = values(window.canary);
    const test = mannWhitneyGreater(b, c);
    if (test.p >= 0.01) continue; // two-sided 98 % → 1 % per side
    const shift = hodgesLehmann(b, c, 0.98);
    const level = median(b);
    const effect = level > 0 ? (level + shift.estimate) / level : shift.estimate > 0 ? Infinity : 1;
    if (effect > metric.tolerance.upper) return DURATION;
  }
  return null;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length / 2;
  return s.length % 2 ? (s[Math.floor(mid)] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

type Outcome = 'fail' | 'pass' | 'wait';

interface BakeryRun {
  /** Minute of the first failing verdict, extension included, or null. */
  failedAt: number | null;
  /** The verdict that stood at the end of the planned window (a fail before it stands). */
  atPlanned: Outcome;
  /** The verdict the stage acts on: fail or pass, or wait if it still said wait at the cap. */
  final: Outcome;
  /** Minute of the final verdict. */
  minute: number;
}

/**
 * Bakery's judge as the canary stage will run it: asked every minute as the window grows;
 * a fail stops the canary at once; at the end of the planned window a pass or fail is
 * final, and a wait extends the canary, asked again every minute while it says wait, for
 * at most MAX_EXTENSION minutes (whatever "~N more minutes" it gives: the cap holds).
 */
function bakeryEveryMinute(window: Window, config: CanaryConfig): BakeryRun {
  let atPlanned: Outcome = 'wait';
  for (let t = 1; t <= TOTAL; t++) {
    const { outcome } = judgeParsed(prefix(window, t), config);
    if (t <= DURATION) atPlanned = outcome;
    if (outcome === 'fail') return { failedAt: t, atPlanned, final: 'fail', minute: t };
    if (outcome === 'pass' && t >= DURATION) return { failedAt: null, atPlanned, final: 'pass', minute: t };
  }
  return { failedAt: null, atPlanned, final: 'wait', minute: TOTAL };
}

/** The same run, as decided by the end of the planned window alone (a wait there is no fail). */
function byPlannedEnd(run: BakeryRun): number | null {
  return run.failedAt !== null && run.failedAt <= DURATION ? run.failedAt : null;
}

// ---------------------------------------------------------------------------

interface Tally {
  caught: number;
  falseRollbacks: number;
  minutesToFail: number[];
}

function newTally(): Tally {
  return { caught: 0, falseRollbacks: 0, minutesToFail: [] };
}

function record(tally: Tally, c: Case, failedAt: number | null): void {
  if (failedAt === null) return;
  if (c.bad) {
    tally.caught++;
    tally.minutesToFail.push(failedAt);
  } else {
    tally.falseRollbacks++;
  }
}

function percent(part: number, whole: number): string {
  return `${((100 * part) / Math.max(1, whole)).toFixed(2)} %`;
}

/** How the Bakery runs of one group of cases ended, under both views. */
interface Ends {
  /** Decided by the end of the planned window. */
  failByPlanned: number;
  passAtPlanned: number;
  waitAtPlanned: number;
  /** Of those waiting there: how the extension ended. */
  failExtended: number;
  passExtended: number;
  waitAtCap: number;
  /** Minutes the extended runs took past the planned window, for the ones that ended in a verdict. */
  extraMinutes: number[];
}

function newEnds(): Ends {
  return { failByPlanned: 0, passAtPlanned: 0, waitAtPlanned: 0, failExtended: 0, passExtended: 0, waitAtCap: 0, extraMinutes: [] };
}

function recordEnds(ends: Ends, run: BakeryRun): void {
  if (run.atPlanned === 'fail') ends.failByPlanned++;
  else if (run.atPlanned === 'pass') ends.passAtPlanned++;
  else {
    ends.waitAtPlanned++;
    if (run.final === 'fail') ends.failExtended++;
    else if (run.final === 'pass') ends.passExtended++;
    else ends.waitAtCap++;
    if (run.final !== 'wait') ends.extraMinutes.push(run.minute - DURATION);
  }
}

interface BakeryFigures {
  extended: Tally;
  planned: Tally;
  good: Ends;
  bad: Ends;
  badCount: number;
  goodCount: number;
}

function runBakery(cases: Case[], config: CanaryConfig, onRun?: (c: Case, run: BakeryRun) => void): BakeryFigures {
  const figures: BakeryFigures = { extended: newTally(), planned: newTally(), good: newEnds(), bad: newEnds(), badCount: 0, goodCount: 0 };
  for (const c of cases) {
    const run = bakeryEveryMinute(c.window, config);
    record(figures.extended, c, run.failedAt);
    record(figures.planned, c, byPlannedEnd(run));
    recordEnds(c.bad ? figures.bad : figures.good, run);
    if (c.bad) figures.badCount++;
    else figures.goodCount++;
    onRun?.(c, run);
  }
  return figures;
}

function summaryLine(t: Tally, bad: number, good: number): string {
  return `catch ${percent(t.caught, bad)}, false rollbacks ${percent(t.falseRollbacks, good)}, median ${median(t.minutesToFail)} minutes to fail`;
}

export async function benchJudge(): Promise<void> {
  const started = performance.now();
  const config = parseConfig(CONFIG_INPUT);
  const cases = generateCorpus();
  const tallies = { threshold: newTally(), kayenta: newTally() };
  const missedByType = new Map<string, { missed: number; total: number }>();
  for (const c of cases) {
    record(tallies.threshold, c, oneDatapointThreshold(c.window, config));
    record(tallies.kayenta, c, kayentaOnce(c.window, config));
  }
  const bakery = runBakery(cases, config, (c, run) => {
    if (!c.bad) return;
    const key = `${c.regression}${c.start > 0 ? ' (mid-window)' : ''}`;
    const entry = missedByType.get(key) ?? { missed: 0, total: 0 };
    entry.total++;
    if (run.failedAt === null) entry.missed++;
    missedByType.set(key, entry);
  });
  const bad = bakery.badCount;
  const good = bakery.goodCount;
  const rows = [
    ['judge', 'catch rate', 'false rollbacks', 'median minutes to fail'],
    ...([
      ['one-datapoint threshold', tallies.threshold],
      ['Kayenta-style Mann–Whitney, once at the end', tallies.kayenta],
      [`Bakery judge, every minute, extended while it says wait (≤ ${MAX_EXTENSION} min)`, bakery.extended],
    ] as const).map(([name, t]) => [name, percent(t.caught, bad), percent(t.falseRollbacks, good), String(median(t.minutesToFail))]),
  ];
  console.log(
    `\nCanary judge — ${cases.length} synthetic windows (${bad} bad, ${good} good), ${DURATION} planned minutes each (up to ${MAX_EXTENSION} more generated for an extension), seed ${SEED}`,
  );
  console.log(table(rows));
  console.log(
    `Bakery judge, decided by minute ${DURATION} (no extension; a wait there counts as not caught): ${summaryLine(bakery.planned, bad, good)}`,
  );
  const g = bakery.good;
  const b = bakery.bad;
  console.log(
    `Bakery judge on good releases: ${g.passAtPlanned} pass at minute ${DURATION}, ${g.failByPlanned} fail by then, ${g.waitAtPlanned} wait → extended: ${g.passExtended} pass, ${g.failExtended} fail, ${g.waitAtCap} still wait at minute ${TOTAL} (undecided: not counted as a false rollback).`,
  );
  console.log(
    `Bakery judge on bad releases: ${b.failByPlanned} fail by minute ${DURATION}, ${b.passAtPlanned} pass at minute ${DURATION}, ${b.waitAtPlanned} wait → extended: ${b.failExtended} fail, ${b.passExtended} pass, ${b.waitAtCap} still wait at minute ${TOTAL} (counted as not caught).`,
  );
  const extra = [...g.extraMinutes, ...b.extraMinutes];
  if (extra.length > 0) console.log(`Extended canaries that reached a verdict took ${Math.min(...extra)}–${Math.max(...extra)} extra minutes (median ${median(extra)}).`);
  const misses = [...missedByType.entries()].sort(([x], [y]) => x.localeCompare(y));
  console.log(`Bakery judge misses by regression (extended): ${misses.map(([k, v]) => `${k} ${v.missed}/${v.total}`).join(', ')}`);
  for (const seed of EXTRA_SEEDS) {
    const other = runBakery(generateCorpus(WINDOWS, seed), config);
    console.log(`Bakery judge, corpus from seed ${seed}, extended (≤ ${MAX_EXTENSION} min): ${summaryLine(other.extended, other.badCount, other.goodCount)}`);
    console.log(
      `  decided by minute ${DURATION}: ${summaryLine(other.planned, other.badCount, other.goodCount)}; still wait at minute ${TOTAL}: ${other.bad.waitAtCap} bad, ${other.good.waitAtCap} good`,
    );
  }
  console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  benchJudge().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
