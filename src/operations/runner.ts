import { ProgressThread } from '../chat/thread.js';
import type { ChatSurface } from '../chat/surface.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { AppLock, Operation, OperationKind, OperationStatus, StepRecord } from '../store/items.js';
import { StaleOperationError, type StartOperationResult, type Store } from '../store/store.js';
import { OperationHandle } from './handle.js';
import { Cancelled, LeaseLost, Shutdown, StepFailure, type Pipeline, type StepInput } from './pipeline.js';

export interface RunnerOptions {
  store: Store;
  surface: ChatSurface;
  clock: Clock;
  log: Logger;
  /** This replica's name; leases carry it. */
  owner: string;
  /** How long a lease lasts without a heartbeat; a dead replica's operations are taken over after it. */
  leaseMs: number;
  pipelines: { [K in OperationKind]?: Pipeline<any> };
  /** Tells observers (metrics, tests) how runs get on. */
  onEvent?: (event: RunnerEvent) => void;
}

/** Called once an operation's thread is posted, or with the reason it could not be. */
type Posted = (failure?: Error) => void;

export type StartResult = StartOperationResult | { outcome: 'not-posted'; reason: string };

export type RunnerEvent =
  | { type: 'step-started'; operationId: string; step: string }
  | { type: 'step-finished'; operationId: string; step: string }
  | { type: 'finished'; operationId: string; status: OperationStatus };

/**
 * Runs operations to their end, here or on whichever replica holds the lease. Progress is written
 * after every step; a run stopped at any moment resumes from its last written step.
 */
export class OperationRunner {
  private readonly runs = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private watching: AbortController | undefined;

  constructor(private readonly options: RunnerOptions) {}

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
  async cancel(operationId: string, by: string): Promise<Operation | undefined> {
    // A finished (or unknown) operation takes no cancel; read it to say which.
    const operation = (await this.options.store.requestCancel(operationId, by)) ?? (await this.options.store.getOperation(operationId));
    if (operation?.status === 'running' && operation.cancelRequested) this.runs.get(operationId)?.abort.abort(new Cancelled(by));
    return operation;
  }

  /** Takes over running operations whose owner stopped renewing its lease (a crash, a restart). */
  async resumeAbandoned(): Promise<void> {
    const active = await this.options.store.listActiveOperations();
    const now = this.options.clock.now();
    for (const operation of active) {
      const leaseAlive = operation.lease && operation.lease.until >= now && operation.lease.owner !== this.options.owner;
      if (!leaseAlive && !this.runs.has(operation.id)) this.launch(operation.id);
    }
  }

  /** Keeps looking for abandoned operations until stopped. */
  watch(): void {
    const watching = new AbortController();
    this.watching = watching;
    void (async () => {
      while (!watching.signal.aborted) {
        await this.resumeAbandoned().catch((error: unknown) => this.options.log.error({ err: error }, 'looking for abandoned operations failed'));
        await this.options.clock.sleep(this.options.leaseMs / 2, watching.signal).catch(() => undefined);
      }
    })();
  }

  /** Waits until every run in this process has ended. */
  async idle(): Promise<void> {
    while (this.runs.size > 0) await Promise.all([...this.runs.values()].map((run) => run.done));
  }

  /**
   * Stops this replica as a crash would: runs end where they are without writing anything more,
   * and their leases lapse so another replica (or this one, restarted) resumes them.
   */
  async stop(): Promise<void> {
    this.watching?.abort();
    for (const run of this.runs.values()) run.abort.abort(new Shutdown('replica stopping'));
    await this.idle();
  }

  private launch(operationId: string, posted?: Posted): void {
    const abort = new AbortController();
    const done = this.run(operationId, abort, posted)
      .catch((error: unknown) => {
        posted?.(error instanceof Error ? error : new Error(String(error)));
        this.options.log.error({ err: error, operationId }, 'operation run failed');
      })
      .finally(() => this.runs.delete(operationId));
    this.runs.set(operationId, { abort, done });
  }

