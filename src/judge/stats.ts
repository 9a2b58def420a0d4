// Distributions and tests the canary judge needs, written out so the judge has no
// dependency and every number it prints can be traced to a formula here.

/** Standard normal upper tail P(Z > z), accurate to ~1e-7 relative even far in the tail. */
export function normalUpper(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/** Standard normal lower tail P(Z <= z). */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

// Complementary error function (Numerical Recipes' erfcc, fractional error < 1.2e-7).
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** z such that P(Z <= z) = p (Acklam's algorithm, refined by one Halley step). */
export function normalQuantile(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const at = (xs: number[], i: number): number => xs[i] ?? 0;
  const low = 0.02425;
  let x: number;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((at(c, 0) * q + at(c, 1)) * q + at(c, 2)) * q + at(c, 3)) * q + at(c, 4)) * q + at(c, 5)) /
      ((((at(d, 0) * q + at(d, 1)) * q + at(d, 2)) * q + at(d, 3)) * q + 1);
  } else if (p <= 1 - low) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((at(a, 0) * r + at(a, 1)) * r + at(a, 2)) * r + at(a, 3)) * r + at(a, 4)) * r + at(a, 5)) * q) /
      (((((at(b, 0) * r + at(b, 1)) * r + at(b, 2)) * r + at(b, 3)) * r + at(b, 4)) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((at(c, 0) * q + at(c, 1)) * q + at(c, 2)) * q + at(c, 3)) * q + at(c, 4)) * q + at(c, 5)) /
      ((((at(d, 0) * q + at(d, 1)) * q + at(d, 2)) * q + at(d, 3)) * q + 1);
  }
  const e = normalCdf(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

/** Standard normal density. */
export function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

// ---------------------------------------------------------------------------
// Binomial tails through the regularized incomplete beta function.

function logGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9), good to ~15 digits for x > 0.
  const g = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const y = x - 1;
  let s = g[0] ?? 0;
  for (let i = 1; i < 9; i++) s += (g[i] ?? 0) / (y + i);
  const t = y + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(s);
}

function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10_000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-14) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a;
  return 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(X >= k) for X ~ Binomial(n, p). */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  return incompleteBeta(p, k, n - k + 1);
}

/** P(X <= k) for X ~ Binomial(n, p). */
export function binomialLowerTail(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  return 1 - incompleteBeta(p, k + 1, n - k);
}

/** Clopper–Pearson two-sided interval for a binomial proportion, at `confidence`. */
export function clopperPearson(k: number, n: number, confidence: number): [number, number] {
  const tail = (1 - confidence) / 2;
  const lower = k === 0 ? 0 : bisect((p) => binomialUpperTail(k, n, p) - tail, 0, 1);
  const upper = k === n ? 1 : bisect((p) => tail - binomialLowerTail(k, n, p), 0, 1);
  return [lower, upper];
}

/** Root of an increasing function on [lo, hi] by bisection (60 halvings: below double precision). */
export function bisect(f: (x: number) => number, lo: number, hi: number): number {
  let a = lo;
  let b = hi;
  for (let i = 0; i < 60; i++) {
    const mid = (a + b) / 2;
    if (f(mid) < 0) a = mid;
    else b = mid;
  }
  return (a + b) / 2;
}

// ---------------------------------------------------------------------------
// Rate ratio of two Poisson counts, tested exactly by conditioning on the total:
// given x = canary + baseline events, canary events ~ Binomial(x, π) with
// π = nC·θ / (nC·θ + nB), where θ is the canary/baseline rate ratio and nC, nB the
// requests. This is exact for small counts and includes the "0 vs some" case,
// where per-interval ratios or medians see nothing.

export interface RateCounts {
  canaryEvents: number;
  canaryRequests: number;
  baselineEvents: number;
  baselineRequests: number;
}

function shareAt(ratio: number, c: RateCounts): number {
  return (c.canaryRequests * ratio) / (c.canaryRequests * ratio + c.baselineRequests);
}

function ratioAt(share: number, c: RateCounts): number {
  if (share >= 1) return Infinity;
  return (share * c.baselineRequests) / ((1 - share) * c.canaryRequests);
}

/** One-sided p-value for "the canary's rate is more than `ratio` × the baseline's". */
export function rateRatioPHigh(c: RateCounts, ratio: number): number {
  const total = c.canaryEvents + c.baselineEvents;
  if (total === 0) return 1;
  return binomialUpperTail(c.canaryEvents, total, shareAt(ratio, c));
}

