// The change-point scan (counts): tests the minutes since every possible start at every
// look, so a regression starting mid-window is seen however it starts; it subsumes a
// fixed window of the latest minutes, and its guarantee holds past the planned window.

import type { CountEvidence } from '../types.js';
import { SCAN_ALTERNATIVES } from '../evidence.js';
import { capLoneSpikes, changePointScan as scanOf } from '../sequential.js';
import { LEANING_P, alphaOf, boundFor, fewestSpikes, isZeroBaseline, range, testResult } from './shape.js';
import type { Decision, JudgeTest, Judging } from './shape.js';
import type { Reason, TestResult } from '../types.js';
import { latestLean } from './latest-minutes.js';

const SCAN_SHARE = 0.25;
const SCAN_WEIGHTS = SCAN_ALTERNATIVES.map(() => 1 / SCAN_ALTERNATIVES.length);
// Which alternative ranks the minutes when looking for a lone spike (×2 the tolerance).
const SCAN_RANK = 2;

export const changePointScan: JudgeTest<CountEvidence> = {
  name: 'change-point scan',
  share: (look) => (look.plannedJudged > 0 ? SCAN_SHARE : 0),
  level: (j) => alphaOf(j, changePointScan),
  verdict(side, j) {
    const level = changePointScan.level(j);
    if (!(level > 0)) return null;
    const against = boundFor(side, j.metric.tolerance);
    const ratios = j.evidence.logRatios(side, against, j.judgedIdx);
    const scan = scanOf(ratios, SCAN_WEIGHTS, j.look.plannedJudged);
    const threshold = -Math.log(level);
    if (!(scan.logE >= threshold)) return null;
    // Lone spikes are not a regression: the scan must still cross with the isolated
    // minutes carrying the most evidence capped at the next one's.
    const capped = capLoneSpikes(ratios, SCAN_RANK);
    const without = scanOf(capped.llr, SCAN_WEIGHTS, j.look.plannedJudged);
    if (without.logE >= threshold) {
      const from = j.judgedIdx[scan.from] ?? j.look.warmup;
      const idx = range(from, j.look.intervals);
      const reason: Reason = isZeroBaseline(j.evidence, idx) ? 'zero-baseline' : 'beyond-tolerance-since';
      return { decision: { verdict: side, reason, test: sinceResult(j, Math.exp(-scan.logE), against, from), moreIntervals: null, spikes: [], idx } };
    }
    return {
      spikeSeen: () => {
        const positions = fewestSpikes((k) => {
          const fewer = capLoneSpikes(ratios, SCAN_RANK, k);
          return { spikes: fewer.spikes, cleared: scanOf(fewer.llr, SCAN_WEIGHTS, j.look.plannedJudged).logE < threshold };
        });
        const spikes = positions.map((k) => j.judgedIdx[k] ?? j.look.warmup);
        return { side, name: 'change-point scan', scope: 'since', p: Math.min(1, Math.exp(-without.logE)), spikes, level, against };
      },
    };
  },
  lean(j, window) {
    const level = changePointScan.level(j);
    if (!(level > 0)) return null;
    // The latest minutes leaning: the scan covers them, but a lean there is still a
    // reason to wait rather than pass; shown against the scan's level, which would decide it.
    if (j.look.plannedJudged > j.look.recent && j.look.judged > j.look.recent) {
      const recent = latestLean(j, window, () => ({ level, untilLook: 0 }));
      if (recent !== null) return recent;
    }
    // Errors since a change point that the scan would fail after a few more such minutes
    // (its evidence, lone spikes capped, is past 1/LEANING_P). Its guarantee holds past
    // the planned window, so an extended canary can still fail on it.
    for (const side of j.sides) {
      const against = boundFor(side, j.metric.tolerance);
      const capped = capLoneSpikes(j.evidence.logRatios(side, against, j.judgedIdx), SCAN_RANK);
      const scan = scanOf(capped.llr, SCAN_WEIGHTS, j.look.plannedJudged);
      const p = Math.min(1, Math.exp(-scan.logE));
      if (p < LEANING_P && p < window.lean) {
        // The best start's evidence grows by about its per-minute average each minute.
        const since = j.look.judged - scan.from;
        const slope = since > 0 ? scan.best / since : 0;
        const from = j.judgedIdx[scan.from] ?? j.look.warmup;
        const decision: Decision = {
          verdict: 'Inconclusive',
          reason: 'leaning',
          test: sinceResult(j, p, against, from),
          moreIntervals: slope > 0 ? Math.max(1, Math.ceil((-Math.log(level) - scan.logE) / slope)) : null,
          spikes: [],
          idx: range(from, j.look.intervals),
        };
        return { decision };
      }
    }
    return null;
  },
};

function sinceResult(j: Judging<CountEvidence>, p: number, against: number, from: number): TestResult {
  const result: TestResult = { ...testResult(j.evidence, p, changePointScan.level(j), against, 'since'), name: 'change-point scan' };
  result.since = { fromMinute: from + 1, toMinute: j.look.intervals };
  return result;
}
