import type { MessageRef } from '../message.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { laneOf, type Announcement, type AppLock, type Operation, type OperationKind, type OperationStatus, type StepRecord } from '../store/items.js';
import { StaleOperationError, type StartOperationResult, type Store } from '../store/store.js';
import { OperationHandle } from './handle.js';
import { Outbox, withAnnouncements } from './outbox.js';
import { Cancelled, LeaseLost, Shutdown, StepFailure, type Pipeline, type StepChat, type StepInput, type ToAnnounce } from './pipeline.js';

/**
 * Where an operation's progress is shown. The runner asks it only to open the thread before the
 * first step and for the thread its steps write in; all the rest reaches it as events.
 */
export interface RunProgress {
  /** Posts the operation's root (or continues its thread); throws when the chat refuses it. */
  open(operation: Operation): Promise<MessageRef>;
  chat(operationId: string): StepChat;
  /** Posts one announcement of the operation's outbox (here or on the replica that took it over); undefined when the chat refused it. */
  announce(operation: Operation, announcement: Announcement): Promise<{ ref?: MessageRef } | undefined>;
}

export type RunListener = (event: RunnerEvent) => void | Promise<void>;

export interface RunnerOptions {
  store: Store;
  progress: RunProgress;
  /** The progress thread, the audit trail, metrics and tests: each event is given to each, in order, and awaited. */
  listeners: RunListener[];
  clock: Clock;
  log: Logger;
  /** This replica's name; leases carry it. */
  owner: string;
  /** How long a lease lasts without a heartbeat; a dead replica's operations are taken over after it. */
  leaseMs: number;
  /**
   * How often an owner looks at its running operations' items for a press or a cancel taken on another
   * replica, and every replica at the hand-over count for work a stopping replica gave up (default 1 s).
   */
  watchMs?: number;
  pipelines: { [K in OperationKind]?: Pipeline<any> };
}

type Ending = NonNullable<Operation['ending']>;

/** Called once an operation's thread is posted, or with the reason it could not be. */
type Posted = (failure?: Error) => void;

export type StartResult = StartOperationResult | { outcome: 'not-posted'; reason: string };

/** How a run gets on, each with the operation as just written. */
export type RunnerEvent = { operationId: string; operation: Operation } & (
  | { type: 'resumed'; at: string }
  | { type: 'step-started'; step: string }
  | { type: 'step-waiting'; step: string; until: number }
  | { type: 'step-finished'; step: string; title: string }
  | { type: 'cleanup-started' }
  | { type: 'cleanup-failed'; reason: string }
  | { type: 'left' }
  | { type: 'finished'; status: OperationStatus }
);

/**
 * Runs operations to their end, here or on whichever replica holds the lease. Progress is written
 * after every step; a run stopped at any moment resumes from its last written step.
 */
export class OperationRunner {
  private readonly runs = new Map<string, { control: RunControl; done: Promise<void> }>();
  private watching: AbortController | undefined;
  /** Operations this replica stopped running on shutdown, whose leases it may hand over. */
  private readonly leftBehind = new Set<OperationHandle>();
  private readonly outbox: Outbox;

  constructor(private readonly options: RunnerOptions) {
    const { store, clock, log, owner, leaseMs, progress } = options;
    this.outbox = new Outbox({ store, clock, log, owner, claimMs: leaseMs, post: (operation, announcement) => progress.announce(operation, announcement) });
  }

  private async emit(event: RunnerEvent): Promise<void> {
    for (const listener of this.options.listeners) await listener(event);
  }

  /**
   * Starts a new operation unless its app is busy or this request already started one. Returns
   * once its progress thread is posted, so a chat that refuses the post (the bot is not in the
   * channel) is reported to the person who asked instead of being lost.
   */
  async start(input: { operation: Operation; lock: AppLock; requestId: string }): Promise<StartResult> {
    const result = await this.options.store.startOperation(input);
    if (result.outcome !== 'started') return result;
    const failure = await new Promise<Error | undefined>((posted) => this.launch(result.operation.id, posted));
    return failure ? { outcome: 'not-posted', reason: failure.message } : result;
  }

