// The whole judged window: the kind's own test (exact rate ratio, or the rank tests) on
// every minute after warm-up, held to a group-sequential design over the planned looks.
// Every kind has it; its lean is the one a narrower test's must beat.

import type { Bound } from '../window.js';
import type { Evidence, Reason, Side, TestResult } from '../types.js';
import { lookLevel } from '../sequential.js';
import type { LookPlan } from '../sequential.js';
import { SPIKE_ALLOWANCE } from '../spikes.js';
import { LEANING_P, boundFor, fewestSpikes, intervalsToDecide, isZeroBaseline, testResult } from './shape.js';
import type { Finding, JudgeTest, Judging, Look, Suspicion } from './shape.js';

export const wholeWindow: JudgeTest = {
  name: 'whole window',
  level(j) {
    return j.look.singleLook ? j.alpha : lookLevel(j.look.judged, j.window.plan, j.window.alpha, j.window.keeps);
  },
  verdict(side, j) {
    return scopeVerdict(side, j, j.judgedIdx, wholeWindow.level(j), 'window');
  },
  lean(j, window) {
    if (window.lean < LEANING_P) {
      const level = nextWindowLevel(j);
      return {
        decision: {
          verdict: 'Inconclusive',
          reason: 'leaning',
          test: testResult(j.evidence, window.p, level, window.against, 'window'),
          moreIntervals: intervalsToDecide(window.p, level, j.look.judged),
          spikes: [],
          idx: j.judgedIdx,
        },
      };
    }
    // Would have looked suspicious only because of lone spikes: say so.
    if (window.pWithSpike < LEANING_P && window.spikes.length > 0) {
      return {
        spikeSeen: () => {
          const side: Side = window.against >= 1 ? 'High' : 'Low';
          const spikes = fewestSpikes((k) => {
            const capped = j.evidence.pWithoutSpike(side, window.against, j.judgedIdx, k);
            return { spikes: capped.spikes, cleared: !(capped.p < LEANING_P) };
          });
          return { side, name: j.evidence.testName, scope: 'window', p: window.p, spikes, level: wholeWindow.level(j), against: window.against };
        },
      };
    }
    return null;
  },
};

/** The kind's own test on these intervals at this level (the whole window, or the latest minutes). */
export function scopeVerdict(side: Side, j: Judging, idx: number[], level: number, scope: 'window' | 'recent'): Finding {
  if (level <= 0) return null;
  const against = boundFor(side, j.metric.tolerance);
  const p = j.evidence.p(side, against, idx, level);
  if (!(p < level)) return null;
  // Lone spikes are not a regression: the verdict must hold with them capped.
  const { p: pWithout } = j.evidence.pWithoutSpike(side, against, idx, SPIKE_ALLOWANCE, level);
  if (pWithout < level) {
    const reason: Reason = scope === 'recent' ? 'beyond-tolerance-recent' : isZeroBaseline(j.evidence, idx) ? 'zero-baseline' : 'beyond-tolerance';
    const test: TestResult = testResult(j.evidence, p, level, against, scope);
    return { decision: { verdict: side, reason, test, moreIntervals: null, spikes: [], idx } };
  }
  return {
    spikeSeen: () => {
      const spikes = fewestSpikes((k) => {
        const capped = j.evidence.pWithoutSpike(side, against, idx, k, level);
        return { spikes: capped.spikes, cleared: !(capped.p < level) };
      });
      return { side, name: j.evidence.testName, scope, p: pWithout, spikes, level, against };
    },
  };
}

// The design starts at the first look whose level its test can reach (a rank test on 5
// minutes cannot go below 1/252): α spent on looks at which the test cannot reject would
// be spent on nothing. It depends on the plan only, never on the data.
export function windowDesign(evidence: Evidence, look: Look, alpha: number): LookPlan {
  const planned = look.plannedJudged;
  let first = evidence.firstLook;
  while (first < planned && !(evidence.floor(first) < lookLevel(first, { first, planned }, alpha))) first++;
  return { first, planned };
}

/** The whole window's level at its next look (what a verdict would need then). */
export function nextWindowLevel(j: Judging): number {
  if (j.look.singleLook) return j.window.alpha;
  return lookLevel(Math.max(j.look.judged + 1, j.window.plan.first), j.window.plan, j.window.alpha, j.window.keeps);
}

/** The whole window's suspicion. */
export function windowSuspicion(j: Judging): Suspicion {
  return mostSuspicious(j.evidence, j.sides, j.metric.tolerance, j.judgedIdx);
}

// The bad side closest to a verdict, judged with its lone spikes capped: a lone spike
// is no more a reason to wait than a reason to fail.
export function mostSuspicious(evidence: Evidence, sides: Side[], tolerance: Bound, idx: number[]): Suspicion {
  let best: Suspicion = {
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
