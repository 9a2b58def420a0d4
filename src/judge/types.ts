// The judge's shared types: what a verdict holds (judge.ts builds it, explain.ts and
// render.ts word it) and what the tests read from a metric's data (evidence.ts offers it,
// tests/ read it). One file every part imports, so no part of the judge imports another's
// types back.

export type MetricVerdictKind = 'Pass' | 'High' | 'Low' | 'Inconclusive';
export type Outcome = 'fail' | 'pass' | 'wait';
export type Side = 'High' | 'Low';

/** The figures a person compares for one group. */
export type Figures =
  | { kind: 'count'; events: number; requests: number; rate: number }
  | { kind: 'gauge'; median: number; values: number };

/** Why a metric got its verdict, for explanations and for the canary stage's logic. */
export type Reason =
  | 'beyond-tolerance' // High/Low over the judged window
  | 'beyond-tolerance-recent' // High/Low over the latest minutes only: a mid-window regression
  | 'beyond-tolerance-run' // High/Low: a run of minutes beyond tolerance, each against its own minute's baseline (sign CUSUM)
  | 'beyond-tolerance-since' // High/Low since a minute: counts since a change point (change-point scan), gauges over the latest minutes (since a shift)
  | 'beyond-critical' // High/Low beyond the critical bound: fails at once
  | 'zero-baseline' // High: the baseline had no events, the canary too many for chance
  | 'within-tolerance' // Pass
  | 'lone-spike' // Pass: would be High/Low, or leaning, only because of a few isolated minutes
  | 'warming-up' // Inconclusive: every interval so far is warm-up
  | 'too-little-data' // Inconclusive: below minMinutes / minRequests
  | 'leaning'; // Inconclusive: not beyond tolerance yet, but too close to call

export interface TestResult {
  /** Which test: "exact rate ratio", "change-point scan", "Mann–Whitney / signed-rank", "paired t-test" or "sign CUSUM". */
  name: string;
  /** One-sided p-value against the bound, on the deciding side. */
  p: number;
  /** The level this look needed (corrected for repeated looks). */
  level: number;
  /** The ratio the canary was tested against (the tolerance or critical bound). */
  against: number;
  /**
   * Which intervals: the judged window, the latest minutes, the latest run of minutes
   * found by the sign CUSUM (gauges), or everything (critical).
   */
  scope: 'window' | 'recent' | 'run' | 'since' | 'all';
  /**
   * For the run scope: where the run began and ended (minutes into the window, at the end of
   * those intervals) and how many of its intervals were beyond the tolerance.
   */
  run?: { fromMinute: number; toMinute: number; beyond: number; minutes: number };
  /** For the since scope: the change point the count scan found, or the first of a gauge's latest minutes tested; and the latest minute (as for `run`). */
  since?: { fromMinute: number; toMinute: number };
}

export interface MetricVerdict {
  metric: string;
  label: string;
  kind: 'count' | 'gauge';
  /** Unit of gauge values ("ms") or word for count events ("errors"). */
  unit: string;
  gating: boolean;
  verdict: MetricVerdictKind;
  reason: Reason;
  canary: Figures;
  baseline: Figures;
  /** Canary over baseline: rate ratio, or Hodges–Lehmann ratio for gauges. Null when undefined (0 vs 0). */
  ratio: number | null;
  /** Interval on the ratio at the level this look used. */
  interval: [number, number] | null;
  /** Gauges: the independent intervals the judged ones count as, when they move together (else null). */
  effectiveIntervals: number | null;
  test: TestResult;
  tolerance: string;
  critical: string | null;
  /** Intervals judged (after warm-up, with data). */
  judgedIntervals: number;
  /** For Inconclusive: the estimated minutes until the metric can be decided. */
  moreMinutes: number | null;
  /** The first minute (1-based) set aside as a lone spike, if that changed the verdict. */
  spikeMinute: number | null;
  /** Every minute (1-based, in order) set aside as a lone spike, if that changed the verdict. */
  spikeMinutes: number[];
  explanation: string;
}

