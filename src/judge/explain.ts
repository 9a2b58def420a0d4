// Plain-language lines for verdicts: what a person reads in the thread instead of
// `failed (1) > failureLimit (0)`. Every line carries the figures it is based on.

import type { MetricVerdict, Verdict, Figures } from './judge.js';
import type { MetricConfig } from './window.js';

/** 48k, 4.8k, 612, 1.2M */
export function formatCount(n: number): string {
  if (n >= 1e6) return `${trim(n / 1e6, n >= 1e7 ? 0 : 1)}M`;
  if (n >= 1e3) return `${trim(n / 1e3, n >= 1e4 ? 0 : 1)}k`;
  return String(Math.round(n));
}

/** 0.42 %, 0.011 %, 0 % */
export function formatRate(rate: number): string {
  if (rate === 0) return '0 %';
  return `${Number((rate * 100).toPrecision(2))} %`;
}

/** ×3.8, ×1.03, ×0.92 */
export function formatRatio(ratio: number | null): string {
  if (ratio === null || Number.isNaN(ratio)) return '—';
  if (ratio === Infinity) return '×∞';
  if (ratio >= 10) return `×${trim(ratio, 0)}`;
  if (ratio >= 2) return `×${trim(ratio, 1)}`;
  return `×${trim(ratio, 2)}`;
}

export function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return '—';
  const shown = Math.abs(value) >= 100 ? trim(value, 0) : Number(value.toPrecision(3)).toString();
  if (unit === '') return shown;
  return unit === '%' ? `${shown} %` : `${shown} ${unit}`;
}

export function formatP(p: number): string {
  if (p >= 0.01) return p.toFixed(2);
  if (p === 0) return '0';
  return p.toExponential(0).replace('e', 'e');
}

export function formatConfidence(confidence: number): string {
  return `${Number((confidence * 100).toPrecision(4))} %`;
}

function trim(x: number, digits: number): string {
  return Number(x.toFixed(digits)).toString();
}

/** The figure a person compares for one group: a rate for counts, a median for gauges. */
export function formatFigure(figures: Figures, unit: string): string {
  return figures.kind === 'count' ? formatRate(figures.rate) : formatValue(figures.median, unit);
}

type Unexplained = Omit<MetricVerdict, 'explanation'>;

export function explainMetric(v: Unexplained, metric: MetricConfig, confidence: number): string {
  const unit = metric.unit;
  const head = `${v.label} ${formatFigure(v.canary, unit)} vs ${formatFigure(v.baseline, unit)} (${evidenceText(v, unit)})`;
  const shadow = v.gating ? '' : ' (shadow metric: shown, never fails the canary)';
  return `${head}: ${conclusion(v, metric, confidence)}${shadow}`;
}

function evidenceText(v: Unexplained, unit: string): string {
  if (v.canary.kind === 'count' && v.baseline.kind === 'count') {
    const ratio = v.baseline.events === 0 && v.canary.events > 0 ? '0 vs some' : formatRatio(v.ratio);
    return `${ratio}, ${formatCount(v.canary.events)} vs ${formatCount(v.baseline.events)} ${unit} over ${formatCount(v.canary.requests)} vs ${formatCount(v.baseline.requests)} requests`;
  }
  if (v.canary.kind === 'gauge' && v.baseline.kind === 'gauge') {
    const informative = v.interval !== null && (v.interval[0] > 0 || Number.isFinite(v.interval[1]));
    const interval = v.interval && informative ? `, CI ${formatRatio(v.interval[0])}–${formatRatio(v.interval[1])}` : '';
    return `${formatRatio(v.ratio)}${interval}, ${v.canary.values} vs ${v.baseline.values} minutes`;
  }
  return formatRatio(v.ratio);
}

