import { describeGroup, detachTargetGroups, inService, removeGroupNamed, resizeGroup } from '../../aws/fleet.js';
import { changeForward, deleteTargetGroupWhenUnused, describeForward, drainingTargets, membersHealth, switchedTo, targetGroupName, withoutIdle } from '../../aws/traffic.js';
import { applyGroupCopy, holdStandby, ownScaling, readGroupCopy, STANDBY_PROCESSES, suspendLikeLive } from '../../aws/group-copy.js';
import { formatDuration, formatTime } from '../../operations/format.js';
import { StepFailure, type Step } from '../../operations/pipeline.js';
import { deployOf, regionOf, required } from '../canary/operation.js';
import type { CanaryState } from '../canary/state.js';
import { recordLive, type PromoteDependencies } from './steps.js';
import { liveTargetGroup } from './switch-back.js';

/** Why a red-black switch is refused: what the new fleet could not have, and how to switch anyway. */
export function uncopiedRefusal(live: string, uncopied: string[]): string {
  return `the new fleet cannot have all of ${live}'s configuration, so the traffic stays on ${live}. Not copyable: ${uncopied.join('; ')}. To switch without them, set deploy.redBlack.onUncopied: switch`;
}

/**
 * Red-black, as Asgard did it: the canary becomes a copy of the live group's configuration (settings,
 * tags, scaling policies, scheduled actions, lifecycle hooks, warm pool…), grows into a full fleet
 * beside the old one, traffic moves to it at once, and it is given the live group's own Min/Max/Desired
 * and suspended processes. Min is pinned to the new size until the switch so scale-in cannot shrink
 * the new fleet before it takes the whole load. The old group is kept, scaled as it was and its own
 * scaling suspended, as an instant rollback target for a while before it is removed.
 */
