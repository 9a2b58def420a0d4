// What the tests read from a metric's data. Every kind offers the same window-level
// p-values, figures and data checks; a count metric adds each minute's likelihood
// ratios (for the change-point scan), a gauge metric each minute against its own
// baseline (for the sign CUSUM) and a paired t-test on those minutes (for the first minutes).

import type { CountMetricConfig, GaugeMetricConfig, Window } from './window.js';
import { gaugeIntervalsNeeded } from './window.js';
import type { CountEvidence, Figures, GaugeEvidence, Side } from './types.js';
import {
  hodgesLehmann,
  hodgesLehmannPaired,
  mannWhitneyGreater,
  pairedTGreater,
  pairedTMean,
  signedRankGreater,
  median,
  rateRatioInterval,
  rateRatioPHigh,
  rateRatioPLow,
} from './stats.js';
import type { RateCounts } from './stats.js';
import { normalQuantile, normalUpper } from './stats.js';
import { lagOneAutocorrelation, meanVarianceFactor } from './dependence.js';
import { loneSpikes } from './spikes.js';
import type { ScoredMinute } from './spikes.js';

// The change-point scan's alternatives (`logRatios`' rows): the canary's rate 1.25 to 5 times
// the tolerated rate, mixed equally (a mixture of likelihood ratios is one, so its guarantee
// is unchanged; the mixture adapts to the size of the regression at a cost of at most log 5
// in evidence).
export const SCAN_ALTERNATIVES = [1.25, 1.5, 2, 3, 5];

// ---------------------------------------------------------------------------
// Count metrics: totals of events over totals of requests.

