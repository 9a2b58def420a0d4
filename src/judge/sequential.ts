// Repeated looks. The canary stage asks the judge for a verdict after every interval;
// testing each look at the full 1 % would fail a good release far more often than 1 %
// of the time. So each look gets a nominal level from a group-sequential design: the
// overall risk α is spent across the planned looks (Lan–DeMets, Pocock-type spending,
// which spends early enough to fail fast), and the levels account for the looks being
// correlated (each look's data contains the previous look's), computed by the
// Armitage–McPherson–Rowe recursive integration. Looks after the planned window (when
// the stage extends an inconclusive canary) spend a small reserve, continuing the same
// recursive integration, so they too account for the looks being correlated.

import { normalPdf, normalQuantile, normalUpper, bisect } from './stats.js';
import { loneSpikes, SPIKE_ALLOWANCE } from './spikes.js';

/** Share of α spent over the planned window; the rest is kept for extension looks. */
const PLANNED_SHARE = 0.9;
/** The share of a test's α kept for looks after the planned window. */
export const EXTENSION_SHARE = 1 - PLANNED_SHARE;
const GRID_POINTS = 241;

/** Pocock-type spending function: the share of α spent by information fraction τ. */
function spent(tau: number): number {
  return Math.log(1 + (Math.E - 1) * Math.min(1, tau));
}

const designCache = new Map<string, number[]>();

/**
 * Nominal one-sided levels for looks at cumulative information `information`
 * (increasing), so that the chance of crossing at any look under the null is `alpha`.
 */
export function groupSequentialLevels(information: readonly number[], alpha: number): number[] {
  const last = information[information.length - 1] ?? 1;
  return spendingLevels(
    information,
    information.map((info) => alpha * spent(info / last)),
  );
}

/**
 * Nominal one-sided levels for looks at cumulative information `information`
 * (increasing) such that, under the null (the test statistic a Brownian motion in
 * information, the usual group-sequential model), the chance of a first crossing by
 * look i is exactly `cumulative[i]` (non-decreasing): Lan–DeMets boundaries for any
 * spending, computed by the Armitage–McPherson–Rowe recursive integration. The level
 * at a look depends only on the looks up to it, so a longer list never changes the
 * levels of its prefix.
 */
export function spendingLevels(information: readonly number[], cumulative: readonly number[]): number[] {
  const key = `${information.join(',')}|${cumulative.join(',')}`;
  const hit = designCache.get(key);
  if (hit) return hit;
  const levels: number[] = [];
  // Sub-density of the cumulative statistic S on a grid, for paths that have not crossed yet.
  let points = new Float64Array(0);
  let density = new Float64Array(0);
  let previousInfo = 0;
  let spentSoFar = 0;
  for (let look = 0; look < information.length; look++) {
    const info = information[look] ?? 1;
    const increment = Math.max(0, (cumulative[look] ?? spentSoFar) - spentSoFar);
    spentSoFar += increment;
    const sd = Math.sqrt(info - previousInfo);
    let upper: number;
    if (points.length === 0) {
      upper = Math.sqrt(info) * normalQuantile(1 - increment);
    } else {
      const weights = trapezoidWeights(points, density);
      const crossing = (u: number): number => {
        let sum = 0;
        for (let i = 0; i < points.length; i++) sum += (weights[i] ?? 0) * normalUpper((u - (points[i] ?? 0)) / sd);
        return sum;
      };
      const reach = 12 * Math.sqrt(info);
      upper = bisect((u) => increment - crossing(u), -reach, reach);
    }
    levels.push(normalUpper(upper / Math.sqrt(info)));
    // Carry the surviving paths forward to this look.
    const lower = -8 * Math.sqrt(info);
    const next = new Float64Array(GRID_POINTS);
    const nextDensity = new Float64Array(GRID_POINTS);
    const step = (upper - lower) / (GRID_POINTS - 1);
    const weights = points.length === 0 ? null : trapezoidWeights(points, density);
    for (let j = 0; j < GRID_POINTS; j++) {
      const s = lower + j * step;
      next[j] = s;
      if (weights === null) {
        nextDensity[j] = normalPdf(s / Math.sqrt(info)) / Math.sqrt(info);
      } else {
        let sum = 0;
        for (let i = 0; i < points.length; i++) sum += (weights[i] ?? 0) * normalPdf((s - (points[i] ?? 0)) / sd);
        nextDensity[j] = sum / sd;
      }
    }
    points = next;
    density = nextDensity;
    previousInfo = info;
  }
  designCache.set(key, levels);
  return levels;
}

