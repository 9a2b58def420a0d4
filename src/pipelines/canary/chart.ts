import { canaryChartAltText, canaryChartLines } from '../../charts/canary-chart-text.js';
import type { CanaryChartInput, CanaryChartMetric } from '../../charts/canary-chart-input.js';
import type { ChatFile } from '../../message.js';
import { judgeConfigOf, requestsSeries, type DeployConfig } from '../../config/deploy.js';
import type { Operation } from '../../store/items.js';
import type { CanaryState } from './state.js';

type Window = NonNullable<CanaryState['window']>;
type Verdict = NonNullable<CanaryState['verdict']>;

const basisWords = { recent: 'the latest minutes', run: 'a run of minutes', since: 'since a shift' } as const;

/**
 * The minutes a High or Low rests on, when a part of the window: the range its test named, else the
 * latest minutes up to the verdict (each bound the end of an interval `step` minutes long, as the judge's).
 */
function shadedMinutes(line: Verdict['metrics'][number], verdict: Verdict, recentMinutes: number, step: number): CanaryChartMetric['basis'] {
  if (!line.basis) return undefined;
  const toMinute = line.basis.toMinute ?? verdict.minute;
  const fromMinute = line.basis.fromMinute ?? Math.max(step, toMinute - recentMinutes + step);
  return { fromMinute, toMinute, label: `${basisWords[line.basis.scope]} (shaded)` };
}

/** A count metric drawn as its rate per interval (errors per 100 requests), as people compare it. */
function rates(events: (number | null)[], requests: (number | null)[]): (number | null)[] {
  return events.map((value, i) => {
    const served = requests[i];
    return value === null || served === null || served === undefined || served === 0 ? null : (100 * value) / served;
  });
}

/** The whole window as a picture for the thread, with text lines for a chat that shows none. */
export async function canaryChart(operation: Operation, deploy: DeployConfig, window: Window, verdict: Verdict): Promise<ChatFile> {
  const judged = judgeConfigOf(deploy);
  const input: CanaryChartInput = {
    title: `Canary ${operation.app} ${operation.version}`,
    start: window.start,
    intervalMinutes: deploy.canary.interval / 60_000,
    warmupMinutes: deploy.canary.warmup / 60_000,
    verdictMinute: verdict.outcome === 'wait' ? null : verdict.minute,
    outcome: verdict.outcome,
    metrics: deploy.metrics.map((metric) => {
      const line = verdict.metrics.find((m) => m.name === metric.name);
      const bound = judged.metrics.find((m) => m.name === metric.name);
      const basis = line && shadedMinutes(line, verdict, judged.recentMinutes, deploy.canary.interval / 60_000);
      const series = (group: 'canary' | 'baseline'): (number | null)[] =>
        metric.kind === 'count' ? rates(window[group][metric.name] ?? [], window[group][requestsSeries(metric)] ?? []) : (window[group][metric.name] ?? []);
      return {
        label: line?.label ?? metric.label ?? metric.name,
        unit: metric.kind === 'count' ? '%' : (metric.unit ?? ''),
        verdict: line?.verdict ?? 'Inconclusive',
        gating: metric.gating ?? true,
        canary: series('canary'),
        baseline: series('baseline'),
        ...(bound
          ? { tolerance: { ...(bound.direction !== 'decrease' ? { upper: bound.tolerance.upper } : {}), ...(bound.direction !== 'increase' ? { lower: bound.tolerance.lower } : {}), text: bound.tolerance.text } }
          : {}),
        ...(line ? { figures: `canary ${line.canary} vs baseline ${line.baseline}` } : {}),
        ...(basis ? { basis } : {}),
      };
    }),
  };
  // The chart stack (vega, vega-lite, resvg and its font) is loaded at the first chart, not at start: an idle
  // replica should not carry it (bench/README.md, idle memory).
  const { renderCanaryChart } = await import('../../charts/canary-chart.js');
  return {
    // One file per canary operation: a second canary of the same version does not replace the first one's picture.
    filename: `canary-${operation.app}-${operation.version}-${operation.id}.png`,
    title: `Canary ${operation.app} ${operation.version}: the window, canary vs baseline`,
    altText: canaryChartAltText(input),
    png: await renderCanaryChart(input),
    fallback: canaryChartLines(input),
  };
}
