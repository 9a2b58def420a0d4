import { z } from 'zod';
import { parseConfig, type CanaryConfig } from '../judge/judge.js';

/*
 * An app's `deploy` section: which fleet its releases go to, how a canary is judged, who approves,
 * and how a promotion rolls out. Validated when the apps file is loaded, so a mistake names the
 * app and the field before anyone types /canary.
 */

/**
 * "30s", "5m", "4h": how people write durations in config. Milliseconds inside; a config read back
 * from the table already holds milliseconds, so a number is taken as it is.
 */
export const duration = z.union([z.number(), z.string()]).transform((value, ctx): number => {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  const match = typeof value === 'string' ? /^(\d{1,5})([smh])$/.exec(value) : null;
  if (!match) {
    ctx.addIssue({ code: 'custom', message: 'a duration is a number and s, m or h, e.g. 30s, 5m, 4h' });
    return z.NEVER;
  }
  return Number(match[1]) * { s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as 's' | 'm' | 'h'];
});

const groupName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$/, 'an Auto Scaling group name: letters, digits, . _ -');
const launchTemplateName = z.string().regex(/^[a-zA-Z0-9().\-/_]{3,128}$/, 'a launch template name: 3-128 letters, digits and ( ) . - / _');
const listenerArn = z.string().regex(/^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:listener\/app\/[\w-]+\/[0-9a-f]+\/[0-9a-f]+$/, 'an ALB listener ARN');
const alarmName = z.string().regex(/^[\w .:/#@+=-]{1,255}$/, 'a CloudWatch alarm name');
const slackId = z.string().regex(/^[UWS][A-Z0-9]{2,20}$/, 'a Slack user id (U0123…) or user group id (S0123…)');
const metricNamespace = z.string().regex(/^[\w./#:-]{1,255}$/, 'a CloudWatch namespace such as AWS/ApplicationELB');
const metricName = z.string().regex(/^[\w./#:-]{1,255}$/, 'a CloudWatch metric name');
const statistic = z.string().regex(/^(Sum|Average|Minimum|Maximum|SampleCount|p\d{1,2}(\.\d{1,2})?)$/, 'a statistic: Sum, Average, Minimum, Maximum, SampleCount or a percentile such as p99');

/** Where a series comes from in CloudWatch. Its dimension is the group's (or target group's) own, filled in by the canary. */
const series = z.strictObject({ namespace: metricNamespace, metric: metricName, stat: statistic });

const metricCommon = {
  /** The judge's name for it and the GetMetricData query id, so CloudWatch's id rule applies. */
  name: z.string().regex(/^[a-z][a-zA-Z0-9_]{0,60}$/, 'a metric name starts with a lowercase letter, then letters, digits and _'),
  label: z.string().min(1).max(60).optional(),
  ...series.shape,
  /**
   * `group`: the AutoScalingGroupName dimension; `targetGroup`: TargetGroup and LoadBalancer (weighted traffic only,
   * where the canary has its own). Default: targetGroup for AWS/ApplicationELB, else group.
   */
  dimension: z.enum(['group', 'targetGroup']).optional(),
  direction: z.enum(['increase', 'decrease', 'either']).optional(),
  tolerance: z.union([z.string(), z.number()]),
  critical: z.union([z.string(), z.number()]).optional(),
  /** Shadow metrics (false) are shown and judged but never fail a canary. */
  gating: z.boolean().optional(),
};

export const deployMetric = z.discriminatedUnion('kind', [
  z.strictObject({ ...metricCommon, kind: z.literal('count'), requests: series, unit: z.string().max(20).optional(), minRequests: z.number().int().nonnegative().optional() }),
  z.strictObject({ ...metricCommon, kind: z.literal('gauge'), unit: z.string().max(20).optional(), minMinutes: z.number().int().min(3).optional() }),
]);
export type DeployMetric = z.infer<typeof deployMetric>;

export const deployConfig = z
  .strictObject({
    /** The live Auto Scaling group and the launch template it runs. */
    group: groupName,
    launchTemplate: launchTemplateName,
    strategy: z.enum(['rolling', 'red-black']).default('rolling'),
    /**
     * `shared`: the canary's instances join the live target groups, so its share is its instance count.
     * `weighted`: the canary gets its own target group and the listener forwards `weight` % to it.
     */
    traffic: z
      .discriminatedUnion('mode', [
        z.strictObject({ mode: z.literal('shared') }),
        z.strictObject({ mode: z.literal('weighted'), listener: listenerArn, weight: z.number().int().min(1).max(50) }),
      ])
      .default({ mode: 'shared' }),
    canary: z
      .strictObject({
        instances: z.number().int().min(1).max(20).default(1),
        duration: duration.prefault('30m'),
        /** The CloudWatch period: 1m, or 10s / 30s for high-resolution metrics. */
        interval: duration.prefault('1m'),
        warmup: duration.prefault('3m'),
        /** How long a canary the judge still waits on may run past its duration. */
        maxExtension: duration.prefault('15m'),
        confidence: z.number().gt(0.5).lt(1).default(0.99),
        /**
         * What the canary is compared with: `live`, the live group itself; `fresh`, a new group of the
         * canary's size on the live image, launched beside it, so both are as new, as warm and as many.
         */
        baseline: z.enum(['live', 'fresh']).default('live'),
      })
      .prefault({}),
    metrics: z.array(deployMetric).min(1, 'give at least one metric'),
    /** What a failing gating metric does: roll back at once, or ask a human. */
    onFail: z.enum(['rollback', 'ask']).default('rollback'),
    approvers: z.array(slackId).min(1, 'name at least one approver'),
    /** The person who started the canary may not approve it. */
    fourEyes: z.boolean().default(true),
    approvalTtl: duration.prefault('4h'),
    rolling: z
      .strictObject({
        minHealthyPercent: z.number().int().min(0).max(100).default(90),
        maxHealthyPercent: z.number().int().min(100).max(200).default(200),
        warmup: duration.prefault('60s'),
        checkpoints: z.array(z.number().int().min(1).max(100)).default([]),
        checkpointDelay: duration.prefault('0s'),
        /** Alarms that roll the refresh back by themselves when they fire. */
        alarms: z.array(alarmName).default([]),
      })
      .prefault({}),
    redBlack: z
      .strictObject({
        keepOldFor: duration.prefault('1h'),
        /**
         * What a switch does when the new fleet cannot have all of the live group's configuration (a
         * step scaling policy's alarms, a mixed instances policy…): `refuse` names it and switches
         * nothing; `switch` names it and switches without it.
         */
        onUncopied: z.enum(['refuse', 'switch']).default('refuse'),
      })
      .prefault({}),
  })
  .superRefine((deploy, ctx) => {
    if (deploy.canary.interval !== 60_000 && ![10_000, 30_000].includes(deploy.canary.interval) && deploy.canary.interval % 60_000 !== 0) {
      ctx.addIssue({ code: 'custom', path: ['canary', 'interval'], message: 'CloudWatch periods are 10s, 30s or whole minutes' });
    }
    if (deploy.traffic.mode === 'shared') {
      deploy.metrics.forEach((metric, i) => {
        if ((metric.dimension ?? (metric.namespace === 'AWS/ApplicationELB' ? 'targetGroup' : 'group')) === 'targetGroup') {
          ctx.addIssue({ code: 'custom', path: ['metrics', i, 'dimension'], message: 'with shared traffic the canary and the baseline are in the same target groups, so a metric per target group cannot tell them apart; use one per Auto Scaling group, or traffic: weighted' });
        }
      });
    }
    if (deploy.canary.baseline === 'fresh' && deploy.traffic.mode === 'weighted') {
      ctx.addIssue({ code: 'custom', path: ['canary', 'baseline'], message: 'a fresh baseline joins the live target groups, so it needs traffic: shared; with weighted traffic the canary is compared with the live group' });
    }
    if (deploy.canary.interval < 60_000) {
      deploy.metrics.forEach((metric, i) => {
        if (metric.namespace.startsWith('AWS/')) {
          ctx.addIssue({ code: 'custom', path: ['metrics', i, 'namespace'], message: `${metric.namespace} publishes 1-minute metrics; a ${deploy.canary.interval / 1000}s interval needs high-resolution custom metrics` });
        }
      });
    }
    try {
      judgeConfigOf(deploy);
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['metrics'], message: error instanceof Error ? error.message.split('\n').join('; ') : String(error) });
    }
  });
export type DeployConfig = z.infer<typeof deployConfig>;

/** The series name of a count metric's requests in the judge's window. */
export const requestsSeries = (metric: DeployMetric): string => `${metric.name}_requests`;

/** The judge's view of the deploy section: durations in minutes, CloudWatch details left out. */
export function judgeConfigOf(deploy: Pick<DeployConfig, 'canary' | 'metrics'>): CanaryConfig {
  const toMinutes = (ms: number): number => ms / 60_000;
  return parseConfig({
    durationMinutes: toMinutes(deploy.canary.duration),
    warmupMinutes: toMinutes(deploy.canary.warmup),
    recentMinutes: Math.max(toMinutes(deploy.canary.interval) * 2, Math.min(10, toMinutes(deploy.canary.duration) / 3)),
    confidence: deploy.canary.confidence,
    metrics: deploy.metrics.map((metric) => ({
      name: metric.name,
      label: metric.label,
      kind: metric.kind,
      direction: metric.direction,
      tolerance: metric.tolerance,
      critical: metric.critical,
      gating: metric.gating,
      unit: metric.unit,
      ...(metric.kind === 'count' ? { requests: requestsSeries(metric), minRequests: metric.minRequests } : { minMinutes: metric.minMinutes }),
    })),
  });
}