export function countEvidence(metric: CountMetricConfig, window: Window): CountEvidence {
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
  const ratioOf = (t: RateCounts): number | null => {
    if (t.canaryRequests === 0 || t.baselineRequests === 0) return null;
    if (t.baselineEvents > 0) return rate(t.canaryEvents, t.canaryRequests) / rate(t.baselineEvents, t.baselineRequests);
    return t.canaryEvents > 0 ? Infinity : null;
  };
  // The totals with the lone spikes' events capped at the rate of the worst minute not set
  // aside, since one burst of events can dominate the totals (undefined: nothing to cap at).
  const cappedTotals = (side: Side, idx: readonly number[], allowance?: number): { capped?: RateCounts; spikes: number[] } => {
    const t = totals(idx);
    const baselineRate = rate(t.baselineEvents, t.baselineRequests);
    const minutes = idx.filter(usable).map((i) => {
      // Events beyond what the baseline's rate predicts for this interval's canary requests.
      const excess = (cEvents[i] ?? 0) - (cRequests[i] ?? 0) * baselineRate;
      return { i, score: side === 'High' ? excess : -excess };
    });
    const { spikes, reference } = loneSpikes(minutes, allowance);
    if (reference === undefined) return { spikes };
    const referenceRate = rate(cEvents[reference] ?? 0, cRequests[reference] ?? 0);
    const capped = { ...t };
    for (const i of spikes) {
      const events = cEvents[i] ?? 0;
      const level = referenceRate * (cRequests[i] ?? 0);
      capped.canaryEvents -= events - (side === 'High' ? Math.min(events, Math.ceil(level)) : Math.max(events, Math.floor(level)));
    }
    return { capped, spikes };
  };
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
      const { capped, spikes } = cappedTotals(side, idx, allowance);
      if (capped === undefined || capped.canaryRequests === 0 || capped.baselineRequests === 0) return { p: 1, spikes };
      return { p: side === 'High' ? rateRatioPHigh(capped, ratio) : rateRatioPLow(capped, ratio), spikes };
    },
    ratioWithoutSpike(side, idx, allowance) {
      const { capped, spikes } = cappedTotals(side, idx, allowance);
      return { ratio: ratioOf(capped ?? totals(idx)), spikes };
    },
    figures(idx, confidence) {
      const t = totals(idx);
      const canary: Figures = { kind: 'count', events: t.canaryEvents, requests: t.canaryRequests, rate: rate(t.canaryEvents, t.canaryRequests) };
      const baseline: Figures = { kind: 'count', events: t.baselineEvents, requests: t.baselineRequests, rate: rate(t.baselineEvents, t.baselineRequests) };
      const noData = t.canaryRequests === 0 || t.baselineRequests === 0;
      const ratio = ratioOf(t);
      const interval = noData || t.canaryEvents + t.baselineEvents === 0 ? null : rateRatioInterval(t, confidence);
      return { canary, baseline, ratio, interval, effectiveIntervals: null };
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
// The least spread of a minute's canary-over-baseline ratio the paired t-test believes
// (1 %, on a log scale): four identical minutes just past the tolerance, as a gauge
// reported in whole percent gives, are not certainty.
const LEAST_SPREAD = 0.01;

export function gaugeEvidence(metric: GaugeMetricConfig, window: Window): GaugeEvidence {
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
    // Minutes that move together carry less evidence than their count (dependence.ts).
    const factor = varianceFactorOf(paired);
    const signedRank = paired.length < 3 ? 1 : deflatedP(signedRankGreater(paired).p, factor);
    const c: number[] = [];
    for (const i of idx) {
      const v = canary[i];
      if (v != null) c.push(Math.log(Math.max(v, LOG_FLOOR)) - (lowered.get(i) ?? 0) * (side === 'High' ? 1 : -1));
    }
    const b = logs(baseline, idx, Math.log(ratio));
    const twoSample = c.length < 3 || b.length < 3 ? 1 : deflatedP(side === 'High' ? mannWhitneyGreater(b, c).p : mannWhitneyGreater(c, b).p, factor);
    const smaller = Math.min(signedRank, twoSample);
    if (level !== undefined && !(2 * 2 ** -paired.length < level)) return { p: twoSample, smaller };
    return { p: Math.min(1, 2 * smaller), smaller };
  };
  return {
    testName: 'Mann–Whitney / signed-rank',
    firstLook: gaugeIntervalsNeeded(metric.minMinutes),
    // Mann–Whitney's floor with n minutes in each group, alone (see rankTests).
    floor: (n) => 1 / binomial(2 * n, n),
    p(side, ratio, idx, level) {
      return rankTests(side, ratio, idx, new Map(), level).p;
    },
    // Gauges: a rank test already gives one wild minute only one rank, and the lone
    // spikes are capped at the worst other minute (each against its own minute's
    // baseline) rather than dropped: a sustained shift keeps all its evidence.
    pWithoutSpike(side, ratio, idx, allowance, level) {
      const { spikes, lowered } = spikeCaps(excesses(side, ratio, idx), allowance);
      if (lowered === undefined) return { p: 1, spikes };
      const { p, smaller } = rankTests(side, ratio, idx, lowered, level);
      return { p, spikes, lean: smaller };
    },
    figures(idx, confidence) {
      const c = logs(canary, idx);
      const b = logs(baseline, idx);
      const canaryFigures: Figures = { kind: 'gauge', median: Math.exp(median(c)), values: c.length };
      const baselineFigures: Figures = { kind: 'gauge', median: Math.exp(median(b)), values: b.length };
      if (c.length === 0 || b.length === 0) return { canary: canaryFigures, baseline: baselineFigures, ratio: null, interval: null, effectiveIntervals: null };
      // The ratio the test judged: paired minute by minute where both groups have data, its
      // interval widened when those minutes move together.
      const paired = excesses('High', 1, idx).map((m) => m.score);
      const factor = varianceFactorOf(paired);
      const shift = paired.length > 0 ? hodgesLehmannPaired(paired, confidence, factor) : hodgesLehmann(b, c, confidence);
      const effective = Math.max(1, Math.round(paired.length / factor));
      return {
        canary: canaryFigures,
        baseline: baselineFigures,
        ratio: Math.exp(shift.estimate),
        interval: [Math.exp(shift.lower), Math.exp(shift.upper)],
        effectiveIntervals: factor > 1 && effective < paired.length ? effective : null,
      };
    },
    ratioWithoutSpike(side, idx, allowance) {
      const paired = excesses(side, 1, idx);
      const { spikes, lowered = new Map<number, number>() } = spikeCaps(paired, allowance);
      if (paired.length === 0) return { ratio: null, spikes };
      // Back from the bad side's scores to canary-over-baseline differences.
      const diffs = paired.map((m) => (m.score - (lowered.get(m.i) ?? 0)) * (side === 'High' ? 1 : -1));
      return { ratio: Math.exp(hodgesLehmannPaired(diffs, 0.5).estimate), spikes };
    },
    minutes(side, ratio, idx) {
      return excesses(side, ratio, idx).map(({ i, score }) => ({ i, beyond: score > 0, gap: score }));
    },
    pairedT(side, ratio, idx, allowance, latest) {
      const minutes = excesses(side, ratio, idx);
      const p = pairedTGreater(minutes.map((m) => m.score), LEAST_SPREAD, latest);
      // The latest minutes' test sets aside spikes among them only: capping one before them
      // would narrow the spread it is judged against.
      const { spikes, lowered } = spikeCaps(latest === undefined ? minutes : minutes.slice(-latest), allowance);
      if (lowered === undefined) return { p, pWithout: 1, spikes };
      const capped = minutes.map((m) => m.score - (lowered.get(m.i) ?? 0));
      return { p, pWithout: pairedTGreater(capped, LEAST_SPREAD, latest), spikes };
    },
    pairedTRatio(idx, confidence, latest) {
      const shift = pairedTMean(excesses('High', 1, idx).map((m) => m.score), confidence, LEAST_SPREAD, latest);
      return { ratio: Math.exp(shift.estimate), interval: [Math.exp(shift.lower), Math.exp(shift.upper)] };
    },
    enough(idx) {
      const c = logs(canary, idx).length;
      const b = logs(baseline, idx).length;
      const need = gaugeIntervalsNeeded(metric.minMinutes);
      if (c >= need && b >= need) return { ok: true, moreIntervals: null };
      return { ok: false, moreIntervals: need - Math.min(c, b) };
    },
  };
}

