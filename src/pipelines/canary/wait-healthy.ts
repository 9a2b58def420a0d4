import { waitFor } from '../../aws/poll.js';
import { canaryAt, changeForward, describeForward } from '../../aws/traffic.js';
import type { Step } from '../../operations/pipeline.js';
import { HealthLooks } from './health.js';
import { deployOf, regionOf, required, type CanaryDependencies } from './operation.js';
import { canaryParams, type CanaryState } from './state.js';

/** Waits until the canary (and a fresh baseline) is in service and healthy, then gives it its weight and opens the window. */
export function waitHealthy({ aws, clock, pollIntervalMs }: CanaryDependencies): Step<CanaryState> {
  return {
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
  };
}
