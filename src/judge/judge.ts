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
//     the ratio; and, at the 4th to 6th judged minute, before those can reach their level,
//     a paired t-test on the same minute ratios, so a large regression fails early;
//   - the canary's warm-up minutes are not judged; a High/Low must still hold with up
//     to three isolated worst minutes capped at the next one's (lone spikes are not a
//     regression; a run of bad minutes is);
//   - the whole judged window and, separately, the latest minutes (gauges: a paired
//     t-test on the latest 4 and 8 with the whole window's spread, and the rank tests on
//     the latest `recentMinutes`) or the minutes since every possible change point
//     (counts) are tested, so a regression starting mid-window is not diluted by the
//     good minutes before it;
//     for gauges also a sign CUSUM on paired minutes (canary vs the same minute's
//     baseline × tolerance), which finds the run of regressed minutes wherever it
//     starts and which shared drift cannot blur, with an exact false-alarm chance;
//   - each look's level comes from a group-sequential design, starting at the first look
//     whose level the test can reach, so judging every interval fails good releases no
//     more often than judging once at the end.
// Each test is one file in tests/ with one shape (tests/shape.ts); what a kind of metric
// is judged by is the two lists below (countTests, gaugeTests).

import type { CanaryConfig, MetricConfig, Window } from './window.js';
import { parseInput } from './window.js';
import { explainMetric, summarize } from './explain.js';
import { countEvidence, gaugeEvidence } from './evidence.js';
import type { CountEvidence, Evidence, GaugeEvidence } from './evidence.js';
import { boundFor, range, testResult } from './tests/shape.js';
import type { Decision, JudgeTest, Judging, Look, SpikeSeen } from './tests/shape.js';
import { beyondCritical } from './tests/critical.js';
import { wholeWindow, windowDesign, windowSuspicion } from './tests/whole-window.js';
import { latestMinutes } from './tests/latest-minutes.js';
import { signRun } from './tests/sign-run.js';
import { changePointScan } from './tests/change-point-scan.js';
import { firstMinutes } from './tests/first-minutes.js';
import { sinceShift } from './tests/since-shift.js';

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
  | 'beyond-tolerance-since' // High/Low since a minute: counts since a change point (change-point scan), gauges over the latest minutes (since a shift)
  | 'beyond-critical' // High/Low beyond the critical bound: fails at once
  | 'zero-baseline' // High: the baseline had no events, the canary too many for chance
  | 'within-tolerance' // Pass
  | 'lone-spike' // Pass: would be High/Low, or leaning, only because of a few isolated minutes
  | 'warming-up' // Inconclusive: every interval so far is warm-up
  | 'too-little-data' // Inconclusive: below minMinutes / minRequests
  | 'leaning'; // Inconclusive: not beyond tolerance yet, but too close to call

