import { alarmStateAt } from './alarms.js';
import { activeMembers, membersOf, readyAt, retire } from './members.js';
import { state, type HandlerContext } from './context.js';
import type { GroupRecord, InstanceRecord, RefreshRecord, RefreshStatus } from './world.js';

/**
 * Instance refresh, one step at a time inside the fleet engine (fleet.ts): replaces the group's
 * instances in batches within the min/max healthy bounds, waits for each batch to be InService,
 * healthy and warmed up, honours checkpoints and bake time, watches the refresh's alarms, and on
 * success makes the desired configuration the group's own, as AWS does. A rollback is the same
 * machinery aimed back at the group's original launch template version.
 */

export interface LaunchConfig {
  launchTemplateId: string;
  launchTemplateName: string;
  version: number;
}

/** What the refresh asks of this step: extra capacity, what to launch, when to look again. */
export interface RefreshStep {
  surge: number;
  config?: LaunchConfig;
  refreshId?: string;
  wakeAt?: number;
  onLaunch?: (instance: InstanceRecord) => void;
}

export const ACTIVE_REFRESH: RefreshStatus[] = ['Pending', 'InProgress', 'Cancelling', 'RollbackInProgress', 'Baking'];

/** Replacements failing their health checks this often fail the refresh (or start its rollback). */
const FAILED_REPLACEMENTS_LIMIT = 3;

export function activeRefresh(group: GroupRecord): RefreshRecord | undefined {
  return group.refreshes.find((refresh) => ACTIVE_REFRESH.includes(refresh.status));
}

function matches(instance: InstanceRecord, config: LaunchConfig): boolean {
  return instance.autoScaling!.launchTemplateId === config.launchTemplateId && instance.autoScaling!.version === config.version;
}

/** The members this refresh (or its rollback) still has to replace. */
export function toReplace(ctx: HandlerContext, group: GroupRecord, refresh: RefreshRecord): InstanceRecord[] {
  return activeMembers(ctx, group).filter((instance) => {
    if (refresh.rollback || refresh.preferences.skipMatching) return !matches(instance, refresh.target);
    return instance.autoScaling!.refreshId !== refresh.id;
  });
}

function secondsMs(ctx: HandlerContext, seconds: number): number {
  return seconds * ctx.timings.configSecondMs;
}

function finish(ctx: HandlerContext, refresh: RefreshRecord, status: RefreshStatus, reason?: string): void {
  refresh.status = status;
  refresh.statusReason = reason;
  refresh.endedAt = ctx.now;
  refresh.batch = undefined;
  refresh.waitUntil = undefined;
}

export function startRollback(ctx: HandlerContext, group: GroupRecord, refresh: RefreshRecord, reason: string): void {
  refresh.status = 'RollbackInProgress';
  refresh.statusReason = reason;
  refresh.target = refresh.original;
  refresh.batch = undefined;
  refresh.waitUntil = undefined;
  refresh.rollback = { reason, startedAt: ctx.now, toUpdate: 0, done: 0 };
  refresh.rollback.toUpdate = toReplace(ctx, group, refresh).length;
  // Replacements that failed before the rollback do not count against it.
  refresh.failedReplacements = membersOf(ctx, group).filter((i) => i.autoScaling!.refreshId === refresh.id && i.autoScaling!.unhealthyAt !== undefined).length;
}

/** A failure: rolled back when the refresh asked for it (true: it goes on), else Failed (RollbackFailed during a rollback). */
function failRefresh(ctx: HandlerContext, group: GroupRecord, refresh: RefreshRecord, reason: string): boolean {
  if (!refresh.rollback && refresh.preferences.autoRollback && refresh.desired) {
    startRollback(ctx, group, refresh, reason);
    return true;
  }
  finish(ctx, refresh, refresh.rollback ? 'RollbackFailed' : 'Failed', reason);
  return false;
}

/** The next moment a CloudWatch period becomes visible, when the refresh's alarms may change. */
function nextAlarmLook(ctx: HandlerContext, alarms: string[]): number {
  const periods = state(ctx).alarms.filter((a) => alarms.includes(a.name)).map((a) => a.periodSeconds * 1000);
  const period = Math.min(60_000, ...periods);
  return (Math.floor((ctx.now - ctx.timings.metricDelayMs) / period) + 1) * period + ctx.timings.metricDelayMs;
}

