import { amiLink } from '../../aws/console-links.js';
import type { ChatMessage } from '../../chat/surface.js';
import { untrustedText } from '../../chat/untrusted.js';
import type { Clock } from '../../clock.js';
import { formatDuration } from '../../operations/format.js';
import type { Pipeline } from '../../operations/pipeline.js';
import type { Operation, StepRecord } from '../../store/items.js';
import { bakeParams, type BakeState } from './state.js';

export const cancelAction = 'bake.cancel';

const regionOf = (operation: Operation): string => bakeParams.parse(operation.params).config.region;

const icons = { done: '✓', failed: '✗', running: '⏳', skipped: '–' } as const;

/** How a bake looks in a chat: the root message kept current, one reply per step, and a summary. */
export function bakeMessages(clock: Clock, steps: { name: string; title: string }[]): Pick<Pipeline<BakeState>, 'root' | 'stepDone' | 'summary'> {
  const titleOf = (name: string): string => steps.find((step) => step.name === name)?.title ?? name;

  function elapsed(operation: Operation): string {
    return formatDuration((operation.finishedAt ?? clock.now()) - operation.createdAt);
  }

  function statusLine(operation: Operation, state: BakeState): string {
    switch (operation.status) {
      case 'running': {
        const current = operation.steps.findLast((s) => s.status === 'running');
        if (operation.cancelRequested) return `⏳ Cancelling (asked by ${operation.cancelRequested.by}), cleaning up…`;
        if (operation.ending) return `⏳ Cleaning up after the bake ${operation.ending === 'succeeded' ? 'succeeded' : operation.ending}…`;
        const done = operation.steps.filter((s) => s.status === 'done').length;
        return current
          ? `⏳ ${titleOf(current.name)} (step ${done + 1} of ${steps.length}) · ${elapsed(operation)} so far${current.detail ? ` · ${current.detail}` : ''}`
          : `⏳ ${done} of ${steps.length} steps done · ${elapsed(operation)} so far`;
      }
      case 'succeeded':
        return state.existingAmi ? `✓ Already baked: ${amiLink(regionOf(operation), state.existingAmi)}` : `✓ Baked ${amiLink(regionOf(operation), state.imageId ?? '')} in ${elapsed(operation)}`;
      case 'failed':
        return `✗ Failed at *${operation.error?.step}*: ${operation.error?.message}`;
      case 'cancelled':
        return `✗ Cancelled by ${operation.cancelRequested?.by ?? 'someone'} after ${elapsed(operation)}`;
    }
  }

  return {
    root(operation, state) {
      const params = bakeParams.parse(operation.params);
      return {
        text: `*Bake ${operation.app} ${operation.version}* · asked by ${params.requestedByName}`,
        lines: [
          statusLine(operation, state),
          ...(state.baseAmi ? [`Base: \`${state.baseAmi}\` ${state.baseAmiName ?? ''}`] : []),
          ...(params.commit ? [`Commit: \`${params.commit}\``] : []),
          `Operation \`${operation.id}\``,
        ],
        tone: operation.status,
        buttons: operation.status === 'running' && !operation.cancelRequested && !operation.ending
          ? [{ actionId: cancelAction, label: 'Cancel', value: operation.id, style: 'danger' }]
          : [],
      };
    },

    stepDone(_operation, step: StepRecord, title: string): ChatMessage {
      const took = step.finishedAt !== undefined ? formatDuration(step.finishedAt - step.startedAt) : '';
      return { text: `${icons[step.status]} *${title}* — ${took}${step.detail ? ` · ${step.detail}` : ''}` };
    },

    summary(operation, state): ChatMessage {
      const timings = operation.steps
        .filter((s) => s.status !== 'skipped')
        .map((s) => `${icons[s.status]} ${titleOf(s.name)} ${s.finishedAt !== undefined ? formatDuration(s.finishedAt - s.startedAt) : ''}`);
      const cleanup = (state.cleanup ?? []).map((line) => `Cleanup: ${line}`);
      if (operation.status === 'succeeded' && state.existingAmi) {
        return { text: `*${operation.app} ${operation.version}* is already baked on this base: ${amiLink(regionOf(operation), state.existingAmi)}. Add \`--force\` to bake it again.`, tone: 'succeeded' };
      }
      if (operation.status === 'succeeded') {
        const amis = [`${regionOf(operation)}: ${amiLink(regionOf(operation), state.imageId ?? '')}`, ...Object.entries(state.copies ?? {}).map(([region, id]) => `${region}: ${amiLink(region, id)}`)];
        return {
          text: `*Baked ${operation.app} ${operation.version}* in ${elapsed(operation)}`,
          lines: [
            `AMI ${amis.join(' · ')}`,
            `Name: \`${state.imageName}\``,
            `Base: \`${state.baseAmi}\` ${state.baseAmiName ?? ''}`,
            `Steps: ${timings.join(' · ')}`,
            `Total: ${elapsed(operation)} · AWS: ${state.awsCalls ?? 0} calls${state.awsRetries ? ` (${state.awsRetries} retried)` : ''}`,
            ...cleanup,
          ],
          tone: 'succeeded',
        };
      }
      const verb = operation.status === 'cancelled' ? 'Cancelled' : 'Failed';
      return {
        text: `*${verb}: bake ${operation.app} ${operation.version}* at step *${operation.error?.step}*`,
        lines: [
          `Why: ${operation.error?.message ?? 'unknown'}`,
          // The log is the builder's text, not Bakery's: shown so that it cannot format, link or mention.
          ...(operation.error?.log ? [`Builder log (last lines):\n\`\`\`${untrustedText(operation.error.log.slice(-2500))}\`\`\``] : []),
          `Steps: ${timings.join(' · ')}`,
          ...cleanup,
        ],
        tone: operation.status,
      };
    },
  };
}
