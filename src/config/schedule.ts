/* When the scheduled jobs (the digest, the sweep, the look for ended soaks) run: read from the environment, used by src/jobs/schedule.ts. */
import { validate } from 'node-cron';

/** When a scheduled job runs: a five-field cron expression in a timezone, and how late a missed slot may still run. */
export interface JobSchedule {
  expression: string;
  timezone: string;
  graceMs: number;
}

export const defaultDigestSchedule: JobSchedule = { expression: '0 9 * * 1-5', timezone: 'UTC', graceMs: 3 * 3_600_000 };
/** Hourly, off the hour (when other jobs crowd the API), in UTC; a sweep missed within the hour runs at start. */
export const defaultSweepSchedule: JobSchedule = { expression: '23 * * * *', timezone: 'UTC', graceMs: 3_600_000 };

/** Each minute, and once at start: a soak's end is said within a minute of it, or as soon as the bot is back. */
export const soakLookSchedule: JobSchedule = { expression: '* * * * *', timezone: 'UTC', graceMs: 60_000 };

/** Why an expression or timezone cannot be used, or undefined. node-cron's own validate decides the expression. */
export function scheduleProblem(expression: string, timezone: string): string | undefined {
  // A slot is a minute: a seconds field would make several digests a minute.
  if (expression.trim().split(/\s+/).length !== 5) return 'give five fields (minute hour day-of-month month day-of-week), e.g. "0 9 * * 1-5"';
  if (!validate(expression)) return 'not a cron expression node-cron accepts, e.g. "0 9 * * 1-5"';
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    return `unknown timezone "${timezone.slice(0, 40)}"; use an IANA name such as UTC or Europe/Berlin`;
  }
  return undefined;
}
