import { metered } from '../metered.js';
import type { Pipeline, Step } from '../../operations/pipeline.js';
import type { OperationStatus } from '../../store/items.js';
import { redBlackSteps } from '../promote/red-black.js';
import { promoteSteps } from '../promote/steps.js';
import { awaitApproval } from './await-approval.js';
import { canaryChart } from './chart.js';
import { launchCanary, launchTemplate, readLive } from './launch.js';
import { canaryMessages } from './messages.js';
import { deployOf, required, type CanaryDependencies } from './operation.js';
import { removeCanary } from './removal.js';
import { dropUnneededTemplateVersions } from './template-versions.js';
import { canaryState, type CanaryState } from './state.js';
import { waitHealthy } from './wait-healthy.js';
import { judgeCanary, removeBaseline } from './window.js';

/**
 * The canary, as an operator's runbook: read the live fleet, make a launch template version with the
 * new image, launch a small group beside the live one, wait until it is healthy, judge it against
 * the live fleet interval by interval, ask for approval, promote, record the live release. Cleanup
 * removes the canary whatever happened and undoes a promotion cut short.
 */
export function canaryPipeline(deps: CanaryDependencies): Pipeline<CanaryState> {
  const { aws, store, clock, pollIntervalMs } = deps;

  const canarySteps: Step<CanaryState>[] = [
    readLive(deps),
    launchTemplate(deps),
    launchCanary(deps),
    waitHealthy(deps),
    judgeCanary(deps),
    removeBaseline(deps),
    awaitApproval(deps),
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
