import type {
  DeleteAlarmsCommandInput,
  DescribeAlarmsCommandInput,
  GetMetricDataCommandInput,
  MetricAlarm,
  MetricDataResult,
  PutMetricAlarmCommandInput,
} from '@aws-sdk/client-cloudwatch';
import { required, state, type Handler, type HandlerContext } from './context.js';
import { evaluateAlarm } from './alarms.js';
import { fail } from './errors.js';
import { MetricReader, type MetricQuery } from './metrics.js';
import type { AlarmRecord } from './world.js';

/** CloudWatch: GetMetricData over the simulated fleet's metrics (metrics.ts), and metric alarms on them. */

const QUERY_ID = /^[a-z][a-zA-Z0-9_]*$/;
const MAX_QUERIES = 500;
const MAX_DATAPOINTS = 100_800;
const HIGH_RESOLUTION_PERIODS = [1, 5, 10, 30];
const STAT = /^(Sum|Average|Maximum|Minimum|SampleCount|p\d{1,2}(\.\d{1,2})?|p100)$/;

function checkPeriod(period: number | undefined, namespace: string, field: string): number {
  const value = required(period, `${field}.Period`);
  const highResolution = HIGH_RESOLUTION_PERIODS.includes(value);
  if (!Number.isInteger(value) || value < 1 || (!highResolution && value % 60 !== 0)) {
    fail('InvalidParameterValue', `The parameter ${field}.Period must be 1, 5, 10, 30 or a multiple of 60.`);
  }
  // AWS services publish at one-minute resolution; only custom metrics can be high-resolution.
  if (highResolution && namespace.startsWith('AWS/')) {
    fail('InvalidParameterValue', `The parameter ${field}.Period must be a multiple of 60 for the standard-resolution metrics of ${namespace}.`);
  }
  return value;
}

function checkStat(stat: string | undefined, field: string): string {
  const value = required(stat, `${field}.Stat`);
  if (!STAT.test(value)) fail('InvalidParameterValue', `The value ${value} for parameter ${field}.Stat is not a valid statistic.`);
  return value;
}

function getMetricData(ctx: HandlerContext, input: GetMetricDataCommandInput) {
  const queries = required(input.MetricDataQueries, 'MetricDataQueries');
  if (queries.length === 0) fail('ValidationError', 'The parameter MetricDataQueries must not be empty.');
  if (queries.length > MAX_QUERIES) fail('ValidationError', `The collection MetricDataQueries must not have a size greater than ${MAX_QUERIES}.`);
  const start = required(input.StartTime, 'StartTime').getTime();
  const end = required(input.EndTime, 'EndTime').getTime();
  if (start >= end) fail('ValidationError', 'The parameter StartTime must be less than the parameter EndTime.');
  const ids = new Set<string>();
  const parsed = queries.map((query, index) => {
    const field = `MetricDataQueries.member.${index + 1}`;
    const id = required(query.Id, `${field}.Id`);
    if (!QUERY_ID.test(id)) {
      fail('ValidationError', `The value ${id} for parameter ${field}.Id is not matching the expected pattern ^[a-z][a-zA-Z0-9_]*$.`);
    }
    if (ids.has(id)) fail('ValidationError', `The values for parameter id in MetricDataQueries are not unique.`);
    ids.add(id);
    if (query.Expression !== undefined) {
      fail('ValidationError', `The simulated AWS does not evaluate metric math (${field}.Expression); query each metric with MetricStat.`);
    }
    const stat = required(query.MetricStat, `${field}.MetricStat`);
    const metric = required(stat.Metric, `${field}.MetricStat.Metric`);
    const namespace = required(metric.Namespace, `${field}.MetricStat.Metric.Namespace`);
    const metricQuery: MetricQuery = {
      namespace,
      metricName: required(metric.MetricName, `${field}.MetricStat.Metric.MetricName`),
      dimensions: (metric.Dimensions ?? []).map((d) => ({ name: d.Name ?? '', value: d.Value ?? '' })),
      stat: checkStat(stat.Stat, `${field}.MetricStat`),
      periodMs: checkPeriod(stat.Period, namespace, `${field}.MetricStat`) * 1000,
    };
    return { id, label: query.Label ?? metricQuery.metricName, returnData: query.ReturnData !== false, query: metricQuery };
  });
  const datapoints = parsed.reduce((sum, p) => sum + Math.ceil((end - start) / p.query.periodMs), 0);
  if (datapoints > MAX_DATAPOINTS) fail('InvalidParameterCombination', `You have requested up to ${datapoints} datapoints, which exceeds the limit of ${MAX_DATAPOINTS}.`);

  const reader = new MetricReader(ctx);
  const descending = (input.ScanBy ?? 'TimestampDescending') === 'TimestampDescending';
  const results: MetricDataResult[] = parsed
    .filter((p) => p.returnData)
    .map(({ id, label, query }) => {
      const timestamps: Date[] = [];
      const values: number[] = [];
      // Periods are aligned to their length; a period's datapoint shows only after it ends plus the ingestion delay.
      for (let at = Math.floor(start / query.periodMs) * query.periodMs; at < end; at += query.periodMs) {
        if (at + query.periodMs + ctx.timings.metricDelayMs > ctx.now) break;
        const value = reader.value(query, at);
        if (value === undefined) continue;
        timestamps.push(new Date(at));
        values.push(value);
      }
      if (descending) {
        timestamps.reverse();
        values.reverse();
      }
      return { Id: id, Label: label, Timestamps: timestamps, Values: values, StatusCode: 'Complete', Messages: [] };
    });
  return { MetricDataResults: results, Messages: [] };
}

