import type { ImageRecord } from './world.js';

/*
 * An image's last launch, as EC2 reports it (DescribeImageAttribute `lastLaunchedTime`, and the
 * Image's `LastLaunchedTime`): "the date and time, in ISO 8601 date-time format, when the AMI was last
 * used to launch an EC2 instance. When the AMI is used to launch an instance, there is a 24-hour delay
 * before that usage is reported" (EC2 API Reference, ImageAttribute). Launches by any account count:
 * the owner of a shared image sees when another account last launched it. Never launched (or not yet
 * reported): no value.
 */

export const LAUNCH_REPORT_DELAY_MS = 24 * 3_600_000;

/** Notes a launch of the image now; keeps only the launches that can still be the reported one. */
export function recordLaunch(image: ImageRecord, now: number): void {
  const launches = [...(image.launches ?? []), now];
  const reported = reportedAmong(launches, now);
  image.launches = launches.filter((at) => at === reported || at > now - LAUNCH_REPORT_DELAY_MS);
}

function reportedAmong(launches: number[], now: number): number | undefined {
  const due = launches.filter((at) => at <= now - LAUNCH_REPORT_DELAY_MS);
  return due.length ? Math.max(...due) : undefined;
}

/** The last launch EC2 reports by now, as it writes it (ISO 8601, to the second), or undefined. */
export function lastLaunchedTime(image: ImageRecord, now: number): string | undefined {
  const at = reportedAmong(image.launches ?? [], now);
  return at === undefined ? undefined : new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
