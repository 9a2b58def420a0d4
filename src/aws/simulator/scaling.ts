import type {
  DescribeLifecycleHooksCommandInput,
  DescribeNotificationConfigurationsCommandInput,
  DescribePoliciesCommandInput,
  DescribeScheduledActionsCommandInput,
  DescribeWarmPoolCommandInput,
  EnableMetricsCollectionCommandInput,
  PutLifecycleHookCommandInput,
  PutNotificationConfigurationCommandInput,
  PutScalingPolicyCommandInput,
  PutScheduledUpdateGroupActionCommandInput,
  PutWarmPoolCommandInput,
  ScalingProcessQuery,
} from '@aws-sdk/client-auto-scaling';
import { required, state, type Handler, type HandlerContext } from './context.js';
import { fail } from './errors.js';
import { findGroup, live } from './fleet.js';
import { nextUuid, type GroupRecord, type GroupScalingRecord } from './world.js';

/*
 * What belongs to an Auto Scaling group and is deleted with it: scaling policies, scheduled actions,
 * lifecycle hooks, the warm pool, suspended processes, metrics collection and notifications. Kept and
 * described as AWS does; nothing here acts on them (no policy scales a simulated group). "If the group
 * has scaling policies, deleting the group deletes the policies" (DeleteAutoScalingGroup, Auto Scaling
 * API reference): they live in the group's record, so they go when it does.
 */

/** The processes SuspendProcesses knows (Auto Scaling API reference, SuspendProcesses). */
const PROCESSES = ['Launch', 'Terminate', 'AddToLoadBalancer', 'AlarmNotification', 'AZRebalance', 'HealthCheck', 'InstanceRefresh', 'ReplaceUnhealthy', 'ScheduledActions'];
const GROUP_METRICS = [
  'GroupMinSize', 'GroupMaxSize', 'GroupDesiredCapacity', 'GroupInServiceInstances', 'GroupPendingInstances', 'GroupStandbyInstances',
  'GroupTerminatingInstances', 'GroupTotalInstances', 'GroupInServiceCapacity', 'GroupPendingCapacity', 'GroupStandbyCapacity',
  'GroupTerminatingCapacity', 'GroupTotalCapacity', 'WarmPoolDesiredCapacity', 'WarmPoolWarmedCapacity', 'WarmPoolPendingCapacity',
  'WarmPoolTerminatingCapacity', 'WarmPoolTotalCapacity', 'GroupAndWarmPoolDesiredCapacity', 'GroupAndWarmPoolTotalCapacity',
];
const POLICY_TYPES = ['SimpleScaling', 'StepScaling', 'TargetTrackingScaling', 'PredictiveScaling'];
const TRANSITIONS = ['autoscaling:EC2_INSTANCE_LAUNCHING', 'autoscaling:EC2_INSTANCE_TERMINATING'];

export function scalingOf(group: GroupRecord): GroupScalingRecord {
  return (group.scaling ??= { policies: [], scheduledActions: [], lifecycleHooks: [], suspendedProcesses: [], enabledMetrics: { metrics: [], granularity: '1Minute' }, notifications: [] });
}

/** A describe of a group that is not there lists nothing, as AWS's describes filtered by group name do. */
function groupIfAny(ctx: HandlerContext, name: string | undefined): GroupRecord | undefined {
  return state(ctx).groups.find((g) => g.name === name);
}