  /** Asks the operation to stop; its owner (here or on another replica) cleans up. */
  async cancel(operationId: string, by: string, options: { rollback?: boolean } = {}): Promise<Operation | undefined> {
    // A finished (or unknown) operation takes no cancel; read it to say which.
    const operation = (await this.options.store.requestCancel(operationId, by, options)) ?? (await this.options.store.getOperation(operationId));
    if (operation?.status === 'running' && operation.cancelRequested) this.runs.get(operationId)?.control.cancel(operation.cancelRequested.by);
    return operation;
  }

  /**
   * Tells a waiting step that its operation was answered (an approval was written). A run on this
   * replica looks again at once; one on another replica sees it at its owner's next look (watchMs).
   */
  notify(operationId: string): void {
    this.runs.get(operationId)?.control.wake();
  }

  /**
   * Adds an announcement to a finished operation's outbox (a release's thread saying, hours later, what
   * it may do next) and posts it as the outbox posts a finished operation's: the conditional write takes
   * it once, whichever replica writes first, and whoever finds it pending after a crash posts it. False
   * when nothing was added: the key is there already, the operation is gone, still running (its owner
   * writes it), or another replica is posting its outbox now (the next call adds it).
   */
  async announceAfter(operationId: string, item: ToAnnounce): Promise<boolean> {
    const { store, clock, log } = this.options;
    for (let attempt = 0; attempt < 3; attempt++) {
      const operation = await store.getOperation(operationId);
      if (!operation || operation.status === 'running' || operation.outbox?.some((entry) => entry.key === item.key)) return false;
      const claim = operation.announcing;
      if (claim && claim.until >= clock.now() && claim.owner !== this.options.owner) return false;
      const handle = new OperationHandle(store, operation);
      try {
        await handle.update((op) => ({ ...withAnnouncements(op, [item]), announcing: this.outbox.claim() }));
      } catch (error) {
        if (error instanceof StaleOperationError) continue; // written meanwhile: read it again
        throw error;
      }
      // Written: from here a look for work posts it should this post be cut short.
      await this.outbox.deliver(handle, this.watching?.signal).catch((error: unknown) => log.warn({ err: error, operationId, key: item.key }, 'could not post an announcement yet'));
      return true;
    }
    return false;
  }

  /**
   * Takes over running operations whose owner stopped renewing its lease (a crash, a restart), and
   * posts what finished operations still have to say.
   */
  async resumeAbandoned(options: { handedOver?: boolean } = {}): Promise<void> {
    const active = await this.options.store.listActiveOperations((error) => this.options.log.error({ err: error.message }, 'skipped an operation that cannot be read'));
    const now = this.options.clock.now();
    for (const operation of active) {
      // After a hand-over the index may still show the lease just given up: the claim's own condition decides.
      const leaseAlive = !options.handedOver && operation.lease && operation.lease.until >= now && operation.lease.owner !== this.options.owner;
      if (!leaseAlive && !this.runs.has(operation.id)) this.launch(operation.id);
    }
    await this.outbox.deliverUnannounced({ signal: this.watching?.signal, running: (id) => this.runs.has(id) });
  }

  /**
   * Keeps looking for abandoned operations until stopped: every lease/2 for a crashed replica's (its
   * lease must lapse first), and at once when the hand-over count rises (a replica stopping gave its
   * leases up), glanced at every watchMs.
   */
  watch(): void {
    const { store, clock, log, leaseMs } = this.options;
    const watching = new AbortController();
    this.watching = watching;
    const signal = watching.signal;
    void (async () => {
      let handOvers = await store.handOverCount().catch(() => 0);
      let handedOver = false;
      while (!signal.aborted) {
        await this.resumeAbandoned({ handedOver }).catch((error: unknown) => log.error({ err: error }, 'looking for abandoned operations failed'));
        handedOver = false;
        const nextLook = clock.now() + leaseMs / 2;
        while (!signal.aborted && !handedOver && clock.now() < nextLook) {
          await clock.sleep(Math.min(this.watchMs, nextLook - clock.now()), signal).catch(() => undefined);
          if (signal.aborted) return;
          const count = await store.handOverCount().catch(() => handOvers);
          handedOver = count > handOvers;
          handOvers = count;
        }
      }
    })();
  }