const COMPARISONS = ['GreaterThanThreshold', 'GreaterThanOrEqualToThreshold', 'LessThanThreshold', 'LessThanOrEqualToThreshold'] as const;
const MISSING = ['missing', 'notBreaching', 'breaching', 'ignore'] as const;

function describeAlarm(ctx: HandlerContext, alarm: AlarmRecord, reader: MetricReader): MetricAlarm {
  const evaluation = evaluateAlarm(ctx, alarm, ctx.now, reader);
  return {
    AlarmName: alarm.name,
    AlarmArn: alarm.arn,
    AlarmDescription: alarm.description,
    AlarmConfigurationUpdatedTimestamp: new Date(alarm.createdAt),
    ActionsEnabled: true,
    OKActions: [],
    AlarmActions: [],
    InsufficientDataActions: [],
    StateValue: evaluation.state,
    StateReason: evaluation.reason,
    StateUpdatedTimestamp: new Date(evaluation.since),
    StateTransitionedTimestamp: new Date(evaluation.since),
    MetricName: alarm.metricName,
    Namespace: alarm.namespace,
    Statistic: /^p/.test(alarm.statistic) ? undefined : (alarm.statistic as MetricAlarm['Statistic']),
    ExtendedStatistic: /^p/.test(alarm.statistic) ? alarm.statistic : undefined,
    Dimensions: alarm.dimensions.map((d) => ({ Name: d.name, Value: d.value })),
    Period: alarm.periodSeconds,
    EvaluationPeriods: alarm.evaluationPeriods,
    DatapointsToAlarm: alarm.datapointsToAlarm,
    Threshold: alarm.threshold,
    ComparisonOperator: alarm.comparison,
    TreatMissingData: alarm.treatMissingData,
  };
}

function describeAlarms(ctx: HandlerContext, input: DescribeAlarmsCommandInput) {
  let alarms = state(ctx).alarms;
  if (input.AlarmNames?.length) alarms = alarms.filter((a) => input.AlarmNames!.includes(a.name));
  if (input.AlarmNamePrefix) alarms = alarms.filter((a) => a.name.startsWith(input.AlarmNamePrefix!));
  const reader = new MetricReader(ctx);
  let described = alarms.map((alarm) => describeAlarm(ctx, alarm, reader));
  if (input.StateValue) described = described.filter((a) => a.StateValue === input.StateValue);
  return { MetricAlarms: described, CompositeAlarms: [] };
}

