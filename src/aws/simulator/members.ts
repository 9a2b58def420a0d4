/*
 * A group's members as Auto Scaling sees them: who belongs, in which lifecycle state, when a member
 * is ready or found unhealthy, and taking one out of service. Both the group engine (fleet.ts) and
 * the instance refresh (refresh.ts) read and retire members through here.
 */
import { state, type HandlerContext } from './context.js';
import { deregister } from './elbv2.js';
import { drainMs, healthyFrom, registrationAt, targetGroupInUse, unhealthyFrom } from './target-health.js';
import { nextUuid, type GroupRecord, type InstanceRecord, type TargetGroupRecord } from './world.js';

export type Lifecycle = 'Pending' | 'InService' | 'Terminating' | 'Terminated';

/** Every instance the group ever launched (those that left included, for metrics of past periods). */
export function membersOf(ctx: HandlerContext, group: GroupRecord): InstanceRecord[] {
  return state(ctx).instances.filter((instance) => instance.autoScaling?.groupArn === group.arn);
}

export function lifecycleAt(instance: InstanceRecord, at: number): Lifecycle {
  const membership = instance.autoScaling!;
  if (membership.leftAt !== undefined && at >= membership.leftAt) {
    return instance.terminatedAt !== undefined && at >= instance.terminatedAt ? 'Terminated' : 'Terminating';
  }
  return at < membership.inServiceAt ? 'Pending' : 'InService';
}

/** Members the group still counts: launched and not yet being terminated. */
export function activeMembers(ctx: HandlerContext, group: GroupRecord): InstanceRecord[] {
  return membersOf(ctx, group).filter((instance) => instance.autoScaling!.leftAt === undefined);
}

/** Members DescribeAutoScalingGroups lists: a terminated one drops out shortly after. */
export function listedMembers(ctx: HandlerContext, group: GroupRecord): InstanceRecord[] {
  return membersOf(ctx, group).filter(
    (instance) => instance.terminatedAt === undefined || instance.autoScaling!.leftAt === undefined || ctx.now < instance.terminatedAt + ctx.timings.scalingDelayMs,
  );
}

export function targetGroupsOf(ctx: HandlerContext, group: GroupRecord): TargetGroupRecord[] {
  return state(ctx).targetGroups.filter((tg) => group.targetGroupArns.includes(tg.arn));
}

export function activity(ctx: HandlerContext, group: GroupRecord, description: string, cause: string, status: 'Successful' | 'Failed' = 'Successful', durationMs = 0): void {
  const at = new Date(ctx.now).toISOString();
  group.activities.push({
    id: nextUuid(ctx.world, 'activity'),
    description,
    cause: `At ${at} ${cause}`,
    startedAt: ctx.now,
    endedAt: ctx.now + durationMs,
    status,
  });
  // AWS keeps six weeks of activities; a bounded list is enough here.
  if (group.activities.length > 100) group.activities.splice(0, group.activities.length - 100);
}

/**
 * When the instance's connections have drained from every target group it was deregistered from: a
 * scale-in, a refresh or a deletion deregisters a member first and terminates it only once it is
 * deregistered (the activity waits in WaitingForELBConnectionDraining), and a detached target group
 * stays `Removing` while ELB drains its instances (LoadBalancerTargetGroupState, Auto Scaling API
 * reference), so a group deleted right after a detach stays `Delete in progress` for the
 * deregistration delay. A target group no listener forwards to drains nothing.
 */
function drainedAt(ctx: HandlerContext, instance: InstanceRecord): number {
  let at = ctx.now;
  for (const tg of state(ctx).targetGroups.filter((tg) => targetGroupInUse(ctx, tg))) {
    for (const target of tg.targets.filter((t) => t.id === instance.instanceId && t.deregisteredAt !== undefined)) {
      at = Math.max(at, target.deregisteredAt! + drainMs(ctx, tg));
    }
  }
  return at;
}

/** Takes a member out of service: deregistered from the group's target groups, drained, then terminated. */
export function retire(ctx: HandlerContext, group: GroupRecord, instance: InstanceRecord, cause: string): void {
  instance.autoScaling!.leftAt = ctx.now;
  for (const tg of targetGroupsOf(ctx, group)) deregister(tg, [instance.instanceId], ctx.now);
  const waitMs = instance.terminatedAt === undefined ? drainedAt(ctx, instance) - ctx.now : 0;
  if (instance.terminatedAt === undefined) {
    instance.terminateRequestedAt = ctx.now + waitMs;
    instance.terminatedAt = ctx.now + waitMs + ctx.timings.terminateMs;
  }
  group.capacityChangedAt = ctx.now;
  activity(ctx, group, `Terminating EC2 instance: ${instance.instanceId}`, cause, 'Successful', waitMs + ctx.timings.terminateMs);
}

function graceMs(ctx: HandlerContext, group: GroupRecord): number {
  return group.graceSeconds * ctx.timings.configSecondMs;
}

/**
 * When the group's ELB health check finds the member unhealthy: its target failing after the grace
 * period. Auto Scaling does not act on a target unhealthy only inside it (HealthCheckGracePeriod).
 */
export function elbUnhealthyAt(ctx: HandlerContext, group: GroupRecord, instance: InstanceRecord): number {
  if (group.healthCheckType !== 'ELB') return Infinity;
  const graceEnd = instance.autoScaling!.inServiceAt + graceMs(ctx, group);
  let earliest = Infinity;
  for (const tg of targetGroupsOf(ctx, group)) {
    const target = registrationAt(ctx, tg, instance.instanceId, Infinity);
    if (!target || target.deregisteredAt !== undefined) continue;
    const at = Math.max(unhealthyFrom(ctx, tg, target), graceEnd);
    if (at < healthyFrom(ctx, tg, target)) earliest = Math.min(earliest, at);
  }
  return earliest;
}

/** When a member is InService, warmed up and healthy in every target group (Infinity: never). */
export function readyAt(ctx: HandlerContext, group: GroupRecord, instance: InstanceRecord, warmupMs: number): number {
  const inService = instance.autoScaling!.inServiceAt;
  let ready = inService + warmupMs;
  if (group.healthCheckType === 'ELB') {
    // A target group no listener uses checks nothing, so it holds nothing up.
    for (const tg of targetGroupsOf(ctx, group).filter((tg) => targetGroupInUse(ctx, tg))) {
      const target = registrationAt(ctx, tg, instance.instanceId, Infinity) ?? { id: instance.instanceId, port: tg.port, registeredAt: inService };
      ready = Math.max(ready, healthyFrom(ctx, tg, target));
    }
  }
  return ready;
}
