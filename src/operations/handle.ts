import type { Operation } from '../store/items.js';
import { StaleOperationError, type Store } from '../store/store.js';

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

  /**
   * Reads the operation again for what others write without a new revision (a cancel, an approval).
   * A different revision means another replica took it over.
   */
  refresh(): Promise<Operation> {
    const read = this.queue.then(async () => {
      const stored = await this.store.getOperation(this.latest.id);
      if (!stored || stored.revision !== this.latest.revision) throw new StaleOperationError(this.latest.id, this.latest.revision);
      this.latest = stored;
      return stored;
    });
    this.queue = read.catch(() => undefined);
    return read;
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
