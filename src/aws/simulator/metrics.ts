import { createHash } from 'node:crypto';
import { state, type HandlerContext } from './context.js';
import { loadBalancerDimension, targetGroupDimension } from './elbv2.js';
import { forwardAt, servingTargets, targetHealthAt } from './target-health.js';
import type { InstanceRecord, LoadBalancerRecord, TargetGroupRecord } from './world.js';

/**
 * The simulated fleet's CloudWatch metrics, a pure function of the world's records and a seeded hash,
 * so a restart or a rerun reads the same numbers. Each load balancer receives a traffic rate (its
 * requests/min, a slow wave, noise); each listener splits it over its target groups by weight; each
 * target group splits its share evenly over its healthy targets. Each instance then serves, per
 * period: requests, 5xx errors (~0.4 % of them, binomial-ish), latency (p99 ~120 ms, ~2× during its
 * first two minutes InService) and CPU (~25-40 % under load); a bad release multiplies errors and
 * latency. The metric names and dimensions answered are listed in README.md.
 */

export interface MetricQuery {
  namespace: string;
  metricName: string;
  dimensions: { name: string; value: string }[];
  stat: string;
  periodMs: number;
}

type Signal = 'requests' | 'errors' | 'latency' | 'cpu' | 'healthy' | 'unhealthy' | 'elb503';

interface MetricDefinition {
  signal: Signal;
  /** Latency in seconds (TargetResponseTime) or milliseconds (LatencyP99). */
  unitScale?: number;
  /** Dimension sets CloudWatch holds this metric under; a query must name one exactly. */
  dimensionSets: string[][];
  /** ELB sends no 5xx datapoint for a period without errors; an app publishing its own counter sends 0. */
  zeroIsAbsent?: boolean;
}

const TARGET_GROUP = ['LoadBalancer', 'TargetGroup'];
const LOAD_BALANCER = ['LoadBalancer'];
const GROUP = ['AutoScalingGroupName'];

const METRICS: Record<string, Record<string, MetricDefinition>> = {
  'AWS/ApplicationELB': {
    RequestCount: { signal: 'requests', dimensionSets: [TARGET_GROUP, LOAD_BALANCER] },
    HTTPCode_Target_5XX_Count: { signal: 'errors', dimensionSets: [TARGET_GROUP, LOAD_BALANCER], zeroIsAbsent: true },
    TargetResponseTime: { signal: 'latency', unitScale: 1 / 1000, dimensionSets: [TARGET_GROUP, LOAD_BALANCER] },
    HealthyHostCount: { signal: 'healthy', dimensionSets: [TARGET_GROUP] },
    UnHealthyHostCount: { signal: 'unhealthy', dimensionSets: [TARGET_GROUP] },
    // Requests the load balancer answers itself, with no target to send them to (not in RequestCount).
    HTTPCode_ELB_503_Count: { signal: 'elb503', dimensionSets: [LOAD_BALANCER], zeroIsAbsent: true },
    HTTPCode_ELB_5XX_Count: { signal: 'elb503', dimensionSets: [LOAD_BALANCER], zeroIsAbsent: true },
  },
  'Demo/App': {
    Requests: { signal: 'requests', dimensionSets: [GROUP] },
    Errors5xx: { signal: 'errors', dimensionSets: [GROUP] },
    LatencyP99: { signal: 'latency', unitScale: 1, dimensionSets: [GROUP] },
  },
  'AWS/EC2': {
    CPUUtilization: { signal: 'cpu', dimensionSets: [GROUP, ['InstanceId']] },
  },
};

const BASE_ERROR_RATE = 0.004;
const BASE_LATENCY_P99_MS = 120;
/** Warm-up: the first two minutes InService (in configured seconds, so fast mode compresses it). */
const WARMUP_SECONDS = 120;
const WARMUP_LATENCY_X = 2;
/** The slow wave of traffic: ±15 % over an hour. */
const WAVE_MS = 3_600_000;

