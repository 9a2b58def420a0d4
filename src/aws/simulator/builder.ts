import { createHash } from 'node:crypto';
import type { InstanceRecord } from './world.js';

/**
 * The simulated builder "runs" its user data and prints the protocol Bakery's real user data prints
 * (src/pipelines/bake/user-data.ts), so the code that reads GetConsoleOutput is exercised for real.
 * Each line is printed at a fraction of the script's duration; which of them GetConsoleOutput shows
 * depends on `Latest` (see consoleLines). Output stops when the instance stops or terminates.
 */

interface ScriptLine {
  /** Fraction of the script's duration at which the line is printed. */
  at: number;
  text: string;
}

const bootNoise: ScriptLine[] = [
  { at: 0, text: '[    0.000000] Linux version 6.1.119-129.201.amzn2023.x86_64 (mockbuild@ip-10-0-39-95)' },
  { at: 0, text: "cloud-init[1602]: Cloud-init v. 22.2.2 running 'modules:final'" },
];

/**
 * What Bakery's user data prints, keyed as it is: its own events as `bakery:<key> …`, its result as
 * `BAKERY_RESULT=<key> …`, and, on failure only, the tail of the build log with a `| ` prefix.
 */
function scriptFor(instance: InstanceRecord): ScriptLine[] {
  const key = resultKeyOf(instance.userData) ?? '';
  const say = (at: number, event: string): ScriptLine => ({ at, text: `bakery:${key} ${event}` });
  const result = (at: number, outcome: string): ScriptLine => ({ at, text: `BAKERY_RESULT=${key} ${outcome}` });
  const log = (at: number, ...lines: string[]): ScriptLine[] => lines.map((text) => ({ at, text: `| ${text}` }));
  const sha = createHash('sha256').update(instance.artifactUrl ?? '').digest('hex');
  const download = [say(0, 'download started'), say(0.1, `artifact sha256=${sha}`), say(0.1, 'download done')];
  const provisionStart = say(0.12, 'provision started');
  const provisionDone = say(0.75, 'provision done');
  const installing = ['Installing dependencies: nodejs20 (2 packages)', 'Complete!'];
  switch (instance.outcome) {
    case 'success':
      return [
        ...download, provisionStart, provisionDone,
        say(0.8, 'smoke started'), say(0.95, 'smoke done'), say(0.96, 'scrub started'), say(0.98, 'scrub done'),
        result(1, 'success'),
      ];
    case 'download-fails':
      return [download[0]!, say(0.1, 'download failed'), ...log(0.1, 'curl: (22) The requested URL returned error: 404'), result(0.1, 'failure phase=download')];
    case 'provision-fails':
      return [
        ...download, provisionStart, say(0.5, 'provision failed'),
        ...log(0.5, ...installing, 'Error: Unable to find a match: libapp-missing'),
        result(0.5, 'failure phase=provision'),
      ];
    case 'smoke-fails':
      return [
        ...download, provisionStart, provisionDone, say(0.8, 'smoke started'), say(0.95, 'smoke failed'),
        ...log(0.95, ...installing, 'curl: (7) Failed to connect to localhost port 8080: Connection refused'),
        result(0.95, 'failure phase=smoke'),
      ];
    case 'builder-hangs':
      return [...download, provisionStart];
  }
}

/**
 * The console lines GetConsoleOutput returns at `now`. With `latest` (Nitro only), everything printed
 * so far; without it, what EC2 buffered at the instance's last state transition (start, stop,
 * terminate), posted consoleDelayMs after it: a builder's progress since boot does not show.
 */
export function consoleLines(instance: InstanceRecord, now: number, consoleDelayMs: number, latest: boolean): { at: number; text: string }[] {
  const end = instance.stopRequestedAt ?? instance.terminateRequestedAt ?? Infinity;
  const transitions = [instance.runningAt, instance.stopRequestedAt, instance.terminateRequestedAt].filter(
    (at): at is number => at !== undefined && at + consoleDelayMs <= now,
  );
  const printedBy = latest ? now : Math.max(...transitions);
  const lines = [...bootNoise, ...scriptFor(instance)].map((line) => ({
    at: instance.runningAt + Math.round(line.at * instance.scriptMs),
    text: line.text,
  }));
  return lines.filter((line) => line.at < end && line.at <= printedBy);
}

/**
 * The artifact URL the user data downloads, for tests to assert on: a line
 * `BAKERY_ARTIFACT_URL='…'`, or Bakery's own injection-proof form
 * `BAKERY_ARTIFACT_URL=$(printf '%s' '<base64>' | base64 -d)`.
 */
export function artifactUrlOf(userDataBase64: string | undefined): string | undefined {
  if (!userDataBase64) return undefined;
  const script = Buffer.from(userDataBase64, 'base64').toString('utf8');
  const encoded = /^\s*(?:export\s+)?BAKERY_ARTIFACT_URL=\$\(printf '%s' '([A-Za-z0-9+/=]*)' \| base64 -d\)/m.exec(script)?.[1];
  if (encoded !== undefined) return Buffer.from(encoded, 'base64').toString('utf8');
  return /^\s*(?:export\s+)?BAKERY_ARTIFACT_URL='([^']*)'/m.exec(script)?.[1];
}

/** The result key in Bakery's user data (`key='<hex>'`), with which the simulated builder signs its lines. */
export function resultKeyOf(userDataBase64: string | undefined): string | undefined {
  if (!userDataBase64) return undefined;
  return /^key='([0-9a-f]+)'$/m.exec(Buffer.from(userDataBase64, 'base64').toString('utf8'))?.[1];
}

/**
 * The shutdown Bakery's user data arms at boot (`shutdown -P +<minutes>`), in ms after the script
 * starts, or undefined when it arms none.
 */
export function shutdownDelayOf(userDataBase64: string | undefined): number | undefined {
  if (!userDataBase64) return undefined;
  const minutes = /^shutdown -P \+(\d+)\b/m.exec(Buffer.from(userDataBase64, 'base64').toString('utf8'))?.[1];
  return minutes === undefined ? undefined : Number(minutes) * 60_000;
}