/**
 * How much more the mean of these paired minutes varies than independent minutes' would:
 * the AR(1) variance factor at the lag-1 autocorrelation of their residuals (dependence.ts).
 */
function varianceFactorOf(paired: readonly number[]): number {
  const mean = paired.reduce((a, b) => a + b, 0) / Math.max(1, paired.length);
  return meanVarianceFactor(paired.length, lagOneAutocorrelation(paired.map((d) => d - mean)));
}

/**
 * A one-sided p-value from a test that counted the minutes as independent, corrected for
 * their autocorrelation: its z-score shrinks by the square root of the variance factor (the
 * effective-sample-size correction of Hamed & Rao 1998 for rank tests, and of Yue & Wang
 * 2002 for Mann–Whitney on serially correlated data).
 */
export function deflatedP(p: number, factor: number): number {
  if (!(factor > 1) || !(p < 0.5)) return p;
  return normalUpper(normalQuantile(1 - p) / Math.sqrt(factor));
}

/**
 * The lone spikes among these minutes and how far to lower each (log scale) to cap it at the
 * worst minute not set aside; `lowered` is undefined when no minute is left to cap them at.
 */
function spikeCaps(minutes: readonly ScoredMinute[], allowance?: number): { spikes: number[]; lowered?: Map<number, number> } {
  const { spikes, reference } = loneSpikes(minutes, allowance);
  const cap = minutes.find((m) => m.i === reference)?.score;
  if (cap === undefined) return { spikes };
  const lowered = new Map<number, number>();
  for (const m of minutes) if (spikes.includes(m.i) && m.score > cap) lowered.set(m.i, m.score - cap);
  return { spikes, lowered };
}

function binomial(n: number, k: number): number {
  let out = 1;
  for (let i = 1; i <= k; i++) out = (out * (n - k + i)) / i;
  return out;
}
