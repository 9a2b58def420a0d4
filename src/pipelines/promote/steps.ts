import type { AwsClients } from '../../aws/clients.js';
import type { Clock } from '../../clock.js';
import type { Step, ToAnnounce } from '../../operations/pipeline.js';
import type { LiveRelease, Operation } from '../../store/items.js';
import type { Store } from '../../store/store.js';
import { deployOf, regionOf, required } from '../canary/operation.js';
import { removeCanary } from '../canary/removal.js';
import { canaryParams, type CanaryState } from '../canary/state.js';
import { releaseRedraw } from '../release-threads.js';
import { lookAtRefresh, refreshPlan } from './refresh.js';

export interface PromoteDependencies {
  aws: AwsClients;
  store: Store;
  clock: Clock;
  pollIntervalMs: number;
}

/**
 * Records the release live on `group` and the fleet's former image as its rollback target (for
 * red-black, with the old group kept as standby), and moves both releases' statuses. Returns the
 * redraw of the former release's own thread, which read live until now, for the step to announce.
 */
export async function recordLive(deps: PromoteDependencies, operation: Operation, state: CanaryState, where: { group: string; standby?: LiveRelease['standby'] }): Promise<ToAnnounce[]> {
  const { store, clock } = deps;
  const live = required(state.live, 'live group');
  const { ami } = canaryParams.parse(operation.params);
  const approvedBy = operation.approval?.by;
  const by = approvedBy ?? operation.requestedBy;
  const now = clock.now();
  await store.putLive({
    app: operation.app,
    environment: operation.environment,
    live: { version: operation.version, ami, launchTemplateVersion: required(state.templateVersion, 'launch template version'), group: where.group },
    previous: { version: state.liveVersion, ami: required(state.liveAmi, 'live image'), launchTemplateVersion: live.launchTemplateVersion, group: live.name },
    standby: where.standby,
    since: now,
    askedBy: operation.requestedBy,
    approvedBy,
    operationId: operation.id,
  });
  await store.setReleaseStatus(operation.app, operation.version, 'live', { at: now, by, operationId: operation.id, environment: operation.environment, ami, note: `asked by <@${operation.requestedBy}>${approvedBy ? `, approved by <@${approvedBy}>` : ''}` });
  if (state.liveVersion && state.liveVersion !== operation.version) {
    await store.setReleaseStatus(operation.app, state.liveVersion, 'previous', { at: now, by, operationId: operation.id, environment: operation.environment, ami: required(state.liveAmi, 'live image'), note: `replaced by ${operation.version}`, other: operation.version });
    return (await releaseRedraw(store, { app: operation.app, version: state.liveVersion }, now, operation.thread)).announce;
  }
  return [];
}

/**
 * The promotion, once approved: roll the live group to the canary's launch template version with an
 * instance refresh, record the release as live (the former one becomes the rollback target), and
 * take the canary away. A refresh that fails, or that AWS rolls back because an alarm fired, fails
 * the step and says why; cleanup then removes the canary as after any failure.
 */
export function promoteSteps(deps: PromoteDependencies): Step<CanaryState>[] {
  return [
    {
      name: 'refresh',
      title: 'Roll the fleet',
      async run({ operation, state }) {
        const deploy = deployOf(operation);
        const live = required(state.live, 'live group');
        const outcome = await lookAtRefresh(deps, regionOf(operation), state, () => refreshPlan(deploy, live, required(state.templateVersion, 'launch template version'), 'promotion'));
        const { refreshedAt, ...kept } = outcome.state ?? {};
        return { ...outcome, state: { ...kept, ...(refreshedAt !== undefined ? { promotedAt: refreshedAt } : {}) } };
      },
    },
    {
      name: 'record-live',
      title: 'Record the live release',
      async run({ operation, state }) {
        const live = required(state.live, 'live group');
        const announce = await recordLive(deps, operation, state, { group: live.name });
        return { detail: `${operation.version} is live; rollback target: ${state.liveVersion ?? state.liveAmi}`, announce };
      },
    },
    {
      name: 'remove-canary',
      title: 'Remove the canary group',
      async run({ operation, state }) {
        const removed = await removeCanary(deps, operation, state, 'succeeded');
        return { detail: removed.join('; ') || 'already gone' };
      },
    },
  ];
}
