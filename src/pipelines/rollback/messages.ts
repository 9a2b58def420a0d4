import type { Clock } from '../../clock.js';
import { mention } from '../../message.js';
import { formatDuration, whereItIs } from '../../operations/format.js';
import type { ChatMessage } from '../../message.js';
import type { Pipeline } from '../../operations/pipeline.js';
import type { Operation } from '../../store/items.js';
import { rollbackParams, type RollbackState } from './state.js';

/** How a rollback reads in chat: where it goes from and to, each step, and how long the fleet took to serve the old release. */
export function rollbackMessages(clock: Clock, steps: { name: string; title: string }[]): Pick<Pipeline<RollbackState>, 'root' | 'stepDone' | 'summary'> {
  const titleOf = (name: string): string => steps.find((step) => step.name === name)?.title ?? name;
  const target = (operation: Operation): string => {
    const { target: to } = rollbackParams.parse(operation.params);
    return to.version ?? to.ami;
  };
  const from = (operation: Operation): string => {
    const { from: was } = rollbackParams.parse(operation.params);
    return was?.version ?? was?.ami ?? 'the live release';
  };

  return {
    root(operation, state) {
      const status =
        operation.status === 'running'
          ? `⏳ ${whereItIs(operation, titleOf)} · ${formatDuration(clock.now() - operation.createdAt)} so far`
          : operation.status === 'succeeded'
            ? `✓ ${target(operation)} is live again`
            : `✗ ${operation.error?.message ?? operation.status}`;
      return {
        text: `*Rollback ${operation.app}* · ${from(operation)} → ${target(operation)}`,
        // In the thread of the release it rolled back, the root says that release's fate too.
        lines: [status, ...(operation.status === 'succeeded' && state.rolledBack ? [state.rolledBack] : [])],
        context: [`asked by ${mention(operation.requestedBy)}`, `Operation \`${operation.id}\``],
        tone: operation.status,
      };
    },
    stepDone(_operation, step, title) {
      const took = step.finishedAt !== undefined ? formatDuration(step.finishedAt - step.startedAt) : '';
      return { text: `✓ ${title}${took ? ` (${took})` : ''}${step.detail ? ` — ${step.detail}` : ''}`, tone: 'info' };
    },
    summary(operation, state) {
      const serving = state.servingAt !== undefined ? formatDuration(state.servingAt - operation.createdAt) : undefined;
      return {
        text:
          operation.status === 'succeeded'
            ? `*${operation.app} rolled back* from ${from(operation)} to ${target(operation)}${serving ? `: the fleet served it ${serving} after /rollback` : ''}`
            : `*Rollback of ${operation.app} failed*: ${operation.error?.message ?? operation.status}`,
        context: [`Total ${formatDuration((operation.finishedAt ?? clock.now()) - operation.createdAt)} · ${state.awsCalls ?? 0} AWS calls (${state.awsRetries ?? 0} retried)`],
        tone: operation.status,
        broadcast: true,
      };
    },
  };
}

/** A rollback's start, broadcast from the release's thread it continues: the channel hears it began, not only how it ended. */
export function rollbackStarted(operation: Operation): ChatMessage {
  const { target, from } = rollbackParams.parse(operation.params);
  return {
    text: `*Rolling back ${operation.app}* from ${from?.version ?? from?.ami ?? 'the live release'} to ${target.version ?? target.ami}`,
    context: [`asked by ${mention(operation.requestedBy)}`],
    tone: 'running',
    broadcast: true,
  };
}
