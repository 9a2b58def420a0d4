import { state, type HandlerContext } from './context.js';
import { instanceState, type InstanceRecord, type ListenerRecord, type TargetGroupRecord, type TargetRecord } from './world.js';

/**
 * A target's health in its target group, derived at any moment from timestamps: health checks start
 * when the target is registered, its instance runs and a listener uses the group; it is 'initial'
 * until interval × healthy threshold has passed, then 'healthy' (or, for an 'unhealthy-release'
 * image, 'unhealthy' after interval × unhealthy threshold); a deregistered target drains for the
 * deregistration delay and then is gone.
 */

export type TargetHealthState = 'initial' | 'healthy' | 'unhealthy' | 'unused' | 'draining';

export interface TargetHealthAt {
  state: TargetHealthState;
  reason?: string;
  description?: string;
}

/** The forward configuration a listener had at `at` (its first one before it existed: none). */
export function forwardAt(listener: ListenerRecord, at: number): ListenerRecord['forwards'][number]['targetGroups'] {
  let current: ListenerRecord['forwards'][number]['targetGroups'] = [];
  for (const forward of listener.forwards) if (forward.from <= at) current = forward.targetGroups;
  return current;
}

/** When a listener first forwarded to the group (weight 0 included): health checks need one. */
function inUseSince(ctx: HandlerContext, group: TargetGroupRecord): number | undefined {
  let since: number | undefined;
  for (const listener of state(ctx).listeners) {
    for (const forward of listener.forwards) {
      if (forward.targetGroups.some((t) => t.targetGroupArn === group.arn) && (since === undefined || forward.from < since)) since = forward.from;
    }
  }
  return since;
}

/** Whether any listener forwards (or forwarded) to the group: without one, ELB checks nothing. */
export function targetGroupInUse(ctx: HandlerContext, group: TargetGroupRecord): boolean {
  return inUseSince(ctx, group) !== undefined;
}

export function instanceOf(ctx: HandlerContext, id: string): InstanceRecord | undefined {
  return state(ctx).instances.find((instance) => instance.instanceId === id);
}

function checksFrom(ctx: HandlerContext, group: TargetGroupRecord, target: TargetRecord, instance: InstanceRecord): number | undefined {
  const since = inUseSince(ctx, group);
  return since === undefined ? undefined : Math.max(target.registeredAt, instance.runningAt, since);
}

function checkMs(ctx: HandlerContext, group: TargetGroupRecord, threshold: number): number {
  return group.healthCheck.intervalSeconds * threshold * ctx.timings.configSecondMs;
}

/** When the target passes its health checks: never (Infinity) for an unhealthy release or an unused group. */
export function healthyFrom(ctx: HandlerContext, group: TargetGroupRecord, target: TargetRecord): number {
  const instance = instanceOf(ctx, target.id);
  if (!instance || instance.release?.unhealthy) return Infinity;
  const from = checksFrom(ctx, group, target, instance);
  return from === undefined ? Infinity : from + checkMs(ctx, group, group.healthCheck.healthyThreshold);
}

/** When an unhealthy release's target is declared unhealthy (Infinity for a good one). */
export function unhealthyFrom(ctx: HandlerContext, group: TargetGroupRecord, target: TargetRecord): number {
  const instance = instanceOf(ctx, target.id);
  if (!instance?.release?.unhealthy) return Infinity;
  const from = checksFrom(ctx, group, target, instance);
  return from === undefined ? Infinity : from + checkMs(ctx, group, group.healthCheck.unhealthyThreshold);
}

/** The registration of `id` in force at `at`, draining ones included. */
export function registrationAt(ctx: HandlerContext, group: TargetGroupRecord, id: string, at: number): TargetRecord | undefined {
  const records = group.targets.filter((t) => t.id === id && t.registeredAt <= at && (t.deregisteredAt === undefined || at < t.deregisteredAt + ctx.timings.drainMs));
  return records.at(-1);
}

export function targetHealthAt(ctx: HandlerContext, group: TargetGroupRecord, target: TargetRecord, at: number): TargetHealthAt {
  if (target.deregisteredAt !== undefined && at >= target.deregisteredAt) {
    return { state: 'draining', reason: 'Target.DeregistrationInProgress', description: 'Target deregistration is in progress' };
  }
  const instance = instanceOf(ctx, target.id);
  const ec2State = instance ? instanceState(instance, at) : 'terminated';
  if (ec2State !== 'running' && ec2State !== 'pending') {
    return { state: 'unused', reason: 'Target.InvalidState', description: 'Target is in the stopped or terminated state' };
  }
  if (inUseSince(ctx, group) === undefined) {
    return { state: 'unused', reason: 'Target.NotInUse', description: 'Target group is not configured to receive traffic from the load balancer' };
  }
  if (at >= unhealthyFrom(ctx, group, target)) return { state: 'unhealthy', reason: 'Target.FailedHealthChecks', description: 'Health checks failed' };
  if (at >= healthyFrom(ctx, group, target)) return { state: 'healthy' };
  return { state: 'initial', reason: 'Elb.InitialHealthChecking', description: 'Initial health checks in progress' };
}

/** The instances a target group sends requests to at `at`: its healthy targets. */
export function servingTargets(ctx: HandlerContext, group: TargetGroupRecord, at: number): string[] {
  const ids = new Set<string>();
  for (const target of group.targets) {
    if (target.registeredAt > at || (target.deregisteredAt !== undefined && at >= target.deregisteredAt)) continue;
    if (targetHealthAt(ctx, group, target, at).state === 'healthy') ids.add(target.id);
  }
  return [...ids];
}