/** One-sided p-value for "the canary's rate is less than `ratio` × the baseline's". */
export function rateRatioPLow(c: RateCounts, ratio: number): number {
  const total = c.canaryEvents + c.baselineEvents;
  if (total === 0) return 1;
  return binomialLowerTail(c.canaryEvents, total, shareAt(ratio, c));
}

/** Exact (Clopper–Pearson based) two-sided interval on the rate ratio. */
export function rateRatioInterval(c: RateCounts, confidence: number): [number, number] {
  const total = c.canaryEvents + c.baselineEvents;
  if (total === 0) return [0, Infinity];
  const [lo, hi] = clopperPearson(c.canaryEvents, total, confidence);
  return [ratioAt(lo, c), ratioAt(hi, c)];
}

// ---------------------------------------------------------------------------
// Mann–Whitney U with the Hodges–Lehmann shift, on log values so that a shift is a
// ratio (+10 % latency is the same shift at 50 ms and at 800 ms).

const exactCache = new Map<string, Float64Array>();

// Number of arrangements giving each U, for sample sizes m and n (no ties):
// the coefficients of the Gaussian binomial [m+n choose m]. Cached per (m, n).
function exactUCounts(m: number, n: number): Float64Array {
  const key = `${m},${n}`;
  const hit = exactCache.get(key);
  if (hit) return hit;
  let result: Float64Array;
  if (m === 0 || n === 0) {
    result = new Float64Array([1]);
  } else {
    // f(m, n, u) = f(m-1, n, u-n) + f(m, n-1, u): the largest value is a canary or not.
    const a = exactUCounts(m - 1, n);
    const b = exactUCounts(m, n - 1);
    result = new Float64Array(m * n + 1);
    for (let u = 0; u <= m * n; u++) result[u] = (u - n >= 0 ? (a[u - n] ?? 0) : 0) + (b[u] ?? 0);
  }
  exactCache.set(key, result);
  return result;
}

export interface MannWhitney {
  /** Pairs where the second sample is larger (ties count ½). */
  u: number;
  /** One-sided p-value for "the second sample tends to be larger". */
  p: number;
  exact: boolean;
}

const EXACT_LIMIT = 25;

/**
 * One-sided Mann–Whitney test of H1: `second` tends to be larger than `first`.
 * Exact distribution for small tie-free samples, else the normal approximation with
 * tie and continuity corrections.
 */
export function mannWhitneyGreater(first: readonly number[], second: readonly number[]): MannWhitney {
  const m = first.length;
  const n = second.length;
  if (m === 0 || n === 0) return { u: 0, p: 1, exact: false };
  const all = [...first.map((v) => ({ v, g: 0 })), ...second.map((v) => ({ v, g: 1 }))].sort((x, y) => x.v - y.v);
  // Mid-ranks, and the tie correction term Σ(t³ - t).
  let rankSumSecond = 0;
  let tieTerm = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]?.v === all[i]?.v) j++;
    const t = j - i + 1;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (all[k]?.g === 1) rankSumSecond += rank;
    tieTerm += t * t * t - t;
    i = j + 1;
  }
  const u = rankSumSecond - (n * (n + 1)) / 2;
  if (tieTerm === 0 && m <= EXACT_LIMIT && n <= EXACT_LIMIT) {
    const counts = exactUCounts(m, n);
    let total = 0;
    let atLeast = 0;
    for (let k = 0; k < counts.length; k++) {
      const c = counts[k] ?? 0;
      total += c;
      if (k >= u) atLeast += c;
    }
    return { u, p: atLeast / total, exact: true };
  }
  const N = m + n;
  const variance = ((m * n) / 12) * (N + 1 - tieTerm / (N * (N - 1)));
  if (variance <= 0) return { u, p: u > (m * n) / 2 ? 0 : 1, exact: false };
  const z = (u - (m * n) / 2 - 0.5) / Math.sqrt(variance);
  return { u, p: normalUpper(z), exact: false };
}

// ---------------------------------------------------------------------------
// Wilcoxon signed-rank on paired differences: for gauges, each minute's canary value
// against the same minute's baseline (on a log scale), so a wave that moves both groups
// (traffic moving CPU) cancels minute by minute instead of blurring two samples.

