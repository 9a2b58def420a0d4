import type { AutoScalingGroup, PutScalingPolicyCommandInput, ScheduledUpdateGroupAction, UpdateAutoScalingGroupCommandInput } from '@aws-sdk/client-auto-scaling';
import type { AwsClients } from './clients.js';
import { describeGroup } from './fleet.js';
import { targetGroupDimension } from './traffic.js';

/*
 * A group's configuration as another group can take it over: what a red-black switch copies from the
 * live group to the new fleet before traffic moves (settings, tags, scaling policies, scheduled
 * actions, lifecycle hooks, warm pool, metrics collection, notifications, suspended processes), and
 * what it cannot copy, in words a user can act on. Scaling policies and the rest belong to a group
 * and are deleted with it, so whatever is not copied is gone once the old group is removed.
 */

type Settings = Omit<UpdateAutoScalingGroupCommandInput, 'AutoScalingGroupName' | 'MinSize' | 'MaxSize' | 'DesiredCapacity' | 'LaunchTemplate' | 'LaunchConfigurationName' | 'MixedInstancesPolicy' | 'VPCZoneIdentifier' | 'AvailabilityZones' | 'AvailabilityZoneIds' | 'ServiceLinkedRoleARN' | 'DeletionProtection' | 'SkipZonalShiftValidation'>;

export interface GroupCopy {
  /** The live group's own capacity, which the new fleet is given once it takes the traffic. */
  capacity: { min: number; max: number; desired: number };
  settings: Settings;
  tags: { key: string; value: string; propagate: boolean }[];
  policies: Omit<PutScalingPolicyCommandInput, 'AutoScalingGroupName'>[];
  scheduledActions: ScheduledUpdateGroupAction[];
  lifecycleHooks: { name: string; transition: string; heartbeatTimeout?: number; defaultResult?: string; metadata?: string }[];
  warmPool?: { minSize?: number; maxGroupPreparedCapacity?: number; poolState?: string; reuseOnScaleIn?: boolean };
  enabledMetrics: string[];
  notifications: { topicArn: string; types: string[] }[];
  suspendedProcesses: string[];
  /** What the new group cannot have, each named for the thread. */
  uncopied: string[];
}

const SETTINGS: (keyof Settings & keyof AutoScalingGroup)[] = [
  'DefaultCooldown', 'HealthCheckType', 'HealthCheckGracePeriod', 'PlacementGroup', 'TerminationPolicies', 'NewInstancesProtectedFromScaleIn',
  'MaxInstanceLifetime', 'CapacityRebalance', 'Context', 'DesiredCapacityType', 'DefaultInstanceWarmup', 'InstanceMaintenancePolicy',
  'AvailabilityZoneDistribution', 'AvailabilityZoneImpairmentPolicy', 'CapacityReservationSpecification', 'InstanceLifecyclePolicy',
];

/**
 * Replaces the old group's name in metric dimensions (a customized target-tracking metric) and the old
 * target group in a resource label (ALBRequestCountPerTarget) with the new group's: the same policy,
 * measuring the group that now takes the traffic.
 */
function retarget<T>(value: T, from: { group: string; targetGroups: string[] }, to: { group: string; targetGroups: string[] }, missing: (label: string) => void): T {
  if (Array.isArray(value)) return value.map((item) => retarget(item, from, to, missing)) as T;
  if (!value || typeof value !== 'object' || value instanceof Date) return value;
  const entries = Object.entries(value as Record<string, unknown>).map(([key, item]): [string, unknown] => {
    if (key === 'Value' && (value as { Name?: string }).Name === 'AutoScalingGroupName' && item === from.group) return [key, to.group];
    if (key === 'ResourceLabel' && typeof item === 'string') {
      const own = to.targetGroups.map(targetGroupDimension);
      const label = item.slice(item.indexOf('targetgroup/'));
      if (own.includes(label)) return [key, item];
      if (own.length !== 1) {
        missing(item);
        return [key, item];
      }
      return [key, `${item.slice(0, item.indexOf('targetgroup/'))}${own[0]}`];
    }
    return [key, retarget(item, from, to, missing)];
  });
  return Object.fromEntries(entries) as T;
}