  private get watchMs(): number {
    return this.options.watchMs ?? 1_000;
  }

  /** Waits until every run in this process has ended. */
  async idle(): Promise<void> {
    while (this.runs.size > 0) await Promise.all([...this.runs.values()].map((run) => run.done));
  }

  /**
   * Stops this replica as a crash would: runs end where they are without writing anything more,
   * and their leases lapse so another replica (or this one, restarted) resumes them. With
   * `handOver` (a deploy's SIGTERM) the leases are given up at once, so another replica need not
   * wait for them to lapse.
   */
  async stop(options: { handOver?: boolean } = {}): Promise<void> {
    this.watching?.abort();
    for (const run of this.runs.values()) run.control.leave(new Shutdown('replica stopping'));
    await this.idle();
    if (options.handOver && this.leftBehind.size > 0) {
      await Promise.all([...this.leftBehind].map((handle) => handle.update((op) => ({ ...op, lease: undefined, announcing: undefined })).catch(() => undefined)));
      // The other replicas watch this count, and take the work over at once rather than at their next look.
      await this.options.store.countHandOver().catch((error: unknown) => this.options.log.warn({ err: error }, 'could not tell the other replicas of the hand-over'));
    }
    this.leftBehind.clear();
  }

  private launch(operationId: string, posted?: Posted): void {
    const control = new RunControl(this.options.clock);
    const done = this.run(operationId, control, posted)
      .catch((error: unknown) => {
        posted?.(error instanceof Error ? error : new Error(String(error)));
        this.options.log.error({ err: error, operationId }, 'operation run failed');
      })
      .finally(() => this.runs.delete(operationId));
    this.runs.set(operationId, { control, done });
  }

  private async run(operationId: string, control: RunControl, posted?: Posted): Promise<void> {
    const { store, owner, leaseMs } = this.options;
    const claimed = await store.claimOperation(operationId, owner, leaseMs);
    if (!claimed) return posted?.();
    const pipeline = this.options.pipelines[claimed.kind];
    if (!pipeline) throw new Error(`no pipeline for ${claimed.kind} operations`);
    const log = this.options.log.child({ operationId, app: claimed.app, kind: claimed.kind });
    const handle = new OperationHandle(store, claimed);
    const resumed = claimed.steps.length > 0;
    log.info({ resumed }, resumed ? 'resuming operation' : 'starting operation');

    if (!(await this.openThread(handle, posted))) return;
    if (resumed) await this.emit({ type: 'resumed', operationId, operation: handle.current, at: claimed.ending ? 'cleanup' : this.currentStep(claimed) });
    const chat = this.options.progress.chat(operationId);

    const heartbeat = this.heartbeat(handle, control);
    try {
      // What a dead owner wrote but did not get to post.
      await this.outbox.deliver(handle, control.leaving.signal);
      if (!handle.current.ending) {
        const ending = await this.runSteps(pipeline, handle, chat, control, log);
        if (ending === 'left') {
          if (control.leaving.signal.reason instanceof Shutdown) this.leftBehind.add(handle);
          await this.emit({ type: 'left', operationId, operation: handle.current });
          return;
        }
        await handle.update((op) => ({ ...op, ending: ending.status, error: ending.error }));
      }
      await this.finish(pipeline, handle, chat, control, heartbeat, log);
    } finally {
      await heartbeat.stop();
    }
  }

