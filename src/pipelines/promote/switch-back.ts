/*
 * Switching a red-black promotion back, apart from the promotion's steps: the canary's removal does it
 * when a rollback comes while the old fleet is kept, and needs nothing else of the promotion.
 */
import { attachTargetGroups, describeGroup } from '../../aws/fleet.js';
import { releaseStandby } from '../../aws/group-copy.js';
import { changeForward, switchedBack, TrafficRefused } from '../../aws/traffic.js';
import type { Step } from '../../operations/pipeline.js';
import { deployOf, regionOf, required, type CanaryDependencies } from '../canary/operation.js';
import type { CanaryState } from '../canary/state.js';

/** The live target group the canary's weight was set beside: the old fleet's, in a red-black switch. */
export function liveTargetGroup(state: CanaryState): string {
  return required(required(state.live, 'live group').targetGroups[0], 'live target group');
}

/** Puts the old fleet back in front of the traffic: the first thing a rollback of a red-black switch does. */
export async function switchBack(deps: CanaryDependencies, operation: Parameters<Step<CanaryState>['run']>[0]['operation'], state: CanaryState): Promise<string[]> {
  const { aws, store, clock } = deps;
  const deploy = deployOf(operation);
  const region = regionOf(operation);
  const live = required(state.live, 'live group');
  if (deploy.traffic.mode === 'weighted') {
    try {
      await changeForward(aws, region, deploy.traffic.listener, switchedBack(liveTargetGroup(state), required(state.canaryTargetGroup, 'canary target group')));
    } catch (error) {
      // The old fleet has no healthy target (removed by hand?): the traffic stays where it is, on the new one.
      if (!(error instanceof TrafficRefused)) throw error;
      return [`${live.name} cannot take the traffic back, so it stays on ${state.canaryGroup}: ${error.message}`];
    }
  } else {
    await attachTargetGroups(aws, region, live.name, live.targetGroups);
  }
  // Held while it stood by; it scales again now that it serves, keeping what it had suspended itself.
  const group = await describeGroup(aws, region, live.name);
  const resumed = group && group.Status !== 'Delete in progress' ? await releaseStandby(aws, region, live.name, state.liveScaling?.suspendedProcesses ?? []) : [];
  const record = await store.getLive(operation.app, operation.environment);
  if (record?.operationId === operation.id && record.previous) {
    const now = clock.now();
    // The release before comes back, not a new one: whoever stopped the switch does not become its asker.
    await store.putLive({ app: operation.app, environment: operation.environment, live: record.previous, previous: undefined, since: now, operationId: operation.id });
    if (record.previous.version) await store.setReleaseStatus(operation.app, record.previous.version, 'live', { at: now, by: operation.requestedBy, operationId: operation.id, environment: operation.environment, note: 'switched back' });
    await store.setReleaseStatus(operation.app, operation.version, 'rolled-back', { at: now, by: operation.requestedBy, operationId: operation.id, environment: operation.environment });
  }
  return [`${live.name} serves the traffic again${resumed.length ? `, its ${resumed.join(', ')} resumed` : ''}`];
}