/**
 * Reads everything of the live group a new group should have, shaped for the new group `to` (its
 * name, and the target groups it serves from); `now` leaves out one-time scheduled actions past.
 */
export async function readGroupCopy(aws: AwsClients, region: string, liveName: string, to: { group: string; targetGroups: string[] }, now: number): Promise<GroupCopy | undefined> {
  const autoScaling = await aws.autoScaling(region);
  const live = await describeGroup(aws, region, liveName);
  if (!live) return undefined;
  const from = { group: liveName, targetGroups: live.TargetGroupARNs ?? [] };
  const uncopied: string[] = [];

  if (live.MixedInstancesPolicy) uncopied.push('its mixed instances policy (instance types and Spot options): the new fleet runs the launch template alone');
  if (live.LoadBalancerNames?.length) uncopied.push(`its Classic Load Balancers ${live.LoadBalancerNames.join(', ')}`);
  const otherSources = (live.TrafficSources ?? []).filter((source) => source.Type !== 'elbv2' && !from.targetGroups.includes(source.Identifier ?? ''));
  if (otherSources.length) uncopied.push(`its traffic sources ${otherSources.map((source) => source.Identifier).join(', ')}`);
  if (live.ServiceLinkedRoleARN && !live.ServiceLinkedRoleARN.endsWith('/AWSServiceRoleForAutoScaling')) uncopied.push(`its service-linked role ${live.ServiceLinkedRoleARN} (passing a role needs iam:PassRole)`);
  if (live.DeletionProtection && live.DeletionProtection !== 'none') uncopied.push(`its deletion protection (${live.DeletionProtection}): Bakery removes the old group after the switch`);

  const settings: Settings = {};
  for (const key of SETTINGS) if (live[key] !== undefined) (settings as Record<string, unknown>)[key] = live[key];

  const policies: GroupCopy['policies'] = [];
  for await (const page of autoScaling.paginateDescribePolicies({ AutoScalingGroupName: liveName })) {
    for (const policy of page.ScalingPolicies ?? []) {
      const name = policy.PolicyName ?? '';
      if (policy.PolicyType === 'StepScaling' || policy.PolicyType === 'SimpleScaling' || policy.PolicyType === undefined) {
        // Their CloudWatch alarms call the old group's policy by ARN; Bakery does not copy alarms.
        const alarms = (policy.Alarms ?? []).map((alarm) => alarm.AlarmName).join(', ');
        uncopied.push(`${policy.PolicyType === 'StepScaling' ? 'step' : 'simple'} scaling policy ${name}${alarms ? ` (triggered by alarm ${alarms})` : ''}`);
        continue;
      }
      const { AutoScalingGroupName: _group, PolicyARN: _arn, Alarms: _alarms, ...input } = policy;
      const labels: string[] = [];
      const copied = retarget({ ...input, PolicyName: name }, from, to, (label) => labels.push(label));
      if (labels.length) uncopied.push(`scaling policy ${name}, which measures ${labels.join(', ')}`);
      else policies.push(copied);
    }
  }

  const scheduledActions: ScheduledUpdateGroupAction[] = [];
  for await (const page of autoScaling.paginateDescribeScheduledActions({ AutoScalingGroupName: liveName })) {
    for (const action of page.ScheduledUpdateGroupActions ?? []) {
      const start = action.StartTime?.getTime();
      // A one-time action whose time has passed has run already; a recurring one goes on from now.
      if (!action.Recurrence && start !== undefined && start <= now) continue;
      scheduledActions.push({ ...action, StartTime: start !== undefined && start > now ? action.StartTime : undefined });
    }
  }

  const lifecycleHooks: GroupCopy['lifecycleHooks'] = [];
  for (const hook of (await autoScaling.describeLifecycleHooks({ AutoScalingGroupName: liveName })).LifecycleHooks ?? []) {
    if (hook.NotificationTargetARN || hook.RoleARN) {
      uncopied.push(`lifecycle hook ${hook.LifecycleHookName}, which notifies ${hook.NotificationTargetARN} through role ${hook.RoleARN} (passing a role needs iam:PassRole)`);
      continue;
    }
    lifecycleHooks.push({ name: hook.LifecycleHookName!, transition: hook.LifecycleTransition!, heartbeatTimeout: hook.HeartbeatTimeout, defaultResult: hook.DefaultResult, metadata: hook.NotificationMetadata });
  }

  const pool = (await autoScaling.describeWarmPool({ AutoScalingGroupName: liveName })).WarmPoolConfiguration;
  const notifications = new Map<string, string[]>();
  for (const n of (await autoScaling.describeNotificationConfigurations({ AutoScalingGroupNames: [liveName] })).NotificationConfigurations ?? []) {
    if (n.TopicARN && n.NotificationType) notifications.set(n.TopicARN, [...(notifications.get(n.TopicARN) ?? []), n.NotificationType]);
  }

  return {
    capacity: { min: live.MinSize ?? 0, max: live.MaxSize ?? 0, desired: live.DesiredCapacity ?? 0 },
    settings,
    // aws: tags are AWS's own; bakery: tags are the new group's own.
    tags: (live.Tags ?? []).filter((tag) => tag.Key && !tag.Key.startsWith('aws:') && !tag.Key.startsWith('bakery:')).map((tag) => ({ key: tag.Key!, value: tag.Value ?? '', propagate: tag.PropagateAtLaunch ?? false })),
    policies,
    scheduledActions,
    lifecycleHooks,
    warmPool: pool && { minSize: pool.MinSize, maxGroupPreparedCapacity: pool.MaxGroupPreparedCapacity, poolState: pool.PoolState, reuseOnScaleIn: pool.InstanceReusePolicy?.ReuseOnScaleIn },
    enabledMetrics: (live.EnabledMetrics ?? []).map((metric) => metric.Metric!).filter(Boolean),
    notifications: [...notifications].map(([topicArn, types]) => ({ topicArn, types })),
    suspendedProcesses: (live.SuspendedProcesses ?? []).map((process) => process.ProcessName!).filter(Boolean),
    uncopied,
  };
}

