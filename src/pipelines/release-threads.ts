/*
 * A release's own thread (the canary that made it live, whose root ended reading live) keeps saying
 * where the release stands when a later operation changes it: replaced by the next release, rolled
 * back, live again after a rollback. The operation that changes it redraws that root through its
 * outbox, written with the change, so a restart neither loses the redraw nor makes it twice.
 */
import { mention, type Tone } from '../message.js';
import { formatTime } from '../operations/format.js';
import type { ToAnnounce } from '../operations/pipeline.js';
import type { ChatThread, Operation, Release } from '../store/items.js';
import { CorruptItemError, type Store } from '../store/store.js';
import { releaseRoot } from './canary/messages.js';

/** What became of a release since it was live, as its root reads it: a stage for its path, a line, a tone. */
export interface ReleaseFate {
  stage: string;
  line: string;
  tone: Tone;
}

/** What the last change of the fleet made of the release, from its history; undefined when its last event is none (or names no other release). */
export function fateOf(release: Release, now: number): ReleaseFate | undefined {
  const last = release.history.at(-1);
  if (!last?.other) return undefined;
  const at = formatTime(last.at, now);
  switch (last.status) {
    case 'previous':
      return { stage: `replaced by ${last.other}`, line: `Replaced by ${last.other} at ${at}`, tone: 'info' };
    case 'rolled-back':
      return { stage: 'rolled back', line: `✗ Rolled back at ${at} (to ${last.other}) by ${mention(last.by)}`, tone: 'failed' };
    case 'live':
      return { stage: 'live again', line: `✓ Live again since ${at} (rollback by ${mention(last.by)})`, tone: 'succeeded' };
    default:
      return undefined;
  }
}

/**
 * The release's fate, and the redraw of its own thread's root for the outbox of the operation that
 * changed it. No redraw when it has no such thread, or when that is `shownIn` (the operation's own
 * thread, whose root says it itself).
 */
export async function releaseRedraw(store: Store, release: { app: string; version: string }, now: number, shownIn?: ChatThread): Promise<{ fate?: ReleaseFate; announce: ToAnnounce[] }> {
  const record = await store.getRelease(release.app, release.version);
  const fate = record && fateOf(record, now);
  if (!record || !fate) return { announce: [] };
  const own = await canaryThatMadeItLive(store, record);
  if (!own?.thread || (shownIn && own.thread.channel === shownIn.channel && own.thread.ts === shownIn.ts)) return { fate, announce: [] };
  return { fate, announce: [{ key: `redraw ${release.version}`, redraw: { thread: own.thread, message: releaseRoot(own, fate) } }] };
}

/** The last canary that made the release live: its thread is the release's own (a rollback that made it live again writes elsewhere). */
async function canaryThatMadeItLive(store: Store, release: Release): Promise<Operation | undefined> {
  for (const event of release.history.toReversed()) {
    if (event.status !== 'live' || !event.operationId) continue;
    // One that cannot be read is not the release's thread to redraw; the search goes on.
    const operation = await store.getOperation(event.operationId).catch((error: unknown) => {
      if (error instanceof CorruptItemError) return undefined;
      throw error;
    });
    // A red-black switch back writes the release before live again under the new release's canary.
    if (operation?.kind === 'canary' && operation.version === release.version) return operation;
  }
  return undefined;
}