/** A standard-normal number from a key: the same key, the same number, in every process. */
export function noise(key: string): number {
  const digest = createHash('sha256').update(key).digest();
  const u1 = (digest.readUInt32BE(0) + 1) / 4_294_967_297;
  const u2 = digest.readUInt32BE(4) / 4_294_967_296;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** Requests/min the load balancer receives at `at`: its rate, a slow wave, noise. */
function lbRate(lb: LoadBalancerRecord, at: number): number {
  const wave = 1 + 0.15 * Math.sin((2 * Math.PI * at) / WAVE_MS);
  return lb.requestsPerMinute * wave * (1 + 0.05 * noise(`${lb.arn}:${at}`));
}

/** What an instance served in one period. */
interface Served {
  instance: InstanceRecord;
  requests: number;
  errors: number;
  latencyP99Ms: number;
  cpu: number;
}

/** Computes per-period traffic once per call: routing is shared by every query of a GetMetricData. */
export class MetricReader {
  private readonly routes = new Map<number, Map<string, Map<string, number>>>();

  constructor(private readonly ctx: HandlerContext) {}

  /** Requests/min each instance receives at `at`, per target group. */
  private routing(at: number): Map<string, Map<string, number>> {
    let routes = this.routes.get(at);
    if (routes) return routes;
    routes = new Map();
    const region = state(this.ctx);
    for (const lb of region.loadBalancers) {
      if (lb.createdAt > at) continue;
      const rate = lbRate(lb, at);
      for (const listener of region.listeners.filter((l) => l.loadBalancerArn === lb.arn)) {
        const forward = forwardAt(listener, at);
        const total = forward.reduce((sum, t) => sum + t.weight, 0);
        if (total === 0) continue;
        for (const { targetGroupArn, weight } of forward) {
          const group = region.targetGroups.find((tg) => tg.arn === targetGroupArn);
          const serving = group ? servingTargets(this.ctx, group, at) : [];
          for (const id of serving) {
            const perTarget = routes.get(id) ?? new Map<string, number>();
            perTarget.set(targetGroupArn, (perTarget.get(targetGroupArn) ?? 0) + (rate * weight) / total / serving.length);
            routes.set(id, perTarget);
          }
        }
      }
    }
    this.routes.set(at, routes);
    return routes;
  }

  /** What the instance served in [start, start + period), counting only `viaTargetGroup`'s requests when given. */
  private served(instance: InstanceRecord, start: number, periodMs: number, viaTargetGroup?: string): Served {
    const middle = start + periodMs / 2;
    const perGroup = this.routing(middle).get(instance.instanceId);
    const rpm = perGroup ? (viaTargetGroup ? (perGroup.get(viaTargetGroup) ?? 0) : [...perGroup.values()].reduce((a, b) => a + b, 0)) : 0;
    const key = `${instance.instanceId}:${start}:${periodMs}`;
    const expected = (rpm * periodMs) / 60_000;
    const requests = expected > 0 ? Math.max(0, Math.round(expected * (1 + 0.08 * noise(`${key}:requests`)))) : 0;
    const traits = instance.release ?? {};
    const errorMean = requests * BASE_ERROR_RATE * (traits.errorsX ?? 1);
    const errors = Math.min(requests, Math.max(0, Math.round(errorMean + Math.sqrt(errorMean) * noise(`${key}:errors`))));
    const inService = instance.autoScaling?.inServiceAt ?? instance.runningAt;
    const warming = middle - inService < WARMUP_SECONDS * this.ctx.timings.configSecondMs;
    const latencyP99Ms =
      BASE_LATENCY_P99_MS * (1 + 0.1 * noise(`${key}:latency`)) * (warming ? WARMUP_LATENCY_X : 1) * (traits.latencyX ?? 1);
    const load = ((perGroup ? [...perGroup.values()].reduce((a, b) => a + b, 0) : 0) / 1000) * 22;
    const cpu = Math.min(100, Math.max(0.5, 8 + load * (warming ? 1.3 : 1) + 2 * noise(`${key}:cpu`)));
    return { instance, requests, errors, latencyP99Ms, cpu };
  }

  /** Instances of the named group InService at `at`. */
  private groupInstances(name: string, at: number): InstanceRecord[] {
    return state(this.ctx).instances.filter((i) => {
      const m = i.autoScaling;
      return m && m.group === name && m.inServiceAt <= at && (m.leftAt === undefined || at < m.leftAt);
    });
  }

  private targetGroup(dimension: string | undefined): TargetGroupRecord | undefined {
    return state(this.ctx).targetGroups.find((tg) => targetGroupDimension(tg.arn) === dimension);
  }

  /** The value of one period, or undefined when CloudWatch would have no datapoint for it. */
  value(query: MetricQuery, start: number): number | undefined {
    const definition = METRICS[query.namespace]?.[query.metricName];
    if (!definition) return undefined;
    const dims = Object.fromEntries(query.dimensions.map((d) => [d.name, d.value]));
    const names = Object.keys(dims).sort();
    if (!definition.dimensionSets.some((set) => set.length === names.length && set.every((n, i) => n === names[i]))) return undefined;
    const middle = start + query.periodMs / 2;
    const region = state(this.ctx);

    if (definition.signal === 'healthy' || definition.signal === 'unhealthy') {
      const group = this.targetGroup(dims.TargetGroup);
      if (!group) return undefined;
      const wanted = definition.signal;
      const current = new Map(group.targets.filter((t) => t.registeredAt <= middle).map((t) => [t.id, t]));
      const count = [...current.values()].filter((t) => targetHealthAt(this.ctx, group, t, middle).state === wanted).length;
      return count;
    }

    if (definition.signal === 'elb503') {
      const lb = region.loadBalancers.find((l) => loadBalancerDimension(l.arn) === dims.LoadBalancer);
      if (!lb || lb.createdAt > middle) return undefined;
      let unserved = 0;
      for (const listener of region.listeners.filter((l) => l.loadBalancerArn === lb.arn)) {
        const forward = forwardAt(listener, middle);
        const total = forward.reduce((sum, t) => sum + t.weight, 0);
        for (const { targetGroupArn, weight } of forward) {
          const group = region.targetGroups.find((tg) => tg.arn === targetGroupArn);
          if (weight > 0 && (!group || servingTargets(this.ctx, group, middle).length === 0)) unserved += (lbRate(lb, middle) * weight) / total;
        }
      }
      const count = Math.round((unserved * query.periodMs) / 60_000);
      return count === 0 ? undefined : statOf([count], query.stat);
    }

    let served: Served[];
    if (dims.AutoScalingGroupName !== undefined) {
      served = this.groupInstances(dims.AutoScalingGroupName, middle).map((i) => this.served(i, start, query.periodMs));
    } else if (dims.InstanceId !== undefined) {
      const instance = region.instances.find((i) => i.instanceId === dims.InstanceId && i.runningAt <= middle && (i.terminateRequestedAt === undefined || middle < i.terminateRequestedAt));
      served = instance ? [this.served(instance, start, query.periodMs)] : [];
    } else if (dims.TargetGroup !== undefined) {
      const group = this.targetGroup(dims.TargetGroup);
      const lb = region.loadBalancers.find((l) => loadBalancerDimension(l.arn) === dims.LoadBalancer);
      if (!group || !lb) return undefined;
      served = servingTargets(this.ctx, group, middle).flatMap((id) => {
        const instance = region.instances.find((i) => i.instanceId === id);
        return instance ? [this.served(instance, start, query.periodMs, group.arn)] : [];
      });
    } else {
      const lb = region.loadBalancers.find((l) => loadBalancerDimension(l.arn) === dims.LoadBalancer);
      if (!lb) return undefined;
      const groups = new Set(region.listeners.filter((l) => l.loadBalancerArn === lb.arn).flatMap((l) => forwardAt(l, middle).map((t) => t.targetGroupArn)));
      const ids = new Set([...groups].flatMap((arn) => {
        const group = region.targetGroups.find((tg) => tg.arn === arn);
        return group ? servingTargets(this.ctx, group, middle) : [];
      }));
      served = [...ids].flatMap((id) => {
        const instance = region.instances.find((i) => i.instanceId === id);
        return instance ? [this.served(instance, start, query.periodMs)] : [];
      });
    }
    return aggregate(definition, served, query.stat);
  }
}

/** Per-request latency statistics relative to the p99 (a right-skewed response-time distribution). */
function latencyShape(stat: string): number {
  if (stat === 'Average') return 0.45;
  if (stat === 'Minimum') return 0.05;
  if (stat === 'Maximum') return 1.8;
  const percentile = /^p(\d+(?:\.\d+)?)$/.exec(stat);
  if (!percentile) return 1;
  const p = Number(percentile[1]);
  // Roughly log-normal: p50 ≈ 0.35 × p99, p90 ≈ 0.7 ×, p99.9 ≈ 1.4 ×.
  const points: [number, number][] = [[0, 0.05], [50, 0.35], [90, 0.7], [99, 1], [99.9, 1.4], [100, 1.8]];
  for (let i = 1; i < points.length; i++) {
    const [p1, v1] = points[i]!;
    const [p0, v0] = points[i - 1]!;
    if (p <= p1) return v0 + ((v1 - v0) * (p - p0)) / (p1 - p0);
  }
  return 1.8;
}

function statOf(values: number[], stat: string): number {
  switch (stat) {
    case 'Sum':
      return values.reduce((a, b) => a + b, 0);
    case 'Average':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'Maximum':
      return Math.max(...values);
    case 'Minimum':
      return Math.min(...values);
    case 'SampleCount':
      return values.length;
    default: {
      // A percentile over the instances' datapoints.
      const p = Number(/^p(\d+(?:\.\d+)?)$/.exec(stat)?.[1] ?? 50);
      const sorted = [...values].sort((a, b) => a - b);
      return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
    }
  }
}

function aggregate(definition: MetricDefinition, served: Served[], stat: string): number | undefined {
  switch (definition.signal) {
    case 'requests':
    case 'errors': {
      const withTraffic = served.filter((s) => s.requests > 0);
      if (!withTraffic.length) return undefined;
      const values = withTraffic.map((s) => (definition.signal === 'requests' ? s.requests : s.errors));
      if (definition.zeroIsAbsent && values.every((v) => v === 0)) return undefined;
      return statOf(values, stat);
    }
    case 'latency': {
      const withTraffic = served.filter((s) => s.requests > 0);
      if (!withTraffic.length) return undefined;
      const total = withTraffic.reduce((sum, s) => sum + s.requests, 0);
      const weightedP99 = withTraffic.reduce((sum, s) => sum + s.latencyP99Ms * s.requests, 0) / total;
      const scale = definition.unitScale ?? 1;
      if (scale === 1) {
        // LatencyP99 is the app's own p99 gauge: statistics over the instances' values.
        return stat === 'Average' ? weightedP99 : statOf(withTraffic.map((s) => s.latencyP99Ms), stat);
      }
      // TargetResponseTime is per request: the statistic picks a point of the response-time distribution.
      const worst = Math.max(...withTraffic.map((s) => s.latencyP99Ms));
      const base = stat === 'Maximum' ? worst : weightedP99;
      return stat === 'SampleCount' ? total : stat === 'Sum' ? weightedP99 * 0.45 * total * scale : base * latencyShape(stat) * scale;
    }
    case 'cpu':
      return served.length ? statOf(served.map((s) => s.cpu), stat) : undefined;
    default:
      return undefined;
  }
}
