import type { AutoScalingGroup, InstanceRefresh } from '@aws-sdk/client-auto-scaling';
import type { AwsClients } from './clients.js';
import { describeAwsError, errorCode } from './errors.js';

/*
 * The fleet, as Auto Scaling and EC2 launch templates see it: the live group, the canary group
 * beside it, launch template versions, and instance refreshes. Thin adapters over the SDK; the
 * pipelines decide what to do with them.
 */

/** What the canary copies from the live group, and what a promotion or rollback needs to know of it. */
export interface LiveGroup {
  name: string;
  launchTemplateId: string;
  launchTemplateName: string;
  /** A number, as Bakery always pins one. */
  launchTemplateVersion: string;
  subnets: string;
  targetGroups: string[];
  healthCheckType: string;
  healthCheckGracePeriod: number;
  min: number;
  max: number;
  desired: number;
  /** `propagate`: PropagateAtLaunch (absent in a state saved before it was kept: propagated, as then). */
  tags: { key: string; value: string; propagate?: boolean }[];
}

export async function describeGroup(aws: AwsClients, region: string, name: string): Promise<AutoScalingGroup | undefined> {
  const result = await (await aws.autoScaling(region)).describeAutoScalingGroups({ AutoScalingGroupNames: [name] });
  return result.AutoScalingGroups?.find((group) => group.AutoScalingGroupName === name);
}

/** Groups Bakery made for an operation, found by tag (a cleanup cut short finds them again). */
export async function groupsOfOperation(aws: AwsClients, region: string, operationId: string): Promise<AutoScalingGroup[]> {
  const result = await (await aws.autoScaling(region)).describeAutoScalingGroups({ Filters: [{ Name: 'tag:bakery:operation', Values: [operationId] }] });
  return result.AutoScalingGroups ?? [];
}

/** The live group as a canary needs it; its launch template version resolved to a number. */
export async function readLiveGroup(aws: AwsClients, region: string, name: string): Promise<LiveGroup | undefined> {
  const group = await describeGroup(aws, region, name);
  const template = group?.LaunchTemplate ?? group?.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;
  if (!group || !template?.LaunchTemplateId) return undefined;
  const version = await templateVersion(aws, region, template.LaunchTemplateId, template.Version ?? '$Default');
  return {
    name,
    launchTemplateId: template.LaunchTemplateId,
    launchTemplateName: template.LaunchTemplateName ?? version?.LaunchTemplateName ?? '',
    launchTemplateVersion: String(version?.VersionNumber ?? template.Version ?? '$Default'),
    subnets: group.VPCZoneIdentifier ?? '',
    targetGroups: group.TargetGroupARNs ?? [],
    healthCheckType: group.HealthCheckType ?? 'EC2',
    healthCheckGracePeriod: group.HealthCheckGracePeriod ?? 300,
    min: group.MinSize ?? 0,
    max: group.MaxSize ?? 0,
    desired: group.DesiredCapacity ?? 0,
    // aws: tags are AWS's own and cannot be set by anyone else.
    tags: (group.Tags ?? []).filter((tag) => tag.Key && !tag.Key.startsWith('aws:')).map((tag) => ({ key: tag.Key!, value: tag.Value ?? '', propagate: tag.PropagateAtLaunch ?? false })),
  };
}

async function templateVersion(aws: AwsClients, region: string, templateId: string, version: string) {
  const result = await (await aws.ec2(region)).describeLaunchTemplateVersions({ LaunchTemplateId: templateId, Versions: [version] });
  return result.LaunchTemplateVersions?.[0];
}

/**
 * The image each named group launches (its launch template version's), for many groups at once: one
 * DescribeAutoScalingGroups per 100 names, one DescribeLaunchTemplateVersions per launch template
 * (every version its groups use). A group that is missing, or whose template cannot be read, gets why.
 */
