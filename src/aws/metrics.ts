import type { MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import type { AwsClients } from './clients.js';

/** One series to read: a metric, its statistic, and the dimensions that pick the group. */
export interface SeriesQuery {
  /** GetMetricData's query id: ^[a-z][a-zA-Z0-9_]*$. */
  id: string;
  namespace: string;
  metric: string;
  stat: string;
  dimensions: Record<string, string>;
}

/** GetMetricData takes at most 500 queries per call. */
const MAX_QUERIES = 500;

/**
 * Reads every series over [start, end) in as few GetMetricData calls as CloudWatch allows (one, for
 * a canary's metrics of both groups), one value per period, null where CloudWatch has no datapoint.
 */
export async function readSeries(
  aws: AwsClients,
  region: string,
  queries: SeriesQuery[],
  window: { start: number; end: number; periodMs: number },
): Promise<Record<string, (number | null)[]>> {
  const periods = Math.max(0, Math.floor((window.end - window.start) / window.periodMs));
  const result: Record<string, (number | null)[]> = Object.fromEntries(queries.map((query) => [query.id, new Array<number | null>(periods).fill(null)]));
  if (periods === 0) return result;
  for (let i = 0; i < queries.length; i += MAX_QUERIES) {
    const batch: MetricDataQuery[] = queries.slice(i, i + MAX_QUERIES).map((query) => ({
      Id: query.id,
      ReturnData: true,
      MetricStat: {
        Metric: { Namespace: query.namespace, MetricName: query.metric, Dimensions: Object.entries(query.dimensions).map(([Name, Value]) => ({ Name, Value })) },
        Period: window.periodMs / 1000,
        Stat: query.stat,
      },
    }));
    let nextToken: string | undefined;
    do {
      const page = await (await aws.cloudWatch(region)).getMetricData({
        MetricDataQueries: batch,
        StartTime: new Date(window.start),
        EndTime: new Date(window.start + periods * window.periodMs),
        ScanBy: 'TimestampAscending',
        NextToken: nextToken,
      });
      for (const series of page.MetricDataResults ?? []) {
        const values = series.Id ? result[series.Id] : undefined;
        if (!values) continue;
        (series.Timestamps ?? []).forEach((timestamp, index) => {
          const slot = Math.floor((timestamp.getTime() - window.start) / window.periodMs);
          const value = series.Values?.[index];
          if (slot >= 0 && slot < periods && value !== undefined && Number.isFinite(value)) values[slot] = value;
        });
      }
      nextToken = page.NextToken;
    } while (nextToken);
  }
  return result;
}