function trapezoidWeights(points: Float64Array, density: Float64Array): Float64Array {
  const w = new Float64Array(points.length);
  const step = points.length > 1 ? (points[1] ?? 0) - (points[0] ?? 0) : 1;
  for (let i = 0; i < points.length; i++) {
    const edge = i === 0 || i === points.length - 1 ? 0.5 : 1;
    w[i] = edge * step * (density[i] ?? 0);
  }
  return w;
}

export interface LookPlan {
  /** First look (in judged intervals) at which the test could possibly reject. */
  first: number;
  /** Judged intervals in the planned window. */
  planned: number;
}

/**
 * Nominal one-sided level for the look at `look` judged intervals, spending `alpha`
 * over the plan. Looks before `plan.first` get nothing; looks past the planned window
 * spend the reserve as the design goes on (`extendedDesign`): by the j-th extra look,
 * reserve·j/(planned + j), which never reaches the reserve.
 * `keep` (≤ 1) is the part of that reserve this test keeps for itself; the caller may
 * spend the rest on other tests of the extension looks (the union bound covers them all).
 */
export function lookLevel(look: number, plan: LookPlan, alpha: number, keep = 1): number {
  if (look < plan.first) return 0;
  if (look <= plan.planned) {
    const info: number[] = [];
    for (let i = plan.first; i <= plan.planned; i++) info.push(i);
    return groupSequentialLevels(info, alpha * PLANNED_SHARE)[look - plan.first] ?? 0;
  }
  const extra = look - Math.max(plan.planned, plan.first - 1);
  const reserve = extensionReserve(plan, alpha) * keep;
  if (plan.planned < plan.first) return extensionLevel(extra, reserve);
  let horizon = 16;
  while (horizon < extra) horizon *= 2;
  return extendedDesign(plan, alpha, reserve, horizon)[look - plan.first] ?? 0;
}

/**
 * The planned design continued past the planned window: the same recursive integration,
 * with cumulative spending α·PLANNED_SHARE + reserve·j/(planned + j) by the j-th extra
 * look (the reserve spent as information grows past the plan: half of it by twice the
 * planned looks; never more than all of it). Unlike a union bound over the extra looks
 * (reserve/(j(j+1)) each, as before), the levels account for each look's data containing
 * the previous looks', so they shrink far more slowly. The planned looks' levels are
 * those of `groupSequentialLevels`, unchanged, and the chance of any crossing, planned or
 * extra, stays within α·PLANNED_SHARE + reserve under the design's model.
 */
function extendedDesign(plan: LookPlan, alpha: number, reserve: number, horizon: number): number[] {
  const information: number[] = [];
  const cumulative: number[] = [];
  const planned = alpha * PLANNED_SHARE;
  for (let i = plan.first; i <= plan.planned; i++) {
    information.push(i);
    cumulative.push(planned * spent(i / plan.planned));
  }
  for (let j = 1; j <= horizon; j++) {
    information.push(plan.planned + j);
    cumulative.push(planned + (reserve * j) / (plan.planned + j));
  }
  return spendingLevels(information, cumulative);
}