function putScalingPolicy(ctx: HandlerContext, input: PutScalingPolicyCommandInput) {
  const group = live(ctx, input.AutoScalingGroupName);
  const name = required(input.PolicyName, 'PolicyName');
  const type = input.PolicyType ?? 'SimpleScaling';
  if (!POLICY_TYPES.includes(type)) fail('ValidationError', `Invalid PolicyType '${type}'.`);
  if (type === 'TargetTrackingScaling' && !input.TargetTrackingConfiguration) fail('ValidationError', 'TargetTrackingConfiguration is required for a policy of type TargetTrackingScaling.');
  if (type === 'StepScaling' && !input.StepAdjustments?.length) fail('ValidationError', 'StepAdjustments is required for a policy of type StepScaling.');
  if (type === 'PredictiveScaling' && !input.PredictiveScalingConfiguration) fail('ValidationError', 'PredictiveScalingConfiguration is required for a policy of type PredictiveScaling.');
  if (type === 'SimpleScaling' && input.ScalingAdjustment === undefined) fail('ValidationError', 'ScalingAdjustment is required for a policy of type SimpleScaling.');
  const { AutoScalingGroupName: _group, PolicyName: _name, PolicyType: _type, ...fields } = input;
  const scaling = scalingOf(group);
  const existing = scaling.policies.find((p) => p.name === name);
  // PutScalingPolicy replaces a policy of the same name in place, keeping its ARN.
  const arn = existing?.arn ?? `arn:aws:autoscaling:${ctx.region}:${ctx.world.accountId}:scalingPolicy:${nextUuid(ctx.world, 'policy')}:autoScalingGroupName/${group.name}:policyName/${name}`;
  scaling.policies = [...scaling.policies.filter((p) => p.name !== name), { name, arn, type, fields: JSON.parse(JSON.stringify(fields)) as Record<string, unknown> }];
  return { PolicyARN: arn, Alarms: [] };
}

function describePolicies(ctx: HandlerContext, input: DescribePoliciesCommandInput) {
  const groups = input.AutoScalingGroupName ? [groupIfAny(ctx, input.AutoScalingGroupName)].filter((g) => g !== undefined) : state(ctx).groups;
  const policies = groups.flatMap((group) =>
    scalingOf(group)
      .policies.filter((p) => (!input.PolicyNames?.length || input.PolicyNames.includes(p.name)) && (!input.PolicyTypes?.length || input.PolicyTypes.includes(p.type)))
      .map((p) => ({ AutoScalingGroupName: group.name, PolicyName: p.name, PolicyARN: p.arn, PolicyType: p.type, Enabled: true, Alarms: [], ...p.fields })),
  );
  return { ScalingPolicies: policies };
}

function putScheduledUpdateGroupAction(ctx: HandlerContext, input: PutScheduledUpdateGroupActionCommandInput) {
  const group = live(ctx, input.AutoScalingGroupName);
  const name = required(input.ScheduledActionName, 'ScheduledActionName');
  const start = input.StartTime?.getTime();
  // PutScheduledUpdateGroupAction: a start time must lie ahead (AWS: "Given start time is in the past").
  if (start !== undefined && start < ctx.now) fail('ValidationError', 'Given start time is in the past');
  if (input.MinSize === undefined && input.MaxSize === undefined && input.DesiredCapacity === undefined) {
    fail('ValidationError', 'At least one of MinSize, MaxSize or DesiredCapacity must be specified.');
  }
  if (start === undefined && !input.Recurrence) fail('ValidationError', 'Either StartTime or Recurrence must be specified.');
  const scaling = scalingOf(group);
  const arn = scaling.scheduledActions.find((a) => a.name === name)?.arn ?? `arn:aws:autoscaling:${ctx.region}:${ctx.world.accountId}:scheduledUpdateGroupAction:${nextUuid(ctx.world, 'schedule')}:autoScalingGroupName/${group.name}:scheduledActionName/${name}`;
  scaling.scheduledActions = [
    ...scaling.scheduledActions.filter((a) => a.name !== name),
    { name, arn, startTime: start, endTime: input.EndTime?.getTime(), recurrence: input.Recurrence, timeZone: input.TimeZone, minSize: input.MinSize, maxSize: input.MaxSize, desiredCapacity: input.DesiredCapacity },
  ];
  return {};
}

