import type { z } from 'zod';
import type { ChatFile, ChatMessage, MessageRef } from '../message.js';
import type { Operation, OperationKind, OperationStatus, StepRecord } from '../store/items.js';

/*
 * An operation is a list of named steps, like an operator's runbook. Each step is idempotent: run
 * twice (after a crash, on another replica) it finds what its first run made instead of making it
 * again. Its outcome is written to the store before the next step starts, so the list can resume.
 */

export interface StepInput<S> {
  operation: Operation;
  state: S;
  signal: AbortSignal;
  /** Shows how the step is getting on ("provisioning: installing packages") on the root message. */
  note(detail: string): void;
  /**
   * Writes in the operation's thread: a new reply, or (given its ref, kept in the step's state) the
   * same reply again with new content, as a verdict table kept current. Never throws: chat is display.
   */
  say(message: ChatMessage, existing?: MessageRef): Promise<MessageRef | undefined>;
}

/** What a step may write in its operation's thread. */
export type StepChat = Pick<StepInput<unknown>, 'note' | 'say'>;

/**
 * What an operation must not fail to say (an approval request, a chart, a summary): kept in its
 * outbox with the outcome that says it, and posted at least once from there, on whichever replica.
 * `key` names it for good (a step run again announces the same key once); a `file` is drawn by the
 * pipeline when it is posted; a `redraw` is another thread's root (a release's, whose fate the
 * operation changed) updated to `message`.
 */
export type ToAnnounce = { key: string } & (
  | { message: ChatMessage }
  | { file: string }
  | { redraw: { thread: MessageRef; message: ChatMessage } }
  /** A reply in a thread later operations continue (a release's): said there without drawing its root again. */
  | { reply: { thread: MessageRef; message: ChatMessage } }
);

export interface StepOutcome<S> {
  state?: Partial<S>;
  /** One line for the thread: what the step did or found. */
  detail?: string;
  /** Ends the operation early, successfully, with this line (e.g. "already baked"). */
  finish?: string;
  /**
   * The step is not done: keep `state`, and run it again at `until` (a canary's next interval, an
   * approval's reminder), or sooner when someone answers the operation (an approval). The wait is
   * written, so whichever replica holds the lease after a restart resumes it on schedule.
   */
  wait?: { until: number; detail?: string };
  /** Written with this outcome, then posted in the thread (see ToAnnounce). */
  announce?: ToAnnounce[];
}

export interface Step<S> {
  name: string;
  title: string;
  run(input: StepInput<S>): Promise<StepOutcome<S> | void>;
}

export interface Pipeline<S> {
  kind: OperationKind;
  state: z.ZodType<S>;
  steps: Step<S>[];
  /** The steps of this operation, where they depend on it (a promotion's strategy); `steps` otherwise. */
  stepsFor?(operation: Operation): Step<S>[];
  /** Runs after the steps whatever the outcome (like Packer's cleanups); must be idempotent. */
  cleanup(input: StepInput<S>, status: OperationStatus): Promise<string[]>;
  root(operation: Operation, state: S): ChatMessage;
  stepDone(operation: Operation, step: StepRecord, title: string): ChatMessage;
  summary(operation: Operation, state: S): ChatMessage;
  /** Draws a file an outcome announced (a canary's chart), from the operation as it now is. */
  draw?(operation: Operation, state: S, file: string): Promise<ChatFile>;
}

/** A step failure a user can act on; `log` is the tail of the builder's log, when there is one. */
export class StepFailure extends Error {
  override name = 'StepFailure';
  /** What the step learned before it failed (a canary's last verdict), kept like a finished step's. */
  state?: Record<string, unknown>;
  /** What it announces with the failure (the chart of the window that failed). */
  announce?: ToAnnounce[];
  constructor(message: string, readonly log?: string) {
    super(message);
  }

  keeping(state: Record<string, unknown>, announce?: ToAnnounce[]): this {
    this.state = state;
    this.announce = announce;
    return this;
  }
}

/** Why a run stopped before its end without failing. */
export class Cancelled extends Error {
  override name = 'Cancelled';
  constructor(readonly by: string) {
    super(`cancelled by ${by}`);
  }
}

export class Shutdown extends Error {
  override name = 'Shutdown';
}

export class LeaseLost extends Error {
  override name = 'LeaseLost';
}
