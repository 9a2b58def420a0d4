import type {
  AttachLoadBalancerTargetGroupsCommandInput,
  AutoScalingGroup,
  CancelInstanceRefreshCommandInput,
  CreateAutoScalingGroupCommandInput,
  CreateOrUpdateTagsCommandInput,
  DeleteAutoScalingGroupCommandInput,
  DescribeAutoScalingGroupsCommandInput,
  DescribeInstanceRefreshesCommandInput,
  DescribeScalingActivitiesCommandInput,
  DetachLoadBalancerTargetGroupsCommandInput,
  InstanceRefresh,
  LaunchTemplateSpecification,
  RollbackInstanceRefreshCommandInput,
  SetDesiredCapacityCommandInput,
  StartInstanceRefreshCommandInput,
  UpdateAutoScalingGroupCommandInput,
  WarmPoolState,
} from '@aws-sdk/client-auto-scaling';
import { required, state, type Handler, type HandlerContext } from './context.js';
import { findLaunchTemplate, resolveVersion } from './ec2-launch-templates.js';
import { SimulatedError, fail } from './errors.js';
import { findGroup, groupConfig, live, wakeGroup } from './fleet.js';
import { activeMembers, lifecycleAt, listedMembers, retire, targetGroupsOf } from './members.js';
import { register, deregister } from './elbv2.js';
import { scalingHandlers, scalingOf } from './scaling.js';
import { ACTIVE_REFRESH, activeRefresh, progress, startRollback, toReplace } from './refresh.js';
import { instanceState, nextUuid, type GroupRecord, type GroupSettingsRecord, type LaunchTemplateSpec, type RefreshRecord } from './world.js';

/** EC2 Auto Scaling: groups on launch templates, their instances (fleet.ts) and instance refreshes (refresh.ts). */

const GROUP_NAME = /^[^:]{1,255}$/;


/** A launch template reference, checked as Auto Scaling checks it (its own ValidationError wording). */
function launchTemplateSpec(ctx: HandlerContext, spec: LaunchTemplateSpecification | undefined): LaunchTemplateSpec {
  if (!spec) fail('ValidationError', 'Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.');
  let template;
  try {
    template = findLaunchTemplate(ctx, spec);
  } catch (error) {
    if (error instanceof SimulatedError) fail('ValidationError', `You must use a valid fully-formed launch template. ${error.message}`);
    throw error;
  }
  const version = spec.Version ?? '$Default';
  if (!/^(\d+|\$Latest|\$Default)$/.test(version) || !resolveVersion(template, version)) {
    fail('ValidationError', `You must use a valid fully-formed launch template. The specified launch template version ${version} of ${template.launchTemplateId} does not exist.`);
  }
  return { launchTemplateId: template.launchTemplateId, launchTemplateName: template.name, version };
}

function checkBounds(min: number, max: number, desired: number): void {
  if (min < 0 || max < 0) fail('ValidationError', 'MinSize and MaxSize must not be negative.');
  if (min > max) fail('ValidationError', `Max bound, ${max}, must be greater than or equal to min bound, ${min}`);
  if (desired < min || desired > max) fail('ValidationError', `Desired capacity:${desired} must be between the specified min size:${min} and max size:${max}`);
}

function checkTargetGroups(ctx: HandlerContext, arns: string[]): string[] {
  if (arns.some((arn) => !state(ctx).targetGroups.some((tg) => tg.arn === arn))) {
    fail('ValidationError', 'Provided Target Groups may not be valid. Please ensure they exist and try again.');
  }
  return arns;
}

function tagsFrom(name: string, tags: { Key?: string; Value?: string; PropagateAtLaunch?: boolean }[] | undefined): GroupRecord['tags'] {
  return (tags ?? []).map((tag) => {
    const key = required(tag.Key, 'Tags.member.Key');
    if (key.toLowerCase().startsWith('aws:')) fail('ValidationError', `Tag keys starting with 'aws:' are reserved for internal use (group ${name})`);
    return { key, value: tag.Value ?? '', propagate: tag.PropagateAtLaunch ?? false };
  });
}

