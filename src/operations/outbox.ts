import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { Announcement, ChatThread, Operation } from '../store/items.js';
import { StaleOperationError, type Store } from '../store/store.js';
import { OperationHandle } from './handle.js';
import type { ToAnnounce } from './pipeline.js';

/*
 * An operation's outbox: what it must say in its thread (its summary, an approval request, a chart),
 * or in another thread's root (a release it replaced or rolled back), is written into the operation
 * with the outcome that says it, in one conditional write, and posted from there. The owner posts at
 * once; a replica that takes a running operation over posts what the dead owner did not; a finished
 * operation's announcements are posted by whichever replica claims them (`announcing`, like a lease
 * but only for posting) on its look for work.
 *
 * Slack's chat.postMessage takes no idempotency key, so a post and its record cannot be one act: each
 * attempt is written before it is made and the post after it. An announcement found with an attempt
 * but no post was cut short by a crash, before or after Slack took it: it is posted again (at least
 * once), logged as a possible repeat, and carries its key and attempt in Slack's message metadata,
 * so two copies can be told apart. A crash before the attempt's write never repeats. A redraw is an
 * update of a message that exists: made again, it shows the same root.
 */

/** Posts one announcement in the operation's thread (or redraws the root it names); undefined when the chat refused it. */
export type PostAnnouncement = (operation: Operation, announcement: Announcement) => Promise<{ ref?: ChatThread } | undefined>;

/** Refusals after which an announcement is given up (a channel Bakery was removed from), so no replica tries forever. */
const MAX_ATTEMPTS = 5;

/** The operation with these announcements added to its outbox; a key already there is not added twice. */
export function withAnnouncements(operation: Operation, announce: ToAnnounce[] | undefined): Operation {
  if (!announce?.length) return operation;
  const outbox = [...(operation.outbox ?? [])];
  for (const item of announce) {
    if (outbox.some((entry) => entry.key === item.key)) continue;
    outbox.push({ key: item.key, ...('message' in item ? { message: item.message } : 'file' in item ? { file: item.file } : 'redraw' in item ? { redraw: item.redraw } : { reply: item.reply }), attempts: 0 });
  }
  return { ...operation, outbox };
}

export function unannounced(operation: Operation): Announcement[] {
  return (operation.outbox ?? []).filter((entry) => !entry.posted && !entry.abandoned);
}

/** Where an announcement was posted, for a step that keeps it current (an approval request's buttons). */
export function postedRef(operation: Operation, key: string): ChatThread | undefined {
  return operation.outbox?.find((entry) => entry.key === key)?.posted?.ref;
}

export class Outbox {
  /** Operations this process is posting for, so its own look for work does not post them again beside it. */
  private readonly delivering = new Set<string>();

  constructor(
    private readonly options: { store: Store; clock: Clock; log: Logger; owner: string; claimMs: number; post: PostAnnouncement },
  ) {}

  /** The claim a finished operation's last write takes, so other replicas leave its posting to this one. */
  claim(): NonNullable<Operation['announcing']> {
    return { owner: this.options.owner, until: this.options.clock.now() + this.options.claimMs };
  }

  /**
   * Posts the operation's pending announcements in order, each attempt written before it is made and
   * each post after. Stops, leaving the rest pending, when the chat refuses one, or at once (writing
   * nothing more, as a crash would) when `signal` aborts.
   */
  async deliver(handle: OperationHandle, signal?: AbortSignal): Promise<void> {
    const { clock, log } = this.options;
    const id = handle.current.id;
    if (this.delivering.has(id)) return;
    this.delivering.add(id);
    try {
      for (const entry of unannounced(handle.current)) {
        if (signal?.aborted) return;
        const attempt = { ...entry, attempts: entry.attempts + 1 };
        const begun = await handle.update((op) => withEntry(op, attempt));
        if (entry.attempts > 0) log.warn({ operationId: id, key: entry.key, attempt: attempt.attempts }, 'posting an announcement again: an earlier attempt was cut short and may have posted it');
        const posted = await this.options.post(begun, attempt);
        if (signal?.aborted) return;
        if (!posted && attempt.attempts < MAX_ATTEMPTS) return; // the next look tries again
        const outcome = posted ? { posted: { at: clock.now(), ...(posted.ref ? { ref: posted.ref } : {}) } } : { abandoned: `the chat refused it ${attempt.attempts} times` };
        if (!posted) log.error({ operationId: id, key: entry.key }, 'gave up an announcement the chat kept refusing');
        await handle.update((op) => released(withEntry(op, { ...attempt, ...outcome })));
      }
    } finally {
      this.delivering.delete(id);
    }
  }

  /**
   * Posts what finished operations still have to say, for each whose claim is free, lapsed or ours,
   * leaving alone those `running` here (their run posts its own, and a second writer would make its
   * handle stale between its last write and its first post).
   */
  async deliverUnannounced(options: { signal?: AbortSignal; running?: (operationId: string) => boolean } = {}): Promise<void> {
    const { store, clock, log, owner } = this.options;
    const { signal, running } = options;
    for (const operation of await store.listUnannounced()) {
      if (signal?.aborted) return;
      const claim = operation.announcing;
      if ((claim && claim.until >= clock.now() && claim.owner !== owner) || this.delivering.has(operation.id) || running?.(operation.id)) continue;
      const handle = new OperationHandle(store, operation);
      try {
        await handle.update((op) => ({ ...op, announcing: this.claim() }));
        await this.deliver(handle, signal);
      } catch (error) {
        // Another replica claimed it first (or the index was behind): it is theirs.
        if (!(error instanceof StaleOperationError)) log.warn({ err: error, operationId: operation.id }, 'could not post an operation’s announcements');
      }
    }
  }
}

function withEntry(operation: Operation, entry: Announcement): Operation {
  return { ...operation, outbox: (operation.outbox ?? []).map((e) => (e.key === entry.key ? entry : e)) };
}

/** A finished operation with nothing left to post keeps no claim. */
function released(operation: Operation): Operation {
  return operation.status !== 'running' && unannounced(operation).length === 0 ? { ...operation, announcing: undefined } : operation;
}
