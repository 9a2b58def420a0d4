/*
 * The canary chart as text, for a chat without pictures: what ChatSurface.upload's fallback
 * lines are made of.
 */
import type { CanaryChartInput } from './canary-chart.js';
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

function last(values: (number | null)[]): string {
  const value = values.filter(isNumber).at(-1);
  return value === undefined ? 'no data' : `last ${Number(value.toPrecision(3))}`;
}

