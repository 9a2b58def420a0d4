import type { AwsClients } from '../../aws/clients.js';
import { readSeries, type SeriesQuery } from '../../aws/metrics.js';
import { loadBalancerDimension, targetGroupDimension } from '../../aws/traffic.js';
import { judgeConfigOf, requestsSeries, type DeployConfig, type DeployMetric } from '../../config/deploy.js';
import { judgeParsed, type Verdict } from '../../judge/judge.js';
import { formatFigure } from '../../judge/explain.js';
import type { CanaryState, MetricLine } from './state.js';

/*
 * One look at the canary: read the periods CloudWatch has settled since the last look, for every
 * metric of both groups in one GetMetricData call, add them to the window, and judge it.
 */

type Window = NonNullable<CanaryState['window']>;
type Group = 'baseline' | 'canary';

/**
 * CloudWatch publishes a period's datapoint a little after the period ends; a period is read once it
 * has had this many periods to settle, and never again, so no minute is judged twice or lost.
 */
export const SETTLE_PERIODS = 2;

export interface Groups {
  baseline: { group: string; targetGroup?: string };
  canary: { group: string; targetGroup?: string };
  /** Weighted traffic: the listener, whose load balancer is the TargetGroup metrics' other dimension. */
  listener?: string;
}

/** Load balancer metrics are per target group; everything else (the app's own, EC2's) per Auto Scaling group. */
export const dimensionOf = (metric: DeployMetric): 'group' | 'targetGroup' => metric.dimension ?? (metric.namespace === 'AWS/ApplicationELB' ? 'targetGroup' : 'group');

function dimensionsOf(metric: DeployMetric, groups: Groups, group: Group): Record<string, string> {
  const which = dimensionOf(metric);
  const target = groups[group];
  if (which === 'group' || !target.targetGroup || !groups.listener) return { AutoScalingGroupName: target.group };
  return { TargetGroup: targetGroupDimension(target.targetGroup), LoadBalancer: loadBalancerDimension(groups.listener) };
}

/** The queries of one look: each metric (and a count's requests) for the baseline and the canary. */
export function queriesOf(deploy: DeployConfig, groups: Groups): { query: SeriesQuery; group: Group; series: string }[] {
  return (['baseline', 'canary'] as const).flatMap((group) =>
    deploy.metrics.flatMap((metric) => {
      const dimensions = dimensionsOf(metric, groups, group);
      const own = { query: { id: `${group === 'baseline' ? 'b' : 'c'}_${metric.name}`, namespace: metric.namespace, metric: metric.metric, stat: metric.stat, dimensions }, group, series: metric.name };
      if (metric.kind !== 'count') return [own];
      const requests = { id: `${group === 'baseline' ? 'b' : 'c'}_${metric.name}_r`, namespace: metric.requests.namespace, metric: metric.requests.metric, stat: metric.requests.stat, dimensions };
      return [own, { query: requests, group, series: requestsSeries(metric) }];
    }),
  );
}

/** When a look can first judge the window's first `minutesMs`: once their last period has settled. */
export function judgedBy(window: Window, periodMs: number, minutesMs: number): number {
  return window.start + (Math.round(minutesMs / periodMs) + SETTLE_PERIODS) * periodMs;
}

/** The last period end that CloudWatch has settled by `now`. */
export function settledEnd(window: Window, periodMs: number, now: number): number {
  const settled = Math.floor((now - SETTLE_PERIODS * periodMs - window.start) / periodMs);
  return window.start + Math.max(window.periods, settled) * periodMs;
}

/**
 * Reads the settled periods after the window's last one and returns the longer window. A look that
 * reaches the planned end (`plannedMs` after the start) reads no further, even when it comes late,
 * so the verdict at the plan's end is on exactly the planned minutes; a wait reads on from there.
 */
export async function extendWindow(
  aws: AwsClients,
  region: string,
  deploy: DeployConfig,
  groups: Groups,
  window: Window,
  now: number,
  plannedMs: number,
): Promise<Window> {
  const periodMs = deploy.canary.interval;
  const from = window.start + window.periods * periodMs;
  const planEnd = window.start + Math.round(plannedMs / periodMs) * periodMs;
  // The plan's end is a look of its own, and an extension stops at its limit: a late look (a restart) reads no further.
  const limitEnd = window.start + Math.round((plannedMs + deploy.canary.maxExtension) / periodMs) * periodMs;
  const to = Math.min(settledEnd(window, periodMs, now), from < planEnd ? planEnd : limitEnd);
  if (to <= from) return window;
  const queries = queriesOf(deploy, groups);
  const values = await readSeries(aws, region, queries.map((q) => q.query), { start: from, end: to, periodMs });
  const added = Math.round((to - from) / periodMs);
  const next: Window = { ...window, periods: window.periods + added, baseline: { ...window.baseline }, canary: { ...window.canary } };
  for (const { query, group, series } of queries) {
    next[group][series] = [...(window[group][series] ?? []), ...(values[query.id] ?? new Array<null>(added).fill(null))];
  }
  // CloudWatch has no datapoint for a count that stayed at zero: where requests were served, no errors is zero errors.
  for (const metric of deploy.metrics) {
    if (metric.kind !== 'count') continue;
    for (const group of ['baseline', 'canary'] as const) {
      const requests = next[group][requestsSeries(metric)] ?? [];
      next[group][metric.name] = (next[group][metric.name] ?? []).map((value, i) => (value === null && (requests[i] ?? 0) > 0 ? 0 : value));
    }
  }
  return next;
}

export function judge(deploy: DeployConfig, window: Window): Verdict {
  return judgeParsed({ intervalMinutes: deploy.canary.interval / 60_000, baseline: window.baseline, canary: window.canary }, judgeConfigOf(deploy));
}

/** The verdict as the state keeps it: enough for the table, the chart and the summary. */
export function verdictLines(verdict: Verdict): MetricLine[] {
  return verdict.metrics.map((metric) => ({
    name: metric.metric,
    label: metric.label,
    unit: metric.unit,
    kind: metric.kind,
    gating: metric.gating,
    verdict: metric.verdict,
    canary: formatFigure(metric.canary, metric.kind === 'gauge' ? metric.unit : ''),
    baseline: formatFigure(metric.baseline, metric.kind === 'gauge' ? metric.unit : ''),
    explanation: metric.explanation,
    ...basisOf(metric),
  }));
}

function basisOf(metric: Verdict['metrics'][number]): Pick<MetricLine, 'basis'> {
  const { scope } = metric.test;
  if ((metric.verdict !== 'High' && metric.verdict !== 'Low') || (scope !== 'recent' && scope !== 'run' && scope !== 'since')) return {};
  const range = metric.test.since ?? metric.test.run;
  return { basis: { scope, ...(range ? { fromMinute: range.fromMinute, toMinute: range.toMinute } : {}) } };
}
