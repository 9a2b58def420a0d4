import { metered } from '../metered.js';
import type { AwsClients } from '../../aws/clients.js';
import { createTemplateVersion, imageOfTemplateVersion, readLiveGroup } from '../../aws/fleet.js';
import type { Clock } from '../../clock.js';
import type { DeployConfig } from '../../config/deploy.js';
import { formatDuration } from '../../operations/format.js';
import { StepFailure, type Pipeline, type Step } from '../../operations/pipeline.js';
import type { Operation } from '../../store/items.js';
import type { Store } from '../../store/store.js';
import { clientsIn, required } from '../canary/operation.js';
import { lookAtRefresh, refreshPlan } from '../promote/refresh.js';
import { releaseRedraw } from '../release-threads.js';
import { rollbackMessages, rollbackStarted } from './messages.js';
import { rollbackParams, rollbackState, type RollbackState } from './state.js';
import { nextTarget } from './target.js';

export interface RollbackDependencies {
  aws: AwsClients;
  store: Store;
  clock: Clock;
  pollIntervalMs: number;
}

const paramsOf = (operation: Operation) => rollbackParams.parse(operation.params);
function deployOf(operation: Operation): DeployConfig {
  const deploy = paramsOf(operation).config.deploy;
  if (!deploy) throw new StepFailure(`${operation.app} has no deploy section in its config`);
  return deploy;
}

/**
 * A rollback after a release went live, as a runbook: read the live group, point a launch template
 * version at the target's image (its old version when that still has it, else a new one: the old
 * group need not exist), roll the fleet to it, record it live again.
 */
export function rollbackPipeline(deps: RollbackDependencies): Pipeline<RollbackState> {
  const region = (operation: Operation): string => paramsOf(operation).config.region;

  const stepsWith = ({ aws, store, clock }: RollbackDependencies): Step<RollbackState>[] => [
    {
      name: 'read-live',
      title: 'Read the live fleet',
      async run({ operation }) {
        const { target } = paramsOf(operation);
        const group = (await store.getLive(operation.app, operation.environment))?.live.group ?? deployOf(operation).group;
        const live = await readLiveGroup(aws, region(operation), group);
        if (!live) throw new StepFailure(`the live group ${group} is not there in ${region(operation)}`);
        const running = await imageOfTemplateVersion(aws, region(operation), live.launchTemplateId, live.launchTemplateVersion);
        if (running === target.ami) {
          return { state: { live }, detail: `${group} already runs ${target.version ?? target.ami}`, finish: `${operation.app} already runs ${target.version ?? target.ami}; nothing to roll back.` };
        }
        // In the release's thread, the channel still hears that a rollback began (its summary is broadcast too).
        const started = paramsOf(operation).inReleaseThread ? [{ key: 'started', message: rollbackStarted(operation) }] : [];
        return { state: { live }, detail: `${group}: ${live.desired} instances on launch template \`${live.launchTemplateName}\` version ${live.launchTemplateVersion}`, announce: started };
      },
    },
    {
      name: 'launch-template',
      title: 'Point a launch template version at the target',
      async run({ operation, state }) {
        const { target } = paramsOf(operation);
        const live = required(state.live, 'live group');
        const kept = target.launchTemplateVersion
          ? await imageOfTemplateVersion(aws, region(operation), live.launchTemplateId, target.launchTemplateVersion).catch(() => undefined)
          : undefined;
        if (kept === target.ami) return { state: { templateVersion: target.launchTemplateVersion }, detail: `reusing launch template \`${live.launchTemplateName}\` version ${target.launchTemplateVersion} (${target.ami})` };
        const version = await createTemplateVersion(aws, region(operation), {
          templateId: live.launchTemplateId,
          sourceVersion: live.launchTemplateVersion,
          ami: target.ami,
          description: `Bakery rollback: ${operation.app} ${target.version ?? target.ami} (${operation.id})`,
          clientToken: `${operation.id}-template`,
        });
        return { state: { templateVersion: version }, detail: `launch template \`${live.launchTemplateName}\` version ${version} with ${target.ami}` };
      },
    },
    {
      name: 'refresh',
      title: 'Roll the fleet back',
      async run({ operation, state }) {
        const deploy = deployOf(operation);
        const live = required(state.live, 'live group');
        const outcome = await lookAtRefresh(deps, region(operation), state, () => refreshPlan(deploy, live, required(state.templateVersion, 'launch template version'), 'rollback'));
        const { refreshedAt, ...kept } = outcome.state ?? {};
        return { ...outcome, state: { ...kept, ...(refreshedAt !== undefined ? { servingAt: refreshedAt } : {}) } };
      },
    },
    {
      name: 'record-live',
      title: 'Record the live release',
      async run({ operation, state }) {
        const { target, from } = paramsOf(operation);
        const live = required(state.live, 'live group');
        const now = clock.now();
        const returned = { ...target, launchTemplateVersion: required(state.templateVersion, 'launch template version'), group: live.name };
        // Never the release just rolled back from: the next rollback goes further back, or nowhere.
        const previous = nextTarget(await store.listReleases(operation.app), returned, paramsOf(operation).config.region);
        await store.putLive({
          app: operation.app,
          environment: operation.environment,
          live: returned,
          previous,
          since: now,
          askedBy: operation.requestedBy,
          operationId: operation.id,
        });
        const was = from?.version ?? from?.ami;
        if (target.version) await store.setReleaseStatus(operation.app, target.version, 'live', { at: now, by: operation.requestedBy, operationId: operation.id, environment: operation.environment, ami: target.ami, note: `rolled back from ${was ?? 'the live release'} by <@${operation.requestedBy}>`, ...(was ? { other: was } : {}) });
        if (from?.version && from.version !== target.version) {
          await store.setReleaseStatus(operation.app, from.version, 'rolled-back', { at: now, by: operation.requestedBy, operationId: operation.id, environment: operation.environment, ami: from.ami, note: `rolled back to ${target.version ?? target.ami}`, other: target.version ?? target.ami });
        }
        // Both releases' own threads say what became of them; the one this rollback continues says it in its root.
        const liveAgain = target.version ? await releaseRedraw(store, { app: operation.app, version: target.version }, now, operation.thread) : undefined;
        const rolledBack = from?.version && from.version !== target.version ? await releaseRedraw(store, { app: operation.app, version: from.version }, now, operation.thread) : undefined;
        const took = state.servingAt !== undefined ? formatDuration(state.servingAt - operation.createdAt) : undefined;
        return {
          state: paramsOf(operation).inReleaseThread && rolledBack?.fate ? { rolledBack: rolledBack.fate.line } : {},
          detail: `${target.version ?? target.ami} is live again${took ? `, ${took} after /rollback` : ''}`,
          announce: [...(liveAgain?.announce ?? []), ...(rolledBack?.announce ?? [])],
        };
      },
    },
  ];

  const steps = stepsWith(deps);
  return {
    kind: 'rollback',
    state: rollbackState,
    steps: steps.map(metered),
    // With the clients of the environment's account: another one's, with its role, when it runs there.
    stepsFor: (operation) => stepsWith({ ...deps, aws: clientsIn(deps.aws, operation, paramsOf(operation).config.account) }).map(metered),
    // A rollback makes nothing to take away: a refresh it started and could not finish is the fleet's way back, left to run.
    async cleanup() {
      return [];
    },
    ...rollbackMessages(deps.clock, steps),
  };
}

