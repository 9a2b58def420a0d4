// The canary judge: given the window so far and the team's metric config, a verdict
// per metric (Pass, High, Low, Inconclusive) and overall (fail, pass, wait). Pure and
// deterministic: no clock, no I/O, no randomness; the canary stage calls it after
// every interval and replays call it on recorded windows.
//
// How it decides, per metric and per bad direction:
//   - count metrics: exact rate-ratio test on the window's totals (events over
//     requests), against the tolerance, so "0 vs some" is seen;
//   - gauge metrics: two rank tests against the baseline scaled by the tolerance, each
//     at half the level — a signed-rank test on each minute against its own minute's
//     baseline, and Mann–Whitney on the two groups' minutes (alone, at the whole level,
//     while the signed-rank test cannot reach it) — with a Hodges–Lehmann estimate of
//     the ratio;
//   - the canary's warm-up minutes are not judged; a High/Low must still hold with up
//     to three isolated worst minutes capped at the next one's (lone spikes are not a
//     regression; a run of bad minutes is);
//   - the whole judged window and, separately, the latest minutes are tested, so a
//     regression starting mid-window is not diluted by the good minutes before it;
//     for gauges also a sign CUSUM on paired minutes (canary vs the same minute's
//     baseline × tolerance), which finds the run of regressed minutes wherever it
//     starts and which shared drift cannot blur, with an exact false-alarm chance;
//   - each look's level comes from a group-sequential design, starting at the first look
//     whose level the test can reach, so judging every interval fails good releases no
//     more often than judging once at the end.

import type { Bound, CanaryConfig, CountMetricConfig, GaugeMetricConfig, MetricConfig, Window } from './window.js';
import { parseInput } from './window.js';
import {
  hodgesLehmann,
  hodgesLehmannPaired,
  mannWhitneyGreater,
  signedRankGreater,
  median,
  normalQuantile,
  rateRatioInterval,
  rateRatioPHigh,
  rateRatioPLow,
} from './stats.js';
import type { RateCounts } from './stats.js';
import {
  bonferroniLevel,
  capLoneSpikes,
  changePointScan,
  extensionLevel,
  extensionReserve,
  lookLevel,
  signCusum,
  signCusumExtension,
  signCusumP,
  signCusumThreshold,
} from './sequential.js';
import type { LookPlan } from './sequential.js';
import type { SignCusumDesign } from './sequential.js';
import { explainMetric, summarize } from './explain.js';
import { loneSpikes, SPIKE_ALLOWANCE } from './spikes.js';
import type { ScoredMinute } from './spikes.js';

export { parseInput, parseConfig, JudgeInputError, parseBound } from './window.js';
export type {
  CanaryConfig,
  CanaryConfigInput,
  MetricConfig,
  MetricConfigInput,
  Window,
  WindowInput,
  RecordedWindow,
} from './window.js';

export type MetricVerdictKind = 'Pass' | 'High' | 'Low' | 'Inconclusive';
export type Outcome = 'fail' | 'pass' | 'wait';
export type Side = 'High' | 'Low';

/** The figures a person compares for one group. */
export type Figures =
  | { kind: 'count'; events: number; requests: number; rate: number }
  | { kind: 'gauge'; median: number; values: number };

/** Why a metric got its verdict, for explanations and for the canary stage's logic. */
export type Reason =
  | 'beyond-tolerance' // High/Low over the judged window
  | 'beyond-tolerance-recent' // High/Low over the latest minutes only: a mid-window regression
  | 'beyond-tolerance-run' // High/Low: a run of minutes beyond tolerance, each against its own minute's baseline (sign CUSUM)
  | 'beyond-tolerance-since' // High/Low: counts since a change point beyond tolerance (change-point scan)
  | 'beyond-critical' // High/Low beyond the critical bound: fails at once
  | 'zero-baseline' // High: the baseline had no events, the canary too many for chance
  | 'within-tolerance' // Pass
  | 'lone-spike' // Pass: would be High/Low, or leaning, only because of a few isolated minutes
  | 'warming-up' // Inconclusive: every interval so far is warm-up
  | 'too-little-data' // Inconclusive: below minMinutes / minRequests
  | 'leaning'; // Inconclusive: not beyond tolerance yet, but too close to call

export interface TestResult {
  /** Which test: "exact rate ratio", "change-point scan", "Mann–Whitney / signed-rank" or "sign CUSUM". */
  name: string;
  /** One-sided p-value against the bound, on the deciding side. */
  p: number;
  /** The level this look needed (corrected for repeated looks). */
  level: number;
  /** The ratio the canary was tested against (the tolerance or critical bound). */
  against: number;
  /**
   * Which intervals: the judged window, the latest minutes, the latest run of minutes
   * found by the sign CUSUM (gauges), or everything (critical).
   */
  scope: 'window' | 'recent' | 'run' | 'since' | 'all';
  /**
   * For the run scope: where the run began and ended (minutes into the window, at the end of
   * those intervals) and how many of its intervals were beyond the tolerance.
   */
  run?: { fromMinute: number; toMinute: number; beyond: number; minutes: number };
  /** For the since scope (counts): the change point the scan found, and the latest minute (as for `run`). */
  since?: { fromMinute: number; toMinute: number };
}

export interface MetricVerdict {
  metric: string;
  label: string;
  kind: 'count' | 'gauge';
  /** Unit of gauge values ("ms") or word for count events ("errors"). */
  unit: string;
  gating: boolean;
  verdict: MetricVerdictKind;
  reason: Reason;
  canary: Figures;
  baseline: Figures;
  /** Canary over baseline: rate ratio, or Hodges–Lehmann ratio for gauges. Null when undefined (0 vs 0). */
  ratio: number | null;
  /** Interval on the ratio at the level this look used. */
  interval: [number, number] | null;
  test: TestResult;
  tolerance: string;
  critical: string | null;
  /** Intervals judged (after warm-up, with data). */
  judgedIntervals: number;
  /** For Inconclusive: the estimated minutes until the metric can be decided. */
  moreMinutes: number | null;
  /** The first minute (1-based) set aside as a lone spike, if that changed the verdict. */
  spikeMinute: number | null;
  /** Every minute (1-based, in order) set aside as a lone spike, if that changed the verdict. */
  spikeMinutes: number[];
  explanation: string;
}

export interface Verdict {
  outcome: Outcome;
  /** Minutes of data in the window. */
  minute: number;
  durationMinutes: number;
  /** For wait: minutes until the judge expects to decide. */
  moreMinutes: number | null;
  /** One line for the thread ("fail: p99 latency High …"). */
  summary: string;
  metrics: MetricVerdict[];
}