/** What a test spending `alpha` over `plan` keeps for the looks after the planned window. */
export function extensionReserve(plan: LookPlan, alpha: number): number {
  return plan.planned >= plan.first ? alpha * EXTENSION_SHARE : alpha;
}

/** The k-th (1-based) of an open-ended run of looks sharing `reserve`: reserve/(k(k+1)), summing to it. */
export function extensionLevel(k: number, reserve: number): number {
  return k >= 1 ? reserve / (k * (k + 1)) : 0;
}

/** Union-bound level for one of `looks` equally weighted looks (used for the recent-minutes scope). */
export function bonferroniLevel(alpha: number, looks: number): number {
  return looks > 0 ? alpha / looks : 0;
}

// ---------------------------------------------------------------------------
// A CUSUM of signs, for regressions that start mid-window. Each minute scores +up
// when the canary is beyond the tolerance against the same minute's baseline and
// −down otherwise; the CUSUM is C_n = max(0, C_{n−1} + score_n), which is the best
// score of any run of minutes ending now (Page's CUSUM: a scan over every possible
// start). Under the null — in each minute, the canary beyond tolerance × baseline at
// most half of the time, independently — the scores are at most fair coins, so the
// chance that C ever reaches h within the planned looks is computed exactly by
// dynamic programming over the integer states 0..h−1: no approximation, no
// distribution assumed for the metric itself. Treating ties and missing minutes as
// "not beyond" only makes the CUSUM smaller, so the bound holds for them too.

export interface SignCusumDesign {
  /** Score of a minute beyond the tolerance. */
  up: number;
  /** Penalty for a minute within it. */
  down: number;
  /** Planned looks (judged minutes); the crossing chance is over all of them. */
  looks: number;
}

const crossingCache = new Map<string, number[]>();

/**
 * P(max over the planned looks of C_n ≥ h) under fair-coin scores, for h = 0, 1, 2, …
 * up to the largest value the CUSUM can take (beyond which it is 0).
 */
function crossingChances(design: SignCusumDesign): number[] {
  const key = `${design.up},${design.down},${design.looks}`;
  const hit = crossingCache.get(key);
  if (hit) return hit;
  const top = design.up * design.looks;
  const chances = [1];
  for (let h = 1; h <= top; h++) {
    let states = new Float64Array(h);
    states[0] = 1;
    let crossed = 0;
    for (let n = 0; n < design.looks; n++) {
      const next = new Float64Array(h);
      for (let s = 0; s < h; s++) {
        const mass = states[s] ?? 0;
        if (mass === 0) continue;
        const up = s + design.up;
        if (up >= h) crossed += mass / 2;
        else next[up] = (next[up] ?? 0) + mass / 2;
        const down = Math.max(0, s - design.down);
        next[down] = (next[down] ?? 0) + mass / 2;
      }
      states = next;
    }
    chances.push(crossed);
  }
  crossingCache.set(key, chances);
  return chances;
}

/**
 * The sign CUSUM's p-value: the chance, under the null, that it reaches `value` at
 * some look of the plan. Judging "fail when this is below α" at every look fails a
 * good canary with chance at most α over the whole plan.
 */
export function signCusumP(value: number, design: SignCusumDesign): number {
  if (value <= 0) return 1;
  const chances = crossingChances(design);
  return value < chances.length ? (chances[value] ?? 0) : 0;
}

/** The lowest CUSUM value whose p-value is below `alpha` (Infinity if none is). */
export function signCusumThreshold(alpha: number, design: SignCusumDesign): number {
  const chances = crossingChances(design);
  for (let h = 1; h < chances.length; h++) if ((chances[h] ?? 1) < alpha) return h;
  return Infinity;
}