  private async run(operationId: string, abort: AbortController, posted?: Posted): Promise<void> {
    const { store, clock, owner, leaseMs } = this.options;
    const claimed = await store.claimOperation(operationId, owner, leaseMs);
    if (!claimed) return posted?.();
    const pipeline = this.options.pipelines[claimed.kind];
    if (!pipeline) throw new Error(`no pipeline for ${claimed.kind} operations`);
    const log = this.options.log.child({ operationId, app: claimed.app, kind: claimed.kind });
    const handle = new OperationHandle(store, claimed);
    const resumed = claimed.steps.length > 0;
    log.info({ resumed }, resumed ? 'resuming operation' : 'starting operation');

    let thread: ProgressThread;
    try {
      thread = await ProgressThread.open(this.options.surface, clock, claimed.channel, pipeline.root(claimed, this.stateOf(pipeline, claimed)), claimed.thread, { log });
    } catch (error) {
      // Nothing has started yet: end the operation so the app is free, and tell whoever asked.
      const reason = `could not post in the channel (${error instanceof Error ? error.message : String(error)}); invite Bakery to the channel and try again`;
      await handle.update((op) => ({ ...op, status: 'failed', finishedAt: clock.now(), lease: undefined, error: { step: 'start', message: reason } }));
      await store.releaseLock(claimed.app, claimed.id);
      posted?.(new Error(reason));
      return;
    }
    if (!claimed.thread) await handle.update((op) => ({ ...op, thread: thread.ref }));
    posted?.();
    if (resumed) await thread.reply({ text: `Resumed after a restart, at step *${this.currentStep(handle.current)}*.`, tone: 'info' });

    const heartbeat = this.heartbeat(handle, abort);
    const show = (): void => thread.setRoot(pipeline.root(handle.current, this.stateOf(pipeline, handle.current)));
    let detailNote: string | undefined;
    const input = (): StepInput<unknown> => ({
      operation: handle.current,
      state: this.stateOf(pipeline, handle.current),
      signal: abort.signal,
      note: (detail) => {
        if (detail === detailNote) return;
        detailNote = detail;
        thread.setRoot(pipeline.root({ ...handle.current, steps: handle.current.steps.map((s) => (s.status === 'running' ? { ...s, detail } : s)) }, this.stateOf(pipeline, handle.current)));
      },
    });

    let status: OperationStatus = 'succeeded';
    let error: Operation['error'];
    try {
      if (handle.current.cancelRequested) throw new Cancelled(handle.current.cancelRequested.by);
      for (const step of pipeline.steps) {
        if (handle.current.steps.some((s) => s.name === step.name && (s.status === 'done' || s.status === 'skipped'))) continue;
        await handle.update((op) => withStep(op, { name: step.name, status: 'running', startedAt: clock.now() }));
        show();
        this.options.onEvent?.({ type: 'step-started', operationId, step: step.name });
        detailNote = undefined;
        const outcome = (await raceAbort(step.run(input()), abort.signal)) ?? {};
        abort.signal.throwIfAborted();
        const finished = await handle.update((op) => ({
          ...withStep(op, { ...stepOf(op, step.name), status: 'done', finishedAt: clock.now(), detail: outcome.detail }),
          state: { ...op.state, ...outcome.state },
        }));
        this.options.onEvent?.({ type: 'step-finished', operationId, step: step.name });
        await thread.reply(pipeline.stepDone(finished, stepOf(finished, step.name), step.title));
        show();
        if (outcome.finish) {
          await handle.update((op) => skipRemaining(op, pipeline.steps.map((s) => s.name), clock.now()));
          break;
        }
      }
    } catch (caught) {
      const reason = abort.signal.aborted ? abort.signal.reason : caught;
      if (reason instanceof Shutdown || reason instanceof LeaseLost) {
        heartbeat.stop();
        log.warn({ reason: (reason as Error).message }, 'leaving operation to be resumed');
        return;
      }
      status = reason instanceof Cancelled ? 'cancelled' : 'failed';
      const step = this.currentStep(handle.current);
      error = { step, message: reason instanceof Error ? reason.message : String(reason), log: reason instanceof StepFailure ? reason.log : undefined };
      log.warn({ err: reason, step }, `operation ${status}`);
      await handle.update((op) => withStep(op, { ...stepOf(op, step), status: 'failed', finishedAt: clock.now() })).catch(() => undefined);
    }

    // Cleanup runs on every outcome, including cancel; it must not be cut short by the cancel itself.
    const cleanupAbort = new AbortController();
    const cleanup = await pipeline
      .cleanup({ ...input(), signal: cleanupAbort.signal }, status)
      .catch((cleanupError: unknown) => [`cleanup failed: ${(cleanupError as Error).message}; it will be retried when the operation is resumed`]);
    heartbeat.stop();
    const final = await handle.update((op) => ({
      ...op,
      status,
      error,
      finishedAt: clock.now(),
      lease: undefined,
      state: { ...op.state, cleanup },
    }));
    await store.releaseLock(final.app, final.id);
    await store.appendAudit({ app: final.app, at: clock.now(), actor: final.requestedBy, action: `${final.kind} ${status}`, operationId: final.id, detail: `${final.kind} ${final.version}${error ? `: ${error.message}` : ''}` });
    await thread.reply(pipeline.summary(final, this.stateOf(pipeline, final)));
    thread.setRoot(pipeline.root(final, this.stateOf(pipeline, final)));
    await thread.flush();
    this.options.onEvent?.({ type: 'finished', operationId, status });
    log.info({ status }, 'operation finished');
  }

  /** Renews the lease and notices a cancel asked for on another replica. */
  private heartbeat(handle: OperationHandle, abort: AbortController): { stop(): void } {
    const { clock, owner, leaseMs } = this.options;
    const stopped = new AbortController();
    void (async () => {
      while (!stopped.signal.aborted && !abort.signal.aborted) {
        await clock.sleep(leaseMs / 3, stopped.signal).catch(() => undefined);
        if (stopped.signal.aborted || abort.signal.aborted) return;
        try {
          const renewed = await handle.update((op) => ({ ...op, lease: { owner, until: clock.now() + leaseMs } }));
          if (renewed.cancelRequested) abort.abort(new Cancelled(renewed.cancelRequested.by));
        } catch (error) {
          if (stopped.signal.aborted) return;
          abort.abort(error instanceof StaleOperationError ? new LeaseLost('another replica took this operation over') : error);
          return;
        }
      }
    })();
    return { stop: () => stopped.abort() };
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
