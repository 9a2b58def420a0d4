import { SlackPace } from './pace.js';
import { errorMessage, ProgressThread } from './thread.js';
import type { ChatSurface } from './surface.js';
import type { MessageRef } from '../message.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { Announcement, Operation, OperationKind } from '../store/items.js';
import type { Pipeline, StepChat } from '../operations/pipeline.js';
import type { RunnerEvent } from '../operations/runner.js';

/**
 * An operation's progress in chat, fed by the runner's events: the root message kept current (the
 * pipeline renders it), one reply per step. The runner asks it to open the thread before the first
 * step (a chat that refuses the post stops the operation unstarted), hands its steps the thread to
 * write in, and has it post the operation's outbox (the summary, approval requests, charts); the
 * rest arrives as events.
 */
export class ProgressReporter {
  private readonly threads = new Map<string, ProgressThread>();
  /** Shared by every thread in the process, so that together they keep to Slack's limits. */
  private readonly pace: SlackPace;

  constructor(
    private readonly options: { surface: ChatSurface; clock: Clock; log: Logger; pipelines: { [K in OperationKind]?: Pipeline<any> } },
  ) {
    this.pace = new SlackPace(options.clock);
  }

  /** Posts the operation's root, or continues its thread (a resumed operation, a release's bake thread). Throws when the chat refuses. */
  async open(operation: Operation): Promise<MessageRef> {
    const { surface, clock, log } = this.options;
    const thread = await ProgressThread.open(surface, clock, operation.channel, this.root(operation), operation.thread, { log: log.child({ operationId: operation.id }), pace: this.pace });
    this.threads.set(operation.id, thread);
    return thread.ref;
  }

  chat(operationId: string): StepChat {
    const thread = this.thread(operationId);
    return {
      note: (detail) => {
        const operation = this.latest.get(operationId);
        if (operation) thread.setRoot(this.root({ ...operation, steps: operation.steps.map((s) => (s.status === 'running' ? { ...s, detail } : s)) }));
      },
      say: (message, existing) => thread.say(message, existing),
    };
  }

  /**
   * Posts an announcement in its operation's thread, after the replies before it; on a replica that
   * took a finished operation's outbox over, in the thread continued from the operation's ref. A
   * redraw updates the other thread's root it names, paced like every root update.
   */
  async announce(operation: Operation, announcement: Announcement): Promise<{ ref?: MessageRef } | undefined> {
    const { surface, clock, log } = this.options;
    if (announcement.redraw) return this.redraw(operation, announcement.key, announcement.redraw);
    if (announcement.reply) return this.replyIn(operation, announcement, announcement.reply);
    const open = this.threads.get(operation.id);
    if (!open && !operation.thread) return undefined;
    const thread = open ?? (await ProgressThread.open(surface, clock, operation.channel, this.root(operation), operation.thread, { log: log.child({ operationId: operation.id }), pace: this.pace }));
    try {
      if (announcement.file !== undefined) {
        const pipeline = this.pipelineOf(operation);
        if (!pipeline.draw) throw new Error(`${operation.kind} operations draw no files`);
        await thread.upload(await pipeline.draw(operation, pipeline.state.parse(operation.state), announcement.file));
        return {};
      }
      if (!announcement.message) throw new Error(`announcement ${announcement.key} has neither a message nor a file`);
      const origin = { operation: operation.id, key: announcement.key, attempt: announcement.attempts };
      const ref = await thread.say({ ...announcement.message, origin });
      return ref ? { ref } : undefined;
    } catch (error) {
      log.error({ err: error, operationId: operation.id, key: announcement.key }, 'could not draw an announcement');
      return undefined;
    } finally {
      if (!open) await thread.flush();
    }
  }

  /** A reply in a thread the operation does not draw: reopening it as the operation's would draw its root back. */
  private async replyIn(operation: Operation, announcement: Announcement, reply: NonNullable<Announcement['reply']>): Promise<{ ref?: MessageRef } | undefined> {
    try {
      await this.pace.post(reply.thread.channel);
      const origin = { operation: operation.id, key: announcement.key, attempt: announcement.attempts };
      return { ref: await this.options.surface.reply(reply.thread, { ...reply.message, origin }) };
    } catch (error) {
      this.options.log.warn({ err: errorMessage(error), operationId: operation.id, key: announcement.key, ref: reply.thread }, 'could not reply in a thread');
      return undefined;
    }
  }

  private async redraw(operation: Operation, key: string, redraw: NonNullable<Announcement['redraw']>): Promise<{ ref?: MessageRef } | undefined> {
    try {
      await this.pace.update();
      await this.options.surface.update(redraw.thread, redraw.message);
      return { ref: redraw.thread };
    } catch (error) {
      this.options.log.warn({ err: errorMessage(error), operationId: operation.id, key, ref: redraw.thread }, 'could not redraw a thread’s root');
      return undefined;
    }
  }

  /** The operation as the last event showed it, for notes between events. */
  private readonly latest = new Map<string, Operation>();

  readonly listener = async (event: RunnerEvent): Promise<void> => {
    const thread = this.threads.get(event.operation.id);
    if (!thread) return;
    this.latest.set(event.operation.id, event.operation);
    const pipeline = this.pipelineOf(event.operation);
    switch (event.type) {
      case 'resumed':
        await thread.reply({ text: `Resumed after a restart, at *${this.titleOf(event.operation, event.at)}*.`, tone: 'info' });
        return;
      case 'step-finished': {
        const step = event.operation.steps.find((s) => s.name === event.step);
        // Queued in order behind the other replies, not awaited: Slack's pacing must not hold up the next step
        // (an approved promotion starts its refresh at once). The summary flushes the thread.
        if (step) void thread.reply(pipeline.stepDone(event.operation, step, event.title));
        thread.setRoot(this.root(event.operation));
        return;
      }
      case 'cleanup-failed':
        await thread.reply({ text: `Cleanup failed (${event.reason}); Bakery will retry it.`, tone: 'failed' });
        return;
      case 'finished':
        thread.setRoot(this.root(event.operation));
        await thread.flush();
        this.forget(event.operation.id);
        return;
      case 'left':
        this.forget(event.operation.id);
        return;
      default:
        thread.setRoot(this.root(event.operation));
    }
  };

  private forget(operationId: string): void {
    this.threads.delete(operationId);
    this.latest.delete(operationId);
  }

  private thread(operationId: string): ProgressThread {
    const thread = this.threads.get(operationId);
    if (!thread) throw new Error(`no progress thread is open for ${operationId}`);
    return thread;
  }

  private pipelineOf(operation: Operation): Pipeline<unknown> {
    const pipeline = this.options.pipelines[operation.kind];
    if (!pipeline) throw new Error(`no pipeline for ${operation.kind} operations`);
    return pipeline;
  }

  /** A step as people read it (its title), never its internal name; the cleanup after the steps is "the cleanup". */
  private titleOf(operation: Operation, step: string): string {
    const pipeline = this.pipelineOf(operation);
    const title = (pipeline.stepsFor?.(operation) ?? pipeline.steps).find((s) => s.name === step)?.title;
    return title ?? (step === 'cleanup' ? 'the cleanup' : step);
  }

  private root(operation: Operation) {
    const pipeline = this.pipelineOf(operation);
    return pipeline.root(operation, pipeline.state.parse(operation.state));
  }
}
