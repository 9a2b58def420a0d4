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
}

export interface CanaryChartInput {
  title: string;
  intervalMinutes: number;
  warmupMinutes: number;
  /** The minute of the window the verdict was reached, or null when there is none yet. */
  verdictMinute: number | null;
  outcome: 'pass' | 'fail' | 'wait';
  metrics: CanaryChartMetric[];
}

/** "Canary …": the window's outcome in words. */
export const outcomeWords: Record<CanaryChartInput['outcome'], string> = { pass: 'passed', fail: 'failed', wait: 'is still being judged' };