const signedRankCache = new Map<number, Float64Array>();

// Number of subsets of {1..n} with each sum: W+'s null distribution, ×2^n.
function signedRankCounts(n: number): Float64Array {
  const hit = signedRankCache.get(n);
  if (hit) return hit;
  const top = (n * (n + 1)) / 2;
  let counts = new Float64Array(top + 1);
  counts[0] = 1;
  for (let r = 1; r <= n; r++) {
    const next = new Float64Array(top + 1);
    for (let w = 0; w <= top; w++) {
      const c = counts[w] ?? 0;
      if (c === 0) continue;
      next[w] = (next[w] ?? 0) + c;
      if (w + r <= top) next[w + r] = (next[w + r] ?? 0) + c;
    }
    counts = next;
  }
  signedRankCache.set(n, counts);
  return counts;
}

/**
 * One-sided Wilcoxon signed-rank test of H1: the differences tend to be above 0
 * (symmetric about a positive centre). Zeros are dropped (Wilcoxon's convention). Exact
 * for small tie-free samples, else the normal approximation with tie and continuity
 * corrections.
 */
export function signedRankGreater(differences: readonly number[]): { p: number; exact: boolean } {
  const d = differences.filter((x) => x !== 0);
  const n = d.length;
  if (n === 0) return { p: 1, exact: false };
  const sorted = d.map((x) => ({ a: Math.abs(x), positive: x > 0 })).sort((x, y) => x.a - y.a);
  let wPlus = 0;
  let tieTerm = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && sorted[j + 1]?.a === sorted[i]?.a) j++;
    const t = j - i + 1;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (sorted[k]?.positive) wPlus += rank;
    tieTerm += t * t * t - t;
    i = j + 1;
  }
  if (tieTerm === 0 && n <= EXACT_LIMIT) {
    const counts = signedRankCounts(n);
    let atLeast = 0;
    for (let w = Math.ceil(wPlus); w < counts.length; w++) atLeast += counts[w] ?? 0;
    return { p: atLeast / 2 ** n, exact: true };
  }
  const mean = (n * (n + 1)) / 4;
  const variance = (n * (n + 1) * (2 * n + 1)) / 24 - tieTerm / 48;
  if (variance <= 0) return { p: wPlus > mean ? 0 : 1, exact: false };
  return { p: normalUpper((wPlus - mean - 0.5) / Math.sqrt(variance)), exact: false };
}

/**
 * Hodges–Lehmann centre of paired differences (the median of their Walsh averages) with
 * a two-sided interval at `confidence`, from the signed-rank distribution.
 */
export function hodgesLehmannPaired(differences: readonly number[], confidence: number, varianceFactor = 1): Shift {
  const n = differences.length;
  if (n === 0) return { estimate: NaN, lower: -Infinity, upper: Infinity };
  const walsh = new Float64Array((n * (n + 1)) / 2);
  let k = 0;
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) walsh[k++] = ((differences[i] ?? 0) + (differences[j] ?? 0)) / 2;
  const mid = walsh.length / 2;
  const estimate = walsh.length % 2 === 1 ? select(walsh, Math.floor(mid)) : (select(walsh, mid - 1) + select(walsh, mid)) / 2;
  const z = normalQuantile(1 - (1 - confidence) / 2);
  // The signed-rank statistic's variance, times the variance factor of minutes that move together (dependence.ts).
  const c = Math.floor(walsh.length / 2 - z * Math.sqrt((varianceFactor * n * (n + 1) * (2 * n + 1)) / 24));
  if (c < 0) return { estimate, lower: -Infinity, upper: Infinity };
  return { estimate, lower: select(walsh, c), upper: select(walsh, walsh.length - 1 - c) };
}

export interface Shift {
  /** Hodges–Lehmann estimate: median of all pairwise differences second − first. */
  estimate: number;
  lower: number;
  upper: number;
}

