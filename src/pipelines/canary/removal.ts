import { describeRefreshes, groupsOfOperation, isActive, removeGroup, undoRefresh } from '../../aws/fleet.js';
import { waitFor } from '../../aws/poll.js';
import { changeForward, deleteTargetGroupWhenUnused, describeForward, drainingTargets, idled, listenerForward, targetGroupName, withoutIdle } from '../../aws/traffic.js';
import type { Operation, OperationStatus } from '../../store/items.js';
import { switchBack } from '../promote/switch-back.js';
import { deployOf, regionOf, type CanaryDependencies } from './operation.js';
import { canaryParams, type CanaryState } from './state.js';

/**
 * Takes the canary out, in the order that never drops a request: traffic weight to zero, out of the
 * target groups, scaled to zero, deleted; its weighted entry leaves the listener, and its target group
 * is deleted, only once its targets have drained. A promotion cut short is undone first. The launch template
 * version stays (it is cheap, and the release history points at it).
 */
export async function removeCanary(deps: CanaryDependencies, operation: Operation, state: CanaryState, status: OperationStatus): Promise<string[]> {
  const { aws, store, clock, pollIntervalMs } = deps;
  const deploy = deployOf(operation);
  const region = regionOf(operation);
  const done: string[] = [];
  const live = state.live;

  if (status !== 'succeeded' && state.refreshId && live) {
    const running = (await describeRefreshes(aws, region, live.name, [state.refreshId])).find(isActive);
    if (running && running.Status !== 'RollbackInProgress' && running.Status !== 'Cancelling') {
      const undone = await undoRefresh(aws, region, live.name);
      if (undone !== 'none') done.push(`${undone === 'rolled-back' ? 'rolled back' : 'cancelled'} the instance refresh of ${live.name}`);
    }
    await waitFor({ clock, what: `the instance refresh of ${live.name} to stop`, timeoutMs: 60 * 60_000, intervalMs: pollIntervalMs }, async () => {
      const refresh = (await describeRefreshes(aws, region, live.name, [state.refreshId!]))[0];
      return refresh && isActive(refresh) ? { done: false, seen: `${refresh.Status} (${refresh.PercentageComplete ?? 0} %)` } : { done: true, value: undefined };
    });
  }

  // A red-black switch that happened is undone first: the old fleet, kept up, takes the traffic back at once.
  if (status !== 'succeeded' && state.switchedAt !== undefined) done.push(...(await switchBack(deps, operation, state)));

  // A red-black promotion turns the canary into the live group, its target group into the live one: those stay.
  const liveRecord = await store.getLive(operation.app, operation.environment);
  const canaryIsLive = state.canaryGroup !== undefined && liveRecord?.live.group === state.canaryGroup;
  const weighted = deploy.traffic.mode === 'weighted' && state.canaryTargetGroup && !canaryIsLive ? { listener: deploy.traffic.listener, canary: state.canaryTargetGroup } : undefined;
  if (weighted && (await listenerForward(aws, region, weighted.listener)).some((group) => group.arn === weighted.canary && group.weight > 0)) {
    // Only the canary's weight goes; the others get back the weights they had before it came.
    const after = await changeForward(aws, region, weighted.listener, idled(weighted.canary, state.listenerScale));
    done.push(`listener back to ${describeForward(after.filter((group) => group.arn !== weighted.canary))}`);
  }

  for (const group of await groupsOfOperation(aws, region, operation.id)) {
    const name = group.AutoScalingGroupName;
    if (!name || name === liveRecord?.live.group || group.Status === 'Delete in progress') continue;
    await removeGroup(aws, region, group);
    done.push(`removed ${name === state.baselineGroup ? 'baseline' : 'canary'} group ${name}`);
  }
  if (weighted && (await listenerForward(aws, region, weighted.listener)).some((group) => group.arn === weighted.canary)) {
    // Its entry, at 0, goes only once the canary's in-flight requests have drained (the target group's deregistration delay).
    await waitFor({ clock, what: `the canary's targets to drain from ${targetGroupName(weighted.canary)}`, timeoutMs: 65 * 60_000, intervalMs: pollIntervalMs }, async () => {
      const draining = await drainingTargets(aws, region, weighted.canary);
      return draining > 0 ? { done: false, seen: `${draining} draining` } : { done: true, value: undefined };
    });
    await changeForward(aws, region, weighted.listener, withoutIdle(weighted.canary));
    done.push(`the canary's targets drained, its entry left the listener`);
  }
  // Whatever the ending: after a rolling promotion the canary's target group serves nobody either.
  if (state.canaryTargetGroup && !canaryIsLive && (await deleteTargetGroupWhenUnused(aws, region, state.canaryTargetGroup)) === 'deleted') {
    done.push('deleted the canary target group');
  }

  if (status === 'failed' && state.verdict?.outcome === 'fail') {
    const { ami } = canaryParams.parse(operation.params);
    // Marked by its owner, so the digest and prune in Bakery's account see it.
    const ownAws = deps.ownAws ?? aws;
    await (await ownAws.ec2(region)).createTags({ Resources: [ami], Tags: [{ Key: 'bakery:status', Value: 'rejected' }] });
    done.push(`tagged ${ami} rejected`);
  } else if (status !== 'succeeded' && state.switchedAt === undefined) {
    await store.setReleaseStatus(operation.app, operation.version, 'baked', { at: clock.now(), by: operation.cancelRequested ? operation.requestedBy : operation.approval?.by ?? operation.requestedBy, operationId: operation.id, environment: operation.environment, note: 'canary removed' });
  }
  return done;
}

