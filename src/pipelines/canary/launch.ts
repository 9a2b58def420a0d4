import { createGroup, createTemplateVersion, imageOfTemplateVersion, readLiveGroup } from '../../aws/fleet.js';
import { readGroupCopy } from '../../aws/group-copy.js';
import { changeForward, createTargetGroupLike, describeForward, joinAtZero, listenerForward } from '../../aws/traffic.js';
import { StepFailure, type Step } from '../../operations/pipeline.js';
import { uncopiedRefusal } from '../promote/red-black.js';
import { baselineGroupName, canaryGroupName, canaryTargetGroupName, deployOf, regionOf, required, type CanaryDependencies } from './operation.js';
import { canaryParams, type CanaryState } from './state.js';

/*
 * The canary's first steps: read the live fleet, make a launch template version with the new image,
 * and launch the canary group (and a fresh baseline) beside the live one.
 */

/** The live group and the image it runs, from the live release after a red-black switch, else the config. */
export function readLive({ aws, store, clock }: CanaryDependencies): Step<CanaryState> {
  return {
    name: 'read-live',
    title: 'Read the live fleet',
    async run({ operation }) {
      const deploy = deployOf(operation);
      const region = regionOf(operation);
      const liveRecord = await store.getLive(operation.app, operation.environment);
      const groupName = liveRecord?.live.group ?? deploy.group;
      const live = await readLiveGroup(aws, region, groupName);
      if (!live) throw new StepFailure(`the live group ${groupName} is not there in ${region}, or has no launch template`);
      const liveAmi = await imageOfTemplateVersion(aws, region, live.launchTemplateId, live.launchTemplateVersion);
      if (!liveAmi) throw new StepFailure(`launch template ${live.launchTemplateName} version ${live.launchTemplateVersion} names no image`);
      const liveVersion = liveRecord?.live.ami === liveAmi ? liveRecord.live.version : undefined;
      // A red-black switch that will be refused is refused now, before a canary window is spent on it.
      if (deploy.strategy === 'red-black' && deploy.redBlack.onUncopied === 'refuse') {
        const copy = await readGroupCopy(aws, region, live.name, { group: canaryGroupName(operation), targetGroups: live.targetGroups }, clock.now());
        if (copy && copy.uncopied.length > 0) throw new StepFailure(uncopiedRefusal(live.name, copy.uncopied));
      }
      return {
        state: { live, liveAmi, liveVersion },
        detail: `${live.name}: ${live.desired} instances of ${liveVersion ?? liveAmi} (launch template \`${live.launchTemplateName}\` version ${live.launchTemplateVersion})`,
      };
    },
  };
}

/** A numbered version of the live group's template with the new image; the group's own version is left as it was. */
export function launchTemplate({ aws }: CanaryDependencies): Step<CanaryState> {
  return {
    name: 'launch-template',
    title: 'Create launch template version',
    async run({ operation, state }) {
      const live = required(state.live, 'live group');
      const { ami } = canaryParams.parse(operation.params);
      const version = await createTemplateVersion(aws, regionOf(operation), {
        templateId: live.launchTemplateId,
        sourceVersion: live.launchTemplateVersion,
        ami,
        description: `Bakery: ${operation.app} ${operation.version} (${operation.id})`,
        clientToken: `${operation.id}-template`,
      });
      return { state: { templateVersion: version }, detail: `launch template \`${live.launchTemplateName}\` version ${version} with ${ami}` };
    },
  };
}

/** The canary group beside the live one: in the live target groups, or with weighted traffic in its own. */
export function launchCanary({ aws }: CanaryDependencies): Step<CanaryState> {
  return {
    name: 'launch-canary',
    title: 'Launch canary group',
    async run({ operation, state }) {
      const deploy = deployOf(operation);
      const region = regionOf(operation);
      const live = required(state.live, 'live group');
      const { instances } = canaryParams.parse(operation.params);
      const tags = { 'bakery:app': operation.app, 'bakery:version': operation.version, 'bakery:operation': operation.id, 'bakery:role': 'canary', 'bakery:created-by': 'bakery' };
      let canaryTargetGroup: string | undefined;
      if (deploy.traffic.mode === 'weighted') {
        const liveTarget = live.targetGroups[0];
        if (!liveTarget) throw new StepFailure(`the live group ${live.name} is in no target group, so there is no traffic to weigh`);
        const forward = await listenerForward(aws, region, deploy.traffic.listener);
        if (!forward.some((group) => group.arn === liveTarget && group.weight > 0)) {
          throw new StepFailure(`the listener does not forward to ${live.name}'s target group (it forwards: ${describeForward(forward) || 'nothing'}), so a canary weight beside it would mean nothing`);
        }
        canaryTargetGroup = await createTargetGroupLike(aws, region, liveTarget, canaryTargetGroupName(operation), tags);
      }
      const name = canaryGroupName(operation);
      await createGroup(aws, region, {
        name,
        live,
        launchTemplateVersion: required(state.templateVersion, 'launch template version'),
        size: instances,
        targetGroups: canaryTargetGroup ? [canaryTargetGroup] : live.targetGroups,
        tags,
      });
      // The baseline is launched with the canary, so both are as new and as warm when the window opens.
      const baselineGroup = deploy.canary.baseline === 'fresh' ? baselineGroupName(operation) : undefined;
      if (baselineGroup) {
        await createGroup(aws, region, { name: baselineGroup, live, launchTemplateVersion: live.launchTemplateVersion, size: instances, targetGroups: live.targetGroups, tags: { ...tags, 'bakery:role': 'baseline' } });
      }
      if (canaryTargetGroup && deploy.traffic.mode === 'weighted') {
        // A target group no listener forwards to keeps its targets 'unused', never healthy: join at weight 0 first.
        await changeForward(aws, region, deploy.traffic.listener, joinAtZero(canaryTargetGroup));
      }
      return {
        state: { canaryGroup: name, canaryTargetGroup, baselineGroup },
        detail: `${name}: ${instances} instance${instances === 1 ? '' : 's'}${canaryTargetGroup ? ', own target group' : ` in ${live.targetGroups.length} live target group${live.targetGroups.length === 1 ? '' : 's'}`}${baselineGroup ? `; baseline ${baselineGroup}: ${instances} on the live image` : ''}`,
      };
    },
  };
}