/**
 * The sign CUSUM continued past the planned window (the stage extends a canary the judge
 * still waits on). The planned threshold h is an integer, so the chance that a null CUSUM
 * reaches it within the plan, P(h), falls short of the `alpha` it was given; that unused
 * part, alpha − P(h), is spent on the looks after the plan, as the whole-window test
 * spends its reserve: by the j-th extra look, (alpha − P(h))·j/(N + j) (N planned looks).
 * The k-th entry is the threshold of the (k+1)-th extra look: the lowest value such that
 * the exact chance of a false alarm at an extra look, for the paths that never reached h
 * within the plan, stays within that spending. The dynamic programming is the planned
 * one carried on, so the chance of any false alarm, planned or extra, is at most `alpha`
 * exactly, under the same null (each minute beyond the tolerance with chance at most one
 * half, independently: the CUSUM only grows with each minute's score, so fair coins are
 * the worst case). The planned threshold is unchanged. Empty when no run within the plan
 * can reach a verdict.
 */
export function signCusumExtension(alpha: number, design: SignCusumDesign, horizon: number): number[] {
  const h = signCusumThreshold(alpha, design);
  if (!Number.isFinite(h)) return [];
  const key = `${design.up},${design.down},${design.looks}|${alpha}|${horizon}`;
  const hit = extensionCache.get(key);
  if (hit) return hit;
  const slack = Math.max(0, alpha - signCusumP(h, design));
  const top = h + design.up * horizon;
  let states: Float64Array = new Float64Array(top + 1);
  states[0] = 1;
  // The plan: paths that reach h are the planned false alarms, already counted in P(h).
  for (let n = 0; n < design.looks; n++) states = cusumStep(states, design, h);
  const thresholds: number[] = [];
  let used = 0;
  for (let j = 1; j <= horizon; j++) {
    states = cusumStep(states, design, top + 1);
    const budget = (slack * j) / (design.looks + j) - used;
    // The lowest threshold whose crossing mass fits the budget.
    let threshold = top + 1;
    let above = 0;
    for (let v = top; v >= 1; v--) {
      const mass = above + (states[v] ?? 0);
      if (mass > budget) break;
      above = mass;
      threshold = v;
    }
    used += above;
    for (let v = threshold; v <= top; v++) states[v] = 0;
    thresholds.push(threshold);
  }
  extensionCache.set(key, thresholds);
  return thresholds;
}

const extensionCache = new Map<string, number[]>();

/** One minute of the fair-coin CUSUM; mass reaching `stop` or more is dropped (it crossed). */
function cusumStep(states: Float64Array, design: SignCusumDesign, stop: number): Float64Array {
  const next = new Float64Array(states.length);
  for (let s = 0; s < states.length; s++) {
    const mass = states[s] ?? 0;
    if (mass === 0) continue;
    const up = s + design.up;
    if (up < stop && up < states.length) next[up] = (next[up] ?? 0) + mass / 2;
    const down = Math.max(0, s - design.down);
    next[down] = (next[down] ?? 0) + mass / 2;
  }
  return next;
}

export interface SignCusumRun {
  /** C_n after the last minute. */
  value: number;
  /** Position (in the given list) where the current run began: the CUSUM's change point. */
  from: number;
  /** Minutes beyond the tolerance within the run. */
  beyond: number;
}

/** Run Page's CUSUM over minutes given as beyond (true) or not (false), in order. */
export function signCusum(beyond: readonly boolean[], design: SignCusumDesign): SignCusumRun {
  let value = 0;
  let from = beyond.length;
  let count = 0;
  for (let i = 0; i < beyond.length; i++) {
    if (beyond[i]) {
      if (value === 0) {
        from = i;
        count = 0;
      }
      value += design.up;
      count++;
    } else {
      value = Math.max(0, value - design.down);
    }
  }
  return { value, from: value > 0 ? from : beyond.length, beyond: value > 0 ? count : 0 };
}

