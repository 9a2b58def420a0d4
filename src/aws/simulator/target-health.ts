import { state, type HandlerContext } from './context.js';
import { instanceState, type InstanceRecord, type ListenerRecord, type TargetGroupRecord, type TargetRecord } from './world.js';

/**
 * A target's health in its target group, derived at any moment from timestamps: health checks start
 * when the target is registered, its instance runs and a listener uses the group; it is 'initial'
 * until interval × healthy threshold has passed, then 'healthy' (or, for an 'unhealthy-release'
 * image, 'unhealthy' after interval × unhealthy threshold). A 'slow-start' image fails its checks
 * until its app answers: 'unhealthy' once interval × unhealthy threshold has passed before that,
 * then 'healthy' interval × healthy threshold after it. A deregistered target drains for the
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

/** When the instance's app first answers a health check: once it runs, or later for a slow start. */
function answersFrom(ctx: HandlerContext, instance: InstanceRecord): number {
  return instance.runningAt + (instance.release?.startSeconds ?? 0) * ctx.timings.configSecondMs;
}

/** When the target passes its health checks: never (Infinity) for an unhealthy release or an unused group. */
export function healthyFrom(ctx: HandlerContext, group: TargetGroupRecord, target: TargetRecord): number {
  const instance = instanceOf(ctx, target.id);
  if (!instance || instance.release?.unhealthy) return Infinity;
  const from = checksFrom(ctx, group, target, instance);
  return from === undefined ? Infinity : Math.max(from, answersFrom(ctx, instance)) + checkMs(ctx, group, group.healthCheck.healthyThreshold);
}

/**
 * When the target is declared unhealthy (Infinity for one that never is): an unhealthy release's for
 * good, a slow start's until healthyFrom, when enough checks fail before its app answers.
 */
export function unhealthyFrom(ctx: HandlerContext, group: TargetGroupRecord, target: TargetRecord): number {
  const instance = instanceOf(ctx, target.id);
  if (!instance) return Infinity;
  const from = checksFrom(ctx, group, target, instance);
  if (from === undefined) return Infinity;
  const failed = from + checkMs(ctx, group, group.healthCheck.unhealthyThreshold);
  return instance.release?.unhealthy || failed < answersFrom(ctx, instance) ? failed : Infinity;
}

/** ELB's default deregistration delay (target group attribute deregistration_delay.timeout_seconds). */
export const DEFAULT_DEREGISTRATION_DELAY_SECONDS = 300;

/**
 * How long a deregistered target of the group stays `draining`: its deregistration delay, the whole of
 * it (ELB ends a drain early when a target has no connection left; the simulator keeps it deterministic).
 */
export function drainMs(ctx: HandlerContext, group: TargetGroupRecord): number {
  return (group.deregistrationDelaySeconds ?? DEFAULT_DEREGISTRATION_DELAY_SECONDS) * ctx.timings.configSecondMs;
}

/** Whether the registration is listed at `at`: registered, and not yet drained out. */
export function listedAt(ctx: HandlerContext, group: TargetGroupRecord, target: TargetRecord, at: number): boolean {
  return target.registeredAt <= at && (target.deregisteredAt === undefined || at < target.deregisteredAt + drainMs(ctx, group));
}

/** The registration of `id` in force at `at`, draining ones included. */
export function registrationAt(ctx: HandlerContext, group: TargetGroupRecord, id: string, at: number): TargetRecord | undefined {
  return group.targets.filter((t) => t.id === id && listedAt(ctx, group, t, at)).at(-1);
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
  if (at >= healthyFrom(ctx, group, target)) return { state: 'healthy' };
  // ELB's code for a target that refuses the connection or answers malformed (TargetHealth, ELB API reference).
  if (at >= unhealthyFrom(ctx, group, target)) return { state: 'unhealthy', reason: 'Target.FailedHealthChecks', description: 'Health checks failed' };
  return { state: 'initial', reason: 'Elb.InitialHealthChecking', description: 'Initial health checks in progress' };
}

/**
 * The instances a target group sends requests to at `at`: its healthy targets; when every registered
 * target is unhealthy, all of them, as ELB fails open ("If a target group contains only unhealthy
 * registered targets, the load balancer routes requests to all those targets", ALB health checks).
 * None at all: the load balancer answers 503 itself.
 */
export function servingTargets(ctx: HandlerContext, group: TargetGroupRecord, at: number): string[] {
  const states = new Map<string, TargetHealthState>();
  for (const target of group.targets) {
    if (target.registeredAt > at || (target.deregisteredAt !== undefined && at >= target.deregisteredAt)) continue;
    states.set(target.id, targetHealthAt(ctx, group, target, at).state);
  }
  const healthy = [...states].filter(([, state]) => state === 'healthy').map(([id]) => id);
  if (healthy.length > 0 || states.size === 0) return healthy;
  return [...states.values()].every((state) => state === 'unhealthy') ? [...states.keys()] : [];
}