function describeScheduledActions(ctx: HandlerContext, input: DescribeScheduledActionsCommandInput) {
  const groups = input.AutoScalingGroupName ? [groupIfAny(ctx, input.AutoScalingGroupName)].filter((g) => g !== undefined) : state(ctx).groups;
  return {
    ScheduledUpdateGroupActions: groups.flatMap((group) =>
      scalingOf(group)
        .scheduledActions.filter((a) => !input.ScheduledActionNames?.length || input.ScheduledActionNames.includes(a.name))
        .map((a) => ({
          AutoScalingGroupName: group.name,
          ScheduledActionName: a.name,
          ScheduledActionARN: a.arn,
          StartTime: a.startTime !== undefined ? new Date(a.startTime) : undefined,
          Time: a.startTime !== undefined ? new Date(a.startTime) : undefined,
          EndTime: a.endTime !== undefined ? new Date(a.endTime) : undefined,
          Recurrence: a.recurrence,
          TimeZone: a.timeZone,
          MinSize: a.minSize,
          MaxSize: a.maxSize,
          DesiredCapacity: a.desiredCapacity,
        })),
    ),
  };
}

function putLifecycleHook(ctx: HandlerContext, input: PutLifecycleHookCommandInput) {
  const group = live(ctx, input.AutoScalingGroupName);
  const name = required(input.LifecycleHookName, 'LifecycleHookName');
  const scaling = scalingOf(group);
  const existing = scaling.lifecycleHooks.find((h) => h.name === name);
  const transition = input.LifecycleTransition ?? existing?.transition;
  if (!transition || !TRANSITIONS.includes(transition)) fail('ValidationError', `Invalid LifecycleTransition '${transition ?? ''}'.`);
  const heartbeat = input.HeartbeatTimeout ?? existing?.heartbeatTimeout ?? 3600;
  if (heartbeat < 30 || heartbeat > 7200) fail('ValidationError', 'HeartbeatTimeout must be between 30 and 7200 seconds.');
  const defaultResult = input.DefaultResult ?? existing?.defaultResult ?? 'ABANDON';
  if (defaultResult !== 'CONTINUE' && defaultResult !== 'ABANDON') fail('ValidationError', `Invalid DefaultResult '${defaultResult}'.`);
  if ((input.NotificationTargetARN === undefined) !== (input.RoleARN === undefined) && !existing) {
    fail('ValidationError', 'NotificationTargetARN and RoleARN must be specified together.');
  }
  scaling.lifecycleHooks = [
    ...scaling.lifecycleHooks.filter((h) => h.name !== name),
    { name, transition, heartbeatTimeout: heartbeat, defaultResult, notificationTargetArn: input.NotificationTargetARN ?? existing?.notificationTargetArn, roleArn: input.RoleARN ?? existing?.roleArn, notificationMetadata: input.NotificationMetadata ?? existing?.notificationMetadata },
  ];
  return {};
}

function describeLifecycleHooks(ctx: HandlerContext, input: DescribeLifecycleHooksCommandInput) {
  const group = findGroup(ctx, input.AutoScalingGroupName);
  return {
    LifecycleHooks: scalingOf(group)
      .lifecycleHooks.filter((h) => !input.LifecycleHookNames?.length || input.LifecycleHookNames.includes(h.name))
      .map((h) => ({
        AutoScalingGroupName: group.name,
        LifecycleHookName: h.name,
        LifecycleTransition: h.transition,
        NotificationTargetARN: h.notificationTargetArn,
        RoleARN: h.roleArn,
        NotificationMetadata: h.notificationMetadata,
        HeartbeatTimeout: h.heartbeatTimeout,
        GlobalTimeout: Math.min(172_800, h.heartbeatTimeout * 100),
        DefaultResult: h.defaultResult,
      })),
  };
}

function putWarmPool(ctx: HandlerContext, input: PutWarmPoolCommandInput) {
  const group = live(ctx, input.AutoScalingGroupName);
  const poolState = input.PoolState ?? 'Stopped';
  if (!['Stopped', 'Running', 'Hibernated'].includes(poolState)) fail('ValidationError', `Invalid PoolState '${poolState}'.`);
  const minSize = input.MinSize ?? 0;
  if (minSize < 0) fail('ValidationError', 'MinSize must not be negative.');
  scalingOf(group).warmPool = { maxGroupPreparedCapacity: input.MaxGroupPreparedCapacity, minSize, poolState, reuseOnScaleIn: input.InstanceReusePolicy?.ReuseOnScaleIn };
  return {};
}