// ---------------------------------------------------------------------------
// A change-point scan for count metrics, for regressions that start mid-window.
//
// Within one minute, given how many events the two groups had between them (x) and
// their requests, the canary's share of the events is binomial: k ~ Binomial(x, π),
// π = nC·θ / (nC·θ + nB) for a rate ratio θ — the exact rate-ratio test's model, minute
// by minute, so a rate that moves in both groups (a downstream blip) cancels. Against
// the tolerance θ0 and an alternative θ1 beyond it, the minute's likelihood ratio
// LR = (π1/π0)^k ((1−π1)/(1−π0))^(x−k) has expectation ≤ 1 whenever the canary is within
// the tolerance (θ ≤ θ0; the ratio grows with k), so the product over the minutes since
// a start point s, Λ(s, n), is a non-negative supermartingale, and so is a mixture of
// them over several alternatives θ1. The scan's e-value is the average over the planned
// start points, E(n) = (1/N) Σ_s Λ(s, n) (a Shiryaev–Roberts statistic). Each look adds
// at most 1/N in expectation (the new start point), so E(n) + (N − n)/N, for n ≤ N, and
// E(n) after, is a non-negative supermartingale starting at 1, and by Ville's inequality
// the chance that E ever reaches 1/α — at any look, within the planned window or after
// it — is at most α. No per-look correction is needed: the
// bound already covers every look and every start point.

export interface ChangePointScan {
  /** log E(n): the scan's e-value after the last minute given. */
  logE: number;
  /** Position (in the given list) of the start point carrying the most evidence. */
  from: number;
  /** That start point's log evidence, log Λ(from, n) (mixed over the alternatives). */
  best: number;
}

function logSumExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const m = Math.max(a, b);
  return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
}

/**
 * Scan the minutes' log likelihood ratios `llr[k][t]` (one row per alternative, mixed
 * with `weights`, which sum to 1) over start points 0 … starts−1, each with weight 1/starts.
 */
export function changePointScan(llr: readonly (readonly number[])[], weights: readonly number[], starts: number): ChangePointScan {
  const n = llr[0]?.length ?? 0;
  const usable = Math.min(n, starts);
  if (usable <= 0) return { logE: -Infinity, from: n, best: -Infinity };
  const logW = weights.map((w) => Math.log(w));
  // Walk back from the latest minute: tail[k] = Σ_{t ≥ j} llr[k][t], the log evidence of
  // alternative k for start point j.
  const tail = llr.map(() => 0);
  let logE = -Infinity;
  let from = 0;
  let best = -Infinity;
  for (let j = n - 1; j >= 0; j--) {
    let mix = -Infinity;
    for (let k = 0; k < llr.length; k++) {
      tail[k] = (tail[k] ?? 0) + (llr[k]?.[j] ?? 0);
      mix = logSumExp(mix, (logW[k] ?? -Infinity) + (tail[k] ?? 0));
    }
    if (j >= usable) continue;
    if (mix > best) {
      best = mix;
      from = j;
    }
    logE = logSumExp(logE, mix);
  }
  return { logE: logE - Math.log(starts), from, best };
}

/**
 * The same minutes with the lone spikes — up to SPIKE_ALLOWANCE isolated minutes carrying
 * the most evidence (by row `rank`) — capped at the next one's: a lone spike then weighs
 * no more than an ordinary minute of the run. Each ratio only goes down, so the scan's
 * guarantee holds for the capped minutes too. Spikes are given as positions in the rows.
 */
export function capLoneSpikes(
  llr: readonly (readonly number[])[],
  rank: number,
  allowance = SPIKE_ALLOWANCE,
): { llr: number[][]; spikes: number[] } {
  const row = llr[rank] ?? llr[0] ?? [];
  const { spikes, reference } = loneSpikes(row.map((score, i) => ({ i, score })), allowance);
  const capped = llr.map((r) => [...r]);
  for (const r of capped) {
    const cap = reference === undefined ? 0 : (r[reference] ?? 0);
    for (const t of spikes) r[t] = Math.min(r[t] ?? 0, cap);
  }
  return { llr: capped, spikes };
}
