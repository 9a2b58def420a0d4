// The latest minutes (gauges): the kind's own test on the latest `recentMinutes` only, so
// a regression starting mid-window is not diluted by the good minutes before it. Since a
// shift fails most of those sooner; this test's share is small, and it is here mostly to
// lean: a late regression extends the canary instead of passing it.

import { bonferroniLevel, extensionLevel, extensionReserve } from '../sequential.js';
import { LEANING_P, alphaOf, intervalsToDecide, range, testResult } from './shape.js';
import type { Finding, JudgeTest, Judging, Look, Suspicion } from './shape.js';
import { mostSuspicious, scopeVerdict } from './whole-window.js';

const RECENT_SHARE = 0.05;
// Past the planned window (the stage extends a canary the judge still waits on), the sign
// CUSUM's plan has ended and the latest-minutes test's planned shares are spent, yet a
// late regression is what they see best. So the latest minutes stay under test, at the
// same cadence, on 30 % of the reserve the whole-window test keeps for extension looks
// (since a shift takes as much): the k-th such look gets reserve/(k(k+1)), which sums to it. The planned looks' levels are
// unchanged, and the union bound over all the tests still totals α.
const RECENT_EXTENSION_SHARE = 0.3;

export const latestMinutes: JudgeTest = {
  name: 'latest minutes',
  share: (look) => (look.plannedJudged > look.recent ? RECENT_SHARE : 0),
  extensionShare: RECENT_EXTENSION_SHARE,
  level(j) {
    return alphaOf(j, latestMinutes) > 0 ? recentScopeLevel(j.look, j.look.judged, recentShares(j)) : 0;
  },
  verdict(side, j) {
    return scopeVerdict(side, j, j.recentIdx, latestMinutes.level(j), 'recent');
  },
  // Shown against the level of the test's next look (past the plan, an extension look's).
  lean(j, window) {
    if (!(alphaOf(j, latestMinutes) > 0 && j.look.judged > j.look.recent)) return null;
    return latestLean(j, window, () => {
      const shares = recentShares(j);
      if (j.look.judged < j.look.plannedJudged) return { level: bonferroniLevel(shares.planned, recentScopeLooks(j.look)), untilLook: 0 };
      const next = nextRecentLook(j.look);
      return { level: recentScopeLevel(j.look, next, shares), untilLook: next - j.look.judged };
    });
  },
};

/**
 * The latest minutes leaning harder than the whole window, as a reason to wait: a
 * regression that started late shows in them before it shows in the whole window.
 * `at`: the level to show and the intervals until a look that could decide it.
 */
export function latestLean(j: Judging, window: Suspicion, at: () => { level: number; untilLook: number }): Finding {
  const recent = latestSuspicion(j);
  if (!(recent.lean < LEANING_P && recent.lean < window.lean)) return null;
  const { level, untilLook } = at();
  const toDecide = intervalsToDecide(recent.p, level, recent.idx.length);
  return {
    decision: {
      verdict: 'Inconclusive',
      reason: 'leaning',
      test: testResult(j.evidence, recent.p, level, recent.against, 'recent'),
      moreIntervals: toDecide === null ? null : Math.max(untilLook, toDecide),
      spikes: [],
      idx: recent.idx,
    },
  };
}

// From the plan's end on, when a pass would be final, the latest half of them too: a
// regression that began five minutes before the end shows in those minutes alone, and
// extending the canary costs no α (a wait never fails).
function latestSuspicion(j: Judging): Suspicion & { idx: number[] } {
  const { evidence, sides, look } = j;
  const tolerance = j.metric.tolerance;
  const recent = { ...mostSuspicious(evidence, sides, tolerance, j.recentIdx), idx: j.recentIdx };
  if (look.judged < look.plannedJudged) return recent;
  const halfIdx = range(look.intervals - recentCadence(look), look.intervals);
  const half = { ...mostSuspicious(evidence, sides, tolerance, halfIdx), idx: halfIdx };
  return half.lean < recent.lean ? half : recent;
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

function recentShares(j: Judging): RecentShares {
  return {
    planned: alphaOf(j, latestMinutes),
    extension: extensionReserve(j.window.plan, j.window.alpha) * RECENT_EXTENSION_SHARE,
  };
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