/**
 * Gives `group` the copy's settings, tags, hooks, policies, schedule, warm pool, metrics collection and
 * notifications. Every call is a put: a resumed step puts the same again. Capacity and suspended
 * processes are left to the caller (a group grows first, and suspending Launch would stop that).
 */
export async function applyGroupCopy(aws: AwsClients, region: string, group: string, copy: GroupCopy): Promise<string[]> {
  const autoScaling = await aws.autoScaling(region);
  await autoScaling.updateAutoScalingGroup({ AutoScalingGroupName: group, ...copy.settings });
  if (copy.tags.length) {
    await autoScaling.createOrUpdateTags({ Tags: copy.tags.map((tag) => ({ ResourceId: group, ResourceType: 'auto-scaling-group', Key: tag.key, Value: tag.value, PropagateAtLaunch: tag.propagate })) });
  }
  // Hooks first, so the instances the new fleet grows by pass through them as the live fleet's did.
  for (const hook of copy.lifecycleHooks) {
    await autoScaling.putLifecycleHook({ AutoScalingGroupName: group, LifecycleHookName: hook.name, LifecycleTransition: hook.transition, HeartbeatTimeout: hook.heartbeatTimeout, DefaultResult: hook.defaultResult, NotificationMetadata: hook.metadata });
  }
  for (const policy of copy.policies) await autoScaling.putScalingPolicy({ ...policy, AutoScalingGroupName: group });
  for (const action of copy.scheduledActions) {
    await autoScaling.putScheduledUpdateGroupAction({
      AutoScalingGroupName: group,
      ScheduledActionName: action.ScheduledActionName,
      StartTime: action.StartTime,
      EndTime: action.EndTime,
      Recurrence: action.Recurrence,
      TimeZone: action.TimeZone,
      MinSize: action.MinSize,
      MaxSize: action.MaxSize,
      DesiredCapacity: action.DesiredCapacity,
    });
  }
  if (copy.warmPool) {
    const pool = copy.warmPool;
    await autoScaling.putWarmPool({ AutoScalingGroupName: group, MinSize: pool.minSize, MaxGroupPreparedCapacity: pool.maxGroupPreparedCapacity, PoolState: pool.poolState as 'Stopped' | undefined, InstanceReusePolicy: pool.reuseOnScaleIn !== undefined ? { ReuseOnScaleIn: pool.reuseOnScaleIn } : undefined });
  }
  if (copy.enabledMetrics.length) await autoScaling.enableMetricsCollection({ AutoScalingGroupName: group, Metrics: copy.enabledMetrics, Granularity: '1Minute' });
  for (const n of copy.notifications) await autoScaling.putNotificationConfiguration({ AutoScalingGroupName: group, TopicARN: n.topicArn, NotificationTypes: n.types });
  return copiedLines(copy);
}