  /** Posts the operation's root message, or finds it again on resume. Without a thread nothing starts. */
  private async openThread(handle: OperationHandle, posted?: Posted): Promise<boolean> {
    const { store, clock, progress } = this.options;
    const operation = handle.current;
    try {
      const ref = await progress.open(operation);
      if (!operation.thread) await handle.update((op) => ({ ...op, thread: ref }));
      posted?.();
      return true;
    } catch (error) {
      // Nothing has started yet: end the operation so the app is free, and tell whoever asked.
      const reason = `could not post in the channel (${error instanceof Error ? error.message : String(error)}); invite Bakery to the channel and try again`;
      await handle.update((op) => ({ ...op, status: 'failed', finishedAt: clock.now(), lease: undefined, error: { step: 'start', message: reason } }));
      await store.releaseLock(operation.app, operation.id, laneOf(operation.kind), operation.environment);
      posted?.(new Error(reason));
      return false;
    }
  }

  /** Runs the steps not yet done, writing each one's outcome; says how they ended, or 'left' on shutdown. */
  private async runSteps(
    pipeline: Pipeline<unknown>,
    handle: OperationHandle,
    chat: StepChat,
    control: RunControl,
    log: Logger,
  ): Promise<{ status: Ending; error?: Operation['error'] } | 'left'> {
    const { clock } = this.options;
    const signal = control.steps.signal;
    const operationId = handle.current.id;
    try {
      if (handle.current.cancelRequested) throw new Cancelled(handle.current.cancelRequested.by);
      const steps = pipeline.stepsFor?.(handle.current) ?? pipeline.steps;
      for (const step of steps) {
        if (handle.current.steps.some((s) => s.name === step.name && (s.status === 'done' || s.status === 'skipped'))) continue;
        // A step resumed mid-wait keeps its start time and goes on from the state it saved.
        if (handle.current.steps.find((s) => s.name === step.name)?.status !== 'running') {
          await handle.update((op) => withStep(op, { name: step.name, status: 'running', startedAt: clock.now() }));
        }
        await this.emit({ type: 'step-started', operationId, operation: handle.current, step: step.name });
        let outcome = (await raceAbort(step.run(this.stepInput(pipeline, handle, chat, signal)), signal)) ?? {};
        while (outcome.wait) {
          const { until, detail } = outcome.wait;
          await handle.update((op) => withAnnouncements({ ...withStep(op, { ...stepOf(op, step.name), detail }), state: { ...op.state, ...outcome.state } }, outcome.announce));
          await this.outbox.deliver(handle, control.leaving.signal);
          await this.emit({ type: 'step-waiting', operationId, operation: handle.current, step: step.name, until });
          await control.nap(until - clock.now());
          await handle.refresh().catch((error: unknown) => {
            throw error instanceof StaleOperationError ? new LeaseLost('another replica took this operation over') : error;
          });
          outcome = (await raceAbort(step.run(this.stepInput(pipeline, handle, chat, signal)), signal)) ?? {};
        }
        signal.throwIfAborted();
        const finished = await handle.update((op) =>
          withAnnouncements({ ...withStep(op, { ...stepOf(op, step.name), status: 'done', finishedAt: clock.now(), detail: outcome.detail }), state: { ...op.state, ...outcome.state } }, outcome.announce),
        );
        await this.outbox.deliver(handle, control.leaving.signal);
        await this.emit({ type: 'step-finished', operationId, operation: finished, step: step.name, title: step.title });
        if (outcome.finish) {
          await handle.update((op) => skipRemaining(op, steps.map((s) => s.name), clock.now()));
          break;
        }
      }
      return { status: 'succeeded' };
    } catch (caught) {
      const reason: unknown = signal.aborted ? signal.reason : caught;
      if (reason instanceof Shutdown || reason instanceof LeaseLost) {
        log.warn({ reason: reason.message }, 'leaving operation to be resumed');
        return 'left';
      }
      const status = reason instanceof Cancelled ? 'cancelled' : 'failed';
      const step = this.currentStep(handle.current);
      if (reason instanceof Cancelled) log.info({ step, by: reason.by }, 'operation cancelled');
      // A StepFailure is an outcome the step named (a smoke test failed, a canary was judged bad): its message says it all; anything else keeps its stack.
      else if (reason instanceof StepFailure) log.warn({ step, reason: reason.message }, 'operation failed');
      else log.warn({ err: reason, step }, 'operation failed');
      const kept = reason instanceof StepFailure ? reason : undefined;
      await handle.update((op) => withAnnouncements({ ...withStep(op, { ...stepOf(op, step), status: 'failed', finishedAt: clock.now() }), state: { ...op.state, ...kept?.state } }, kept?.announce));
      await this.outbox.deliver(handle, control.leaving.signal);
      return { status, error: { step, message: reason instanceof Error ? reason.message : String(reason), log: reason instanceof StepFailure ? reason.log : undefined } };
    }
  }

