// Since a shift (gauges): a paired t-test on the latest few minutes, with the spread
// taken from the whole judged window (each segment around its own mean), so that a
// regression starting mid-window fails about five minutes after it starts. The rank
// tests on the latest minutes cannot: a paired rank test on n minutes cannot go below
// 2⁻ⁿ, and a t-test on those minutes alone has too few degrees of freedom.
//
// At every look, the latest SEGMENT_MINUTES are tested, each where at least two judged
// minutes come before it (with 1-minute intervals, from the sixth judged minute). For independent
// normal minute ratios at the tolerance, each such t has Student's distribution on
// n − 2 degrees of freedom (pairedTGreater), so its share is split over every planned
// look and segment by a union bound (looks past the plan: SHIFT_EXTENSION_SHARE). Like the first minutes, it assumes that shape, and its fail
// must survive the lone-spike cap (spikes among the segment's minutes); it has no lean
// (the latest minutes lean for it).

import type { GaugeEvidence, PairedMinute, TestResult } from '../types.js';
import { bonferroniLevel, extensionLevel, extensionReserve } from '../sequential.js';
import { alphaOf, boundFor, fewestSpikes, range } from './shape.js';
import type { JudgeTest } from './shape.js';

const SHIFT_SHARE = 0.2;
// Past the planned window (a canary the judge still waits on is extended), a regression
// that began in the plan's last minutes is what this test sees best: it goes on at every
// look on this part of the whole window's extension reserve, the k-th extra look getting
// reserve/(k(k+1)), split over its segments.
const SHIFT_EXTENSION_SHARE = 0.3;
/** The latest minutes tested, shortest first. */
export const SEGMENT_MINUTES = [4, 8];
// Judged minutes a segment needs before it, so the spread is the window's, not its own.
const BEFORE = 2;

// A mean can be carried by a few wild minutes (right-skewed noise, more spikes than the
// allowance); a shift moves most of them. So a fail also needs three in four of the
// segment's minutes beyond the tolerance, which only ever removes fails.
const MOSTLY = 0.75;

function mostlyBeyond(segment: readonly PairedMinute[]): boolean {
  return segment.filter((m) => m.beyond).length >= Math.ceil(MOSTLY * segment.length);
}

/** The segment lengths (in intervals) tested at a look with `judged` judged intervals. */
function segmentsAt(intervalMinutes: number, judged: number): number[] {
  // With coarse intervals both lengths may round to the same count: test it once.
  const lengths = new Set(SEGMENT_MINUTES.map((m) => Math.max(2, Math.round(m / intervalMinutes))));
  return [...lengths].filter((n) => judged - n >= BEFORE);
}

/** Every (look, segment) test of the planned window, which the union bound counts. */
export function shiftLooks(plannedJudged: number, intervalMinutes: number): { judged: number; latest: number }[] {
  const out: { judged: number; latest: number }[] = [];
  for (let judged = 1; judged <= plannedJudged; judged++) {
    for (const latest of segmentsAt(intervalMinutes, judged)) out.push({ judged, latest });
  }
  return out;
}

export const sinceShift: JudgeTest<GaugeEvidence> = {
  name: 'since a shift',
  share: (look) => (shiftLooks(look.plannedJudged, look.intervalMinutes).length > 0 ? SHIFT_SHARE : 0),
  extensionShare: SHIFT_EXTENSION_SHARE,
  level(j) {
    const { judged, plannedJudged, intervalMinutes } = j.look;
    const segments = segmentsAt(intervalMinutes, judged).length;
    if (!(alphaOf(j, sinceShift) > 0 && segments > 0)) return 0;
    if (judged <= plannedJudged) return bonferroniLevel(alphaOf(j, sinceShift), shiftLooks(plannedJudged, intervalMinutes).length);
    const reserve = extensionReserve(j.window.plan, j.window.alpha) * SHIFT_EXTENSION_SHARE;
    return extensionLevel(judged - plannedJudged, reserve) / segments;
  },
  verdict(side, j) {
    const level = sinceShift.level(j);
    if (!(level > 0)) return null;
    const against = boundFor(side, j.metric.tolerance);
    const minutes = j.evidence.minutes(side, against, j.judgedIdx);
    const tried = segmentsAt(j.look.intervalMinutes, minutes.length).map((latest) => ({ latest, ...j.evidence.pairedT(side, against, j.judgedIdx, undefined, latest) }));
    const failed = tried.filter((t) => t.p < level && mostlyBeyond(minutes.slice(minutes.length - t.latest))).sort((a, b) => a.p - b.p);
    if (failed.length === 0) return null;
    const survives = failed.find((t) => t.pWithout < level);
    if (survives) {
      const from = minutes[minutes.length - survives.latest]?.i ?? j.look.warmup;
      // Shown as the test judged it: the mean minute ratio since the shift, its interval at this look's level.
      const estimate = j.evidence.pairedTRatio(j.judgedIdx, 1 - 2 * level, survives.latest);
      const test = sinceResult(survives.p, level, against, from, j.look.intervals);
      return { decision: { verdict: side, reason: 'beyond-tolerance-since', test, moreIntervals: null, spikes: [], idx: range(from, j.look.intervals), estimate } };
    }
    const seen = failed[0]!;
    return {
      spikeSeen: () => {
        const spikes = fewestSpikes((k) => {
          const capped = j.evidence.pairedT(side, against, j.judgedIdx, k, seen.latest);
          return { spikes: capped.spikes, cleared: !(capped.pWithout < level) };
        });
        return { side, name: 'paired t-test', scope: 'since', p: seen.pWithout, spikes, level, against };
      },
    };
  },
  lean: () => null,
};

function sinceResult(p: number, level: number, against: number, from: number, intervals: number): TestResult {
  return { name: 'paired t-test', p, level, against, scope: 'since', since: { fromMinute: from + 1, toMinute: intervals } };
}