export interface JudgeOptions {
  /**
   * Judge this look as if it were the only one (no repeated-looks correction), as a
   * once-at-the-end analysis would. For comparisons; the canary stage must not use it.
   */
  singleLook?: boolean;
}

/** Validate and judge. Throws JudgeInputError (naming metric and field) on malformed input. */
export function judgeWindow(window: unknown, config: unknown, options: JudgeOptions = {}): Verdict {
  const parsed = parseInput(window, config);
  return judgeParsed(parsed.window, parsed.config, options);
}

// Shares of α (per bad side) besides the whole judged window, which keeps the rest.
// Counts: a change-point scan over each minute's counts, which tests the minutes since
// every possible start at every look (it subsumes a fixed window of the latest minutes).
// Gauges: the latest minutes (the same two rank tests) and the sign CUSUM's run of minutes, each
// against its own minute's baseline — the paired view that shared drift (traffic waves
// move CPU in both groups) cannot blur.
const SCAN_SHARE = 0.25;
const GAUGE_RECENT_SHARE = 0.25;
const RUN_SHARE = 0.25;
// The scan's alternatives: the canary's rate 1.25 to 5 times the tolerated rate, mixed
// equally (a mixture of likelihood ratios is one, so its guarantee is unchanged; the
// mixture adapts to the size of the regression at a cost of at most log 5 in evidence).
const SCAN_ALTERNATIVES = [1.25, 1.5, 2, 3, 5];
const SCAN_WEIGHTS = SCAN_ALTERNATIVES.map(() => 1 / SCAN_ALTERNATIVES.length);
// Which alternative ranks the minutes when looking for a lone spike (×2 the tolerance).
const SCAN_RANK = 2;
// The CUSUM's scores: +1 for a minute beyond the tolerance, −3 for one within. These are
// Page's log-likelihood-ratio weights, rounded, for telling "beyond in half the minutes"
// (the null at its edge) from "beyond in nine minutes out of ten": log 1.8 : log 5 ≈ 1 : 2.7.
const RUN_UP = 1;
const RUN_DOWN = 3;
// Past the planned window (the stage extends a canary the judge still waits on), the sign
// CUSUM's plan has ended and the latest-minutes test's planned shares are spent, yet a
// late regression is what they see best. So the latest minutes stay under test, at the
// same cadence, on half the reserve the whole-window test keeps for extension looks: the
// k-th such look gets reserve/(k(k+1)), which sums to it. The planned looks' levels are
// unchanged, and the union bound over all the tests still totals α.
const RECENT_EXTENSION_SHARE = 0.5;
// A bad-side p-value below this, without a verdict, is "too close to call": wait, not pass.
const LEANING_P = 0.2;
// Cap on "~N more minutes", beyond which the estimate means little.
const MAX_MORE_MINUTES = 60;