function subnetsFrom(zones: string | undefined): string[] {
  const subnets = (zones ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (!subnets.length) fail('ValidationError', 'At least one Availability Zone or VPC Subnet is required.');
  const malformed = subnets.find((s) => !/^subnet-[0-9a-f]{8}([0-9a-f]{9})?$/.test(s));
  if (malformed) fail('ValidationError', `The subnet ID '${malformed}' does not exist`);
  return subnets;
}

function zoneOf(ctx: HandlerContext, group: GroupRecord, subnet: string | undefined): string {
  const index = Math.max(0, group.subnets.indexOf(subnet ?? ''));
  return `${ctx.region}${'abcdef'[index % 6]}`;
}

function launchTemplateOut(spec: { launchTemplateId: string; launchTemplateName: string; version: string | number }): LaunchTemplateSpecification {
  return { LaunchTemplateId: spec.launchTemplateId, LaunchTemplateName: spec.launchTemplateName, Version: String(spec.version) };
}

function describeGroup(ctx: HandlerContext, group: GroupRecord): AutoScalingGroup {
  const settings = group.settings ?? DEFAULT_SETTINGS;
  const scaling = scalingOf(group);
  return {
    AutoScalingGroupName: group.name,
    AutoScalingGroupARN: group.arn,
    LaunchTemplate: launchTemplateOut(group.launchTemplate),
    MinSize: group.minSize,
    MaxSize: group.maxSize,
    DesiredCapacity: group.desired,
    DefaultCooldown: settings.defaultCooldown,
    AvailabilityZones: [...new Set(group.subnets.map((s) => zoneOf(ctx, group, s)))],
    LoadBalancerNames: [],
    TargetGroupARNs: [...group.targetGroupArns],
    HealthCheckType: group.healthCheckType,
    HealthCheckGracePeriod: group.graceSeconds,
    Instances: listedMembers(ctx, group).map((instance) => ({
      InstanceId: instance.instanceId,
      InstanceType: instance.instanceType,
      AvailabilityZone: zoneOf(ctx, group, instance.subnetId),
      LifecycleState: lifecycleAt(instance, ctx.now),
      HealthStatus: instance.autoScaling!.unhealthyAt !== undefined && ctx.now >= instance.autoScaling!.unhealthyAt ? 'Unhealthy' : 'Healthy',
      LaunchTemplate: launchTemplateOut(instance.autoScaling!),
      ProtectedFromScaleIn: false,
    })),
    CreatedTime: new Date(group.createdAt),
    SuspendedProcesses: scaling.suspendedProcesses.map((ProcessName) => ({ ProcessName, SuspensionReason: 'User suspended at ' + new Date(group.createdAt).toISOString() })),
    VPCZoneIdentifier: group.subnets.join(','),
    EnabledMetrics: scaling.enabledMetrics.metrics.map((Metric) => ({ Metric, Granularity: scaling.enabledMetrics.granularity })),
    Status: group.deleteRequestedAt !== undefined ? 'Delete in progress' : undefined,
    Tags: group.tags.map((tag) => ({
      ResourceId: group.name,
      ResourceType: 'auto-scaling-group',
      Key: tag.key,
      Value: tag.value,
      PropagateAtLaunch: tag.propagate,
    })),
    TerminationPolicies: [...settings.terminationPolicies],
    NewInstancesProtectedFromScaleIn: settings.newInstancesProtectedFromScaleIn,
    ServiceLinkedRoleARN: `arn:aws:iam::${ctx.world.accountId}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`,
    MaxInstanceLifetime: settings.maxInstanceLifetime,
    CapacityRebalance: settings.capacityRebalance,
    DefaultInstanceWarmup: settings.defaultInstanceWarmup,
    InstanceMaintenancePolicy: settings.instanceMaintenancePolicy && {
      MinHealthyPercentage: settings.instanceMaintenancePolicy.minHealthyPercentage,
      MaxHealthyPercentage: settings.instanceMaintenancePolicy.maxHealthyPercentage,
    },
    WarmPoolConfiguration: scaling.warmPool && { MinSize: scaling.warmPool.minSize, MaxGroupPreparedCapacity: scaling.warmPool.maxGroupPreparedCapacity, PoolState: scaling.warmPool.poolState as WarmPoolState },
  };
}

const DEFAULT_SETTINGS: GroupSettingsRecord = { terminationPolicies: ['Default'], capacityRebalance: false, defaultCooldown: 300, newInstancesProtectedFromScaleIn: false };
const TERMINATION_POLICIES = ['Default', 'AllocationStrategy', 'OldestLaunchTemplate', 'OldestLaunchConfiguration', 'ClosestToNextInstanceHour', 'NewestInstance', 'OldestInstance'];

/**
 * The settings CreateAutoScalingGroup and UpdateAutoScalingGroup take as given, checked as AWS checks
 * them (MaxInstanceLifetime 0 or 86,400–31,536,000 s; InstanceMaintenancePolicy -1 or 0–100 and
 * 100–200, at most 100 apart); an update changes only what it names.
 */
function settingsFrom(input: CreateAutoScalingGroupCommandInput | UpdateAutoScalingGroupCommandInput, base: GroupSettingsRecord): GroupSettingsRecord {
  const policies = input.TerminationPolicies ?? base.terminationPolicies;
  const unknown = policies.find((policy) => !TERMINATION_POLICIES.includes(policy) && !policy.startsWith('arn:aws:lambda:'));
  if (unknown) fail('ValidationError', `Termination policy '${unknown}' is not valid.`);
  const lifetime = input.MaxInstanceLifetime ?? base.maxInstanceLifetime;
  if (lifetime !== undefined && lifetime !== 0 && (lifetime < 86_400 || lifetime > 31_536_000)) fail('ValidationError', 'MaxInstanceLifetime must be 0, or between 86400 and 31536000 seconds.');
  const maintenance = input.InstanceMaintenancePolicy;
  if (maintenance) {
    const min = maintenance.MinHealthyPercentage ?? -1;
    const max = maintenance.MaxHealthyPercentage ?? -1;
    const unset = min === -1 && max === -1;
    if (!unset && (min < 0 || min > 100 || max < 100 || max > 200 || max - min > 100)) {
      fail('ValidationError', 'InstanceMaintenancePolicy: MinHealthyPercentage 0-100 and MaxHealthyPercentage 100-200, at most 100 apart (or both -1).');
    }
  }
  return {
    terminationPolicies: [...policies],
    maxInstanceLifetime: lifetime === 0 ? undefined : lifetime,
    capacityRebalance: input.CapacityRebalance ?? base.capacityRebalance,
    defaultInstanceWarmup: input.DefaultInstanceWarmup ?? base.defaultInstanceWarmup,
    instanceMaintenancePolicy: maintenance
      ? maintenance.MinHealthyPercentage === -1 && maintenance.MaxHealthyPercentage === -1
        ? undefined
        : { minHealthyPercentage: maintenance.MinHealthyPercentage, maxHealthyPercentage: maintenance.MaxHealthyPercentage }
      : base.instanceMaintenancePolicy,
    defaultCooldown: input.DefaultCooldown ?? base.defaultCooldown,
    newInstancesProtectedFromScaleIn: input.NewInstancesProtectedFromScaleIn ?? base.newInstancesProtectedFromScaleIn,
  };
}

/** A new group record (CreateAutoScalingGroup, and the demo fleet's seed). */
export function createGroup(ctx: HandlerContext, input: CreateAutoScalingGroupCommandInput): GroupRecord {
  const name = required(input.AutoScalingGroupName, 'AutoScalingGroupName');
  if (!GROUP_NAME.test(name)) fail('ValidationError', `The AutoScalingGroupName '${name}' is not valid: 1 to 255 characters, no ':'.`);
  if (state(ctx).groups.some((g) => g.name === name)) fail('AlreadyExists', `AutoScalingGroup by this name already exists - A group with the name ${name} already exists`);
  const launchTemplate = launchTemplateSpec(ctx, input.LaunchTemplate);
  const min = required(input.MinSize, 'MinSize');
  const max = required(input.MaxSize, 'MaxSize');
  const desired = input.DesiredCapacity ?? min;
  checkBounds(min, max, desired);
  const healthCheckType = input.HealthCheckType ?? 'EC2';
  if (healthCheckType !== 'EC2' && healthCheckType !== 'ELB') fail('ValidationError', `The simulated AWS models HealthCheckType EC2 and ELB, not '${healthCheckType}'.`);
  const group: GroupRecord = {
    name,
    arn: `arn:aws:autoscaling:${ctx.region}:${ctx.world.accountId}:autoScalingGroup:${nextUuid(ctx.world, 'asg')}:autoScalingGroupName/${name}`,
    createdAt: ctx.now,
    launchTemplate,
    minSize: min,
    maxSize: max,
    desired,
    capacityChangedAt: ctx.now,
    subnets: subnetsFrom(input.VPCZoneIdentifier),
    targetGroupArns: checkTargetGroups(ctx, input.TargetGroupARNs ?? []),
    healthCheckType,
    graceSeconds: input.HealthCheckGracePeriod ?? 0,
    tags: tagsFrom(name, input.Tags),
    settings: settingsFrom(input, DEFAULT_SETTINGS),
    launches: 0,
    activities: [],
    refreshes: [],
    wakeAt: ctx.now,
  };
  state(ctx).groups.push(group);
  return group;
}

function createAutoScalingGroup(ctx: HandlerContext, input: CreateAutoScalingGroupCommandInput) {
  createGroup(ctx, input);
  return {};
}

function describeAutoScalingGroups(ctx: HandlerContext, input: DescribeAutoScalingGroupsCommandInput) {
  let groups = state(ctx).groups;
  if (input.AutoScalingGroupNames?.length) groups = groups.filter((g) => input.AutoScalingGroupNames!.includes(g.name));
  for (const filter of input.Filters ?? []) {
    const name = filter.Name ?? '';
    const values = filter.Values ?? [];
    if (name.startsWith('tag:')) {
      const key = name.slice(4);
      groups = groups.filter((g) => g.tags.some((t) => t.key === key && values.includes(t.value)));
    } else if (name === 'tag-key') {
      groups = groups.filter((g) => g.tags.some((t) => values.includes(t.key)));
    } else if (name === 'tag-value') {
      groups = groups.filter((g) => g.tags.some((t) => values.includes(t.value)));
    } else {
      fail('ValidationError', `Filter name '${name}' is invalid; use tag:<key>, tag-key or tag-value.`);
    }
  }
  return { AutoScalingGroups: groups.map((g) => describeGroup(ctx, g)) };
}


function changeCapacity(ctx: HandlerContext, group: GroupRecord, desired: number): void {
  if (desired !== group.desired) {
    group.desired = desired;
    group.capacityChangedAt = ctx.now;
  }
  wakeGroup(group, ctx.now);
}

function updateAutoScalingGroup(ctx: HandlerContext, input: UpdateAutoScalingGroupCommandInput) {
  const group = live(ctx, input.AutoScalingGroupName);
  const min = input.MinSize ?? group.minSize;
  const max = input.MaxSize ?? group.maxSize;
  // As AWS does: a new bound without a desired capacity pulls the desired capacity inside it.
  const desired = input.DesiredCapacity ?? Math.min(max, Math.max(min, group.desired));
  checkBounds(min, max, desired);
  if (input.LaunchTemplate) group.launchTemplate = launchTemplateSpec(ctx, input.LaunchTemplate);
  if (input.VPCZoneIdentifier !== undefined) group.subnets = subnetsFrom(input.VPCZoneIdentifier);
  if (input.HealthCheckType !== undefined) {
    if (input.HealthCheckType !== 'EC2' && input.HealthCheckType !== 'ELB') fail('ValidationError', `The simulated AWS models HealthCheckType EC2 and ELB, not '${input.HealthCheckType}'.`);
    group.healthCheckType = input.HealthCheckType;
  }
  if (input.HealthCheckGracePeriod !== undefined) group.graceSeconds = input.HealthCheckGracePeriod;
  group.settings = settingsFrom(input, group.settings ?? DEFAULT_SETTINGS);
  group.minSize = min;
  group.maxSize = max;
  changeCapacity(ctx, group, desired);
  return {};
}

function setDesiredCapacity(ctx: HandlerContext, input: SetDesiredCapacityCommandInput) {
  const group = live(ctx, input.AutoScalingGroupName);
  const desired = required(input.DesiredCapacity, 'DesiredCapacity');
  if (desired > group.maxSize) fail('ValidationError', `New SetDesiredCapacity value ${desired} is above max value ${group.maxSize} for the AutoScalingGroup.`);
  if (desired < group.minSize) fail('ValidationError', `New SetDesiredCapacity value ${desired} is below min value ${group.minSize} for the AutoScalingGroup.`);
  changeCapacity(ctx, group, desired);
  return {};
}

function deleteAutoScalingGroup(ctx: HandlerContext, input: DeleteAutoScalingGroupCommandInput) {
  const group = findGroup(ctx, input.AutoScalingGroupName);
  if (group.deleteRequestedAt !== undefined) return {};
  const members = activeMembers(ctx, group);
  if (!input.ForceDelete) {
    const busy = members.some((i) => lifecycleAt(i, ctx.now) === 'Pending') || listedMembers(ctx, group).some((i) => lifecycleAt(i, ctx.now) === 'Terminating');
    if (busy) fail('ScalingActivityInProgress', 'You cannot delete an AutoScalingGroup while there are scaling activities in progress for that group.');
    if (members.length) fail('ResourceInUse', 'You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group.');
  }
  group.deleteRequestedAt = ctx.now;
  group.minSize = 0;
  group.maxSize = 0;
  group.desired = 0;
  for (const instance of members) retire(ctx, group, instance, 'a user request deleted the AutoScalingGroup, so its instances were terminated.');
  const refresh = activeRefresh(group);
  if (refresh) Object.assign(refresh, { status: 'Cancelled', statusReason: 'The Auto Scaling group was deleted.', endedAt: ctx.now, batch: undefined });
  wakeGroup(group, ctx.now);
  return {};
}

function attachTargetGroups(ctx: HandlerContext, input: AttachLoadBalancerTargetGroupsCommandInput) {
  const group = live(ctx, input.AutoScalingGroupName);
  const arns = checkTargetGroups(ctx, required(input.TargetGroupARNs, 'TargetGroupARNs'));
  const added = arns.filter((arn) => !group.targetGroupArns.includes(arn));
  group.targetGroupArns.push(...added);
  // InService instances are registered at once; pending ones when they go InService.
  const inService = activeMembers(ctx, group).filter((i) => i.autoScaling!.registered && instanceState(i, ctx.now) === 'running');
  for (const tg of targetGroupsOf(ctx, group).filter((tg) => added.includes(tg.arn))) {
    register(ctx, tg, inService.map((i) => ({ Id: i.instanceId })));
  }
  wakeGroup(group, ctx.now);
  return {};
}

function detachTargetGroups(ctx: HandlerContext, input: DetachLoadBalancerTargetGroupsCommandInput) {
  const group = live(ctx, input.AutoScalingGroupName);
  const arns = required(input.TargetGroupARNs, 'TargetGroupARNs');
  const ids = activeMembers(ctx, group).map((i) => i.instanceId);
  for (const tg of targetGroupsOf(ctx, group).filter((tg) => arns.includes(tg.arn))) deregister(tg, ids, ctx.now);
  group.targetGroupArns = group.targetGroupArns.filter((arn) => !arns.includes(arn));
  wakeGroup(group, ctx.now);
  return {};
}

function createOrUpdateTags(ctx: HandlerContext, input: CreateOrUpdateTagsCommandInput) {
  const tags = required(input.Tags, 'Tags');
  // Resolve every group first, so one unknown group leaves all of them untouched.
  const targets = tags.map((tag) => {
    if (tag.ResourceType !== undefined && tag.ResourceType !== 'auto-scaling-group') fail('ValidationError', `Invalid resource type '${tag.ResourceType}'`);
    return { group: findGroup(ctx, tag.ResourceId), tag };
  });
  for (const { group, tag } of targets) {
    const [parsed] = tagsFrom(group.name, [tag]);
    group.tags = [...group.tags.filter((t) => t.key !== parsed!.key), parsed!];
  }
  return {};
}

function describeScalingActivities(ctx: HandlerContext, input: DescribeScalingActivitiesCommandInput) {
  const groups = input.AutoScalingGroupName ? [findGroup(ctx, input.AutoScalingGroupName)] : state(ctx).groups;
  const activities = groups.flatMap((group) =>
    group.activities.map((a) => ({
      ActivityId: a.id,
      AutoScalingGroupName: group.name,
      AutoScalingGroupARN: group.arn,
      Description: a.description,
      Cause: a.cause,
      StartTime: new Date(a.startedAt),
      EndTime: ctx.now >= a.endedAt ? new Date(a.endedAt) : undefined,
      StatusCode: a.status === 'Failed' ? ('Failed' as const) : ctx.now >= a.endedAt ? ('Successful' as const) : ('InProgress' as const),
      Progress: ctx.now >= a.endedAt ? 100 : 50,
    })),
  );
  activities.sort((a, b) => b.StartTime.getTime() - a.StartTime.getTime());
  return { Activities: activities.slice(0, input.MaxRecords ?? 100) };
}

function resolved(ctx: HandlerContext, spec: LaunchTemplateSpec): RefreshRecord['target'] {
  const template = findLaunchTemplate(ctx, { LaunchTemplateId: spec.launchTemplateId });
  return { launchTemplateId: spec.launchTemplateId, launchTemplateName: spec.launchTemplateName, version: resolveVersion(template, spec.version)!.number };
}

function startInstanceRefresh(ctx: HandlerContext, input: StartInstanceRefreshCommandInput) {
  const group = live(ctx, input.AutoScalingGroupName);
  if (input.Strategy !== undefined && input.Strategy !== 'Rolling') fail('ValidationError', `The simulated AWS models the Rolling strategy only, not '${input.Strategy}'.`);
  if (activeRefresh(group)) fail('InstanceRefreshInProgress', 'An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.');
  const p = input.Preferences ?? {};
  const minHealthy = p.MinHealthyPercentage ?? 90;
  if (minHealthy < 0 || minHealthy > 100) fail('ValidationError', 'MinHealthyPercentage must be between 0 and 100.');
  if (p.MaxHealthyPercentage !== undefined) {
    if (p.MinHealthyPercentage === undefined) fail('ValidationError', 'You must specify MinHealthyPercentage when you specify MaxHealthyPercentage.');
    if (p.MaxHealthyPercentage < 100 || p.MaxHealthyPercentage > 200) fail('ValidationError', 'MaxHealthyPercentage must be between 100 and 200.');
    if (p.MaxHealthyPercentage - minHealthy > 100) fail('ValidationError', 'The difference between MaxHealthyPercentage and MinHealthyPercentage cannot be greater than 100.');
  }
  const checkpoints = p.CheckpointPercentages ?? [];
  if (checkpoints.some((c, i) => c < 1 || c > 100 || (i > 0 && c <= checkpoints[i - 1]!))) {
    fail('ValidationError', 'CheckpointPercentages must be ascending values between 1 and 100.');
  }
  const alarms = p.AlarmSpecification?.Alarms ?? [];
  const unknownAlarm = alarms.find((name) => !state(ctx).alarms.some((a) => a.name === name));
  if (unknownAlarm) fail('ValidationError', `The alarm ${unknownAlarm} does not exist.`);
  const desiredTemplate = input.DesiredConfiguration?.LaunchTemplate;
  if (input.DesiredConfiguration && !desiredTemplate) fail('ValidationError', 'The simulated AWS models a DesiredConfiguration with a LaunchTemplate only.');
  const desired = desiredTemplate ? launchTemplateSpec(ctx, desiredTemplate) : undefined;
  if (p.AutoRollback && !desired) fail('ValidationError', 'AutoRollback requires a DesiredConfiguration.');
  const original = groupConfig(ctx, group);
  if (!original) fail('ValidationError', `The launch template of ${group.name} no longer exists.`);
  const refresh: RefreshRecord = {
    id: nextUuid(ctx.world, 'refresh'),
    startedAt: ctx.now,
    status: 'Pending',
    desired,
    preferences: {
      minHealthy,
      maxHealthy: p.MaxHealthyPercentage,
      warmupSeconds: p.InstanceWarmup ?? group.graceSeconds,
      checkpoints,
      checkpointDelaySeconds: p.CheckpointDelay ?? 3600,
      skipMatching: p.SkipMatching ?? false,
      autoRollback: p.AutoRollback ?? false,
      alarms,
      bakeSeconds: p.BakeTime ?? 0,
    },
    target: desired ? resolved(ctx, desired) : original,
    original,
    toUpdate: 0,
    done: 0,
    failedReplacements: 0,
  };
  group.refreshes.push(refresh);
  wakeGroup(group, ctx.now);
  return { InstanceRefreshId: refresh.id };
}

function describeRefresh(ctx: HandlerContext, group: GroupRecord, refresh: RefreshRecord): InstanceRefresh {
  const pending = refresh.status === 'Pending';
  const toUpdate = pending ? toReplace(ctx, group, refresh).length : refresh.toUpdate;
  const percentage = pending ? 0 : Math.min(100, Math.floor((refresh.done * 100) / Math.max(1, refresh.toUpdate)));
  const live = { PercentageComplete: toUpdate === 0 && !pending ? 100 : percentage, InstancesToUpdate: Math.max(0, toUpdate - refresh.done) };
  const p = refresh.preferences;
  return {
    InstanceRefreshId: refresh.id,
    AutoScalingGroupName: group.name,
    Status: refresh.status,
    StatusReason: refresh.statusReason,
    StartTime: new Date(refresh.startedAt),
    EndTime: refresh.endedAt !== undefined ? new Date(refresh.endedAt) : undefined,
    PercentageComplete: live.PercentageComplete,
    InstancesToUpdate: live.InstancesToUpdate,
    ProgressDetails: { LivePoolProgress: live },
    Preferences: {
      MinHealthyPercentage: p.minHealthy,
      MaxHealthyPercentage: p.maxHealthy,
      InstanceWarmup: p.warmupSeconds,
      CheckpointPercentages: p.checkpoints.length ? p.checkpoints : undefined,
      CheckpointDelay: p.checkpointDelaySeconds,
      SkipMatching: p.skipMatching,
      AutoRollback: p.autoRollback,
      AlarmSpecification: p.alarms.length ? { Alarms: p.alarms } : undefined,
      BakeTime: p.bakeSeconds,
      ScaleInProtectedInstances: 'Ignore',
      StandbyInstances: 'Ignore',
    },
    DesiredConfiguration: refresh.desired ? { LaunchTemplate: launchTemplateOut(refresh.desired) } : undefined,
    RollbackDetails: refresh.rollback
      ? {
          RollbackReason: refresh.rollback.reason,
          RollbackStartTime: new Date(refresh.rollback.startedAt),
          PercentageCompleteOnRollback: progress(refresh),
          InstancesToUpdateOnRollback: Math.max(0, refresh.rollback.toUpdate - refresh.rollback.done),
        }
      : undefined,
    Strategy: 'Rolling',
  };
}

function describeInstanceRefreshes(ctx: HandlerContext, input: DescribeInstanceRefreshesCommandInput) {
  const group = findGroup(ctx, input.AutoScalingGroupName);
  let refreshes = [...group.refreshes].reverse();
  if (input.InstanceRefreshIds?.length) refreshes = refreshes.filter((r) => input.InstanceRefreshIds!.includes(r.id));
  return { InstanceRefreshes: refreshes.slice(0, input.MaxRecords ?? 50).map((r) => describeRefresh(ctx, group, r)) };
}

function noActiveRefresh(group: GroupRecord): never {
  return fail('ActiveInstanceRefreshNotFound', `No in progress or pending Instance Refresh found for Auto Scaling group ${group.name}`);
}

function cancelInstanceRefresh(ctx: HandlerContext, input: CancelInstanceRefreshCommandInput) {
  const group = findGroup(ctx, input.AutoScalingGroupName);
  const refresh = activeRefresh(group);
  // A rollback can be cancelled too; it then stops after its batch under way, as the refresh would.
  if (!refresh || refresh.status === 'Cancelling') noActiveRefresh(group);
  refresh.cancelRequestedAt = ctx.now;
  refresh.status = refresh.status === 'Pending' ? 'Cancelled' : 'Cancelling';
  if (refresh.status === 'Cancelled') refresh.endedAt = ctx.now;
  wakeGroup(group, ctx.now);
  return { InstanceRefreshId: refresh.id };
}

function rollbackInstanceRefresh(ctx: HandlerContext, input: RollbackInstanceRefreshCommandInput) {
  const group = findGroup(ctx, input.AutoScalingGroupName);
  const refresh = group.refreshes.find((r) => ACTIVE_REFRESH.includes(r.status) && r.status !== 'RollbackInProgress');
  if (!refresh) noActiveRefresh(group);
  if (!refresh.desired) {
    fail('IrreversibleInstanceRefresh', 'The rollback cannot be performed because the instance refresh does not specify a desired configuration.');
  }
  if (group.launchTemplate.version === '$Latest' || group.launchTemplate.version === '$Default') {
    fail('IrreversibleInstanceRefresh', `The rollback cannot be performed because the Auto Scaling group uses the ${group.launchTemplate.version} version of its launch template.`);
  }
  startRollback(ctx, group, refresh, 'Rollback started by a user request.');
  wakeGroup(group, ctx.now);
  return { InstanceRefreshId: refresh.id };
}

export const autoScalingHandlers: Record<string, Handler> = {
  CreateAutoScalingGroup: createAutoScalingGroup,
  DescribeAutoScalingGroups: describeAutoScalingGroups,
  UpdateAutoScalingGroup: updateAutoScalingGroup,
  SetDesiredCapacity: setDesiredCapacity,
  DeleteAutoScalingGroup: deleteAutoScalingGroup,
  AttachLoadBalancerTargetGroups: attachTargetGroups,
  DetachLoadBalancerTargetGroups: detachTargetGroups,
  CreateOrUpdateTags: createOrUpdateTags,
  DescribeScalingActivities: describeScalingActivities,
  StartInstanceRefresh: startInstanceRefresh,
  DescribeInstanceRefreshes: describeInstanceRefreshes,
  CancelInstanceRefresh: cancelInstanceRefresh,
  RollbackInstanceRefresh: rollbackInstanceRefresh,
  ...scalingHandlers,
};
