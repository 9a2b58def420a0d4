import { metered } from '../metered.js';
import { createGroup, createTemplateVersion, imageOfTemplateVersion, readLiveGroup, removeGroupNamed } from '../../aws/fleet.js';
import { waitFor } from '../../aws/poll.js';
import { canaryAt, changeForward, createTargetGroupLike, describeForward, joinAtZero, listenerForward } from '../../aws/traffic.js';
import { StepFailure, type Pipeline, type Step } from '../../operations/pipeline.js';
import type { Operation, OperationStatus } from '../../store/items.js';
import { readGroupCopy } from '../../aws/group-copy.js';
import { redBlackSteps, uncopiedRefusal } from '../promote/red-black.js';
import { promoteSteps } from '../promote/steps.js';
import { answeredMessage, approvalMessage, mention, newRequestKey, requestAnnouncement, requestRef } from './approval.js';
import { canaryChart } from './chart.js';
import { HealthLooks } from './health.js';
import { extendWindow, judge, SETTLE_PERIODS, verdictLines, type Groups } from './judging.js';
import { canaryMessages, verdictTable } from './messages.js';
import { baselineGroupName, canaryGroupName, canaryTargetGroupName, deployOf, formatMinute, regionOf, required, type CanaryDependencies } from './operation.js';
import { removeCanary } from './removal.js';
import { dropUnneededTemplateVersions } from './template-versions.js';
import { canaryParams, canaryState, type CanaryState } from './state.js';

/**
 * The canary, as an operator's runbook: read the live fleet, make a launch template version with the
 * new image, launch a small group beside the live one, wait until it is healthy, judge it against
 * the live fleet interval by interval, ask for approval, promote, record the live release. Cleanup
 * removes the canary whatever happened and undoes a promotion cut short.
 */