  /**
   * Cleans up, then records the end. Cleanup runs on every ending, including a cancel (so it gets a
   * signal of its own). If it fails, the operation stays open and is resumed as cleanup once its
   * lease lapses: a builder is never left running because one AWS call failed.
   */
  private async finish(
    pipeline: Pipeline<unknown>,
    handle: OperationHandle,
    chat: StepChat,
    control: RunControl,
    heartbeat: { stop(): Promise<void> },
    log: Logger,
  ): Promise<void> {
    const { store, clock } = this.options;
    const leaving = control.leaving.signal;
    const ending = handle.current.ending ?? 'failed';
    let cleanup: string[];
    await this.emit({ type: 'cleanup-started', operationId: handle.current.id, operation: handle.current });
    try {
      cleanup = await raceAbort(pipeline.cleanup(this.stepInput(pipeline, handle, chat, leaving), ending), leaving);
    } catch (error) {
      if (leaving.aborted) {
        log.warn({ reason: (leaving.reason as Error).message }, 'leaving cleanup to be resumed');
        return;
      }
      log.error({ err: error }, 'cleanup failed; it will be retried');
      await this.emit({ type: 'cleanup-failed', operationId: handle.current.id, operation: handle.current, reason: error instanceof Error ? error.message : String(error) });
      await this.emit({ type: 'left', operationId: handle.current.id, operation: handle.current });
      return;
    }
    // No renewal may follow the end: a finished operation carries no lease.
    await heartbeat.stop();
    // The summary is written with the end (and claimed for posting by this replica), so a crash before it is posted loses nothing.
    const final = await handle.update((op) => {
      const ended = { ...op, status: ending, finishedAt: clock.now(), lease: undefined, state: { ...op.state, cleanup } };
      return { ...withAnnouncements(ended, [{ key: 'summary', message: pipeline.summary(ended, this.stateOf(pipeline, ended)) }]), announcing: this.outbox.claim() };
    });
    await store.releaseLock(final.app, final.id, laneOf(final.kind), final.environment);
    await this.outbox.deliver(handle, leaving);
    if (leaving.aborted && leaving.reason instanceof Shutdown) this.leftBehind.add(handle);
    await this.emit({ type: 'finished', operationId: final.id, operation: handle.current, status: ending });
    log.info({ status: ending }, 'operation finished');
  }

  /** What a step sees: the operation as last written, its typed state, and a way to show how it is getting on. */
  private stepInput(pipeline: Pipeline<unknown>, handle: OperationHandle, chat: StepChat, signal: AbortSignal): StepInput<unknown> {
    return { operation: handle.current, state: this.stateOf(pipeline, handle.current), signal, ...chat };
  }

