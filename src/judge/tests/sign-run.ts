// The sign CUSUM (gauges): a run of paired minutes beyond the tolerance × that same
// minute's baseline, wherever it starts, which shared drift (traffic waves move CPU in
// both groups) cannot blur, with an exact false-alarm chance.

import type { GaugeEvidence, PairedMinute, TestResult } from '../types.js';
import { signCusum, signCusumExtension, signCusumP, signCusumThreshold } from '../sequential.js';
import { lagOneAutocorrelation, meanVarianceFactor, signAutocorrelation } from '../dependence.js';
import { deflatedP } from '../evidence.js';
import type { SignCusumDesign } from '../sequential.js';
import { loneSpikes, SPIKE_ALLOWANCE } from '../spikes.js';
import { LEANING_P, alphaOf, boundFor, fewestSpikes, range } from './shape.js';
import type { JudgeTest, Judging, Look } from './shape.js';

const RUN_SHARE = 0.1;
// The CUSUM's scores: +1 for a minute beyond the tolerance, −3 for one within. These are
// Page's log-likelihood-ratio weights, rounded, for telling "beyond in half the minutes"
// (the null at its edge) from "beyond in nine minutes out of ten": log 1.8 : log 5 ≈ 1 : 2.7.
const RUN_UP = 1;
const RUN_DOWN = 3;

export const signRun: JudgeTest<GaugeEvidence> = {
  name: 'sign CUSUM',
  // Only when a run within the plan could reach a verdict; otherwise the window keeps all of α.
  share(look, alpha) {
    const reachable = signCusumThreshold(alpha * RUN_SHARE, runDesign(look)) <= RUN_UP * look.plannedJudged;
    return reachable ? RUN_SHARE : 0;
  },
  // Within the plan, its share; past it, the CUSUM goes on with the thresholds of its exact
  // continuation, and the level is the chance a null CUSUM reaches one below this look's.
  level(j) {
    const runAlpha = alphaOf(j, signRun);
    if (runAlpha <= 0) return 0;
    if (j.look.judged <= j.look.plannedJudged) return runAlpha;
    const threshold = extensionThreshold(j, j.look.judged - j.look.plannedJudged);
    return threshold === undefined ? 0 : signCusumP(threshold - 1, { ...runDesign(j.look), looks: j.look.judged });
  },
  verdict(side, j) {
    const runAlpha = alphaOf(j, signRun);
    if (runAlpha <= 0) return null;
    const design = runDesign(j.look);
    const against = boundFor(side, j.metric.tolerance);
    const paired = j.evidence.minutes(side, against, j.judgedIdx);
    const run = runTest(paired, design);
    if (j.look.judged <= j.look.plannedJudged) {
      if (!(run.p < runAlpha)) return null;
      if (run.pWithout < runAlpha) {
        return { decision: { verdict: side, reason: 'beyond-tolerance-run', test: runResult(run, runAlpha, against), moreIntervals: null, spikes: [], idx: run.idx } };
      }
      return {
        spikeSeen: () => {
          const spikes = fewestSpikes((k) => {
            const capped = runTest(paired, design, k);
            return { spikes: capped.spikes, cleared: !(capped.pWithout < runAlpha) };
          });
          return { side, name: 'sign CUSUM', scope: 'run', p: run.pWithout, spikes, level: runAlpha, against };
        },
      };
    }
    const threshold = extensionThreshold(j, j.look.judged - j.look.plannedJudged);
    if (threshold === undefined || !(run.value >= threshold)) return null;
    const extended = extendedRun(run, design, j.look.judged);
    const level = signRun.level(j);
    // Past the plan the thresholds are for independent signs: the corrected p-value must clear the level too.
    if (run.factor > 1 && !(extended.p < level)) return null;
    if (run.valueWithout >= threshold && !(run.factor > 1 && !(extended.pWithout < level))) {
      return { decision: { verdict: side, reason: 'beyond-tolerance-run', test: runResult(extended, level, against), moreIntervals: null, spikes: [], idx: run.idx } };
    }
    return {
      spikeSeen: () => {
        const spikes = fewestSpikes((k) => {
          const capped = runTest(paired, design, k);
          return { spikes: capped.spikes, cleared: capped.valueWithout < threshold };
        });
        return { side, name: 'sign CUSUM', scope: 'run', p: extended.pWithout, spikes, level, against };
      },
    };
  },
  // A run of minutes beyond tolerance that the CUSUM would fail after a few more such
  // minutes: within the planned window while it can, else at the next extension look (a
  // regression that began near the plan's end is a reason to extend, not to pass).
  lean(j, window) {
    const runAlpha = alphaOf(j, signRun);
    if (runAlpha <= 0) return null;
    const { look } = j;
    const design = runDesign(look);
    const within = look.judged < look.plannedJudged;
    const nextExtra = look.judged + 1 - look.plannedJudged;
    const threshold = within ? signCusumThreshold(runAlpha, design) : extensionThreshold(j, nextExtra);
    if (threshold === undefined) return null;
    const level = within ? runAlpha : signCusumP(threshold - 1, { ...design, looks: look.judged + 1 });
    for (const side of j.sides) {
      const against = boundFor(side, j.metric.tolerance);
      const run = runTest(j.evidence.minutes(side, against, j.judgedIdx), design);
      const needed = Math.ceil((threshold - run.valueWithout) / RUN_UP);
      // Within the plan, only a run that can still get there; past it, an extension no longer than the plan.
      const reachable = needed <= (within ? look.plannedJudged - look.judged : look.plannedJudged);
      if (run.pWithout < LEANING_P && reachable && run.pWithout < window.lean) {
        // Shown as weighed: spikes capped, and past the plan against every look so far.
        const shown = within ? run : extendedRun(run, design, look.judged);
        const test = runResult({ ...shown, p: shown.pWithout }, level, against);
        return { decision: { verdict: 'Inconclusive', reason: 'leaning', test, moreIntervals: needed, spikes: [], idx: run.idx } };
      }
    }
    return null;
  },
};