/** Hodges–Lehmann shift of `second` over `first` with a two-sided interval at `confidence`. */
export function hodgesLehmann(first: readonly number[], second: readonly number[], confidence: number): Shift {
  const m = first.length;
  const n = second.length;
  if (m === 0 || n === 0) return { estimate: NaN, lower: -Infinity, upper: Infinity };
  const diffs = new Float64Array(m * n);
  let k = 0;
  for (const s of second) for (const f of first) diffs[k++] = s - f;
  // Only three order statistics are needed, so select them rather than sort (the judge
  // computes this at every look).
  const mid = diffs.length / 2;
  const estimate =
    diffs.length % 2 === 1 ? select(diffs, Math.floor(mid)) : (select(diffs, mid - 1) + select(diffs, mid)) / 2;
  // The interval's ends are order statistics of the differences (normal approximation
  // to U's distribution, as R's wilcox.test does for larger samples).
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const c = Math.floor((m * n) / 2 - z * Math.sqrt((m * n * (m + n + 1)) / 12));
  if (c < 0) return { estimate, lower: -Infinity, upper: Infinity };
  return { estimate, lower: select(diffs, c), upper: select(diffs, m * n - 1 - c) };
}

/** The k-th smallest value (0-based) of `values`, which it reorders (Hoare's quickselect). */
function select(values: Float64Array, k: number): number {
  let lo = 0;
  let hi = values.length - 1;
  while (lo < hi) {
    const pivot = values[(lo + hi) >> 1] ?? 0;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((values[i] ?? 0) < pivot) i++;
      while ((values[j] ?? 0) > pivot) j--;
      if (i <= j) {
        const t = values[i] ?? 0;
        values[i] = values[j] ?? 0;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return values[k] ?? NaN;
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  if (sorted.length === 0) return NaN;
  return sorted.length % 2 === 1 ? (sorted[Math.floor(mid)] ?? NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** P(T ≥ t) for Student's t with `df` degrees of freedom. */
export function studentTUpper(t: number, df: number): number {
  if (Number.isNaN(t)) return 1;
  if (t === Infinity) return 0;
  if (t === -Infinity) return 1;
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? tail : 1 - tail;
}

/**
 * The mean of the latest `latest` paired differences (all of them by default) with a
 * two-sided t interval at `confidence`, the spread floored at `minSd` (see pairedTGreater).
 */
export function pairedTMean(differences: readonly number[], confidence: number, minSd = 0, latest = differences.length): Shift {
  const { mean, sd, n, df } = meanAndSpread(differences, minSd, latest);
  if (!(df > 0)) return { estimate: n > 0 ? mean : NaN, lower: -Infinity, upper: Infinity };
  const tail = (1 - confidence) / 2;
  // The quantile: Student's upper tail falls from ½ at 0, so bisect on [0, 10⁶].
  const q = bisect((t) => tail - studentTUpper(t, df), 0, 1e6);
  const half = (q * sd) / Math.sqrt(n);
  return { estimate: mean, lower: mean - half, upper: mean + half };
}

// The latest differences' mean, and the spread pooled around each segment's own mean
// (the differences before them, and they), so a shift between the two is not spread.
function meanAndSpread(differences: readonly number[], minSd: number, latest: number): { mean: number; sd: number; n: number; df: number } {
  const n = Math.max(0, Math.min(latest, differences.length));
  const before = differences.slice(0, differences.length - n);
  const after = differences.slice(differences.length - n);
  const segments = [before, after].filter((s) => s.length > 0);
  let squares = 0;
  for (const segment of segments) {
    const m = segment.reduce((a, b) => a + b, 0) / segment.length;
    squares += segment.reduce((a, b) => a + (b - m) ** 2, 0);
  }
  const mean = after.reduce((a, b) => a + b, 0) / n;
  const df = differences.length - segments.length;
  return { mean, sd: Math.max(df > 0 ? Math.sqrt(squares / df) : 0, minSd), n, df };
}

/**
 * One-sided paired t-test of H1: the differences' mean is above 0. `minSd` is the least
 * spread the differences are taken to have (a floor on their standard deviation), so that
 * a few identical minutes are not read as certainty. With `latest`, it tests the mean of
 * the latest `latest` differences only, the spread pooled from them and the ones before:
 * for independent normal differences at mean 0, t then has Student's distribution on
 * n − 2 degrees of freedom, far more than the latest differences alone would give.
 */
export function pairedTGreater(differences: readonly number[], minSd = 0, latest = differences.length): number {
  const { mean, sd, n, df } = meanAndSpread(differences, minSd, latest);
  if (!(df > 0) || n === 0) return 1;
  if (sd === 0) return mean > 0 ? 0 : 1;
  return studentTUpper(mean / (sd / Math.sqrt(n)), df);
}
