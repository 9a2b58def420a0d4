import { required, state, visibleImages, type HandlerContext } from './context.js';
import { fail } from './errors.js';
import { addInstance } from './ec2-instances.js';
import { resolveVersion } from './ec2-launch-templates.js';
import { register } from './elbv2.js';
import { activeMembers, activity, elbUnhealthyAt, membersOf, retire, targetGroupsOf } from './members.js';
import { stepRefresh, type LaunchConfig } from './refresh.js';
import { imageState, instanceState, type GroupRecord, type InstanceRecord } from './world.js';

/**
 * The Auto Scaling engine. A group acts only at moments its own records determine (a capacity change
 * plus the scaling delay, an instance going InService, a health check failing, a refresh batch being
 * ready…): each action returns the next such moment (`wakeAt`), and `settleFleet` runs every group's
 * due actions in time order up to the call's time, each at its own moment. So what the fleet looks
 * like depends only on the saved records and the time, never on how often anyone polled.
 */

export function findGroup(ctx: HandlerContext, name: string | undefined): GroupRecord {
  const wanted = required(name, 'AutoScalingGroupName');
  return state(ctx).groups.find((g) => g.name === wanted) ?? fail('ValidationError', `AutoScalingGroup name not found - AutoScalingGroup '${wanted}' not found`);
}

/** A group that may still be changed: one being deleted refuses, as AWS does. */
export function live(ctx: HandlerContext, name: string | undefined): GroupRecord {
  const group = findGroup(ctx, name);
  if (group.deleteRequestedAt !== undefined) fail('ValidationError', `AutoScalingGroup ${group.name} is pending delete.`);
  return group;
}

/** The group's own launch template, with $Latest / $Default resolved as of now. */
export function groupConfig(ctx: HandlerContext, group: GroupRecord): LaunchConfig | undefined {
  const spec = group.launchTemplate;
  const template = state(ctx).launchTemplates.find((t) => t.launchTemplateId === spec.launchTemplateId);
  const version = template && resolveVersion(template, spec.version);
  return version && { launchTemplateId: spec.launchTemplateId, launchTemplateName: spec.launchTemplateName, version: version.number };
}

export function wakeGroup(group: GroupRecord, at: number): void {
  group.wakeAt = group.wakeAt === undefined ? at : Math.min(group.wakeAt, at);
}

/** Something outside the groups changed (a mutating call): every group looks again now. */
export function wakeAll(ctx: HandlerContext): void {
  for (const group of state(ctx).groups) wakeGroup(group, ctx.now);
}

/** Runs the region's groups forward to ctx.now, each due action at its own moment, in time order; true if any acted. */
export function settleFleet(ctx: HandlerContext): boolean {
  for (let steps = 0; ; steps++) {
    if (steps > 100_000) throw new Error('the simulated fleet did not settle; a group keeps waking at the same moment');
    let due: GroupRecord | undefined;
    for (const group of state(ctx).groups) {
      if (group.wakeAt !== undefined && group.wakeAt <= ctx.now && (!due || group.wakeAt < due.wakeAt!)) due = group;
    }
    if (!due) return steps > 0;
    const at = due.wakeAt!;
    due.wakeAt = undefined;
    const next = act({ ...ctx, now: at }, due);
    if (next !== undefined) wakeGroup(due, next);
  }
}

/** Launches one instance from a launch template version; undefined (and a failed activity) when it cannot. */
function launch(ctx: HandlerContext, group: GroupRecord, config: LaunchConfig, cause: string, refreshId?: string): InstanceRecord | undefined {
  const template = state(ctx).launchTemplates.find((t) => t.launchTemplateId === config.launchTemplateId);
  const version = template?.versions.find((v) => v.number === config.version);
  const data = (version?.data ?? {}) as {
    ImageId?: string;
    InstanceType?: string;
    SecurityGroupIds?: string[];
    IamInstanceProfile?: { Arn?: string; Name?: string };
    UserData?: string;
    TagSpecifications?: { ResourceType?: string; Tags?: { Key?: string; Value?: string }[] }[];
  };
  const image = visibleImages(ctx).find((i) => i.imageId === data.ImageId);
  if (!version || !image || imageState(image, ctx.now) !== 'available') {
    const why = !version
      ? `The specified launch template version ${config.version} of ${config.launchTemplateName} does not exist.`
      : `The image id '[${data.ImageId ?? 'none'}]' does not exist or is not available.`;
    activity(ctx, group, `Launching a new EC2 instance. Status Reason: ${why} Launching EC2 instance failed.`, cause, 'Failed');
    return undefined;
  }
  const tags: Record<string, string> = {};
  for (const spec of data.TagSpecifications ?? []) {
    if (spec.ResourceType === 'instance') for (const tag of spec.Tags ?? []) tags[tag.Key ?? ''] = tag.Value ?? '';
  }
  for (const tag of group.tags) if (tag.propagate) tags[tag.key] = tag.value;
  tags['aws:autoscaling:groupName'] = group.name;
  const profile = data.IamInstanceProfile;
  const subnetId = group.subnets[group.launches++ % group.subnets.length];
  const instance = addInstance(ctx, {
    reservationId: '',
    imageId: image.imageId,
    instanceType: data.InstanceType ?? 't3.micro',
    subnetId,
    securityGroupIds: data.SecurityGroupIds ?? [],
    iamInstanceProfileArn: profile?.Arn ?? (profile?.Name ? `arn:aws:iam::${ctx.world.accountId}:instance-profile/${profile.Name}` : undefined),
    userData: data.UserData,
    shutdownBehavior: 'terminate',
    tags,
    volumeTags: {},
    outcome: 'success',
    scriptMs: 0,
    release: image.release,
    autoScaling: {
      group: group.name,
      groupArn: group.arn,
      launchTemplateId: config.launchTemplateId,
      launchTemplateName: config.launchTemplateName,
      version: config.version,
      inServiceAt: ctx.now + ctx.timings.bootMs + ctx.timings.inServiceMs,
      refreshId,
    },
  });
  instance.reservationId = instance.instanceId.replace(/^i-/, 'r-');
  activity(ctx, group, `Launching a new EC2 instance: ${instance.instanceId}`, cause, 'Successful', ctx.timings.bootMs + ctx.timings.inServiceMs);
  return instance;
}

