import { randomBytes } from 'node:crypto';
import type { Clock } from './clock.js';
import type { Logger } from './log.js';
import type { OperationRunner } from './operations/runner.js';
import type { Store } from './store/store.js';

/** What commands may use of Bakery's core: the store, the operation runner, the clock, the logger. */
export interface Core {
  store: Store;
  runner: OperationRunner;
  clock: Clock;
  log: Logger;
}

/** Operation ids sort by creation time and are safe in tags, client tokens and AMI names. */
export function newOperationId(clock: Clock): string {
  return `op-${clock.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}
