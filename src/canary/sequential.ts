// Repeated looks. The canary stage asks the judge for a verdict after every interval;
// testing each look at the full 1 % would fail a good release far more often than 1 %
// of the time. So each look gets a nominal level from a group-sequential design: the
// overall risk α is spent across the planned looks (Lan–DeMets, Pocock-type spending,
// which spends early enough to fail fast), and the levels account for the looks being
// correlated (each look's data contains the previous look's), computed by the
// Armitage–McPherson–Rowe recursive integration. Looks after the planned window (when
// the stage extends an inconclusive canary) share a small reserve by a union bound.

import { normalPdf, normalQuantile, normalUpper, bisect } from './stats.js';

/** Share of α spent over the planned window; the rest is kept for extension looks. */
const PLANNED_SHARE = 0.9;
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
  const key = `${information.join(',')}|${alpha}`;
  const hit = designCache.get(key);
  if (hit) return hit;
  const last = information[information.length - 1] ?? 1;
  const levels: number[] = [];
  // Sub-density of the cumulative statistic S on a grid, for paths that have not crossed yet.
  let points = new Float64Array(0);
  let density = new Float64Array(0);
  let previousInfo = 0;
  let spentSoFar = 0;
  for (const info of information) {
    const increment = alpha * spent(info / last) - spentSoFar;
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
 * share the reserve as reserve/(j(j+1)) for the j-th extra look, which sums to the reserve.
 */
export function lookLevel(look: number, plan: LookPlan, alpha: number): number {
  if (look < plan.first) return 0;
  if (look <= plan.planned) {
    const info: number[] = [];
    for (let i = plan.first; i <= plan.planned; i++) info.push(i);
    return groupSequentialLevels(info, alpha * PLANNED_SHARE)[look - plan.first] ?? 0;
  }
  const extra = look - Math.max(plan.planned, plan.first - 1);
  const reserve = plan.planned >= plan.first ? alpha * (1 - PLANNED_SHARE) : alpha;
  return reserve / (extra * (extra + 1));
}

/** Union-bound level for one of `looks` equally weighted looks (used for the recent-minutes scope). */
export function bonferroniLevel(alpha: number, looks: number): number {
  return looks > 0 ? alpha / looks : 0;
}
