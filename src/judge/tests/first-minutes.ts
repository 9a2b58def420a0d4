// The first minutes (gauges): a paired t-test on the judged window at its first looks,
// before the rank tests can reach their level at all (Mann–Whitney needs six minutes
// each way to reach 1/924, the signed-rank test about twelve). A large regression from
// the start is then caught at minute four to six of judging instead of waiting for them.
//
// It is the one test that assumes a shape: each minute's canary over its own baseline,
// on a log scale, roughly normal and independent from minute to minute. So it gets a
// small share, only a few looks, and a floor on the spread it will believe (LEAST_SPREAD
// in evidence.ts); its verdict, like every test's, must survive the lone-spike cap.

import type { GaugeEvidence } from '../types.js';
import { spendingLevels } from '../sequential.js';
import { alphaOf, boundFor, fewestSpikes } from './shape.js';
import type { JudgeTest } from './shape.js';

const FIRST_SHARE = 0.25;
/** The judged intervals at which it is tested. */
export const FIRST_LOOKS = [4, 5, 6];

/**
 * Each look's level: the share spent in equal parts, the levels computed as the whole
 * window's are, so they account for each look's minutes containing the previous ones'.
 */
export function firstMinutesLevels(alpha: number): number[] {
  return spendingLevels(FIRST_LOOKS, FIRST_LOOKS.map((_, i) => (alpha * (i + 1)) / FIRST_LOOKS.length));
}

export const firstMinutes: JudgeTest<GaugeEvidence> = {
  name: 'first minutes',
  // Only on a plan long enough to have the rank tests' looks after these.
  share: (look) => (look.plannedJudged > Math.max(...FIRST_LOOKS) ? FIRST_SHARE : 0),
  level(j) {
    // Not tested on a plan too short for it (no share): spending nothing would give level 1.
    const at = FIRST_LOOKS.indexOf(j.look.judged);
    const share = alphaOf(j, firstMinutes);
    return at < 0 || !(share > 0) ? 0 : (firstMinutesLevels(share)[at] ?? 0);
  },
  verdict(side, j) {
    const level = firstMinutes.level(j);
    if (!(level > 0)) return null;
    const against = boundFor(side, j.metric.tolerance);
    const t = j.evidence.pairedT(side, against, j.judgedIdx);
    if (!(t.p < level)) return null;
    if (t.pWithout < level) {
      const test = { name: 'paired t-test', p: t.p, level, against, scope: 'window' as const };
      // Shown as the test judged it: the mean minute ratio, its interval at this look's level.
      const estimate = j.evidence.pairedTRatio(j.judgedIdx, 1 - 2 * level);
      return { decision: { verdict: side, reason: 'beyond-tolerance', test, moreIntervals: null, spikes: [], idx: j.judgedIdx, estimate } };
    }
    return {
      spikeSeen: () => {
        const spikes = fewestSpikes((k) => {
          const capped = j.evidence.pairedT(side, against, j.judgedIdx, k);
          return { spikes: capped.spikes, cleared: !(capped.pWithout < level) };
        });
        return { side, name: 'paired t-test', scope: 'window', p: t.pWithout, spikes, level, against };
      },
    };
  },
  // Its looks come long before a pass could: the whole window's lean is the one that counts.
  lean: () => null,
};