function describeWarmPool(ctx: HandlerContext, input: DescribeWarmPoolCommandInput) {
  const group = findGroup(ctx, input.AutoScalingGroupName);
  const pool = scalingOf(group).warmPool;
  return {
    WarmPoolConfiguration: pool && {
      MaxGroupPreparedCapacity: pool.maxGroupPreparedCapacity,
      MinSize: pool.minSize,
      PoolState: pool.poolState,
      InstanceReusePolicy: pool.reuseOnScaleIn !== undefined ? { ReuseOnScaleIn: pool.reuseOnScaleIn } : undefined,
    },
    Instances: [],
  };
}

function processes(input: ScalingProcessQuery): string[] {
  const names = input.ScalingProcesses?.length ? input.ScalingProcesses : PROCESSES;
  const unknown = names.find((name) => !PROCESSES.includes(name));
  if (unknown) fail('ValidationError', `Invalid process name '${unknown}'.`);
  return names;
}

function suspendProcesses(ctx: HandlerContext, input: ScalingProcessQuery) {
  const scaling = scalingOf(live(ctx, input.AutoScalingGroupName));
  scaling.suspendedProcesses = [...new Set([...scaling.suspendedProcesses, ...processes(input)])];
  return {};
}

function resumeProcesses(ctx: HandlerContext, input: ScalingProcessQuery) {
  const scaling = scalingOf(live(ctx, input.AutoScalingGroupName));
  const resumed = processes(input);
  scaling.suspendedProcesses = scaling.suspendedProcesses.filter((name) => !resumed.includes(name));
  return {};
}

function enableMetricsCollection(ctx: HandlerContext, input: EnableMetricsCollectionCommandInput) {
  const scaling = scalingOf(live(ctx, input.AutoScalingGroupName));
  const granularity = required(input.Granularity, 'Granularity');
  if (granularity !== '1Minute') fail('ValidationError', `Invalid Granularity '${granularity}'; the only valid value is 1Minute.`);
  const metrics = input.Metrics?.length ? input.Metrics : GROUP_METRICS;
  const unknown = metrics.find((metric) => !GROUP_METRICS.includes(metric));
  if (unknown) fail('ValidationError', `Invalid metric '${unknown}'.`);
  scaling.enabledMetrics = { metrics: [...new Set([...scaling.enabledMetrics.metrics, ...metrics])], granularity };
  return {};
}

function putNotificationConfiguration(ctx: HandlerContext, input: PutNotificationConfigurationCommandInput) {
  const scaling = scalingOf(live(ctx, input.AutoScalingGroupName));
  const topicArn = required(input.TopicARN, 'TopicARN');
  const types = required(input.NotificationTypes, 'NotificationTypes');
  scaling.notifications = [...scaling.notifications.filter((n) => n.topicArn !== topicArn), { topicArn, types: [...types] }];
  return {};
}

function describeNotificationConfigurations(ctx: HandlerContext, input: DescribeNotificationConfigurationsCommandInput) {
  const groups = input.AutoScalingGroupNames?.length ? input.AutoScalingGroupNames.map((name) => groupIfAny(ctx, name)).filter((g) => g !== undefined) : state(ctx).groups;
  return {
    NotificationConfigurations: groups.flatMap((group) =>
      scalingOf(group).notifications.flatMap((n) => n.types.map((type) => ({ AutoScalingGroupName: group.name, TopicARN: n.topicArn, NotificationType: type }))),
    ),
  };
}

export const scalingHandlers: Record<string, Handler> = {
  PutScalingPolicy: putScalingPolicy,
  DescribePolicies: describePolicies,
  PutScheduledUpdateGroupAction: putScheduledUpdateGroupAction,
  DescribeScheduledActions: describeScheduledActions,
  PutLifecycleHook: putLifecycleHook,
  DescribeLifecycleHooks: describeLifecycleHooks,
  PutWarmPool: putWarmPool,
  DescribeWarmPool: describeWarmPool,
  SuspendProcesses: suspendProcesses,
  ResumeProcesses: resumeProcesses,
  EnableMetricsCollection: enableMetricsCollection,
  PutNotificationConfiguration: putNotificationConfiguration,
  DescribeNotificationConfigurations: describeNotificationConfigurations,
};
