// The critical bound: every kind's own test on every interval so far, warm-up included,
// with no lone-spike allowance, so a canary far beyond it fails at once. It comes before
// the tolerance tests and before warm-up is waited out, so it is not one of their list.

import { lookLevel } from '../sequential.js';
import { boundFor, range, testResult } from './shape.js';
import type { Decision, Judging } from './shape.js';

export function beyondCritical(j: Judging): Decision | null {
  const { metric, evidence, sides, alpha, look } = j;
  if (!metric.critical) return null;
  const all = range(0, look.intervals);
  const level = look.singleLook ? alpha : lookLevel(look.intervals, { first: 1, planned: look.plannedIntervals }, alpha);
  for (const side of sides) {
    const against = boundFor(side, metric.critical);
    const p = evidence.p(side, against, all);
    if (p < level) {
      return { verdict: side, reason: 'beyond-critical', test: testResult(evidence, p, level, against, 'all'), moreIntervals: null, spikes: [], idx: all };
    }
  }
  return null;
}