export interface Verdict {
  outcome: Outcome;
  /** Minutes of data in the window. */
  minute: number;
  durationMinutes: number;
  /** For wait: minutes until the judge expects to decide. */
  moreMinutes: number | null;
  /** One line for the thread ("fail: p99 latency High …"). */
  summary: string;
  metrics: MetricVerdict[];
}

/** What the judge needs from a metric's data, whatever its kind. */
export interface Evidence {
  testName: string;
  /** First judged interval count at which this kind of test can reject (design start). */
  firstLook: number;
  /**
   * One-sided p-value that the canary is beyond `ratio` on `side`, over these intervals.
   * `level`, when given, is the level it will be held to: a part of the test that cannot
   * reach it on this many intervals is left out, its share going to the rest.
   */
  p(side: Side, ratio: number, indices: readonly number[], level?: number): number;
  /**
   * The smallest p-value the test can give on `intervals` intervals, whatever the data
   * (rank tests are discrete); 0 when there is no such floor. A look at which the floor is
   * above the level gets none of the design's α.
   */
  floor(intervals: number): number;
  /**
   * The same p-value with the isolated intervals most to blame for a `side` verdict
   * (up to SPIKE_ALLOWANCE) capped at the next one's level, so lone spikes cannot carry
   * a verdict; `spikes` names those intervals. `lean`, when given, is what to weigh for
   * "too close to call" instead of `p` (gauges: the smaller of their two tests' own
   * p-values, since a wait, unlike a fail, spends no α). `level` as for `p`.
   */
  pWithoutSpike(side: Side, ratio: number, indices: readonly number[], allowance?: number, level?: number): { p: number; spikes: number[]; lean?: number };
  figures(indices: readonly number[], confidence: number): Omit<Summary, 'enough'>;
  /**
   * The ratio `figures` shows (canary over baseline) with the lone spikes most to blame for
   * `side` capped as in `pWithoutSpike` (uncapped when there is nothing to cap them at), and
   * those spikes: a Pass is never shown under an estimate beyond the tolerance, unless lone
   * spikes alone put it there.
   */
  ratioWithoutSpike(side: Side, indices: readonly number[], allowance?: number): { ratio: number | null; spikes: number[] };
  /** Whether there is enough data to pass or fail, and if not, intervals still needed (null: unknown). */
  enough(indices: readonly number[]): { ok: boolean; moreIntervals: number | null };
}

export interface GaugeEvidence extends Evidence {
  /**
   * Each interval with data in both groups, in order, and whether the canary was
   * beyond `ratio` × that same interval's baseline on `side` (gap: how far past it, on a
   * log scale; negative when within).
   */
  minutes(side: Side, ratio: number, indices: readonly number[]): PairedMinute[];
  /**
   * A paired t-test on each interval's canary against `ratio` × its own baseline (log
   * scale), and the same with the lone spikes capped at the worst other interval. With
   * `latest`, of the latest `latest` of those intervals, the spread pooled with the ones
   * before them (pairedTGreater).
   */
  pairedT(side: Side, ratio: number, indices: readonly number[], allowance?: number, latest?: number): { p: number; pWithout: number; spikes: number[] };
  /** The ratio that test judges (the geometric mean of the minute ratios) with its interval at `confidence`. */
  pairedTRatio(indices: readonly number[], confidence: number, latest?: number): { ratio: number; interval: [number, number] };
}

export interface CountEvidence extends Evidence {
  /**
   * Each interval's log likelihood ratio of the canary's share of the events,
   * one row per alternative in SCAN_ALTERNATIVES, against the canary being at `ratio`
   * (0 for an interval without data).
   */
  logRatios(side: Side, ratio: number, indices: readonly number[]): number[][];
}

export interface PairedMinute {
  i: number;
  beyond: boolean;
  gap: number;
}

export interface Summary {
  canary: Figures;
  baseline: Figures;
  ratio: number | null;
  interval: [number, number] | null;
  /**
   * Gauges whose minutes move together: how many independent minutes the paired minutes
   * count as (their number over the AR(1) variance factor, dependence.ts); null when they
   * count as themselves.
   */
  effectiveIntervals: number | null;
}