export interface TestResult {
  /** Which test: "exact rate ratio", "change-point scan", "Mann–Whitney / signed-rank", "paired t-test" or "sign CUSUM". */
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
  /** For the since scope: the change point the count scan found, or the first of a gauge's latest minutes tested; and the latest minute (as for `run`). */
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

// What each kind of metric is judged by, besides the critical bound (tests/critical.ts),
// which comes first, warm-up included. Each test has its own file in tests/ and its own
// share of α; the whole window keeps the rest.
const countTests: JudgeTest<CountEvidence>[] = [wholeWindow, changePointScan];
const gaugeTests: JudgeTest<GaugeEvidence>[] = [wholeWindow, firstMinutes, sinceShift, latestMinutes, signRun];

// Cap on "~N more minutes", beyond which the estimate means little.
const MAX_MORE_MINUTES = 60;

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

function judgeMetric(metric: MetricConfig, window: Window, look: Look, confidence: number): MetricVerdict {
  const sides: Side[] = metric.direction === 'increase' ? ['High'] : metric.direction === 'decrease' ? ['Low'] : ['High', 'Low'];
  const alphaPerSide = look.alpha / sides.length;
  const decideWith = <E extends Evidence>(evidence: E, tests: JudgeTest<E>[]): { j: Judging; decision: Decision } => {
    const j = judging(metric, evidence, tests, sides, alphaPerSide, look);
    return { j, decision: decide(j, tests) };
  };
  const { j, decision } =
    metric.kind === 'count' ? decideWith(countEvidence(metric, window), countTests) : decideWith(gaugeEvidence(metric, window), gaugeTests);
  const { evidence, judgedIdx } = j;
  const displayLevel = decision.test.level > 0 ? decision.test.level : alphaPerSide;
  const figures = { ...evidence.figures(decision.idx.length > 0 ? decision.idx : judgedIdx, 1 - 2 * displayLevel), ...decision.estimate };
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

// The critical bound, then warm-up; then each test's verdict (for each bad side in turn,
// the tests in list order); then too little data; then each test's lean, the narrower
// tests first (a regression that started late shows in them before the whole window) and
// the whole window last; then a pass, naming the lone spikes if they were all that spoke.
function decide<E extends Evidence>(j: Judging<E>, tests: JudgeTest<E>[]): Decision {
  const { metric, evidence, sides, look, judgedIdx } = j;
  const critical = beyondCritical(j);
  if (critical !== null) return critical;
  if (look.judged === 0) {
    const against = boundFor(sides[0] ?? 'High', metric.tolerance);
    return {
      verdict: 'Inconclusive',
      reason: 'warming-up',
      test: testResult(evidence, 1, 0, against, 'window'),
      moreIntervals: look.warmup - look.intervals + evidence.firstLook,
      spikes: [],
      idx: judgedIdx,
    };
  }
  // Named only if the metric passes: a later test may still fail it.
  let spikeSeen: (() => SpikeSeen) | null = null;
  for (const side of sides) {
    for (const t of tests) {
      const found = t.verdict(side, j);
      if (found !== null && 'decision' in found) return found.decision;
      if (found !== null) spikeSeen ??= found.spikeSeen;
    }
  }
  // Not enough data to pass: never a silent pass.
  const window = windowSuspicion(j);
  const enough = evidence.enough(judgedIdx);
  if (!enough.ok) {
    return {
      verdict: 'Inconclusive',
      reason: 'too-little-data',
      test: testResult(evidence, window.p, wholeWindow.level(j), window.against, 'window'),
      moreIntervals: enough.moreIntervals,
      spikes: [],
      idx: judgedIdx,
    };
  }
  for (const t of [...tests.filter((t) => t !== wholeWindow), wholeWindow]) {
    const found = t.lean(j, window);
    if (found !== null && 'decision' in found) return found.decision;
    if (found !== null) spikeSeen ??= found.spikeSeen;
  }
  if (spikeSeen !== null) {
    const seen = spikeSeen();
    return {
      verdict: 'Pass',
      reason: 'lone-spike',
      test: { name: seen.name, p: seen.p, level: seen.level, against: seen.against, scope: seen.scope },
      moreIntervals: null,
      spikes: seen.spikes,
      // The figures shown are the minutes judged without the ones set aside.
      idx: judgedIdx.filter((i) => !seen.spikes.includes(i)),
    };
  }
  return {
    verdict: 'Pass',
    reason: 'within-tolerance',
    test: testResult(evidence, window.p, wholeWindow.level(j), window.against, 'window'),
    moreIntervals: null,
    spikes: [],
    idx: judgedIdx,
  };
}

// The α split depends on the plan only, never on the look, so every look spends the same
// split. A single look has no repeated looks to guard against: the whole window takes all.
function judging<E extends Evidence>(
  metric: MetricConfig,
  evidence: E,
  tests: JudgeTest<E>[],
  sides: Side[],
  alpha: number,
  look: Look,
): Judging<E> {
  const shares = tests.map((t) => ({ t, share: look.singleLook || !t.share ? 0 : t.share(look, alpha) }));
  const windowAlpha = alpha * shares.reduce((rest, { share }) => rest - share, 1);
  const keeps = shares.reduce((rest, { t, share }) => (share > 0 ? rest - (t.extensionShare ?? 0) : rest), 1);
  return {
    metric,
    evidence,
    sides,
    alpha,
    look,
    judgedIdx: range(look.warmup, look.intervals),
    recentIdx: range(look.intervals - look.recent, look.intervals),
    alphaOf: new Map(shares.map(({ t, share }) => [t.name, alpha * share])),
    window: { alpha: windowAlpha, plan: windowDesign(evidence, look, windowAlpha), keeps },
  };
}

// Whole intervals: "~40 more seconds" with 10-second intervals, whole minutes with 1-minute ones.
function clampMinutes(minutes: number, intervalMinutes: number): number {
  const intervals = Math.max(1, Math.ceil(minutes / intervalMinutes - 1e-9));
  return Math.min(MAX_MORE_MINUTES, intervals * intervalMinutes);
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
