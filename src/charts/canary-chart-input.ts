/*
 * What a canary chart is drawn from, apart from the drawing: the text fallback and the alt text read it
 * without loading the chart stack (vega, vega-lite, resvg), which only the picture needs.
 */
export type MetricVerdict = 'Pass' | 'High' | 'Low' | 'Inconclusive';

export interface CanaryChartMetric {
  label: string;
  unit: string;
  verdict: MetricVerdict;
  /** False for a shadow metric: shown, never fails the canary. */
  gating: boolean;
  /** One value per interval, oldest first; null where the interval had no data. */
  canary: (number | null)[];
  baseline: (number | null)[];
  /**
   * The ratios to the baseline beyond which the canary reads High (upper) or Low (lower), as the
   * metric's direction judges it, drawn as dashed lines beside the baseline; `text` as the team wrote it.
   */
  tolerance?: { upper?: number; lower?: number; text: string };
  /** The judged figures, as the verdict table says them: "canary 145 ms vs baseline 131 ms". */
  figures?: string;
  /** The minutes the verdict rests on when that is a part of the window (since a shift, the latest minutes), shaded. */
  basis?: { fromMinute: number; toMinute: number; label: string };
}

export interface CanaryChartInput {
  title: string;
  /** When the window's first interval began (epoch ms): the axis reads wall-clock time, UTC. */
  start: number;
  intervalMinutes: number;
  warmupMinutes: number;
  /** The minute of the window the verdict was reached, or null when there is none yet. */
  verdictMinute: number | null;
  outcome: 'pass' | 'fail' | 'wait';
  metrics: CanaryChartMetric[];
}

/** "Canary …": the window's outcome in words. */
export const outcomeWords: Record<CanaryChartInput['outcome'], string> = { pass: 'passed', fail: 'failed', wait: 'is still being judged' };

/** "1-min", "10-s", "5-min": an interval's length as the chart labels it. */
export function intervalWords(minutes: number): string {
  const seconds = Math.round(minutes * 60);
  return seconds % 60 === 0 ? `${seconds / 60}-min` : `${seconds}-s`;
}

/** "12:04 UTC": the wall-clock time `minutes` into a window that began at `start`. */
export function clockAt(start: number, minutes: number): string {
  return `${new Date(start + Math.round(minutes * 60_000)).toISOString().slice(11, 16)} UTC`;
}