export function redBlackSteps(deps: PromoteDependencies): Step<CanaryState>[] {
  const { aws, store, clock, pollIntervalMs } = deps;
  return [
    {
      name: 'copy-live',
      title: "Copy the live group's configuration to the new fleet",
      async run({ operation, state }) {
        const deploy = deployOf(operation);
        const region = regionOf(operation);
        const live = required(state.live, 'live group');
        const name = required(state.canaryGroup, 'canary group');
        const targetGroups = state.canaryTargetGroup ? [state.canaryTargetGroup] : live.targetGroups;
        // Read now, not when the canary began: the live group may have scaled or been changed since.
        const copy = await readGroupCopy(aws, region, live.name, { group: name, targetGroups }, clock.now());
        if (!copy) throw new StepFailure(`the live group ${live.name} is gone, so there is nothing to copy and nothing to switch from`);
        if (copy.uncopied.length > 0 && deploy.redBlack.onUncopied === 'refuse') throw new StepFailure(uncopiedRefusal(live.name, copy.uncopied));
        const copied = await applyGroupCopy(aws, region, name, copy);
        return {
          state: { liveScaling: { ...copy.capacity, suspendedProcesses: copy.suspendedProcesses }, groupCopy: { from: live.name, copied, uncopied: copy.uncopied } },
          detail: `${name} has ${live.name}'s ${copied.join(', ')}${copy.uncopied.length > 0 ? `. Not copied (deploy.redBlack.onUncopied: switch): ${copy.uncopied.join('; ')}` : ''}`,
        };
      },
    },
    {
      name: 'grow',
      title: 'Grow the canary into the new fleet',
      async run({ operation, state }) {
        const region = regionOf(operation);
        const live = required(state.live, 'live group');
        const scaling = required(state.liveScaling, "live group's scaling");
        const name = required(state.canaryGroup, 'canary group');
        const size = Math.max(scaling.desired, 1);
        const group = await describeGroup(aws, region, name);
        if ((group?.DesiredCapacity ?? 0) < size) await resizeGroup(aws, region, name, { min: size, max: Math.max(scaling.max, size), desired: size });
        const targetGroups = state.canaryTargetGroup ? [state.canaryTargetGroup] : live.targetGroups;
        const { healthy } = await membersHealth(aws, region, group ? inService(group) : [], targetGroups);
        if (healthy.length < size) return { wait: { until: clock.now() + pollIntervalMs, detail: `${healthy.length} of ${size} in service and healthy` } };
        return { detail: `${name}: ${size} instances in service and healthy beside ${live.name}` };
      },
    },
    {
      name: 'switch',
      title: 'Switch traffic to the new fleet',
      async run({ operation, state }) {
        const deploy = deployOf(operation);
        const region = regionOf(operation);
        const live = required(state.live, 'live group');
        // Out of traffic, its policies would scale it in: it keeps its capacity until removed or switched back to.
        const held = `its ${STANDBY_PROCESSES.join(', ')} suspended so it keeps its instances`;
        if (deploy.traffic.mode === 'weighted') {
          // The new fleet's group takes the old one's weight; the old one stays at 0, health-checked, for an instant switch back.
          const forward = await changeForward(aws, region, deploy.traffic.listener, switchedTo(required(state.canaryTargetGroup, 'canary target group'), liveTargetGroup(state), state.listenerScale));
          await holdStandby(aws, region, live.name);
          return { state: { switchedAt: clock.now(), listenerScale: 1 }, detail: `listener forwards ${describeForward(forward)}; ${live.name} takes no traffic and stays up as the rollback target, ${held}` };
        }
        await detachTargetGroups(aws, region, live.name, live.targetGroups);
        await holdStandby(aws, region, live.name);
        return { state: { switchedAt: clock.now() }, detail: `${live.name} takes no traffic; it stays up as the rollback target, ${held}` };
      },
    },
    {
      name: 'unpin',
      title: "Give the new fleet the live group's own scaling",
      async run({ operation, state }) {
        const region = regionOf(operation);
        const live = required(state.live, 'live group');
        const scaling = required(state.liveScaling, "live group's scaling");
        const name = required(state.canaryGroup, 'canary group');
        // Desired as the live group had it when copied: the old group, out of traffic, may be scaling in since.
        await resizeGroup(aws, region, name, { min: scaling.min, max: scaling.max, desired: Math.min(scaling.max, Math.max(scaling.min, scaling.desired)) });
        await suspendLikeLive(aws, region, name, scaling.suspendedProcesses);
        return { detail: `${name}: min ${scaling.min}, max ${scaling.max}, desired ${scaling.desired}, as ${live.name} had${scaling.suspendedProcesses.length ? `; ${scaling.suspendedProcesses.join(', ')} suspended` : ''}; its own scaling policies take it from here` };
      },
    },
    {
      name: 'record-live',
      title: 'Record the live release',
      async run({ operation, state }) {
        const deploy = deployOf(operation);
        const live = required(state.live, 'live group');
        const now = clock.now();
        const until = now + deploy.redBlack.keepOldFor;
        const announce = await recordLive(deps, operation, state, { group: required(state.canaryGroup, 'canary group'), standby: { group: live.name, targetGroups: live.targetGroups, until } });
        return { state: { promotedAt: now }, detail: `${operation.version} is live on ${state.canaryGroup}; ${live.name} kept until ${formatTime(until, now)}`, announce };
      },
    },
    {
      name: 'retire-old',
      title: 'Keep the old fleet as rollback target, then remove it',
      async run({ operation, state }) {
        const deploy = deployOf(operation);
        const live = required(state.live, 'live group');
        const until = required(state.promotedAt, 'promotion time') + deploy.redBlack.keepOldFor;
        if (clock.now() < until) return { wait: { until, detail: `${live.name} stays up for an instant \`/rollback ${operation.app}\` until ${formatTime(until, clock.now())}` } };
        const record = await store.getLive(operation.app, operation.environment);
        if (record?.standby?.group !== live.name) throw new StepFailure(`the live release changed since; ${live.name} is left as it is`);
        const region = regionOf(operation);
        await removeGroupNamed(aws, region, live.name);
        let retired = '';
        if (deploy.traffic.mode === 'weighted') {
          // The old entry, at weight 0 since the switch, goes only once the old fleet has drained out of its target group.
          const oldTarget = liveTargetGroup(state);
          const draining = await drainingTargets(aws, region, oldTarget);
          if (draining > 0) return { wait: { until: clock.now() + pollIntervalMs, detail: `${draining} of ${live.name}'s targets still draining from ${targetGroupName(oldTarget)}` } };
          const forward = await changeForward(aws, region, deploy.traffic.listener, withoutIdle(oldTarget));
          const deleted = await deleteTargetGroupWhenUnused(aws, region, oldTarget);
          retired = `; listener forwards ${describeForward(forward)}${deleted === 'deleted' ? `; deleted target group ${targetGroupName(oldTarget)}` : ''}`;
        }
        await store.putLive({ ...record, standby: undefined });
        // Read back, now that what belonged to the old group went with it: the new fleet scales on its own.
        const name = required(state.canaryGroup, 'canary group');
        const scaling = await ownScaling(aws, region, { group: name, targetGroups: state.canaryTargetGroup ? [state.canaryTargetGroup] : live.targetGroups }, clock.now());
        return { detail: `removed ${live.name} after ${formatDuration(deploy.redBlack.keepOldFor)}${retired}${scaling ? `; ${name} scales on its own: ${scaling}` : ''}` };
      },
    },
  ];
}