/** An alarm record from PutMetricAlarm's input, validated as CloudWatch validates it. */
export function alarmRecord(ctx: HandlerContext, input: PutMetricAlarmCommandInput): AlarmRecord {
  const name = required(input.AlarmName, 'AlarmName');
  if (name.length > 255) fail('ValidationError', 'The parameter AlarmName must be at most 255 characters long.');
  if (input.Metrics?.length) fail('ValidationError', 'The simulated AWS does not evaluate metric math alarms; give MetricName and Namespace.');
  const namespace = required(input.Namespace, 'Namespace');
  const statistic = input.Statistic ?? input.ExtendedStatistic;
  if (!statistic) fail('ValidationError', 'Either Statistic or ExtendedStatistic must be specified.');
  if (input.Statistic && input.ExtendedStatistic) fail('InvalidParameterCombination', 'Statistic and ExtendedStatistic cannot both be specified.');
  const comparison = required(input.ComparisonOperator, 'ComparisonOperator');
  if (!(COMPARISONS as readonly string[]).includes(comparison)) fail('ValidationError', `The simulated AWS models the ComparisonOperators ${COMPARISONS.join(', ')}.`);
  const missing = input.TreatMissingData ?? 'missing';
  if (!(MISSING as readonly string[]).includes(missing)) fail('ValidationError', `The value ${missing} for parameter TreatMissingData is not valid.`);
  const evaluationPeriods = required(input.EvaluationPeriods, 'EvaluationPeriods');
  const datapointsToAlarm = input.DatapointsToAlarm ?? evaluationPeriods;
  if (datapointsToAlarm > evaluationPeriods) fail('ValidationError', 'DatapointsToAlarm must be less than or equal to EvaluationPeriods.');
  return {
    name,
    arn: `arn:aws:cloudwatch:${ctx.region}:${ctx.world.accountId}:alarm:${name}`,
    namespace,
    metricName: required(input.MetricName, 'MetricName'),
    dimensions: (input.Dimensions ?? []).map((d) => ({ name: d.Name ?? '', value: d.Value ?? '' })),
    statistic: checkStat(statistic, 'Statistic'),
    periodSeconds: checkPeriod(input.Period, namespace, 'PutMetricAlarm'),
    evaluationPeriods,
    datapointsToAlarm,
    threshold: required(input.Threshold, 'Threshold'),
    comparison: comparison as AlarmRecord['comparison'],
    treatMissingData: missing as AlarmRecord['treatMissingData'],
    description: input.AlarmDescription,
    createdAt: ctx.now,
  };
}

function putMetricAlarm(ctx: HandlerContext, input: PutMetricAlarmCommandInput) {
  const alarm = alarmRecord(ctx, input);
  const region = state(ctx);
  region.alarms = [...region.alarms.filter((a) => a.name !== alarm.name), alarm];
  return {};
}

function deleteAlarms(ctx: HandlerContext, input: DeleteAlarmsCommandInput) {
  const names = required(input.AlarmNames, 'AlarmNames');
  const region = state(ctx);
  const missing = names.filter((name) => !region.alarms.some((a) => a.name === name));
  if (missing.length) fail('ResourceNotFound', `Alarm(s) ${missing.join(', ')} not found.`, 404);
  region.alarms = region.alarms.filter((a) => !names.includes(a.name));
  return {};
}

export const cloudWatchHandlers: Record<string, Handler> = {
  GetMetricData: getMetricData,
  DescribeAlarms: describeAlarms,
  PutMetricAlarm: putMetricAlarm,
  DeleteAlarms: deleteAlarms,
};
