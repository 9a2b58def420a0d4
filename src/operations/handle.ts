import type { Operation } from '../store/items.js';
import type { Store } from '../store/store.js';

/**
 * The one writer of an operation in this process. Steps and the heartbeat both change the
 * operation; their writes go out one at a time, each against the revision the previous one left,
 * so a replica that lost its lease finds out on its next write instead of overwriting the new owner.
 */
export class OperationHandle {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly store: Store, private latest: Operation) {}

  get current(): Operation {
    return this.latest;
  }

  update(change: (operation: Operation) => Operation): Promise<Operation> {
    const write = this.queue.then(async () => {
      this.latest = await this.store.saveOperation(change(this.latest));
      return this.latest;
    });
    this.queue = write.catch(() => undefined);
    return write;
  }
}