export function canaryPipeline(deps: CanaryDependencies): Pipeline<CanaryState> {
  const { aws, store, clock, pollIntervalMs } = deps;

  function groupsOf(operation: Operation, state: CanaryState): Groups {
    const deploy = deployOf(operation);
    const live = required(state.live, 'live group');
    return {
      baseline: { group: state.baselineGroup ?? live.name, targetGroup: live.targetGroups[0] },
      canary: { group: required(state.canaryGroup, 'canary group'), targetGroup: state.canaryTargetGroup },
      listener: deploy.traffic.mode === 'weighted' ? deploy.traffic.listener : undefined,
    };
  }

  const canarySteps: Step<CanaryState>[] = [
    {
      name: 'read-live',
      title: 'Read the live fleet',
      async run({ operation }) {
        const deploy = deployOf(operation);
        const region = regionOf(operation);
        const liveRecord = await store.getLive(operation.app);
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
          detail: `${live.name}: ${live.desired} instances of ${liveVersion ?? liveAmi} (launch template ${live.launchTemplateName} v${live.launchTemplateVersion})`,
        };
      },
    },
    {
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
        return { state: { templateVersion: version }, detail: `${live.launchTemplateName} v${version} with ${ami}` };
      },
    },
    {
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
    },
    {
      name: 'wait-healthy',
      title: 'Wait for the canary to be healthy',
      async run(input) {
        const { operation, state } = input;
        const deploy = deployOf(operation);
        const region = regionOf(operation);
        const { instances } = canaryParams.parse(operation.params);
        const name = required(state.canaryGroup, 'canary group');
        const liveTargets = required(state.live, 'live group').targetGroups;
        const waiting = [
          { role: 'canary', group: name, targetGroups: state.canaryTargetGroup ? [state.canaryTargetGroup] : liveTargets },
          ...(state.baselineGroup ? [{ role: 'baseline', group: state.baselineGroup, targetGroups: liveTargets }] : []),
        ];
        const looks = new HealthLooks(aws, region, instances, async (text) => {
          await input.say({ text, tone: 'info' });
        });
        const healthy = await waitFor(
          { clock, what: `${waiting.map((w) => w.group).join(' and ')} to be in service and healthy`, timeoutMs: 20 * 60_000, intervalMs: pollIntervalMs, signal: input.signal },
          () => looks.look(waiting, clock.now()),
        );
        let listenerScale: number | undefined;
        let weights = '';
        if (deploy.traffic.mode === 'weighted' && state.canaryTargetGroup) {
          // Only the canary's entry is set; the others keep their shares of the rest.
          const share = canaryAt(state.canaryTargetGroup, deploy.traffic.weight);
          const forward = await changeForward(aws, region, deploy.traffic.listener, share.change);
          weights = `; listener sends it ${deploy.traffic.weight} % (${describeForward(forward)})`;
          listenerScale = share.scale;
        }
        // The window starts at the next period boundary, so every judged period is all canary.
        const period = deploy.canary.interval;
        const start = Math.ceil(clock.now() / period) * period;
        return {
          state: { window: { start, periods: 0, baseline: {}, canary: {} }, listenerScale },
          detail: `${healthy.join(', ')} healthy${weights}`,
        };
      },
    },
    {
      name: 'judge',
      title: 'Judge the canary',
      async run(input) {
        const { operation, state } = input;
        const deploy = deployOf(operation);
        const { durationMs } = canaryParams.parse(operation.params);
        const period = deploy.canary.interval;
        const before = required(state.window, 'window');
        const window = await extendWindow(aws, regionOf(operation), deploy, groupsOf(operation, state), before, clock.now(), durationMs);
        const nextLook = window.start + (window.periods + 1 + SETTLE_PERIODS) * period;
        if (window.periods === before.periods) return { wait: { until: nextLook, detail: 'waiting for the first minutes of metrics' } };
        const verdict = judge({ ...deploy, canary: { ...deploy.canary, duration: durationMs } }, window);
        const lines = verdictLines(verdict);
        const summary = { outcome: verdict.outcome, summary: verdict.summary, minute: verdict.minute, metrics: lines };
        const limitMinutes = (durationMs + deploy.canary.maxExtension) / 60_000;
        const atLimit = verdict.outcome === 'wait' && verdict.minute >= limitMinutes - 1e-9;
        const tableRef = await input.say(verdictTable(operation, summary, durationMs, deploy), state.tableRef);
        const saved = { window, verdict: summary, tableRef: tableRef ?? state.tableRef };
        if (verdict.outcome === 'wait' && !atLimit) {
          const more = verdict.moreMinutes !== null ? `, ~${Math.ceil(verdict.moreMinutes)} more min` : '';
          return { state: saved, wait: { until: nextLook, detail: `minute ${formatMinute(verdict.minute)} of ${durationMs / 60_000}: ${verdict.outcome}${more}` } };
        }
        // The window's chart is drawn from the state saved with this outcome, when the outbox posts it.
        const chart = [{ key: 'chart', file: 'chart' }];
        if (verdict.outcome === 'fail' && deploy.onFail === 'rollback') {
          await store.setReleaseStatus(operation.app, operation.version, 'rejected', { at: clock.now(), by: operation.requestedBy, operationId: operation.id, note: verdict.summary });
          throw new StepFailure(`canary ${verdict.summary}`).keeping(saved, chart);
        }
        const needsHuman = verdict.outcome === 'fail' ? 'failed' : atLimit ? 'undecided' : undefined;
        return { state: { ...saved, needsHuman }, detail: `${verdict.outcome} at minute ${formatMinute(verdict.minute)}: ${verdict.summary}`, announce: chart };
      },
    },
    {
      // Only with a fresh baseline (see stepsFor): once judged it has served its purpose, and kept on it would serve the old image beside a promotion.
      name: 'remove-baseline',
      title: 'Remove the fresh baseline',
      async run({ operation, state }) {
        const name = required(state.baselineGroup, 'baseline group');
        await removeGroupNamed(aws, regionOf(operation), name);
        return { detail: `removed ${name}; it was needed only for judging` };
      },
    },
    {
      name: 'approval',
      title: 'Await approval',
      async run(input) {
        const { operation, state } = input;
        const deploy = deployOf(operation);
        const now = clock.now();
        const request = state.approvalRequest;
        if (!request) {
          const fresh = { key: newRequestKey(), postedAt: now, expiresAt: now + deploy.approvalTtl, reminded: false };
          const withRequest = { ...state, approvalRequest: fresh };
          const message = approvalMessage(operation, withRequest, deploy, now);
          return { state: { approvalRequest: fresh }, announce: [{ key: requestAnnouncement(fresh.key), message }], wait: { until: fresh.postedAt + deploy.approvalTtl / 2, detail: `waiting for ${deploy.approvers.length} approver${deploy.approvers.length === 1 ? '' : 's'}` } };
        }
        const approval = operation.approval;
        const ref = requestRef(operation, request);
        if (approval?.request === request.key) {
          const answered = approval.decision === 'promote' ? 'approved' : 'rolled-back';
          // The request's buttons go away in turn with the thread's writes; the promotion need not wait for Slack.
          if (ref) void input.say(answeredMessage(operation, answered, now), ref);
          if (approval.decision === 'rollback') throw new StepFailure(`rolled back by ${approval.byName} instead of promoting`);
          return { state: { approvedBy: approval.byName }, detail: `approved by ${approval.byName}` };
        }
        if (now >= request.expiresAt) {
          if (ref) await input.say(answeredMessage(operation, 'expired', now), ref);
          throw new StepFailure(`nobody approved within ${formatMinute(deploy.approvalTtl / 60_000)} min; the canary is removed`);
        }
        if (!request.reminded && now >= request.postedAt + deploy.approvalTtl / 2) {
          const reminder = { text: `Reminder: ${operation.app} ${operation.version} is waiting for approval ${deploy.approvers.map(mention).join(' ')}; it expires in ${formatMinute((request.expiresAt - now) / 60_000)} min.`, tone: 'info' as const };
          return { state: { approvalRequest: { ...request, reminded: true } }, announce: [{ key: requestAnnouncement(request.key, true), message: reminder }], wait: { until: request.expiresAt, detail: 'reminded the approvers' } };
        }
        return { wait: { until: request.reminded ? request.expiresAt : request.postedAt + deploy.approvalTtl / 2, detail: 'waiting for approval' } };
      },
    },
  ];

  const rolling = [...canarySteps, ...promoteSteps(deps)].map(metered);
  const redBlack = [...canarySteps, ...redBlackSteps(deps)].map(metered);

  return {
    kind: 'canary',
    state: canaryState,
    steps: rolling,
    // The strategy and the baseline are the app's config as it was when the canary started.
    stepsFor: (operation) => {
      const deploy = deployOf(operation);
      const steps = deploy.strategy === 'red-black' ? redBlack : rolling;
      return deploy.canary.baseline === 'fresh' ? steps : steps.filter((step) => step.name !== 'remove-baseline');
    },
    async cleanup({ operation, state }, status: OperationStatus) {
      const removed = await removeCanary({ aws, store, clock, pollIntervalMs }, operation, state, status);
      // Every canary adds a launch template version; those no longer live nor a rollback target go.
      return [...removed, ...(await dropUnneededTemplateVersions({ aws, store }, operation, state))];
    },
    async draw(operation, state) {
      const verdict = required(state.verdict, 'verdict');
      return canaryChart(operation, deployOf(operation), required(state.window, 'window'), verdict);
    },
    ...canaryMessages(clock, [...rolling, ...redBlack]),
  };
}