function runDesign(look: Look): SignCusumDesign {
  return { up: RUN_UP, down: RUN_DOWN, looks: look.plannedJudged };
}

/** The threshold at the `extra`-th look past the plan (undefined: none fits what is left of α). */
function extensionThreshold(j: Judging<GaugeEvidence>, extra: number): number | undefined {
  return signCusumExtension(alphaOf(j, signRun), runDesign(j.look), horizonFor(extra))[extra - 1];
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
  /** The variance factor its p-values were corrected by (1: independent minutes). */
  factor: number;
  /** The intervals from the run's first minute to the latest. */
  idx: number[];
  run: NonNullable<TestResult['run']> | undefined;
}

function runTest(minutes: PairedMinute[], design: SignCusumDesign, allowance = SPIKE_ALLOWANCE): RunOutcome {
  const run = signCusum(minutes.map((m) => m.beyond), design);
  const inRun = minutes.slice(run.from);
  // Signs of minutes that move together come in runs of their own: the exact p-value (for
  // independent signs) is corrected by the variance factor of the run's scores, at the signs'
  // autocorrelation (dependence.ts), estimated on the minutes before the run: a run beyond the
  // tolerance after minutes within it would itself read as minutes moving together.
  const before = minutes.slice(0, run.from).map((m) => m.gap);
  const factor = meanVarianceFactor(Math.max(1, inRun.length), signAutocorrelation(autocorrelationOf(before)));
  const correctedP = (value: number): number => deflatedP(signCusumP(value, design), factor);
  const { spikes, reference } = loneSpikes(minutes.map((m) => ({ i: m.i, score: m.gap })), allowance);
  const referenceBeyond = minutes.find((m) => m.i === reference)?.beyond ?? false;
  const capped = minutes.map((m) => (spikes.includes(m.i) ? referenceBeyond && m.beyond : m.beyond));
  const without = signCusum(capped, design);
  const first = inRun[0];
  const last = minutes[minutes.length - 1];
  return {
    p: correctedP(run.value),
    value: run.value,
    pWithout: correctedP(without.value),
    valueWithout: without.value,
    spikes,
    factor,
    idx: first && last ? range(first.i, last.i + 1) : [],
    run:
      first && last && run.value > 0
        ? { fromMinute: first.i + 1, toMinute: last.i + 1, beyond: run.beyond, minutes: inRun.length }
        : undefined,
  };
}

/**
 * A run judged at a look past the plan: its p-value is the chance that a null CUSUM
 * reaches its value at some look so far (plan and extra looks alike).
 */
function extendedRun(run: RunOutcome, design: SignCusumDesign, judged: number): RunOutcome {
  const soFar: SignCusumDesign = { ...design, looks: judged };
  return { ...run, p: deflatedP(signCusumP(run.value, soFar), run.factor), pWithout: deflatedP(signCusumP(run.valueWithout, soFar), run.factor) };
}

/** The lag-1 autocorrelation of the minutes' gaps to the tolerance, around their mean. */
function autocorrelationOf(gaps: readonly number[]): number {
  const mean = gaps.reduce((a, b) => a + b, 0) / Math.max(1, gaps.length);
  return lagOneAutocorrelation(gaps.map((g) => g - mean));
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