interface Look {
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

/** Judge input that is already validated (the canary stage validates once, then calls this each interval). */
export function judgeParsed(window: Window, config: CanaryConfig, options: JudgeOptions = {}): Verdict {
  const intervals = seriesLength(window, config);
  const step = window.intervalMinutes;
  const plannedIntervals = Math.max(1, Math.round(config.durationMinutes / step));
  const warmup = Math.ceil(config.warmupMinutes / step - 1e-9);
  const look: Look = {
    intervals,
    warmup,
    judged: Math.max(0, intervals - warmup),
    plannedJudged: Math.max(0, plannedIntervals - warmup),
    plannedIntervals,
    recent: Math.max(2, Math.round(config.recentMinutes / step)),
    alpha: 1 - config.confidence,
    intervalMinutes: step,
    singleLook: options.singleLook ?? false,
  };
  const metrics = config.metrics.map((metric) => judgeMetric(metric, window, look, config.confidence));
  return overall(metrics, look, config);
}

function seriesLength(window: Window, config: CanaryConfig): number {
  const first = config.metrics[0];
  return first ? (window.canary[first.name]?.length ?? 0) : 0;
}

// ---------------------------------------------------------------------------
// One metric.

/** What the judge needs from a metric's data, whatever its kind. */
interface Evidence {
  testName: string;
  /** First judged interval count at which this kind of test can reject (design start). */
  firstLook: number;
  /**
   * One-sided p-value that the canary is beyond `ratio` on `side`, over these intervals.
   * `level`, when given, is the level it will be held to: a part of the test that cannot
   * reach it on this many intervals is left out, its share going to the rest.
   */
  p(side: Side, ratio: number, indices: readonly number[], level?: number): number;
  /**
   * The smallest p-value the test can give on `intervals` intervals, whatever the data
   * (rank tests are discrete); 0 when there is no such floor. A look at which the floor is
   * above the level gets none of the design's α.
   */
  floor(intervals: number): number;
  /**
   * The same p-value with the isolated intervals most to blame for a `side` verdict
   * (up to SPIKE_ALLOWANCE) capped at the next one's level, so lone spikes cannot carry
   * a verdict; `spikes` names those intervals. `lean`, when given, is what to weigh for
   * "too close to call" instead of `p` (gauges: the smaller of their two tests' own
   * p-values, since a wait, unlike a fail, spends no α). `level` as for `p`.
   */
  pWithoutSpike(side: Side, ratio: number, indices: readonly number[], allowance?: number, level?: number): { p: number; spikes: number[]; lean?: number };
  figures(indices: readonly number[], confidence: number): Omit<Summary, 'enough'>;
  /** Whether there is enough data to pass or fail, and if not, intervals still needed (null: unknown). */
  enough(indices: readonly number[]): { ok: boolean; moreIntervals: number | null };
  /**
   * Gauges: each interval with data in both groups, in order, and whether the canary was
   * beyond `ratio` × that same interval's baseline on `side` (gap: how far, on a log scale).
   */
  minutes?(side: Side, ratio: number, indices: readonly number[]): PairedMinute[];
  /**
   * Counts: each interval's log likelihood ratio of the canary's share of the events,
   * one row per alternative in SCAN_ALTERNATIVES, against the canary being at `ratio`
   * (0 for an interval without data).
   */
  logRatios?(side: Side, ratio: number, indices: readonly number[]): number[][];
}

interface PairedMinute {
  i: number;
  beyond: boolean;
  gap: number;
}

interface Summary {
  canary: Figures;
  baseline: Figures;
  ratio: number | null;
  interval: [number, number] | null;
}

function judgeMetric(metric: MetricConfig, window: Window, look: Look, confidence: number): MetricVerdict {
  const evidence = metric.kind === 'count' ? countEvidence(metric, window) : gaugeEvidence(metric, window);
  const sides: Side[] = metric.direction === 'increase' ? ['High'] : metric.direction === 'decrease' ? ['Low'] : ['High', 'Low'];
  const alphaPerSide = look.alpha / sides.length;
  const judgedIdx = range(look.warmup, look.intervals);
  const decision = decide(metric, evidence, sides, alphaPerSide, look, judgedIdx);
  const displayLevel = decision.test.level > 0 ? decision.test.level : alphaPerSide;
  const figures = evidence.figures(decision.idx.length > 0 ? decision.idx : judgedIdx, 1 - 2 * displayLevel);
  const spikeMinutes = [...decision.spikes].sort((a, b) => a - b).map((i) => (i + 1) * look.intervalMinutes);
  const verdict: Omit<MetricVerdict, 'explanation'> = {
    metric: metric.name,
    label: metric.label ?? metric.name,
    kind: metric.kind,
    unit: metric.unit,
    gating: metric.gating,
    verdict: decision.verdict,
    reason: decision.reason,
    ...figures,
    test: inMinutes(decision.test, look.intervalMinutes),
    tolerance: metric.tolerance.text,
    critical: metric.critical?.text ?? null,
    judgedIntervals: look.judged,
    moreMinutes: decision.moreIntervals === null ? null : clampMinutes(decision.moreIntervals * look.intervalMinutes, look.intervalMinutes),
    spikeMinute: spikeMinutes[0] ?? null,
    spikeMinutes,
  };
  return { ...verdict, explanation: explainMetric(verdict, metric, confidence, look.intervalMinutes) };
}

// `decide` counts intervals; a verdict speaks in minutes (the end of each 1-based interval).
function inMinutes(result: TestResult, intervalMinutes: number): TestResult {
  const span = <T extends { fromMinute: number; toMinute: number }>(s: T): T => ({
    ...s,
    fromMinute: s.fromMinute * intervalMinutes,
    toMinute: s.toMinute * intervalMinutes,
  });
  return { ...result, ...(result.run && { run: span(result.run) }), ...(result.since && { since: span(result.since) }) };
}

interface Decision {
  verdict: MetricVerdictKind;
  reason: Reason;
  test: TestResult;
  moreIntervals: number | null;
  spikes: number[];
  /** The intervals the deciding test looked at, for the figures shown. */
  idx: number[];
}

function decide(
  metric: MetricConfig,
  evidence: Evidence,
  sides: Side[],
  alpha: number,
  look: Look,
  judgedIdx: number[],
): Decision {
  // 1. Critical bound: from the first interval, warm-up included, no lone-spike allowance.
  if (metric.critical) {
    const all = range(0, look.intervals);
    const level = look.singleLook ? alpha : lookLevel(look.intervals, { first: 1, planned: look.plannedIntervals }, alpha);
    for (const side of sides) {
      const against = boundFor(side, metric.critical);
      const p = evidence.p(side, against, all);
      if (p < level) {
        return { verdict: side, reason: 'beyond-critical', test: test(evidence, p, level, against, 'all'), moreIntervals: null, spikes: [], idx: all };
      }
    }
  }
  // 2. Nothing to judge yet: every interval so far is warm-up.
  const firstSide = sides[0] ?? 'High';
  if (look.judged === 0) {
    const against = boundFor(firstSide, metric.tolerance);
    return {
      verdict: 'Inconclusive',
      reason: 'warming-up',
      test: test(evidence, 1, 0, against, 'window'),
      moreIntervals: look.warmup - look.intervals + evidence.firstLook,
      spikes: [],
      idx: judgedIdx,
    };
  }
  // 3. Beyond tolerance over the judged window, then over the latest minutes: for
  // counts, the totals of the latest `recent` minutes; for gauges, the sign CUSUM's
  // latest run of minutes, each against its own minute's baseline.
  const second = secondScope(evidence, look, alpha);
  const windowAlpha = alpha * (1 - second.recent - second.run - second.scan);
  const scanAlpha = alpha * second.scan;
  const windowPlan = windowDesign(evidence, look, windowAlpha);
  const windowKeeps = second.recent > 0 ? 1 - RECENT_EXTENSION_SHARE : 1;
  const windowLevel = look.singleLook ? alpha : lookLevel(look.judged, windowPlan, windowAlpha, windowKeeps);
  const secondAlpha = alpha * second.run;
  const recentShares: RecentShares = {
    planned: alpha * second.recent,
    extension: extensionReserve(windowPlan, windowAlpha) * RECENT_EXTENSION_SHARE,
  };
  const recentLevel = second.recent > 0 ? recentScopeLevel(look, look.judged, recentShares) : 0;
  const runDesign: SignCusumDesign = { up: RUN_UP, down: RUN_DOWN, looks: look.plannedJudged };
  const runOpen = second.run > 0 && look.judged <= look.plannedJudged;
  // Past the plan, the CUSUM goes on with the thresholds of its exact continuation.
  const runExtra = second.run > 0 ? look.judged - look.plannedJudged : 0;
  const runExtension = runExtra > 0 ? signCusumExtension(secondAlpha, runDesign, horizonFor(runExtra)) : [];
  const runExtensionThreshold = runExtension[runExtra - 1];
  const recentIdx = range(look.intervals - look.recent, look.intervals);
  let spikeSeen: { side: Side; p: number; spikes: number[]; level: number; against: number } | null = null;
  for (const side of sides) {
    const against = boundFor(side, metric.tolerance);
    const scopes: Array<{ idx: number[]; level: number; scope: 'window' | 'recent' }> = [
      { idx: judgedIdx, level: windowLevel, scope: 'window' },
      { idx: recentIdx, level: recentLevel, scope: 'recent' },
    ];
    for (const { idx, level, scope } of scopes) {
      if (level <= 0) continue;
      const p = evidence.p(side, against, idx, level);
      if (!(p < level)) continue;
      // Lone spikes are not a regression: the verdict must hold with them capped.
      const { p: pWithout } = evidence.pWithoutSpike(side, against, idx, SPIKE_ALLOWANCE, level);
      if (pWithout < level) {
        const reason: Reason = scope === 'recent' ? 'beyond-tolerance-recent' : isZeroBaseline(evidence, idx) ? 'zero-baseline' : 'beyond-tolerance';
        return { verdict: side, reason, test: test(evidence, p, level, against, scope), moreIntervals: null, spikes: [], idx };
      }
      if (spikeSeen === null) {
        const spikes = fewestSpikes((k) => {
          const capped = evidence.pWithoutSpike(side, against, idx, k, level);
          return { spikes: capped.spikes, cleared: !(capped.p < level) };
        });
        spikeSeen = { side, p: pWithout, spikes, level, against };
      }
    }
    if (runOpen && evidence.minutes) {
      const run = runTest(evidence.minutes(side, against, judgedIdx), runDesign);
      if (run.p < secondAlpha) {
        if (run.pWithout < secondAlpha) {
          return { verdict: side, reason: 'beyond-tolerance-run', test: runResult(run, secondAlpha, against), moreIntervals: null, spikes: [], idx: run.idx };
        }
        if (spikeSeen === null) {
          const paired = evidence.minutes(side, against, judgedIdx);
          const spikes = fewestSpikes((k) => {
            const capped = runTest(paired, runDesign, k);
            return { spikes: capped.spikes, cleared: !(capped.pWithout < secondAlpha) };
          });
          spikeSeen = { side, p: run.pWithout, spikes, level: secondAlpha, against };
        }
      }
    }
    if (runExtensionThreshold !== undefined && evidence.minutes) {
      const run = runTest(evidence.minutes(side, against, judgedIdx), runDesign);
      if (run.value >= runExtensionThreshold) {
        const extended = extendedRun(run, runDesign, look.judged, runExtensionThreshold);
        if (run.valueWithout >= runExtensionThreshold) {
          return { verdict: side, reason: 'beyond-tolerance-run', test: runResult(extended, extended.level, against), moreIntervals: null, spikes: [], idx: run.idx };
        }
        if (spikeSeen === null) {
          const paired = evidence.minutes(side, against, judgedIdx);
          const spikes = fewestSpikes((k) => {
            const capped = runTest(paired, runDesign, k);
            return { spikes: capped.spikes, cleared: capped.valueWithout < runExtensionThreshold };
          });
          spikeSeen = { side, p: extended.pWithout, spikes, level: extended.level, against };
        }
      }
    }
    if (scanAlpha > 0 && evidence.logRatios) {
      const ratios = evidence.logRatios(side, against, judgedIdx);
      const scan = changePointScan(ratios, SCAN_WEIGHTS, look.plannedJudged);
      const threshold = -Math.log(scanAlpha);
      if (scan.logE >= threshold) {
        const p = Math.exp(-scan.logE);
        // Lone spikes are not a regression: the scan must still cross with the isolated
        // minutes carrying the most evidence capped at the next one's.
        const capped = capLoneSpikes(ratios, SCAN_RANK);
        const without = changePointScan(capped.llr, SCAN_WEIGHTS, look.plannedJudged);
        if (without.logE >= threshold) {
          const from = judgedIdx[scan.from] ?? look.warmup;
          const idx = range(from, look.intervals);
          const result: TestResult = { ...test(evidence, p, scanAlpha, against, 'since'), name: 'change-point scan' };
          result.since = { fromMinute: from + 1, toMinute: look.intervals };
          const reason: Reason = isZeroBaseline(evidence, idx) ? 'zero-baseline' : 'beyond-tolerance-since';
          return { verdict: side, reason, test: result, moreIntervals: null, spikes: [], idx };
        }
        if (spikeSeen === null) {
          const positions = fewestSpikes((k) => {
            const fewer = capLoneSpikes(ratios, SCAN_RANK, k);
            return { spikes: fewer.spikes, cleared: changePointScan(fewer.llr, SCAN_WEIGHTS, look.plannedJudged).logE < threshold };
          });
          const spikes = positions.map((k) => judgedIdx[k] ?? look.warmup);
          spikeSeen = { side, p: Math.min(1, Math.exp(-without.logE)), spikes, level: scanAlpha, against };
        }
      }
    }
  }
  // 4. Not enough data to pass: never a silent pass.
  const enough = evidence.enough(judgedIdx);
  const suspicion = { ...mostSuspicious(evidence, sides, metric.tolerance, judgedIdx), scope: 'window' as const, size: look.judged };
  // The latest minutes: a test of their own for gauges; for counts (whose change-point
  // scan covers them) still a reason to wait rather than pass when they lean.
  const recentSuspicion =
    (second.recent > 0 || (second.scan > 0 && look.plannedJudged > look.recent)) && look.judged > look.recent
      ? latestSuspicion(evidence, sides, metric.tolerance, look, recentIdx)
      : null;
  if (!enough.ok) {
    return {
      verdict: 'Inconclusive',
      reason: 'too-little-data',
      test: test(evidence, suspicion.p, windowLevel, suspicion.against, 'window'),
      moreIntervals: enough.moreIntervals,
      spikes: [],
      idx: judgedIdx,
    };
  }
  // 5. Too close to call: wait for more data rather than pass. A regression that started
  // late shows in the latest minutes before it shows in the whole window.
  if (recentSuspicion !== null && recentSuspicion.lean < LEANING_P && recentSuspicion.lean < suspicion.lean) {
    // Counts: shown against the scan's level, the test that would decide it. Gauges: the
    // level of the latest-minutes test's next look (past the plan, an extension look's).
    let level = scanAlpha;
    let untilLook = 0;
    if (second.recent > 0 && look.judged < look.plannedJudged) {
      level = bonferroniLevel(recentShares.planned, recentScopeLooks(look));
    } else if (second.recent > 0) {
      const next = nextRecentLook(look);
      level = recentScopeLevel(look, next, recentShares);
      untilLook = next - look.judged;
    }
    const toDecide = intervalsToDecide(recentSuspicion.p, level, recentSuspicion.idx.length);
    return {
      verdict: 'Inconclusive',
      reason: 'leaning',
      test: test(evidence, recentSuspicion.p, level, recentSuspicion.against, 'recent'),
      moreIntervals: toDecide === null ? null : Math.max(untilLook, toDecide),
      spikes: [],
      idx: recentSuspicion.idx,
    };
  }
  // Counts: errors since a change point that the scan would fail after a few more such
  // minutes (its evidence, lone spike capped, is past 1/LEANING_P). Its guarantee
  // holds past the planned window, so an extended canary can still fail on it.
  if (scanAlpha > 0 && evidence.logRatios) {
    for (const side of sides) {
      const against = boundFor(side, metric.tolerance);
      const capped = capLoneSpikes(evidence.logRatios(side, against, judgedIdx), SCAN_RANK);
      const scan = changePointScan(capped.llr, SCAN_WEIGHTS, look.plannedJudged);
      const p = Math.min(1, Math.exp(-scan.logE));
      if (p < LEANING_P && p < suspicion.lean) {
        // The best start's evidence grows by about its per-minute average each minute.
        const since = look.judged - scan.from;
        const slope = since > 0 ? scan.best / since : 0;
        const from = judgedIdx[scan.from] ?? look.warmup;
        const result: TestResult = { ...test(evidence, p, scanAlpha, against, 'since'), name: 'change-point scan' };
        result.since = { fromMinute: from + 1, toMinute: look.intervals };
        return {
          verdict: 'Inconclusive',
          reason: 'leaning',
          test: result,
          moreIntervals: slope > 0 ? Math.max(1, Math.ceil((-Math.log(scanAlpha) - scan.logE) / slope)) : null,
          spikes: [],
          idx: range(from, look.intervals),
        };
      }
    }
  }
  // A run of minutes beyond tolerance that the CUSUM would fail after a few more such
  // minutes: within the planned window while it can, else at the next extension look (a
  // regression that began near the plan's end is a reason to extend, not to pass).
  if (second.run > 0 && evidence.minutes) {
    const within = look.judged < look.plannedJudged;
    const nextExtra = look.judged + 1 - look.plannedJudged;
    const threshold = within
      ? signCusumThreshold(secondAlpha, runDesign)
      : signCusumExtension(secondAlpha, runDesign, horizonFor(nextExtra))[nextExtra - 1];
    const level = within ? secondAlpha : threshold === undefined ? 0 : signCusumP(threshold - 1, { ...runDesign, looks: look.judged + 1 });
    for (const side of threshold === undefined ? [] : sides) {
      const against = boundFor(side, metric.tolerance);
      const run = runTest(evidence.minutes(side, against, judgedIdx), runDesign);
      const needed = Math.ceil(((threshold ?? Infinity) - run.valueWithout) / RUN_UP);
      // Within the plan, only a run that can still get there; past it, an extension no longer than the plan.
      const reachable = needed <= (within ? look.plannedJudged - look.judged : look.plannedJudged);
      if (run.pWithout < LEANING_P && reachable && run.pWithout < suspicion.lean) {
        return {
          verdict: 'Inconclusive',
          reason: 'leaning',
          test: runResult(run, level, against),
          moreIntervals: needed,
          spikes: [],
          idx: run.idx,
        };
      }
    }
  }
  if (suspicion.lean < LEANING_P) {
    const level = nextLevel(windowPlan, look, windowAlpha, windowKeeps);
    return {
      verdict: 'Inconclusive',
      reason: 'leaning',
      test: test(evidence, suspicion.p, level, suspicion.against, 'window'),
      moreIntervals: intervalsToDecide(suspicion.p, level, look.judged),
      spikes: [],
      idx: judgedIdx,
    };
  }
  // Would have looked suspicious only because of lone spikes: say so.
  if (spikeSeen === null && suspicion.pWithSpike < LEANING_P && suspicion.spikes.length > 0) {
    const side: Side = suspicion.against >= 1 ? 'High' : 'Low';
    const spikes = fewestSpikes((k) => {
      const capped = evidence.pWithoutSpike(side, suspicion.against, judgedIdx, k);
      return { spikes: capped.spikes, cleared: !(capped.p < LEANING_P) };
    });
    spikeSeen = { side, p: suspicion.p, spikes, level: windowLevel, against: suspicion.against };
  }
  if (spikeSeen !== null) {
    return {
      verdict: 'Pass',
      reason: 'lone-spike',
      test: test(evidence, spikeSeen.p, spikeSeen.level, spikeSeen.against, 'window'),
      moreIntervals: null,
      spikes: spikeSeen.spikes,
      // The figures shown are the minutes judged without the ones set aside.
      idx: judgedIdx.filter((i) => !spikeSeen.spikes.includes(i)),
    };
  }
  return {
    verdict: 'Pass',
    reason: 'within-tolerance',
    test: test(evidence, suspicion.p, windowLevel, suspicion.against, 'window'),
    moreIntervals: null,
    spikes: [],
    idx: judgedIdx,
  };
}

// The whole-window test's design starts at the first look whose level its test can reach
// (a rank test on 5 minutes cannot go below 1/252): α spent on looks at which the test
// cannot reject would be spent on nothing. It depends on the plan only, never on the data.
function windowDesign(evidence: Evidence, look: Look, alpha: number): LookPlan {
  const planned = look.plannedJudged;
  let first = evidence.firstLook;
  while (first < planned && !(evidence.floor(first) < lookLevel(first, { first, planned }, alpha))) first++;
  return { first, planned };
}

// Which second scope a metric gets besides the whole judged window, and its share of α.
// It depends on the plan only, never on the look, so every look spends the same split.
function secondScope(evidence: Evidence, look: Look, alpha: number): { recent: number; run: number; scan: number } {
  if (look.singleLook) return { recent: 0, run: 0, scan: 0 };
  const recent = evidence.minutes && look.plannedJudged > look.recent ? GAUGE_RECENT_SHARE : 0;
  if (evidence.minutes) {
    const design: SignCusumDesign = { up: RUN_UP, down: RUN_DOWN, looks: look.plannedJudged };
    // Only when a run within the plan could reach a verdict; otherwise the window keeps all of α.
    const reachable = signCusumThreshold(alpha * RUN_SHARE, design) <= RUN_UP * look.plannedJudged;
    return { recent, run: reachable ? RUN_SHARE : 0, scan: 0 };
  }
  return { recent, run: 0, scan: evidence.logRatios && look.plannedJudged > 0 ? SCAN_SHARE : 0 };
}

interface RunOutcome {
  p: number;
  /** The CUSUM's value now. */
  value: number;
  /**
   * The same with the lone spikes (isolated worst minutes) capped at the next-worst
   * one, as for the gauge's window test: lone spikes cannot carry a verdict. Each minute
   * only ever scores +1, however far beyond the tolerance it is, so this changes the
   * verdict only when a spike is beyond the tolerance and that next-worst minute is not.
   */
  pWithout: number;
  valueWithout: number;
  spikes: number[];
  /** The intervals from the run's first minute to the latest. */
  idx: number[];
  run: NonNullable<TestResult['run']> | undefined;
}

function runTest(minutes: PairedMinute[], design: SignCusumDesign, allowance = SPIKE_ALLOWANCE): RunOutcome {
  const run = signCusum(minutes.map((m) => m.beyond), design);
  const inRun = minutes.slice(run.from);
  const { spikes, reference } = loneSpikes(minutes.map((m) => ({ i: m.i, score: m.gap })), allowance);
  const referenceBeyond = minutes.find((m) => m.i === reference)?.beyond ?? false;
  const capped = minutes.map((m) => (spikes.includes(m.i) ? referenceBeyond && m.beyond : m.beyond));
  const without = signCusum(capped, design);
  const first = inRun[0];
  const last = minutes[minutes.length - 1];
  return {
    p: signCusumP(run.value, design),
    value: run.value,
    pWithout: signCusumP(without.value, design),
    valueWithout: without.value,
    spikes,
    idx: first && last ? range(first.i, last.i + 1) : [],
    run:
      first && last && run.value > 0
        ? { fromMinute: first.i + 1, toMinute: last.i + 1, beyond: run.beyond, minutes: inRun.length }
        : undefined,
  };
}

/**
 * A run judged at a look past the plan. Its p-value is the chance that a null CUSUM
 * reaches its value at some look so far (plan and extra looks alike), and the level is
 * that chance for one below this look's threshold: p < level exactly when the run
 * reaches the threshold.
 */
function extendedRun(run: RunOutcome, design: SignCusumDesign, judged: number, threshold: number): RunOutcome & { level: number } {
  const soFar: SignCusumDesign = { ...design, looks: judged };
  return {
    ...run,
    p: signCusumP(run.value, soFar),
    pWithout: signCusumP(run.valueWithout, soFar),
    level: signCusumP(threshold - 1, soFar),
  };
}

/** The extra looks a continuation is computed for: enough for this one, in doublings so it is cached. */
function horizonFor(extra: number): number {
  let horizon = 16;
  while (horizon < extra) horizon *= 2;
  return horizon;
}

function runResult(run: RunOutcome, level: number, against: number): TestResult {
  const result: TestResult = { name: 'sign CUSUM', p: run.p, level, against, scope: 'run' };
  if (run.run) result.run = run.run;
  return result;
}

// The latest-minutes scope is a sliding window; consecutive windows share most of their
// minutes, so testing it at every look would split α over many near-duplicate tests.
// It is tested every half window instead, counted back from the end of the planned
// window (so the last planned look always tests it), and `planned` is split over those
// looks. Past the plan it goes on at the same cadence, the k-th look after the planned
// end getting extension/(k(k+1)) (RECENT_EXTENSION_SHARE).
interface RecentShares {
  planned: number;
  extension: number;
}

function recentCadence(look: Look): number {
  return Math.max(1, Math.floor(look.recent / 2));
}

/** The level of the latest-minutes test at `judged` judged intervals (0: no test then). */
function recentScopeLevel(look: Look, judged: number, shares: RecentShares): number {
  const cadence = recentCadence(look);
  if (judged <= look.recent) return 0;
  const fromEnd = judged - look.plannedJudged;
  if (fromEnd % cadence !== 0) return 0;
  if (fromEnd > 0) return extensionLevel(fromEnd / cadence, shares.extension);
  return bonferroniLevel(shares.planned, recentScopeLooks(look));
}

/** The next look (in judged intervals) after this one at which the latest minutes are tested. */
function nextRecentLook(look: Look): number {
  const cadence = recentCadence(look);
  const fromEnd = look.judged + 1 - look.plannedJudged;
  return look.plannedJudged + Math.ceil(fromEnd / cadence) * cadence;
}

function recentScopeLooks(look: Look): number {
  const cadence = recentCadence(look);
  let looks = 0;
  for (let n = look.plannedJudged; n > look.recent; n -= cadence) looks++;
  return Math.max(1, looks);
}

function test(evidence: Evidence, p: number, level: number, against: number, scope: TestResult['scope']): TestResult {
  return { name: evidence.testName, p, level, against, scope };
}

/**
 * The fewest lone spikes whose setting aside clears a verdict (`cleared`), for naming
 * them: with a single wild minute, "minute 15", not the three worst minutes.
 */
function fewestSpikes(capped: (allowance: number) => { spikes: number[]; cleared: boolean }): number[] {
  for (let k = 1; k < SPIKE_ALLOWANCE; k++) {
    const attempt = capped(k);
    if (attempt.cleared) return attempt.spikes;
  }
  return capped(SPIKE_ALLOWANCE).spikes;
}

function boundFor(side: Side, bound: Bound): number {
  return side === 'High' ? bound.upper : bound.lower;
}

// The bad side closest to a verdict, judged with its lone spikes capped: a lone spike
// is no more a reason to wait than a reason to fail.
function mostSuspicious(
  evidence: Evidence,
  sides: Side[],
  tolerance: Bound,
  idx: number[],
): { p: number; lean: number; against: number; pWithSpike: number; spikes: number[] } {
  let best: { p: number; lean: number; against: number; pWithSpike: number; spikes: number[] } = {
    p: 1,
    lean: 1,
    against: boundFor(sides[0] ?? 'High', tolerance),
    pWithSpike: 1,
    spikes: [],
  };
  for (const side of sides) {
    const against = boundFor(side, tolerance);
    const { p, spikes, lean = p } = evidence.pWithoutSpike(side, against, idx);
    if (lean <= best.lean) best = { p, lean, against, pWithSpike: evidence.p(side, against, idx), spikes };
  }
  return best;
}

// The latest minutes, as a reason to wait. From the plan's end on, when a pass would be
// final, the latest half of them too: a regression that began five minutes before the end
// shows in those minutes alone, and extending the canary costs no α (a wait never fails).
function latestSuspicion(
  evidence: Evidence,
  sides: Side[],
  tolerance: Bound,
  look: Look,
  recentIdx: number[],
): ReturnType<typeof mostSuspicious> & { idx: number[] } {
  const recent = { ...mostSuspicious(evidence, sides, tolerance, recentIdx), idx: recentIdx };
  if (look.judged < look.plannedJudged) return recent;
  const halfIdx = range(look.intervals - recentCadence(look), look.intervals);
  const half = { ...mostSuspicious(evidence, sides, tolerance, halfIdx), idx: halfIdx };
  return half.lean < recent.lean ? half : recent;
}

function nextLevel(plan: LookPlan, look: Look, alpha: number, keep: number): number {
  if (look.singleLook) return alpha;
  return lookLevel(Math.max(look.judged + 1, plan.first), plan, alpha, keep);
}

// The test statistic grows like √n for a steady effect, so the data needed to bring
// p down to the level scales with the square of the z-ratio.
function intervalsToDecide(p: number, level: number, judged: number): number | null {
  const zSeen = normalQuantile(1 - p);
  const zNeeded = normalQuantile(1 - level);
  if (!(zSeen > 0.1) || !(zNeeded > 0)) return null;
  return Math.max(1, Math.ceil(judged * (zNeeded / zSeen) ** 2 - judged));
}

// Whole intervals: "~40 more seconds" with 10-second intervals, whole minutes with 1-minute ones.
function clampMinutes(minutes: number, intervalMinutes: number): number {
  const intervals = Math.max(1, Math.ceil(minutes / intervalMinutes - 1e-9));
  return Math.min(MAX_MORE_MINUTES, intervals * intervalMinutes);
}

function isZeroBaseline(evidence: Evidence, idx: number[]): boolean {
  const figures = evidence.figures(idx, 0.5);
  return figures.baseline.kind === 'count' && figures.baseline.events === 0;
}

function binomial(n: number, k: number): number {
  let out = 1;
  for (let i = 1; i <= k; i++) out = (out * (n - k + i)) / i;
  return out;
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = Math.max(0, from); i < to; i++) out.push(i);
  return out;
}

