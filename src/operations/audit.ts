import type { Clock } from '../clock.js';
import type { Store } from '../store/store.js';
import type { RunnerEvent } from './runner.js';

/** The audit trail's view of the runner: one entry per operation that ends, with how and why. */
export function auditTrail(store: Store, clock: Clock): (event: RunnerEvent) => Promise<void> {
  return async (event) => {
    if (event.type !== 'finished') return;
    const operation = event.operation;
    await store.appendAudit({
      app: operation.app,
      at: clock.now(),
      actor: operation.requestedBy,
      action: `${operation.kind} ${event.status}`,
      operationId: operation.id,
      detail: `${operation.kind} ${operation.version}${operation.error ? `: ${operation.error.message}` : ''}`,
    });
  };
}
