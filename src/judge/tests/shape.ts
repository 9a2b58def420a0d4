// The one shape every tolerance test of the judge has, and what the tests share. A metric
// kind is a list of these (judge.ts): `decide` asks each for its verdict, then each for
// its lean, so a new test is one file and one entry in a list.

import type { Bound, MetricConfig } from '../window.js';
import type { Evidence, MetricVerdictKind, Reason, Side, TestResult } from '../types.js';
import type { LookPlan } from '../sequential.js';
import { SPIKE_ALLOWANCE } from '../spikes.js';
import { normalQuantile } from '../stats.js';

// A bad-side p-value below this, without a verdict, is "too close to call": wait, not pass.
export const LEANING_P = 0.2;

export interface Look {
  /** Intervals of data so far. */
  intervals: number;
  warmup: number;
  /** Intervals after warm-up. */
  judged: number;
  /** Intervals after warm-up in the planned window. */
  plannedJudged: number;
  plannedIntervals: number;
  recent: number;
  alpha: number;
  intervalMinutes: number;
  singleLook: boolean;
}

/** One metric at one look, as every test sees it. */
export interface Judging<E extends Evidence = Evidence> {
  metric: MetricConfig;
  evidence: E;
  /** The bad sides, in the order they are tried. */
  sides: Side[];
  /** α per bad side. */
  alpha: number;
  look: Look;
  /** The intervals after warm-up. */
  judgedIdx: number[];
  /** The latest `look.recent` intervals. */
  recentIdx: number[];
  /** Each test's α (per side) on this plan, by name; 0 or absent: not tested on it. */
  alphaOf: ReadonlyMap<string, number>;
  /** The whole window's α (what the other tests leave), its design, and the part of its extension reserve it keeps. */
  window: { alpha: number; plan: LookPlan; keeps: number };
}

export interface Decision {
  verdict: MetricVerdictKind;
  reason: Reason;
  test: TestResult;
  moreIntervals: number | null;
  spikes: number[];
  /** The intervals the deciding test looked at, for the figures shown. */
  idx: number[];
  /** The ratio and interval the deciding test estimates, when they are not the kind's own (figures). */
  estimate?: { ratio: number; interval: [number, number] };
}

/** A test that would have failed, or leaned, only because of lone spikes: a Pass that names them. */
export interface SpikeSeen {
  side: Side;
  /** The test that saw them, as the Pass names it. */
  name: string;
  scope: TestResult['scope'];
  p: number;
  spikes: number[];
  level: number;
  against: number;
}

/**
 * What a test finds: a decision (a fail from `verdict`, a wait from `lean`), or that it
 * would have decided but for lone spikes (named lazily: naming them costs several more
 * tests, and only the first test's are shown, only when the metric passes), or nothing.
 */
export type Finding = { decision: Decision } | { spikeSeen: () => SpikeSeen } | null;

/** The whole window's bad side closest to a verdict, with lone spikes capped; narrower tests must lean harder. */
export interface Suspicion {
  p: number;
  lean: number;
  against: number;
  pWithSpike: number;
  spikes: number[];
}

export interface JudgeTest<E extends Evidence = Evidence> {
  name: string;
  /**
   * The fraction of the metric's α this test spends on this plan (0: not tested on it).
   * The whole window has none: it keeps the rest. Depends on the plan only, never on the
   * look, so every look spends the same split.
   */
  share?(look: Look, alpha: number): number;
  /** Of the whole window's reserve for looks past the plan, the fraction this test takes when it is tested. */
  extensionShare?: number;
  /** The level this look is held to (0: not tested at this look). */
  level(j: Judging<E>): number;
  /** Beyond the tolerance on `side` at this look: a fail, lone spikes only, or nothing. */
  verdict(side: Side, j: Judging<E>): Finding;
  /** Too close to call (a wait, whichever side), lone spikes only, or nothing. */
  lean(j: Judging<E>, window: Suspicion): Finding;
}

export function alphaOf(j: Judging<Evidence>, test: { name: string }): number {
  return j.alphaOf.get(test.name) ?? 0;
}

export function testResult(evidence: Evidence, p: number, level: number, against: number, scope: TestResult['scope']): TestResult {
  return { name: evidence.testName, p, level, against, scope };
}

/**
 * The fewest lone spikes whose setting aside clears a verdict (`cleared`), for naming
 * them: with a single wild minute, "minute 15", not the three worst minutes.
 */
export function fewestSpikes(capped: (allowance: number) => { spikes: number[]; cleared: boolean }): number[] {
  for (let k = 1; k < SPIKE_ALLOWANCE; k++) {
    const attempt = capped(k);
    if (attempt.cleared) return attempt.spikes;
  }
  return capped(SPIKE_ALLOWANCE).spikes;
}

export function boundFor(side: Side, bound: Bound): number {
  return side === 'High' ? bound.upper : bound.lower;
}

// The test statistic grows like √n for a steady effect, so the data needed to bring
// p down to the level scales with the square of the z-ratio.
export function intervalsToDecide(p: number, level: number, judged: number): number | null {
  const zSeen = normalQuantile(1 - p);
  const zNeeded = normalQuantile(1 - level);
  if (!(zSeen > 0.1) || !(zNeeded > 0)) return null;
  return Math.max(1, Math.ceil(judged * (zNeeded / zSeen) ** 2 - judged));
}

export function isZeroBaseline(evidence: Evidence, idx: number[]): boolean {
  const figures = evidence.figures(idx, 0.5);
  return figures.baseline.kind === 'count' && figures.baseline.events === 0;
}

export function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = Math.max(0, from); i < to; i++) out.push(i);
  return out;
}