function conclusion(v: Unexplained, metric: MetricConfig, confidence: number): string {
  const tolerance = `the ${v.tolerance} tolerance`;
  const conf = `${formatConfidence(confidence)} confidence`;
  const more = v.moreMinutes === null ? '' : `; ~${v.moreMinutes} more minute${v.moreMinutes === 1 ? '' : 's'}`;
  switch (v.reason) {
    case 'beyond-critical':
      return `${v.verdict}, beyond the critical ${v.critical ?? ''} bound: fails at once`;
    case 'zero-baseline':
      return `${v.verdict}: 0 vs some — the baseline had none, and ${formatCount(v.canary.kind === 'count' ? v.canary.events : 0)} canary ${metric.unit} are beyond ${tolerance} at ${conf}`;
    case 'beyond-tolerance':
      return `${v.verdict}, beyond ${tolerance} at ${conf}`;
    case 'beyond-tolerance-recent':
      return `${v.verdict} over the latest minutes, beyond ${tolerance} at ${conf}: a regression that started mid-window`;
    case 'beyond-tolerance-run': {
      const run = v.test.run;
      if (!run) return `${v.verdict}, beyond ${tolerance} minute after minute at ${conf}`;
      const since = `${run.beyond} of the ${run.minutes} minutes since minute ${run.fromMinute}`;
      return `${v.verdict} in ${since} against the same minute's baseline, beyond ${tolerance} at ${conf} (sign CUSUM)`;
    }
    case 'beyond-tolerance-since': {
      const from = v.test.since?.fromMinute;
      const since = from === undefined ? 'since a change point' : `since minute ${from}`;
      return `${v.verdict} ${since}, beyond ${tolerance} at ${conf} (change-point scan over each minute's counts)`;
    }
    case 'within-tolerance':
      const high = metric.direction !== 'decrease' && v.ratio !== null && v.ratio > metric.tolerance.upper;
      const low = metric.direction !== 'increase' && v.ratio !== null && v.ratio < metric.tolerance.lower;
      if (high || low) {
        return `Pass, not beyond ${tolerance} with confidence (p = ${formatP(v.test.p)})`;
      }
      return `Pass, within ${tolerance}${betterNote(v, metric)}`;
    case 'lone-spike':
      return `Pass, within ${tolerance} with ${setAside(v.spikeMinutes)}`;
    case 'warming-up':
      return `Inconclusive: the canary is warming up (its first minutes are not judged)${more}`;
    case 'too-little-data':
      if (metric.kind === 'count' && v.canary.kind === 'count') {
        return `Inconclusive: only ${formatCount(v.canary.requests)} canary requests, ${formatCount(metric.minRequests)} needed${more}`;
      }
      return `Inconclusive: too few minutes with data to judge${more}`;
    case 'leaning': {
      const side = v.test.against >= 1 ? 'High' : 'Low';
      return `Inconclusive, leaning ${side} (p = ${formatP(v.test.p)} against ${tolerance}, a verdict needs p < ${formatP(v.test.level)})${more}`;
    }
  }
}

/** "minute 15 set aside as a lone spike", "minutes 14, 27 and 41 set aside as lone spikes" */
function setAside(minutes: readonly number[]): string {
  if (minutes.length <= 1) return `minute ${minutes[0] ?? '?'} set aside as a lone spike`;
  const listed = `${minutes.slice(0, -1).join(', ')} and ${minutes[minutes.length - 1]}`;
  return `minutes ${listed} set aside as lone spikes`;
}

// Say so when the canary is clearly better: a reader would otherwise wonder.
function betterNote(v: Unexplained, metric: MetricConfig): string {
  if (!v.interval || metric.direction === 'either') return '';
  if (metric.direction === 'increase' && v.interval[1] < 1) return ' (lower: the good direction)';
  if (metric.direction === 'decrease' && v.interval[0] > 1) return ' (higher: the good direction)';
  return '';
}

type Unsummarized = Omit<Verdict, 'summary'>;

/** One line for the whole verdict. */
export function summarize(v: Unsummarized): string {
  const gating = v.metrics.filter((m) => m.gating);
  if (v.outcome === 'fail') {
    const failing = gating
      .filter((m) => m.verdict === 'High' || m.verdict === 'Low')
      .map((m) => `${m.label} ${m.verdict} (${formatRatio(m.ratio)}${m.reason === 'beyond-critical' ? `, beyond critical ${m.critical}` : `, tolerance ${m.tolerance}`})`);
    return `fail at minute ${v.minute}: ${failing.join(', ')}`;
  }
  if (v.outcome === 'pass') {
    return `pass: ${gating.length} gating metric${gating.length === 1 ? '' : 's'} within tolerance over ${v.minute} minutes`;
  }
  const undecided = gating
    .filter((m) => m.verdict === 'Inconclusive' && m.reason !== 'warming-up')
    .map((m) => `${m.label}: ${m.reason === 'leaning' ? `leaning ${m.test.against >= 1 ? 'High' : 'Low'}` : 'too little data'}`);
  const detail = undecided.length > 0 ? ` (${undecided.join(', ')})` : '';
  const more = `~${v.moreMinutes ?? 1} more minute${v.moreMinutes === 1 ? '' : 's'}`;
  if (v.minute >= v.durationMinutes) return `inconclusive: ${more} of data${detail}`;
  return `wait: minute ${v.minute} of ${v.durationMinutes}, ${more}${detail}`;
}