// ---------------------------------------------------------------------------
// Count metrics: totals of events over totals of requests.

function countEvidence(metric: CountMetricConfig, window: Window): Evidence {
  const cEvents = window.canary[metric.name] ?? [];
  const bEvents = window.baseline[metric.name] ?? [];
  const cRequests = window.canary[metric.requests] ?? [];
  const bRequests = window.baseline[metric.requests] ?? [];
  // An interval counts only when both groups reported both series: otherwise the
  // totals would compare different minutes.
  const usable = (i: number): boolean =>
    cEvents[i] != null && bEvents[i] != null && cRequests[i] != null && bRequests[i] != null;
  const totals = (idx: readonly number[]): RateCounts => {
    const t = { canaryEvents: 0, canaryRequests: 0, baselineEvents: 0, baselineRequests: 0 };
    for (const i of idx) {
      if (!usable(i)) continue;
      t.canaryEvents += cEvents[i] ?? 0;
      t.baselineEvents += bEvents[i] ?? 0;
      t.canaryRequests += cRequests[i] ?? 0;
      t.baselineRequests += bRequests[i] ?? 0;
    }
    return t;
  };
  const rate = (events: number, requests: number): number => (requests > 0 ? events / requests : 0);
  return {
    testName: 'exact rate ratio',
    firstLook: 2, // one interval alone cannot be told from a lone spike
    floor: () => 0,
    p(side, ratio, idx) {
      const t = totals(idx);
      if (t.canaryRequests === 0 || t.baselineRequests === 0) return 1;
      return side === 'High' ? rateRatioPHigh(t, ratio) : rateRatioPLow(t, ratio);
    },
    // Counts: the lone spikes' events are capped at the rate of the worst minute not set
    // aside, since one burst of events can dominate the totals.
    pWithoutSpike(side, ratio, idx, allowance) {
      const t = totals(idx);
      const baselineRate = rate(t.baselineEvents, t.baselineRequests);
      const minutes = idx.filter(usable).map((i) => {
        // Events beyond what the baseline's rate predicts for this interval's canary requests.
        const excess = (cEvents[i] ?? 0) - (cRequests[i] ?? 0) * baselineRate;
        return { i, score: side === 'High' ? excess : -excess };
      });
      const { spikes, reference } = loneSpikes(minutes, allowance);
      if (reference === undefined) return { p: 1, spikes };
      const referenceRate = rate(cEvents[reference] ?? 0, cRequests[reference] ?? 0);
      const capped = { ...t };
      for (const i of spikes) {
        const events = cEvents[i] ?? 0;
        const level = referenceRate * (cRequests[i] ?? 0);
        capped.canaryEvents -= events - (side === 'High' ? Math.min(events, Math.ceil(level)) : Math.max(events, Math.floor(level)));
      }
      if (capped.canaryRequests === 0 || capped.baselineRequests === 0) return { p: 1, spikes };
      return { p: side === 'High' ? rateRatioPHigh(capped, ratio) : rateRatioPLow(capped, ratio), spikes };
    },
    figures(idx, confidence) {
      const t = totals(idx);
      const canary: Figures = { kind: 'count', events: t.canaryEvents, requests: t.canaryRequests, rate: rate(t.canaryEvents, t.canaryRequests) };
      const baseline: Figures = { kind: 'count', events: t.baselineEvents, requests: t.baselineRequests, rate: rate(t.baselineEvents, t.baselineRequests) };
      const noData = t.canaryRequests === 0 || t.baselineRequests === 0;
      let ratio: number | null = null;
      if (!noData && t.baselineEvents > 0) ratio = canary.rate / baseline.rate;
      else if (!noData && t.canaryEvents > 0) ratio = Infinity;
      const interval = noData || t.canaryEvents + t.baselineEvents === 0 ? null : rateRatioInterval(t, confidence);
      return { canary, baseline, ratio, interval };
    },
    logRatios(side, ratio, idx) {
      const rows = SCAN_ALTERNATIVES.map(() => [] as number[]);
      for (const i of idx) {
        const k = cEvents[i] ?? 0;
        const x = k + (bEvents[i] ?? 0);
        const nC = cRequests[i] ?? 0;
        const nB = bRequests[i] ?? 0;
        const ok = usable(i) && x > 0 && nC > 0 && nB > 0;
        const pi0 = ok ? (nC * ratio) / (nC * ratio + nB) : 0;
        SCAN_ALTERNATIVES.forEach((m, a) => {
          if (!ok) {
            rows[a]?.push(0);
            return;
          }
          const ratio1 = side === 'High' ? ratio * m : ratio / m;
          const pi1 = (nC * ratio1) / (nC * ratio1 + nB);
          rows[a]?.push(k * Math.log(pi1 / pi0) + (x - k) * Math.log((1 - pi1) / (1 - pi0)));
        });
      }
      return rows;
    },
    enough(idx) {
      const t = totals(idx);
      if (t.canaryRequests >= metric.minRequests && t.baselineRequests > 0) return { ok: true, moreIntervals: null };
      const used = idx.filter(usable).length;
      const perInterval = used > 0 ? t.canaryRequests / used : 0;
      const more = perInterval > 0 ? Math.ceil((metric.minRequests - t.canaryRequests) / perInterval) : null;
      return { ok: false, moreIntervals: more };
    },
  };
}

