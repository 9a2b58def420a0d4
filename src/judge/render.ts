// The verdict as a person reads it in the thread: a headline, a table with one row per
// metric (canary first, then baseline), and one plain line per metric.

import type { Verdict, MetricVerdict } from './types.js';
import { formatFigure, formatP, formatRatio, positionText } from './explain.js';

/** `intervalMinutes`: the window's interval, so a 10-second window is not told in minutes. */
export function renderVerdict(verdict: Verdict, name?: string, intervalMinutes = 1): string {
  const title = `${name ? `${name} — ` : ''}${positionText(verdict.minute, verdict.durationMinutes, intervalMinutes)}`;
  const headline = `${verdict.outcome.toUpperCase()}  ${verdict.summary}`;
  const rows = verdict.metrics.map(row);
  const header = ['metric', 'verdict', 'canary', 'baseline', 'ratio', 'interval', 'test'];
  const table = alignColumns([header, ...rows]);
  const lines = verdict.metrics.map((m) => `• ${m.explanation}`);
  return [title, headline, '', ...table, '', ...lines].join('\n');
}

function row(m: MetricVerdict): string[] {
  const unit = m.kind === 'gauge' ? m.unit : '';
  const informative = m.interval !== null && (m.interval[0] > 0 || Number.isFinite(m.interval[1]));
  const interval = m.interval && informative ? `${formatRatio(m.interval[0])}–${formatRatio(m.interval[1])}` : '—';
  const tested = m.test.level > 0 ? `p=${formatP(m.test.p)} vs ${formatP(m.test.level)}` : 'not tested yet';
  return [
    m.gating ? m.label : `${m.label} (shadow)`,
    m.verdict,
    formatFigure(m.canary, unit),
    formatFigure(m.baseline, unit),
    formatRatio(m.ratio),
    interval,
    `${m.test.name}, ${tested}`,
  ];
}

function alignColumns(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - [...cell].length)))
      .join('  ')
      .trimEnd(),
  );
}
