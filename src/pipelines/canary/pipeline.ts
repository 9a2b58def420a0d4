import { metered } from '../metered.js';
import type { Pipeline, Step } from '../../operations/pipeline.js';
import type { OperationStatus } from '../../store/items.js';
import { redBlackSteps } from '../promote/red-black.js';
import { promoteSteps } from '../promote/steps.js';
import { awaitApproval } from './await-approval.js';
import { canaryChart } from './chart.js';
import { launchCanary, launchTemplate, readLive } from './launch.js';
import { canaryMessages } from './messages.js';
import { dependenciesFor, deployOf, required, type CanaryDependencies } from './operation.js';
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
  const canarySteps = (deps: CanaryDependencies): Step<CanaryState>[] => [
    readLive(deps),
    launchTemplate(deps),
    launchCanary(deps),
    waitHealthy(deps),
    judgeCanary(deps),
    removeBaseline(deps),
    awaitApproval(deps),
  ];
  const rollingFor = (deps: CanaryDependencies) => [...canarySteps(deps), ...promoteSteps(deps)].map(metered);
  const redBlackFor = (deps: CanaryDependencies) => [...canarySteps(deps), ...redBlackSteps(deps)].map(metered);
  // The steps' titles, for the messages; an operation runs them with the clients of its environment's account.
  const rolling = rollingFor(deps);
  const redBlack = redBlackFor(deps);

  return {
    kind: 'canary',
    state: canaryState,
    steps: rolling,
    // The strategy and the baseline are the app's config as it was when the canary started.
    stepsFor: (operation) => {
      const deploy = deployOf(operation);
      const steps = (deploy.strategy === 'red-black' ? redBlackFor : rollingFor)(dependenciesFor(deps, operation));
      return deploy.canary.baseline === 'fresh' ? steps : steps.filter((step) => step.name !== 'remove-baseline');
    },
    async cleanup({ operation, state }, status: OperationStatus) {
      // Nothing is made before the launch template step: a canary stopped at reading the live fleet (its role could
      // not be assumed, its group is gone) has nothing to look for, and an environment is not held by a cleanup that cannot run.
      if (!operation.steps.some((step) => step.name === 'launch-template')) return [];
      const inAccount = dependenciesFor(deps, operation);
      const removed = await removeCanary(inAccount, operation, state, status);
      // Every canary adds a launch template version; those no longer live nor a rollback target go.
      return [...removed, ...(await dropUnneededTemplateVersions(inAccount, operation, state))];
    },
    async draw(operation, state) {
      const verdict = required(state.verdict, 'verdict');
      return canaryChart(operation, deployOf(operation), required(state.window, 'window'), verdict);
    },
    ...canaryMessages(deps.clock, [...rolling, ...redBlack]),
  };
}
