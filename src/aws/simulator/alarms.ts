import { state, type HandlerContext } from './context.js';
import { MetricReader } from './metrics.js';
import type { AlarmRecord } from './world.js';

/**
 * CloudWatch metric alarms, their state computed from the same simulated metrics at any moment: the
 * last EvaluationPeriods periods whose datapoints are visible (ingestion delay included), ALARM when
 * at least DatapointsToAlarm of them breach, INSUFFICIENT_DATA when none has data.
 */

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface AlarmEvaluation {
  state: AlarmState;
  reason: string;
  /** When the alarm entered this state, as far back as the simulator looks (30 periods). */
  since: number;
}

function breaches(alarm: AlarmRecord, value: number): boolean {
  switch (alarm.comparison) {
    case 'GreaterThanThreshold':
      return value > alarm.threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= alarm.threshold;
    case 'LessThanThreshold':
      return value < alarm.threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= alarm.threshold;
  }
}

function stateAt(ctx: HandlerContext, reader: MetricReader, alarm: AlarmRecord, at: number): { state: AlarmState; values: (number | undefined)[] } {
  const periodMs = alarm.periodSeconds * 1000;
  const last = Math.floor((at - ctx.timings.metricDelayMs - periodMs) / periodMs) * periodMs;
  const query = { namespace: alarm.namespace, metricName: alarm.metricName, dimensions: alarm.dimensions, stat: alarm.statistic, periodMs };
  const values: (number | undefined)[] = [];
  for (let n = 0; n < alarm.evaluationPeriods; n++) {
    values.push(reader.value(query, last - n * periodMs));
  }
  const missingBreaches = alarm.treatMissingData === 'breaching';
  const missingCounts = alarm.treatMissingData === 'breaching' || alarm.treatMissingData === 'notBreaching';
  const present = values.filter((v) => v !== undefined).length;
  const breaching = values.filter((v) => (v === undefined ? missingBreaches : breaches(alarm, v))).length;
  if (breaching >= alarm.datapointsToAlarm) return { state: 'ALARM', values };
  if (present === 0 && !missingCounts) return { state: 'INSUFFICIENT_DATA', values };
  return { state: 'OK', values };
}

export function evaluateAlarm(ctx: HandlerContext, alarm: AlarmRecord, at = ctx.now, reader = new MetricReader(ctx)): AlarmEvaluation {
  const current = stateAt(ctx, reader, alarm, at);
  const periodMs = alarm.periodSeconds * 1000;
  let since = Math.max(alarm.createdAt, Math.floor((at - ctx.timings.metricDelayMs) / periodMs) * periodMs + ctx.timings.metricDelayMs);
  for (let n = 1; n <= 30; n++) {
    const earlier = since - periodMs;
    if (earlier < alarm.createdAt || stateAt(ctx, reader, alarm, earlier).state !== current.state) break;
    since = earlier;
  }
  const shown = current.values.map((v) => (v === undefined ? 'missing' : String(Math.round(v * 1000) / 1000))).join(', ');
  const reason =
    current.state === 'INSUFFICIENT_DATA'
      ? `Insufficient Data: ${alarm.evaluationPeriods} datapoints were unknown.`
      : `Threshold Crossed: ${alarm.evaluationPeriods} datapoint(s) [${shown}] were ${current.state === 'ALARM' ? '' : 'not '}${alarm.comparison.replace(/([A-Z])/g, ' $1').trim().toLowerCase()} (${alarm.threshold}).`;
  return { state: current.state, reason, since };
}

/** The state of the named alarm at `at`; undefined when there is no such alarm. */
export function alarmStateAt(ctx: HandlerContext, name: string, at: number): AlarmState | undefined {
  const alarm = state(ctx).alarms.find((a) => a.name === name);
  return alarm && stateAt(ctx, new MetricReader({ ...ctx, now: at }), alarm, at).state;
}