export async function imagesOfGroups(aws: AwsClients, region: string, names: string[]): Promise<Map<string, string | { error: string }>> {
  const groups = new Map<string, AutoScalingGroup>();
  for (let start = 0; start < names.length; start += 100) {
    const pages = (await aws.autoScaling(region)).paginateDescribeAutoScalingGroups({ AutoScalingGroupNames: names.slice(start, start + 100) }, { pageSize: 100 });
    for await (const page of pages) for (const group of page.AutoScalingGroups ?? []) if (group.AutoScalingGroupName) groups.set(group.AutoScalingGroupName, group);
  }
  const specs = new Map<string, { templateId: string; version: string }>();
  const templates = new Map<string, Set<string>>();
  for (const [name, group] of groups) {
    const template = group.LaunchTemplate ?? group.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;
    if (!template?.LaunchTemplateId) continue;
    const version = template.Version ?? '$Default';
    specs.set(name, { templateId: template.LaunchTemplateId, version });
    templates.set(template.LaunchTemplateId, (templates.get(template.LaunchTemplateId) ?? new Set()).add(version));
  }
  const images = new Map<string, string | { error: string }>();
  for (const [templateId, versions] of templates) {
    try {
      const { LaunchTemplateVersions: found = [] } = await (await aws.ec2(region)).describeLaunchTemplateVersions({ LaunchTemplateId: templateId, Versions: [...versions] });
      const latest = Math.max(...found.map((v) => v.VersionNumber ?? 0));
      for (const version of versions) {
        const match = found.find((v) => (version === '$Latest' ? v.VersionNumber === latest : version === '$Default' ? v.DefaultVersion : String(v.VersionNumber) === version));
        images.set(`${templateId} ${version}`, match?.LaunchTemplateData?.ImageId ?? { error: `launch template ${match?.LaunchTemplateName ?? templateId} version ${version} names no image` });
      }
    } catch (error) {
      for (const version of versions) images.set(`${templateId} ${version}`, { error: describeAwsError(error) });
    }
  }
  return new Map(
    names.map((name) => {
      const spec = specs.get(name);
      if (!groups.has(name)) return [name, { error: `the live group ${name} does not exist in ${region}` }];
      if (!spec) return [name, { error: `the live group ${name} has no launch template` }];
      return [name, images.get(`${spec.templateId} ${spec.version}`)!];
    }),
  );
}

/** The AMI a launch template version launches. */
export async function imageOfTemplateVersion(aws: AwsClients, region: string, templateId: string, version: string): Promise<string | undefined> {
  return (await templateVersion(aws, region, templateId, version))?.LaunchTemplateData?.ImageId;
}

/**
 * A new numbered version of the live launch template with only the image changed. The client token
 * makes a repeat (after a crash) return the same version instead of making another.
 */
export async function createTemplateVersion(
  aws: AwsClients,
  region: string,
  input: { templateId: string; sourceVersion: string; ami: string; description: string; clientToken: string },
): Promise<string> {
  const result = await (await aws.ec2(region)).createLaunchTemplateVersion({
    LaunchTemplateId: input.templateId,
    SourceVersion: input.sourceVersion,
    VersionDescription: input.description.slice(0, 255),
    LaunchTemplateData: { ImageId: input.ami },
    ClientToken: input.clientToken.slice(0, 128),
  });
  const number = result.LaunchTemplateVersion?.VersionNumber;
  if (number === undefined) throw new Error(`CreateLaunchTemplateVersion on ${input.templateId} returned no version number`);
  return String(number);
}

/**
 * A group beside the live one: its subnets, health check and tags, a pinned launch template version,
 * and Bakery's tags so cleanup finds it. Creating it again (a resumed step) is not an error; a group
 * of that name made by anyone else, or still being deleted, is.
 */