// ---------------------------------------------------------------------------
// Gauge metrics: per-interval values, compared on a log scale so tolerance is a ratio.

const LOG_FLOOR = 1e-9;

function gaugeEvidence(metric: GaugeMetricConfig, window: Window): Evidence {
  const canary = window.canary[metric.name] ?? [];
  const baseline = window.baseline[metric.name] ?? [];
  const logs = (values: readonly (number | null)[], idx: readonly number[], shift = 0): number[] => {
    const out: number[] = [];
    for (const i of idx) {
      const v = values[i];
      if (v != null) out.push(Math.log(Math.max(v, LOG_FLOOR)) + shift);
    }
    return out;
  };
  const minIntervals = (minutes: number): number => Math.max(3, minutes);
  // Each minute with data in both groups: how far the canary was beyond `ratio` × that
  // same minute's baseline on `side` (log scale; positive speaks for a verdict).
  const excesses = (side: Side, ratio: number, idx: readonly number[]): ScoredMinute[] => {
    const out: ScoredMinute[] = [];
    const bound = Math.log(ratio);
    for (const i of idx) {
      const c = canary[i];
      const b = baseline[i];
      if (c == null || b == null) continue;
      const diff = Math.log(Math.max(c, LOG_FLOOR)) - Math.log(Math.max(b, LOG_FLOOR)) - bound;
      out.push({ i, score: side === 'High' ? diff : -diff });
    }
    return out;
  };
  // Two rank tests, each at half the level (the p-value is twice the smaller one's): the
  // signed-rank test on each minute's canary against its own baseline, which shared drift
  // (traffic moving CPU in both groups) cannot blur and which sees modest shifts; and
  // Mann–Whitney on the two groups' minutes, which needs fewer minutes for a large shift
  // (its p-value can reach 1/C(2n, n) in n minutes, a paired test's only 2^−n). Held to a
  // `level` the signed-rank test cannot reach on these minutes (2^−n ≥ half of it: before
  // about 12 minutes at 99 %), Mann–Whitney takes the whole level: the union bound is over
  // the tests that can reject.
  // `lowered`: how far to lower a lone spike's canary minute (log scale, bad side).
  const rankTests = (
    side: Side,
    ratio: number,
    idx: readonly number[],
    lowered = new Map<number, number>(),
    level?: number,
  ): { p: number; smaller: number } => {
    const paired = excesses(side, ratio, idx).map((m) => m.score - (lowered.get(m.i) ?? 0));
    const signedRank = paired.length < 3 ? 1 : signedRankGreater(paired).p;
    const c: number[] = [];
    for (const i of idx) {
      const v = canary[i];
      if (v != null) c.push(Math.log(Math.max(v, LOG_FLOOR)) - (lowered.get(i) ?? 0) * (side === 'High' ? 1 : -1));
    }
    const b = logs(baseline, idx, Math.log(ratio));
    const twoSample = c.length < 3 || b.length < 3 ? 1 : side === 'High' ? mannWhitneyGreater(b, c).p : mannWhitneyGreater(c, b).p;
    const smaller = Math.min(signedRank, twoSample);
    if (level !== undefined && !(2 * 2 ** -paired.length < level)) return { p: twoSample, smaller };
    return { p: Math.min(1, 2 * smaller), smaller };
  };
  return {
    testName: 'Mann–Whitney / signed-rank',
    firstLook: minIntervals(metric.minMinutes),
    // Mann–Whitney's floor with n minutes in each group, alone (see rankTests).
    floor: (n) => 1 / binomial(2 * n, n),
    p(side, ratio, idx, level) {
      return rankTests(side, ratio, idx, new Map(), level).p;
    },
    // Gauges: a rank test already gives one wild minute only one rank, and the lone
    // spikes are capped at the worst other minute (each against its own minute's
    // baseline) rather than dropped: a sustained shift keeps all its evidence.
    pWithoutSpike(side, ratio, idx, allowance, level) {
      const minutes = excesses(side, ratio, idx);
      const { spikes, reference } = loneSpikes(minutes, allowance);
      const cap = minutes.find((m) => m.i === reference)?.score;
      if (cap === undefined) return { p: 1, spikes };
      const lowered = new Map<number, number>();
      for (const m of minutes) if (spikes.includes(m.i) && m.score > cap) lowered.set(m.i, m.score - cap);
      const { p, smaller } = rankTests(side, ratio, idx, lowered, level);
      return { p, spikes, lean: smaller };
    },
    figures(idx, confidence) {
      const c = logs(canary, idx);
      const b = logs(baseline, idx);
      const canaryFigures: Figures = { kind: 'gauge', median: Math.exp(median(c)), values: c.length };
      const baselineFigures: Figures = { kind: 'gauge', median: Math.exp(median(b)), values: b.length };
      if (c.length === 0 || b.length === 0) return { canary: canaryFigures, baseline: baselineFigures, ratio: null, interval: null };
      // The ratio the test judged: paired minute by minute where both groups have data.
      const paired = excesses('High', 1, idx).map((m) => m.score);
      const shift = paired.length > 0 ? hodgesLehmannPaired(paired, confidence) : hodgesLehmann(b, c, confidence);
      return {
        canary: canaryFigures,
        baseline: baselineFigures,
        ratio: Math.exp(shift.estimate),
        interval: [Math.exp(shift.lower), Math.exp(shift.upper)],
      };
    },
    minutes(side, ratio, idx) {
      const out: PairedMinute[] = [];
      const bound = Math.log(ratio);
      for (const i of idx) {
        const c = canary[i];
        const b = baseline[i];
        if (c == null || b == null) continue;
        const diff = Math.log(Math.max(c, LOG_FLOOR)) - Math.log(Math.max(b, LOG_FLOOR));
        out.push({ i, beyond: side === 'High' ? diff > bound : diff < bound, gap: side === 'High' ? diff : -diff });
      }
      return out;
    },
    enough(idx) {
      const c = logs(canary, idx).length;
      const b = logs(baseline, idx).length;
      const need = minIntervals(metric.minMinutes);
      if (c >= need && b >= need) return { ok: true, moreIntervals: null };
      return { ok: false, moreIntervals: need - Math.min(c, b) };
    },
  };
}

// ---------------------------------------------------------------------------
// Overall verdict.

function overall(metrics: MetricVerdict[], look: Look, config: CanaryConfig): Verdict {
  const minute = look.intervals * look.intervalMinutes;
  const gating = metrics.filter((m) => m.gating);
  const failing = gating.filter((m) => m.verdict === 'High' || m.verdict === 'Low');
  const complete = look.intervals >= look.plannedIntervals;
  let outcome: Outcome;
  let moreMinutes: number | null = null;
  if (failing.length > 0) {
    outcome = 'fail';
  } else if (complete && gating.every((m) => m.verdict === 'Pass')) {
    outcome = 'pass';
  } else {
    outcome = 'wait';
    const windowLeft = complete ? 0 : (look.plannedIntervals - look.intervals) * look.intervalMinutes;
    const metricsLeft = gating.filter((m) => m.verdict === 'Inconclusive').map((m) => m.moreMinutes ?? 0);
    moreMinutes = clampMinutes(Math.max(windowLeft, ...metricsLeft), look.intervalMinutes);
  }
  const verdict = { outcome, minute, durationMinutes: config.durationMinutes, moreMinutes, metrics };
  return { ...verdict, summary: summarize(verdict, look.intervalMinutes) };
}
