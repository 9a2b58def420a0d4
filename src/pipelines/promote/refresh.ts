import type { AwsClients } from '../../aws/clients.js';
import { describeRefreshes, isActive, startRefresh, type LiveGroup, type RefreshPlan } from '../../aws/fleet.js';
import type { DeployConfig } from '../../config/deploy.js';
import type { Clock } from '../../clock.js';
import { formatDuration } from '../../operations/format.js';
import { StepFailure, type StepOutcome } from '../../operations/pipeline.js';

/** What a refresh step keeps in its operation's state. */
export interface RefreshState {
  refreshId?: string;
  refreshStartedAt?: number;
}

/**
 * One look at an instance refresh, as a waiting step: start it the first time (its id is saved
 * before anything else happens), then report its progress until it ends. Used by a promotion and by
 * a rollback alike. A refresh AWS rolled back by itself fails the step and says so.
 */
export async function lookAtRefresh(
  deps: { aws: AwsClients; clock: Clock; pollIntervalMs: number },
  region: string,
  state: RefreshState,
  plan: () => RefreshPlan,
): Promise<StepOutcome<RefreshState & { refreshedAt?: number }>> {
  const { aws, clock, pollIntervalMs } = deps;
  if (!state.refreshId) {
    const refreshId = await startRefresh(aws, region, plan());
    return { state: { refreshId, refreshStartedAt: clock.now() }, wait: { until: clock.now() + pollIntervalMs, detail: `instance refresh ${refreshId} started` } };
  }
  const group = plan().group;
  const refresh = (await describeRefreshes(aws, region, group, [state.refreshId]))[0];
  if (!refresh) throw new StepFailure(`instance refresh ${state.refreshId} of ${group} is not there any more`);
  const took = formatDuration(clock.now() - (state.refreshStartedAt ?? clock.now()));
  if (refresh.Status === 'Successful') return { state: { refreshedAt: clock.now() }, detail: `every instance of ${group} replaced in ${took}` };
  if (isActive(refresh)) {
    const toGo = refresh.InstancesToUpdate;
    return { wait: { until: clock.now() + pollIntervalMs, detail: `${refresh.Status}: ${refresh.PercentageComplete ?? 0} % replaced${toGo !== undefined ? `, ${toGo} to go` : ''}` } };
  }
  const reason = refresh.StatusReason ? `: ${refresh.StatusReason}` : '';
  if (refresh.Status === 'RollbackSuccessful') throw new StepFailure(`the instance refresh rolled back by itself${reason}; ${group} is back on its previous version`);
  throw new StepFailure(`the instance refresh of ${group} ended ${refresh.Status ?? 'unknown'}${reason}`);
}

/**
 * Above 100 % a refresh launches before it terminates, so a small group never drops below its size;
 * AWS allows at most 100 points between the two.
 */
export function maxHealthy(rolling: { minHealthyPercent: number; maxHealthyPercent: number }, desired: number): number {
  const wanted = desired <= 2 ? 200 : rolling.maxHealthyPercent;
  return Math.min(wanted, rolling.minHealthyPercent + 100);
}

/**
 * A refresh of the live group to a pinned launch template version, with the app's roll-out settings.
 * A promotion keeps its checkpoints, alarms and AWS's auto-rollback; a rollback takes none of them,
 * since its alarms may be firing because of the very release it leaves.
 */
export function refreshPlan(deploy: DeployConfig, live: Pick<LiveGroup, 'name' | 'launchTemplateId' | 'desired'>, version: string, kind: 'promotion' | 'rollback'): RefreshPlan {
  const promotion = kind === 'promotion';
  return {
    group: live.name,
    templateId: live.launchTemplateId,
    version,
    minHealthyPercent: deploy.rolling.minHealthyPercent,
    maxHealthyPercent: maxHealthy(deploy.rolling, live.desired),
    warmupSeconds: deploy.rolling.warmup / 1000,
    checkpoints: promotion ? deploy.rolling.checkpoints : [],
    checkpointDelaySeconds: promotion ? deploy.rolling.checkpointDelay / 1000 : 0,
    alarms: promotion ? deploy.rolling.alarms : [],
    autoRollback: promotion,
  };
}