export async function createGroup(
  aws: AwsClients,
  region: string,
  input: { name: string; live: LiveGroup; launchTemplateVersion: string; size: number; targetGroups: string[]; tags: Record<string, string> },
): Promise<void> {
  const tags = [...input.live.tags.filter((tag) => !tag.key.startsWith('bakery:')), ...Object.entries(input.tags).map(([key, value]) => ({ key, value, propagate: true }))];
  try {
    await (await aws.autoScaling(region)).createAutoScalingGroup({
      AutoScalingGroupName: input.name,
      LaunchTemplate: { LaunchTemplateId: input.live.launchTemplateId, Version: input.launchTemplateVersion },
      MinSize: input.size,
      MaxSize: input.size,
      DesiredCapacity: input.size,
      VPCZoneIdentifier: input.live.subnets,
      TargetGroupARNs: input.targetGroups,
      HealthCheckType: input.live.healthCheckType,
      HealthCheckGracePeriod: input.live.healthCheckGracePeriod,
      Tags: tags.map((tag) => ({ Key: tag.key, Value: tag.value, PropagateAtLaunch: tag.propagate ?? true, ResourceId: input.name, ResourceType: 'auto-scaling-group' })),
    });
  } catch (error) {
    if (errorCode(error) !== 'AlreadyExistsFault') throw error;
    // The name is taken: ours only when the group there was made by this very operation (a resumed step).
    const existing = await describeGroup(aws, region, input.name);
    if (existing?.Status === 'Delete in progress') throw new Error(`a group named ${input.name} is still being deleted; its name is taken until its instances are gone`);
    const owner = existing?.Tags?.find((tag) => tag.Key === 'bakery:operation')?.Value;
    if (!existing || owner === undefined || owner !== input.tags['bakery:operation']) throw new Error(`a group named ${input.name} already exists and is not this operation's`);
  }
}

export async function resizeGroup(aws: AwsClients, region: string, name: string, size: { min: number; max: number; desired: number }): Promise<void> {
  await (await aws.autoScaling(region)).updateAutoScalingGroup({ AutoScalingGroupName: name, MinSize: size.min, MaxSize: size.max, DesiredCapacity: size.desired });
}

export async function attachTargetGroups(aws: AwsClients, region: string, group: string, targetGroups: string[]): Promise<void> {
  if (targetGroups.length === 0) return;
  await (await aws.autoScaling(region)).attachLoadBalancerTargetGroups({ AutoScalingGroupName: group, TargetGroupARNs: targetGroups });
}

export async function detachTargetGroups(aws: AwsClients, region: string, group: string, targetGroups: string[]): Promise<void> {
  if (targetGroups.length === 0) return;
  await (await aws.autoScaling(region)).detachLoadBalancerTargetGroups({ AutoScalingGroupName: group, TargetGroupARNs: targetGroups });
}

/** Deletes a group and its instances; one already gone (or going) is fine. */
async function deleteGroup(aws: AwsClients, region: string, name: string): Promise<void> {
  try {
    await (await aws.autoScaling(region)).deleteAutoScalingGroup({ AutoScalingGroupName: name, ForceDelete: true });
  } catch (error) {
    if (errorCode(error) === 'ValidationError' && /not found|does not exist/i.test((error as Error).message)) return;
    if (errorCode(error) === 'ScalingActivityInProgressFault' || errorCode(error) === 'ResourceInUseFault') return; // already being deleted
    throw error;
  }
}

/** Takes a group out in the order that never drops a request: out of its target groups, scaled to zero, deleted. */
export async function removeGroup(aws: AwsClients, region: string, group: AutoScalingGroup): Promise<void> {
  const name = group.AutoScalingGroupName!;
  await detachTargetGroups(aws, region, name, group.TargetGroupARNs ?? []);
  await resizeGroup(aws, region, name, { min: 0, max: 0, desired: 0 });
  await deleteGroup(aws, region, name);
}

/** Removes the group by name unless it is gone or going already (a resumed step, a removal by hand); whether it did. */
export async function removeGroupNamed(aws: AwsClients, region: string, name: string): Promise<boolean> {
  const group = await describeGroup(aws, region, name);
  if (!group || group.Status === 'Delete in progress') return false;
  await removeGroup(aws, region, group);
  return true;
}

