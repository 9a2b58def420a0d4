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
import type { CountEvidence, Evidence, GaugeEvidence, MetricVerdict, Outcome, Side, TestResult, Verdict } from './types.js';
import { boundFor, fewestSpikes, intervalsToDecide, range, testResult } from './tests/shape.js';
import type { Decision, JudgeTest, Judging, Look, SpikeSeen } from './tests/shape.js';
import { beyondCritical } from './tests/critical.js';
import { nextWindowLevel, wholeWindow, windowDesign, windowSuspicion } from './tests/whole-window.js';
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

export type {
  MetricVerdictKind,
  Outcome,
  Side,
  Figures,
  Reason,
  TestResult,
  MetricVerdict,
  Verdict,
} from './types.js';

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
    return noPassBeyond(j, {
      verdict: 'Pass',
      reason: 'lone-spike',
      test: { name: seen.name, p: seen.p, level: seen.level, against: seen.against, scope: seen.scope },
      moreIntervals: null,
      spikes: seen.spikes,
      // The figures shown are the minutes judged without the ones set aside.
      idx: judgedIdx.filter((i) => !seen.spikes.includes(i)),
    });
  }
  return noPassBeyond(j, {
    verdict: 'Pass',
    reason: 'within-tolerance',
    test: testResult(evidence, window.p, wholeWindow.level(j), window.against, 'window'),
    moreIntervals: null,
    spikes: [],
    idx: judgedIdx,
  });
}

// No Pass under a figure beyond the tolerance: an estimate beyond it that no test has shown
// with confidence yet leans that way, so the canary waits (the stage extends it, then asks a
// person) instead of passing silently. It spends no α: a wait never fails. As for a fail,
// lone spikes are set aside first: an estimate beyond only because of them is a Pass naming them.
function noPassBeyond<E extends Evidence>(j: Judging<E>, pass: Decision): Decision {
  const beyondOn = (idx: number[]): Side | undefined => {
    const { ratio } = j.evidence.figures(idx, 0.5);
    if (ratio === null) return undefined;
    return j.sides.find((s) => (s === 'High' ? ratio > j.metric.tolerance.upper : ratio < j.metric.tolerance.lower));
  };
  const side = beyondOn(pass.idx);
  if (side === undefined) return pass;
  const against = boundFor(side, j.metric.tolerance);
  const beyond = (ratio: number | null): boolean => ratio !== null && (side === 'High' ? ratio > against : ratio < against);
  if (!beyond(j.evidence.ratioWithoutSpike(side, pass.idx).ratio)) {
    const spikes = fewestSpikes((k) => {
      const capped = j.evidence.ratioWithoutSpike(side, pass.idx, k);
      return { spikes: capped.spikes, cleared: !beyond(capped.ratio) };
    });
    const withoutSpikes = pass.idx.filter((i) => !spikes.includes(i));
    const test = { name: j.evidence.testName, p: j.evidence.p(side, against, pass.idx), level: pass.test.level, against, scope: 'window' as const };
    return { verdict: 'Pass', reason: 'lone-spike', test, moreIntervals: null, spikes: [...pass.spikes, ...spikes], idx: withoutSpikes };
  }
  const p = j.evidence.p(side, against, pass.idx);
  const level = nextWindowLevel(j);
  return {
    verdict: 'Inconclusive',
    reason: 'leaning',
    test: testResult(j.evidence, p, level, against, 'window'),
    moreIntervals: intervalsToDecide(p, level, j.look.judged),
    spikes: [],
    idx: pass.idx,
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
