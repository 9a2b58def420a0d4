import type { ChatMessage } from '../src/message.js';
import { mention } from '../src/message.js';
import { formatTime, lockActivity } from '../src/operations/format.js';
import type { AppLock } from '../src/store/items.js';

/** "busy: baking demo v41 since 12:03 UTC, asked by @alice", and the way out. */
export function busy(lock: AppLock, now: number): ChatMessage {
  return {
    text: `busy: ${lockActivity(lock, lock.app)}${lock.environment ? ` in ${lock.environment}` : ''} since ${formatTime(lock.since, now)}, asked by ${mention(lock.requestedBy)}`,
    lines: [
      lock.kind === 'bake'
        ? 'Wait for it to finish, or press its *Cancel* button.'
        : lock.kind === 'rollback'
          ? 'Its thread shows when the fleet is back; nothing more to press.'
          : `Wait for it to finish, or \`/rollback ${lock.app}${lock.environment ? ` --env ${lock.environment}` : ''}\` to stop it and return to the live release.`,
    ],
    tone: 'failed',
  };
}