/** How the group's instances are getting on: in service and healthy per Auto Scaling. */
export function inService(group: AutoScalingGroup): string[] {
  return (group.Instances ?? [])
    .filter((instance) => instance.LifecycleState === 'InService' && instance.HealthStatus === 'Healthy' && instance.InstanceId)
    .map((instance) => instance.InstanceId!);
}

export interface RefreshPlan {
  group: string;
  templateId: string;
  version: string;
  minHealthyPercent: number;
  maxHealthyPercent: number;
  warmupSeconds: number;
  checkpoints: number[];
  checkpointDelaySeconds: number;
  alarms: string[];
  /** Let AWS return to the group's own template if the refresh fails or an alarm fires. Off for rollbacks, whose alarms may be the reason for them. */
  autoRollback: boolean;
}

/**
 * Starts an instance refresh to a pinned launch template version, leaving the group's own template
 * as it is, so AWS's auto-rollback has the old one to return to. A refresh already running to this
 * very version (a resumed step) is adopted instead of failing.
 */
export async function startRefresh(aws: AwsClients, region: string, plan: RefreshPlan): Promise<string> {
  try {
    const result = await (await aws.autoScaling(region)).startInstanceRefresh({
      AutoScalingGroupName: plan.group,
      Strategy: 'Rolling',
      DesiredConfiguration: { LaunchTemplate: { LaunchTemplateId: plan.templateId, Version: plan.version } },
      Preferences: {
        MinHealthyPercentage: plan.minHealthyPercent,
        MaxHealthyPercentage: plan.maxHealthyPercent,
        InstanceWarmup: plan.warmupSeconds,
        SkipMatching: true,
        AutoRollback: plan.autoRollback,
        ...(plan.checkpoints.length > 0 ? { CheckpointPercentages: plan.checkpoints, CheckpointDelay: plan.checkpointDelaySeconds } : {}),
        ...(plan.alarms.length > 0 ? { AlarmSpecification: { Alarms: plan.alarms } } : {}),
      },
    });
    if (!result.InstanceRefreshId) throw new Error(`StartInstanceRefresh on ${plan.group} returned no refresh id`);
    return result.InstanceRefreshId;
  } catch (error) {
    if (errorCode(error) !== 'InstanceRefreshInProgressFault') throw error;
    const active = (await describeRefreshes(aws, region, plan.group)).find(
      (refresh) => isActive(refresh) && refresh.DesiredConfiguration?.LaunchTemplate?.Version === plan.version,
    );
    if (!active?.InstanceRefreshId) throw error;
    return active.InstanceRefreshId;
  }
}

export async function describeRefreshes(aws: AwsClients, region: string, group: string, ids?: string[]): Promise<InstanceRefresh[]> {
  const result = await (await aws.autoScaling(region)).describeInstanceRefreshes({ AutoScalingGroupName: group, InstanceRefreshIds: ids });
  return result.InstanceRefreshes ?? [];
}

export const isActive = (refresh: InstanceRefresh): boolean =>
  ['Pending', 'InProgress', 'Cancelling', 'RollbackInProgress', 'Baking'].includes(refresh.Status ?? '');

/**
 * Undoes a refresh under way: AWS's own rollback where it allows one (the old instances come back
 * from the group's unchanged template), else a cancel. Says which it did, or that nothing was running.
 */
export async function undoRefresh(aws: AwsClients, region: string, group: string): Promise<'rolled-back' | 'cancelled' | 'none'> {
  try {
    await (await aws.autoScaling(region)).rollbackInstanceRefresh({ AutoScalingGroupName: group });
    return 'rolled-back';
  } catch (error) {
    if (errorCode(error) === 'ActiveInstanceRefreshNotFoundFault') return 'none';
    if (errorCode(error) !== 'IrreversibleInstanceRefreshFault') throw error;
  }
  try {
    await (await aws.autoScaling(region)).cancelInstanceRefresh({ AutoScalingGroupName: group });
    return 'cancelled';
  } catch (error) {
    if (errorCode(error) === 'ActiveInstanceRefreshNotFoundFault') return 'none';
    throw error;
  }
}
