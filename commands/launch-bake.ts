import type { ChatMessage, ChatUser } from '../src/message.js';
import { newOperationId, type Core } from '../src/core.js';
import type { BakeParams, BakeState } from '../src/pipelines/bake/state.js';
import { busy } from './busy.js';

/** Starts a bake operation (a bake, or a region retry with its `state`) under the app's bake lock and the request's mark. */
export async function launchBake(
  core: Core,
  input: { app: string; version: string; user: ChatUser; channel: string; requestId: string; params: BakeParams; state?: BakeState; audit: string; detail: string },
): Promise<ChatMessage | undefined> {
  const { app, version, user, channel, requestId, params } = input;
  const now = core.clock.now();
  const id = newOperationId(core.clock);
  const result = await core.runner.start({
    requestId,
    operation: { id, kind: 'bake', app, version, requestedBy: user.id, channel, params, state: input.state ?? {}, steps: [], status: 'running', createdAt: now, updatedAt: now, revision: 0 },
    lock: { app, operationId: id, kind: 'bake', version, requestedBy: user.id, since: now, requestId },
  });
  switch (result.outcome) {
    case 'started':
      await core.store.appendAudit({ app, at: now, actor: user.id, action: input.audit, operationId: id, detail: input.detail });
      return undefined;
    case 'duplicate-request':
      return undefined;
    case 'not-posted':
      return { text: `The ${params.retryRegion ? 'copy' : 'bake'} did not start: ${result.reason}.`, tone: 'failed' };
    case 'busy':
      return busy(result.lock, now);
  }
}
