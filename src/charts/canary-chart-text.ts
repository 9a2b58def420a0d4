/*
 * The canary chart as text: sparkline lines for a chat without pictures (ChatSurface.upload's
 * fallback), and the alt text a screen reader reads out in Slack.
 */
import { clockAt, outcomeWords, type CanaryChartInput } from './canary-chart-input.js';
import { isNumber, rangeOf, sparkline } from './sparkline.js';

/** Per metric its verdict, then canary and baseline as sparklines on one shared scale, with their last values. */
export function canaryChartLines(input: CanaryChartInput): string[] {
  const name = (label: string, unit: string): string => (unit ? `${label} (${unit})` : label);
  const width = Math.max(0, ...input.metrics.map((m) => name(m.label, m.unit).length));
  const lines: string[] = [];
  for (const metric of input.metrics) {
    const scale = rangeOf(metric.canary, metric.baseline);
    const shadow = metric.gating ? '' : ', shadow';
    lines.push(`${name(metric.label, metric.unit).padEnd(width)}  ${metric.verdict}${shadow}`);
    lines.push(`  canary    ${sparkline(metric.canary, scale)}  ${last(metric.canary)}`);
    lines.push(`  baseline  ${sparkline(metric.baseline, scale)}  ${last(metric.baseline)}`);
  }
  return lines;
}

/** What the picture shows, in a sentence per metric, for a screen reader (Slack keeps the first 1000 characters). */
export function canaryChartAltText(input: CanaryChartInput): string {
  const verdict = input.verdictMinute === null ? 'no verdict yet' : `verdict at ${clockAt(input.start, input.verdictMinute)}, minute ${Math.round(input.verdictMinute)}`;
  const metrics = input.metrics.map((metric) => {
    const unit = metric.unit ? ` ${metric.unit}` : '';
    const values = (series: (number | null)[]): string => {
      const value = lastValue(series);
      return value === undefined ? 'no data' : `${value}${unit}`;
    };
    const figures = metric.figures ? ` (${metric.figures}${metric.tolerance ? `, tolerance ${metric.tolerance.text}` : ''})` : '';
    return `${metric.label}: ${metric.verdict}${metric.gating ? '' : ' (shadow)'}${figures}, last canary ${values(metric.canary)} against baseline ${values(metric.baseline)}.`;
  });
  return [`Chart of ${input.title}: the canary ${outcomeWords[input.outcome]}, ${verdict}.`, ...metrics].join(' ');
}

function last(values: (number | null)[]): string {
  const value = lastValue(values);
  return value === undefined ? 'no data' : `last ${value}`;
}

/** The newest value with data, to three significant figures. */
function lastValue(values: (number | null)[]): number | undefined {
  const value = values.filter(isNumber).at(-1);
  return value === undefined ? undefined : Number(value.toPrecision(3));
}

