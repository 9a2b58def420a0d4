import { createTask, type ScheduledTask } from 'node-cron';
import type { Clock } from '../clock.js';
import type { JobSchedule } from '../config/schedule.js';
import type { Logger } from '../log.js';
import type { SlotJob } from '../store/items.js';
import type { Store } from '../store/store.js';

/** The latest minute at or before `now`, no older than `graceMs`, that the schedule matches. */
export function lastSlotWithin(matches: (date: Date) => boolean, now: number, graceMs: number): number | undefined {
  for (let minute = now - (now % 60_000); minute >= now - graceMs; minute -= 60_000) {
    if (matches(new Date(minute))) return minute;
  }
  return undefined;
}

/** A slot is a minute: the one the schedule fired for, as an ISO time. */
export const slotOf = (ms: number): string => new Date(ms - (ms % 60_000)).toISOString();

/** Takes the job's slot for this replica; false when another replica (or an earlier run of this one) has it. */
export async function takeSlot(store: Store, job: SlotJob, slotMs: number, owner: string, log: Logger): Promise<boolean> {
  const slot = slotOf(slotMs);
  if (await store.claimJobSlot(job, slot, owner)) return true;
  log.info({ slot }, `${job} slot already taken`);
  return false;
}

/**
 * Runs the job (`work(slot)`) at every slot, and once at start for a slot missed while the bot was
 * down (within the grace). Every replica runs it; `work` makes sure only one of them runs a slot
 * (a conditional write per slot, takeSlot).
 */
export function scheduleJob(
  name: string,
  schedule: JobSchedule,
  clock: Clock,
  log: Logger,
  work: (slotMs: number) => Promise<unknown>,
): { stop(): Promise<void>; caughtUp: Promise<void> } {
  const run = (slotMs: number): Promise<void> =>
    work(slotMs).then(
      () => undefined,
      (error: unknown) => log.warn({ err: error, job: name, slot: new Date(slotMs).toISOString() }, `the ${name} failed`),
    );
  const task: ScheduledTask = createTask(schedule.expression, (context) => void run(context.date.getTime()), {
    timezone: schedule.timezone,
    name,
    noOverlap: true,
    logger: { info: (m) => log.debug(m), warn: (m) => log.warn(m), error: (m) => log.warn(String(m)), debug: (m) => log.debug(String(m)) },
  });
  const missed = lastSlotWithin((date) => task.match(date), clock.now(), schedule.graceMs);
  void task.start();
  return { stop: async () => void (await task.destroy()), caughtUp: missed !== undefined ? run(missed) : Promise.resolve() };
}