  /**
   * Renews the lease every lease/3 (through cleanup too), and in between looks at the item every
   * watchMs for a cancel or a decision taken on another replica, so it reaches the run within about
   * a second rather than at the next renewal.
   */
  private heartbeat(handle: OperationHandle, control: RunControl): { stop(): Promise<void> } {
    const { clock, owner, leaseMs, store, log } = this.options;
    const stopped = new AbortController();
    const done = (): boolean => stopped.signal.aborted || control.leaving.signal.aborted;
    const beating = (async () => {
      let renewAt = clock.now() + leaseMs / 3;
      while (!done()) {
        await clock.sleep(Math.max(0, Math.min(this.watchMs, renewAt - clock.now())), stopped.signal).catch(() => undefined);
        if (done()) return;
        try {
          const before = handle.current;
          const renewing = clock.now() >= renewAt;
          const seen = renewing
            ? await handle.update((op) => ({ ...op, lease: { owner, until: clock.now() + leaseMs } }))
            : await store.getOperationSignals(before.id).catch((error: unknown) => log.debug({ err: error }, 'a look at the operation failed; the next one may not'));
          if (renewing) renewAt = clock.now() + leaseMs / 3;
          if (seen?.status !== 'running') continue;
          if (seen.cancelRequested) control.cancel(seen.cancelRequested.by);
          // An approval written on another replica: the waiting step looks again now, not at its next interval.
          if (seen.approval && !before.approval) control.wake();
        } catch (error) {
          if (stopped.signal.aborted) return;
          const reason = error instanceof StaleOperationError ? 'another replica took this operation over' : `the lease could not be renewed: ${(error as Error).message}`;
          control.leave(new LeaseLost(reason));
          return;
        }
      }
    })();
    // Stopping waits for a renewal in flight, so no write outlives the run (nor the table, in a test).
    return {
      stop: async () => {
        stopped.abort();
        await beating;
      },
    };
  }

  private stateOf<S>(pipeline: Pipeline<S>, operation: Operation): S {
    return pipeline.state.parse(operation.state);
  }

  private currentStep(operation: Operation): string {
    return operation.steps.findLast((s) => s.status === 'running')?.name ?? operation.steps.at(-1)?.name ?? 'start';
  }
}

function stepOf(operation: Operation, name: string): StepRecord {
  return operation.steps.find((s) => s.name === name) ?? { name, status: 'running', startedAt: operation.updatedAt };
}

function withStep(operation: Operation, step: StepRecord): Operation {
  const index = operation.steps.findIndex((s) => s.name === step.name);
  const steps = index === -1 ? [...operation.steps, step] : operation.steps.map((s) => (s.name === step.name ? step : s));
  return { ...operation, steps };
}

function skipRemaining(operation: Operation, names: string[], now: number): Operation {
  const missing = names.filter((name) => !operation.steps.some((s) => s.name === name));
  return { ...operation, steps: [...operation.steps, ...missing.map((name) => ({ name, status: 'skipped' as const, startedAt: now, finishedAt: now }))] };
}

/**
 * How a run is told to stop. A cancel ends the steps (cleanup still runs); leaving (this replica
 * stops, or lost its lease) ends everything at once, with nothing more written, as a crash would.
 */
class RunControl {
  readonly steps = new AbortController();
  readonly leaving = new AbortController();
  private waking = new AbortController();

  constructor(private readonly clock: Clock) {}

  /** Sleeps until `ms` have passed or someone wakes the run; a cancel or a stop ends it by throwing. */
  async nap(ms: number): Promise<void> {
    const waking = this.waking;
    await this.clock.sleep(Math.max(0, ms), AbortSignal.any([this.steps.signal, waking.signal])).catch((error: unknown) => {
      if (!waking.signal.aborted || this.steps.signal.aborted) throw this.steps.signal.aborted ? this.steps.signal.reason : error;
    });
    if (waking.signal.aborted) this.waking = new AbortController();
  }

  wake(): void {
    this.waking.abort();
  }

  cancel(by: string): void {
    this.steps.abort(new Cancelled(by));
  }

  leave(reason: Shutdown | LeaseLost): void {
    this.leaving.abort(reason);
    this.steps.abort(reason);
  }
}

/** A step ends as soon as the operation is cancelled or the replica stops, even mid-call. */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined); // its own end no longer matters
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