/** Which members go first on scale-in: unhealthy, then another launch template version than `keep`, then the newest. */
function scaleInOrder(instances: InstanceRecord[], keep: LaunchConfig | undefined): InstanceRecord[] {
  const rank = (i: InstanceRecord) =>
    (i.autoScaling!.unhealthyAt !== undefined ? 0 : 2) +
    (keep && (i.autoScaling!.launchTemplateId !== keep.launchTemplateId || i.autoScaling!.version !== keep.version) ? 0 : 1);
  return [...instances].sort((a, b) => rank(a) - rank(b) || b.launchedAt - a.launchedAt);
}

/** Everything due for the group at ctx.now; returns when it must look again. */
function act(ctx: HandlerContext, group: GroupRecord): number | undefined {
  const now = ctx.now;
  const wakes: number[] = [];

  // InService: registered in the group's target groups.
  for (const instance of activeMembers(ctx, group)) {
    const membership = instance.autoScaling!;
    if (membership.registered) continue;
    if (membership.inServiceAt <= now) {
      if (instanceState(instance, membership.inServiceAt) === 'running') {
        for (const tg of targetGroupsOf(ctx, group)) register(ctx, tg, [{ Id: instance.instanceId }], membership.inServiceAt);
      }
      membership.registered = true;
    } else {
      wakes.push(membership.inServiceAt);
    }
  }

  // Health: instances stopped or terminated behind the group's back, and failed ELB health checks.
  for (const instance of activeMembers(ctx, group)) {
    const membership = instance.autoScaling!;
    const gone = instance.terminateRequestedAt ?? instance.stopRequestedAt;
    if (gone !== undefined && gone <= now) {
      membership.unhealthyAt = gone;
      retire(ctx, group, instance, `an instance was taken out of service in response to an EC2 health check indicating it has been terminated or stopped.`);
      continue;
    }
    const unhealthy = elbUnhealthyAt(ctx, group, instance);
    if (unhealthy <= now) {
      membership.unhealthyAt = unhealthy;
      retire(ctx, group, instance, `an instance was taken out of service in response to an ELB system health check failure.`);
    } else if (unhealthy < Infinity) {
      wakes.push(unhealthy);
    }
  }

  const refresh = stepRefresh(ctx, group);
  if (refresh.wakeAt !== undefined) wakes.push(refresh.wakeAt);

  // Capacity: the desired count (plus a refresh's launch-before-terminate surge), a scaling delay after a change.
  const actsAt = group.capacityChangedAt + ctx.timings.scalingDelayMs;
  const config = refresh.config ?? groupConfig(ctx, group);
  const active = activeMembers(ctx, group);
  const wanted = group.desired + refresh.surge;
  if (active.length !== wanted && now < actsAt) {
    wakes.push(actsAt);
  } else if (active.length < wanted && config) {
    const cause = `an instance was started in response to a difference between desired and actual capacity, increasing the capacity from ${active.length} to ${wanted}.`;
    for (let n = active.length; n < wanted; n++) {
      const instance = launch(ctx, group, config, cause, refresh.refreshId);
      if (!instance) {
        // A failed launch is tried again after the next scaling delay, as AWS retries its activity.
        group.capacityChangedAt = now;
        wakes.push(now + ctx.timings.scalingDelayMs);
        break;
      }
      refresh.onLaunch?.(instance);
      wakes.push(instance.autoScaling!.inServiceAt);
    }
  } else if (active.length > wanted) {
    const cause = `an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from ${active.length} to ${wanted}.`;
    for (const instance of scaleInOrder(active, config).slice(0, active.length - wanted)) retire(ctx, group, instance, cause);
  }

  // Terminations finishing: a deleting group goes once its last instance has.
  const terminating = membersOf(ctx, group).filter((i) => i.autoScaling!.leftAt !== undefined && i.terminatedAt !== undefined && i.terminatedAt > now);
  for (const instance of terminating) wakes.push(instance.terminatedAt!);
  if (group.deleteRequestedAt !== undefined && activeMembers(ctx, group).length === 0 && terminating.length === 0) {
    const region = state(ctx);
    region.groups = region.groups.filter((g) => g !== group);
    return undefined;
  }
  const next = wakes.filter((at) => at > now);
  return next.length ? Math.min(...next) : undefined;
}