/**
 * The group's own scaling as read back now (policies, scheduled actions, lifecycle hooks, suspended
 * processes), for the thread once the group it was copied from is gone; undefined if it is gone too.
 */
export async function ownScaling(aws: AwsClients, region: string, group: { group: string; targetGroups: string[] }, now: number): Promise<string | undefined> {
  const own = await readGroupCopy(aws, region, group.group, group, now);
  if (!own) return undefined;
  return [
    count(own.policies.map((policy) => policy.PolicyName ?? ''), 'scaling policy', 'scaling policies'),
    count(own.scheduledActions.map((action) => action.ScheduledActionName ?? ''), 'scheduled action'),
    count(own.lifecycleHooks.map((hook) => hook.name), 'lifecycle hook'),
    ...(own.suspendedProcesses.length ? [`${own.suspendedProcesses.join(', ')} suspended`] : []),
  ].join(', ');
}

/**
 * What an old group standing by after a red-black switch must not do, so it keeps the capacity it
 * had for an instant switch back: scale by its policies' alarms (AlarmNotification; out of traffic,
 * target tracking would scale it in), run its scheduled actions, or rebalance across zones. It still
 * replaces unhealthy instances, so it stays fit to take the traffic back (Spinnaker's disabled server group).
 */
export const STANDBY_PROCESSES = ['AlarmNotification', 'ScheduledActions', 'AZRebalance'];

export async function holdStandby(aws: AwsClients, region: string, group: string): Promise<void> {
  await (await aws.autoScaling(region)).suspendProcesses({ AutoScalingGroupName: group, ScalingProcesses: STANDBY_PROCESSES });
}

/** The standby group takes the traffic back: its scaling resumes, but what it had suspended itself stays so. */
export async function releaseStandby(aws: AwsClients, region: string, group: string, ownSuspended: string[]): Promise<string[]> {
  const resumed = STANDBY_PROCESSES.filter((process) => !ownSuspended.includes(process));
  if (resumed.length) await (await aws.autoScaling(region)).resumeProcesses({ AutoScalingGroupName: group, ScalingProcesses: resumed });
  return resumed;
}

/** The live group's suspended processes, for the new fleet once it is grown. */
export async function suspendLikeLive(aws: AwsClients, region: string, group: string, processes: string[]): Promise<void> {
  if (processes.length) await (await aws.autoScaling(region)).suspendProcesses({ AutoScalingGroupName: group, ScalingProcesses: processes });
}

/** "2 scaling policies (cpu-50, latency)", "0 lifecycle hooks". */
function count(names: string[], one: string, many = `${one}s`): string {
  return `${names.length} ${names.length === 1 ? one : many}${names.length ? ` (${names.join(', ')})` : ''}`;
}

/** What was copied, one short phrase each, for the thread. */
function copiedLines(copy: GroupCopy): string[] {
  return [
    `settings (${Object.keys(copy.settings).join(', ') || 'none set'})`,
    count(copy.tags.map((tag) => `${tag.key}${tag.propagate ? ', propagated' : ''}`), 'tag'),
    count(copy.policies.map((policy) => policy.PolicyName ?? ''), 'scaling policy', 'scaling policies'),
    count(copy.scheduledActions.map((action) => action.ScheduledActionName ?? ''), 'scheduled action'),
    count(copy.lifecycleHooks.map((hook) => hook.name), 'lifecycle hook'),
    ...(copy.warmPool ? ['the warm pool'] : []),
    ...(copy.enabledMetrics.length ? [`metrics collection (${copy.enabledMetrics.length} metrics)`] : []),
    ...(copy.notifications.length ? [count(copy.notifications.map((n) => n.topicArn.split(':').at(-1) ?? n.topicArn), 'notification topic')] : []),
    ...(copy.suspendedProcesses.length ? [`${copy.suspendedProcesses.join(', ')} suspended once grown`] : []),
  ];
}