/**
 * How many instances the next batch replaces, and whether it launches first (a surge above the
 * desired capacity, when MaxHealthyPercentage allows it) or terminates first (never below
 * MinHealthyPercentage of healthy instances, counting only instances ready now; 0 means wait for
 * the ones still warming up). With 100 % and no room above, one at a time, as AWS does.
 */
function batchSize(group: GroupRecord, refresh: RefreshRecord, active: number, ready: number, remainingNotReady: number, remaining: number): { size: number; surge: boolean } {
  const desired = Math.max(group.desired, 1);
  const { minHealthy, maxHealthy } = refresh.preferences;
  const keep = Math.ceil((desired * minHealthy) / 100);
  const room = maxHealthy === undefined ? 0 : Math.floor((desired * maxHealthy) / 100) - active;
  if (room > 0) return { size: Math.min(remaining, room), surge: true };
  const size = Math.min(remaining, remainingNotReady + Math.max(0, ready - keep));
  if (size > 0) return { size, surge: false };
  // Below capacity or still warming up: wait. Full and healthy but with no margin: one at a time.
  return { size: ready < active || active < desired ? 0 : 1, surge: maxHealthy !== undefined };
}

export function stepRefresh(ctx: HandlerContext, group: GroupRecord): RefreshStep {
  const refresh = activeRefresh(group);
  if (!refresh) return { surge: 0 };
  const now = ctx.now;
  const step = (wakeAt?: number): RefreshStep => {
    const batch = refresh.batch;
    const launching = ACTIVE_REFRESH.includes(refresh.status);
    return {
      surge: batch && launching ? batch.surge : 0,
      config: launching ? refresh.target : undefined,
      refreshId: refresh.id,
      wakeAt,
      onLaunch: (instance) => refresh.batch?.launched.push(instance.instanceId),
    };
  };

  if (refresh.status === 'Pending') {
    const startsAt = refresh.startedAt + ctx.timings.refreshStartMs;
    if (now < startsAt) return step(startsAt);
    refresh.status = 'InProgress';
    refresh.toUpdate = toReplace(ctx, group, refresh).length;
  }

  const wakes: number[] = [];
  const alarms = refresh.preferences.alarms;
  if ((refresh.status === 'InProgress' || refresh.status === 'Baking') && alarms.length) {
    const firing = alarms.find((name) => alarmStateAt(ctx, name, now) === 'ALARM');
    if (firing) {
      if (!failRefresh(ctx, group, refresh, `The instance refresh was stopped because alarm ${firing} is in ALARM state.`)) return { surge: 0 };
    } else {
      wakes.push(nextAlarmLook(ctx, alarms));
    }
  }

  const failed = membersOf(ctx, group).filter((i) => i.autoScaling!.refreshId === refresh.id && i.autoScaling!.unhealthyAt !== undefined);
  if (refresh.batch && failed.length - refresh.failedReplacements >= FAILED_REPLACEMENTS_LIMIT) {
    refresh.failedReplacements = failed.length;
    if (!failRefresh(ctx, group, refresh, `${FAILED_REPLACEMENTS_LIMIT} replacement instances failed their health checks.`)) return { surge: 0 };
  }

  const warmupMs = secondsMs(ctx, refresh.preferences.warmupSeconds);
  const batch = refresh.batch;
  if (batch) {
    const launched = activeMembers(ctx, group).filter((i) => batch.launched.includes(i.instanceId));
    const ready = launched.filter((i) => readyAt(ctx, group, i, warmupMs) <= now);
    if (ready.length < batch.replacements) {
      for (const instance of launched) {
        const at = readyAt(ctx, group, instance, warmupMs);
        if (at > now && at < Infinity) wakes.push(at);
      }
      return step(wakes.length ? Math.min(...wakes) : undefined);
    }
    // The batch is in: with a surge, the old instances it stood in for go now.
    if (batch.surge) {
      const old = toReplace(ctx, group, refresh)
        .filter((i) => !batch.launched.includes(i.instanceId))
        .sort((a, b) => a.launchedAt - b.launchedAt);
      for (const instance of old.slice(0, batch.surge)) retire(ctx, group, instance, `an instance was taken out of service in response to an instance refresh.`);
    }
    const before = progress(refresh);
    if (refresh.rollback) refresh.rollback.done += batch.retire;
    else refresh.done += batch.retire;
    refresh.batch = undefined;
    const after = progress(refresh);
    const checkpoint = refresh.rollback ? undefined : refresh.preferences.checkpoints.find((p) => before < p && p <= after && p < 100);
    if (checkpoint !== undefined) {
      refresh.waitUntil = now + secondsMs(ctx, refresh.preferences.checkpointDelaySeconds);
      refresh.statusReason = `Waiting for a checkpoint: ${checkpoint}% of the instances were replaced.`;
    }
  }

  if (refresh.waitUntil !== undefined) {
    if (now < refresh.waitUntil) return step(Math.min(refresh.waitUntil, ...wakes));
    refresh.waitUntil = undefined;
    refresh.statusReason = undefined;
    if (refresh.status === 'Baking') {
      finish(ctx, refresh, 'Successful');
      if (refresh.desired) group.launchTemplate = { ...refresh.desired };
      return { surge: 0 };
    }
  }
  if (refresh.status === 'Cancelling') {
    finish(ctx, refresh, 'Cancelled', 'Cancelled due to user request.');
    return { surge: 0 };
  }

  // Instances not serving yet go first (a rollback's abandoned launches), then the oldest.
  const readyNow = (i: InstanceRecord) => readyAt(ctx, group, i, warmupMs) <= now;
  const remaining = toReplace(ctx, group, refresh).sort((a, b) => Number(readyNow(a)) - Number(readyNow(b)) || a.launchedAt - b.launchedAt);
  if (remaining.length === 0) {
    if (refresh.rollback) {
      finish(ctx, refresh, 'RollbackSuccessful', refresh.rollback.reason);
      return { surge: 0 };
    }
    if (refresh.preferences.bakeSeconds > 0) {
      refresh.status = 'Baking';
      refresh.waitUntil = now + secondsMs(ctx, refresh.preferences.bakeSeconds);
      return step(Math.min(refresh.waitUntil, ...wakes));
    }
    finish(ctx, refresh, 'Successful');
    if (refresh.desired) group.launchTemplate = { ...refresh.desired };
    return { surge: 0 };
  }

  // A batch stops at the next checkpoint, so the refresh can pause there.
  const next = refresh.rollback ? undefined : refresh.preferences.checkpoints.find((p) => p > progress(refresh) && p < 100);
  const untilCheckpoint = next === undefined ? remaining.length : Math.max(1, Math.ceil((refresh.toUpdate * next) / 100) - refresh.done);
  const active = activeMembers(ctx, group);
  const ready = active.filter(readyNow).length;
  const { size, surge } = batchSize(group, refresh, active.length, ready, remaining.filter((i) => !readyNow(i)).length, Math.min(remaining.length, untilCheckpoint));
  if (size === 0) {
    const readyTimes = active.map((i) => readyAt(ctx, group, i, warmupMs)).filter((at) => at > now && at < Infinity);
    return step(Math.min(now + ctx.timings.scalingDelayMs, ...readyTimes, ...wakes));
  }
  // Terminating a rollback's abandoned surge launch brings the group back to its desired capacity:
  // nothing replaces it, so the batch must not wait for a launch that never comes.
  const replacements = surge ? size : Math.max(0, Math.min(size, group.desired - (active.length - size)));
  refresh.batch = { launched: [], surge: surge ? size : 0, retire: size, replacements, startedAt: now };
  if (!surge) {
    for (const instance of remaining.slice(0, size)) retire(ctx, group, instance, `an instance was taken out of service in response to an instance refresh.`);
  }
  group.capacityChangedAt = now;
  return step(Math.min(now + ctx.timings.scalingDelayMs, ...wakes));
}

/** Percentage of the instances replaced, of this phase (forward or rollback). */
export function progress(refresh: RefreshRecord): number {
  const { toUpdate, done } = refresh.rollback ?? refresh;
  return toUpdate === 0 ? 100 : Math.min(100, Math.floor((done * 100) / toUpdate));
}
