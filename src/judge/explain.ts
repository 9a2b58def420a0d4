// Plain-language lines for verdicts: what a person reads in the thread instead of
// `failed (1) > failureLimit (0)`. Every line carries the figures it is based on.

import type { MetricVerdict, Verdict, Figures } from './types.js';
import type { MetricConfig } from './window.js';
import { gaugeIntervalsNeeded } from './window.js';

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

// Two figures below 0.01, so a p-value and the level it is held to never read alike ("9.6e-4 vs 1.3e-3").
export function formatP(p: number): string {
  if (p >= 0.01) return p.toFixed(2);
  if (p === 0) return '0';
  return p.toExponential(1);
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

// Time in a verdict. A line says "minute 15" and "25 minutes" only when an interval is a
// minute; otherwise it counts periods ("period 15", "25 periods of 10 s") and gives
// lengths of time in seconds or minutes ("~40 more seconds", "2 min 30 s of 3 minutes").

/** "minute"/"minutes" when an interval is a minute, else "period"/"periods". */
export function periodWord(intervalMinutes: number, count = 1): string {
  const word = intervalMinutes === 1 ? 'minute' : 'period';
  return count === 1 ? word : `${word}s`;
}

/** The 1-based interval that ends at `minutes`: "minute 15", or "period 15" for 10-second intervals. */
function periodAt(minutes: number, intervalMinutes: number): string {
  return `${periodWord(intervalMinutes)} ${Math.round(minutes / intervalMinutes)}`;
}

/** A length of time: "18 minutes", "1 minute", "40 seconds", "2 min 30 s". */
export function formatDuration(minutes: number): string {
  const seconds = Math.round(minutes * 60);
  if (seconds % 60 === 0) return `${seconds / 60} minute${seconds === 60 ? '' : 's'}`;
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

/** The same, short, for an interval's length: "10 s", "5 min". */
function shortDuration(minutes: number): string {
  const seconds = Math.round(minutes * 60);
  return seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
}

/** A point in the window: "minute 12", or "2 min 30 s" when an interval is not a minute. */
export function momentText(minutes: number, intervalMinutes: number): string {
  return intervalMinutes === 1 ? `minute ${minutes}` : formatDuration(minutes);
}

/** Where a look is in the window: "minute 12 of 30", or "2 min 30 s of 3 minutes". */
export function positionText(minute: number, durationMinutes: number, intervalMinutes = 1): string {
  const of = intervalMinutes === 1 ? String(durationMinutes) : formatDuration(durationMinutes);
  return `${momentText(minute, intervalMinutes)} of ${of}`;
}

/** "25 minutes", or "25 periods of 10 s". */
function periodsText(count: number, intervalMinutes: number): string {
  const words = `${count} ${periodWord(intervalMinutes, count)}`;
  return intervalMinutes === 1 ? words : `${words} of ${shortDuration(intervalMinutes)}`;
}

type Unexplained = Omit<MetricVerdict, 'explanation'>;

/** One plain line for a metric's verdict. `intervalMinutes`: the window's interval (CloudWatch period). */
export function explainMetric(v: Unexplained, metric: MetricConfig, confidence: number, intervalMinutes = 1): string {
  const unit = metric.unit;
  const head = `${v.label} ${formatFigure(v.canary, unit)} vs ${formatFigure(v.baseline, unit)} (${evidenceText(v, unit, intervalMinutes)})`;
  const shadow = v.gating ? '' : ' (shadow metric: shown, never fails the canary)';
  return `${head}: ${conclusion(v, metric, confidence, intervalMinutes)}${shadow}`;
}

function evidenceText(v: Unexplained, unit: string, intervalMinutes: number): string {
  if (v.canary.kind === 'count' && v.baseline.kind === 'count') {
    const ratio = v.baseline.events === 0 && v.canary.events > 0 ? '0 vs some' : formatRatio(v.ratio);
    return `${ratio}, ${formatCount(v.canary.events)} vs ${formatCount(v.baseline.events)} ${unit} over ${formatCount(v.canary.requests)} vs ${formatCount(v.baseline.requests)} requests`;
  }
  if (v.canary.kind === 'gauge' && v.baseline.kind === 'gauge') {
    const informative = v.interval !== null && (v.interval[0] > 0 || Number.isFinite(v.interval[1]));
    const interval = v.interval && informative ? `, CI ${formatRatio(v.interval[0])}–${formatRatio(v.interval[1])}` : '';
    const values = `${v.canary.values} vs ${periodsText(v.baseline.values, intervalMinutes)}`;
    return `${formatRatio(v.ratio)}${interval}, ${values}${togetherText(v, intervalMinutes)}`;
  }
  return formatRatio(v.ratio);
}

// Say so when autocorrelation widened the interval: "minutes move together here, so 30 minutes count as about 9".
function togetherText(v: Unexplained, intervalMinutes: number): string {
  if (v.effectiveIntervals === null || v.canary.kind !== 'gauge' || v.baseline.kind !== 'gauge') return '';
  const n = Math.min(v.canary.values, v.baseline.values);
  if (!(v.effectiveIntervals < n)) return '';
  const word = periodWord(intervalMinutes, 2);
  return `; ${word} move together here, so ${n} ${word} count as about ${v.effectiveIntervals}`;
}

function conclusion(v: Unexplained, metric: MetricConfig, confidence: number, intervalMinutes: number): string {
  const tolerance = `the ${v.tolerance} tolerance`;
  const conf = `${formatConfidence(confidence)} confidence`;
  const more = v.moreMinutes === null ? '' : `; ~${moreText(v.moreMinutes)}`;
  const period = periodWord(intervalMinutes);
  switch (v.reason) {
    case 'beyond-critical':
      return `${v.verdict}, beyond the critical ${v.critical ?? ''} bound: fails at once`;
    case 'zero-baseline':
      return `${v.verdict}: 0 vs some — the baseline had none, and ${formatCount(v.canary.kind === 'count' ? v.canary.events : 0)} canary ${metric.unit} are beyond ${tolerance} at ${conf}`;
    case 'beyond-tolerance':
      return `${v.verdict}, beyond ${tolerance} at ${conf}`;
    case 'beyond-tolerance-recent':
      return `${v.verdict} over the latest ${periodWord(intervalMinutes, 2)}, beyond ${tolerance} at ${conf}: a regression that started mid-window`;
    case 'beyond-tolerance-run': {
      const run = v.test.run;
      if (!run) return `${v.verdict}, beyond ${tolerance} ${period} after ${period} at ${conf}`;
      const since = `${run.beyond} of the ${run.minutes} ${periodWord(intervalMinutes, run.minutes)} since ${periodAt(run.fromMinute, intervalMinutes)}`;
      return `${v.verdict} in ${since} against the same ${period}'s baseline, beyond ${tolerance} at ${conf} (sign CUSUM)`;
    }
    case 'beyond-tolerance-since': {
      const span = v.test.since;
      const since = span === undefined ? 'since a change point' : `since ${periodAt(span.fromMinute, intervalMinutes)}`;
      if (v.test.name === 'change-point scan') return `${v.verdict} ${since}, beyond ${tolerance} at ${conf} (change-point scan over each ${period}'s counts)`;
      // The t-test's segment is a fixed length ending now, not a change point it found.
      const periods = span === undefined ? 0 : Math.round((span.toMinute - span.fromMinute) / intervalMinutes) + 1;
      const latest = periods > 0 ? `over the latest ${periods} ${periodWord(intervalMinutes, periods)} (${since})` : since;
      return `${v.verdict} ${latest}, beyond ${tolerance} at ${conf} (paired t-test of each ${period} against its baseline, with the whole window's spread)`;
    }
    case 'within-tolerance':
      return `Pass, within ${tolerance}${betterNote(v, metric)}`;
    case 'lone-spike':
      return `Pass, within ${tolerance} with ${setAside(v.spikeMinutes, intervalMinutes)}`;
    case 'warming-up':
      return `Inconclusive: the canary is warming up (its warm-up is not judged)${more}`;
    case 'too-little-data':
      if (metric.kind === 'count' && v.canary.kind === 'count') {
        return `Inconclusive: too little data, ${formatCount(v.canary.requests)} canary requests, ${formatCount(metric.minRequests)} needed${more}`;
      }
      if (metric.kind === 'gauge' && v.canary.kind === 'gauge' && v.baseline.kind === 'gauge') {
        const have = Math.min(v.canary.values, v.baseline.values);
        return `Inconclusive: too little data, ${have} ${periodWord(intervalMinutes, have)} with data, ${gaugeIntervalsNeeded(metric.minMinutes)} needed${more}`;
      }
      return `Inconclusive: too little data to judge${more}`;
    case 'leaning': {
      const side = v.test.against >= 1 ? 'High' : 'Low';
      const odds = `p = ${formatP(v.test.p)}, a verdict needs p < ${formatP(v.test.level)}`;
      const beyond = v.ratio !== null && (side === 'High' ? v.ratio > metric.tolerance.upper : v.ratio < metric.tolerance.lower);
      // A figure beyond the tolerance is never shown under a Pass: say what it waits for.
      if (beyond) return `Inconclusive, leaning ${side}: ${formatRatio(v.ratio)} is beyond ${tolerance}, not yet shown at ${conf} (${odds})${more}`;
      return `Inconclusive, leaning ${side} (p = ${formatP(v.test.p)} against ${tolerance}, a verdict needs p < ${formatP(v.test.level)})${more}`;
    }
  }
}

/** "minute 15 set aside as a lone spike", "minutes 14, 27 and 41 set aside as lone spikes" (or periods). */
function setAside(minutes: readonly number[], intervalMinutes: number): string {
  const numbers = minutes.map((m) => Math.round(m / intervalMinutes));
  if (numbers.length <= 1) return `${periodWord(intervalMinutes)} ${numbers[0] ?? '?'} set aside as a lone spike`;
  const listed = `${numbers.slice(0, -1).join(', ')} and ${numbers[numbers.length - 1]}`;
  return `${periodWord(intervalMinutes, 2)} ${listed} set aside as lone spikes`;
}

/** "18 more minutes", "1 more minute", "40 more seconds", "1 min 30 s more". */
function moreText(minutes: number): string {
  const seconds = Math.round(minutes * 60);
  if (seconds % 60 === 0) return `${seconds / 60} more minute${seconds === 60 ? '' : 's'}`;
  if (seconds < 60) return `${seconds} more second${seconds === 1 ? '' : 's'}`;
  return `${formatDuration(minutes)} more`;
}

// Say so when the canary is clearly better: a reader would otherwise wonder.
function betterNote(v: Unexplained, metric: MetricConfig): string {
  if (!v.interval || metric.direction === 'either') return '';
  if (metric.direction === 'increase' && v.interval[1] < 1) return ' (lower: the good direction)';
  if (metric.direction === 'decrease' && v.interval[0] > 1) return ' (higher: the good direction)';
  return '';
}

type Unsummarized = Omit<Verdict, 'summary'>;

/** One line for the whole verdict. `intervalMinutes`: the window's interval (CloudWatch period). */
export function summarize(v: Unsummarized, intervalMinutes = 1): string {
  const at = (minutes: number): string => momentText(minutes, intervalMinutes);
  const gating = v.metrics.filter((m) => m.gating);
  if (v.outcome === 'fail') {
    const failing = gating
      .filter((m) => m.verdict === 'High' || m.verdict === 'Low')
      .map((m) => `${m.label} ${m.verdict} (${formatRatio(m.ratio)}${m.reason === 'beyond-critical' ? `, beyond critical ${m.critical}` : `, tolerance ${m.tolerance}`})`);
    return `fail at ${at(v.minute)}: ${failing.join(', ')}`;
  }
  if (v.outcome === 'pass') {
    return `pass: ${gating.length} gating metric${gating.length === 1 ? '' : 's'} within tolerance over ${formatDuration(v.minute)}`;
  }
  const undecided = gating
    .filter((m) => m.verdict === 'Inconclusive' && m.reason !== 'warming-up')
    .map((m) => `${m.label}: ${m.reason === 'leaning' ? `leaning ${m.test.against >= 1 ? 'High' : 'Low'}` : 'too little data'}`);
  const detail = undecided.length > 0 ? ` (${undecided.join(', ')})` : '';
  const more = `~${moreText(v.moreMinutes ?? intervalMinutes)}`;
  if (v.minute >= v.durationMinutes) return `inconclusive: ${more} of data${detail}`;
  return `wait: ${positionText(v.minute, v.durationMinutes, intervalMinutes)}, ${more}${detail}`;
}
