import type { InstanceRecord } from './world.js';

/**
 * The simulated builder "runs" its user data and prints the protocol Bakery's real user data
 * prints, so the code that reads GetConsoleOutput is exercised for real. Each line is printed at
 * a fraction of the script's duration; which of them GetConsoleOutput shows depends on `Latest`
 * (see consoleLines). Output stops when the instance stops or terminates.
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

const download: ScriptLine[] = [
  { at: 0.0, text: 'bakery: download started' },
  { at: 0.1, text: 'bakery: download done' },
];

const provisionStart: ScriptLine[] = [{ at: 0.12, text: 'bakery: provision started' }];

const provisionLog: ScriptLine[] = [
  { at: 0.2, text: 'Installing dependencies: nodejs20 (2 packages)' },
  { at: 0.35, text: 'Complete!' },
  { at: 0.45, text: 'Created symlink /etc/systemd/system/multi-user.target.wants/app.service' },
  { at: 0.6, text: 'app.service: started' },
];

const provisionDone: ScriptLine[] = [{ at: 0.75, text: 'bakery: provision done' }];

const smoke: ScriptLine[] = [
  { at: 0.8, text: 'bakery: smoke started' },
  { at: 0.9, text: 'HTTP/1.1 200 OK' },
  { at: 0.95, text: 'bakery: smoke done' },
];

function scriptFor(outcome: InstanceRecord['outcome']): ScriptLine[] {
  switch (outcome) {
    case 'success':
      return [...download, ...provisionStart, ...provisionLog, ...provisionDone, ...smoke, { at: 1, text: 'BAKERY_RESULT=success' }];
    case 'download-fails':
      return [
        download[0]!,
        { at: 0.1, text: 'curl: (22) The requested URL returned error: 404' },
        { at: 0.1, text: 'bakery: download failed' },
        { at: 0.1, text: 'BAKERY_RESULT=failure phase=download' },
      ];
    case 'provision-fails':
      return [
        ...download,
        ...provisionStart,
        ...provisionLog.slice(0, 2),
        { at: 0.5, text: 'Error: Unable to find a match: libapp-missing' },
        { at: 0.5, text: 'provision: exit status 1' },
        { at: 0.5, text: 'bakery: provision failed' },
        { at: 0.5, text: 'BAKERY_RESULT=failure phase=provision' },
      ];
    case 'smoke-fails':
      return [
        ...download,
        ...provisionStart,
        ...provisionLog,
        ...provisionDone,
        smoke[0]!,
        { at: 0.95, text: 'curl: (7) Failed to connect to localhost port 8080: Connection refused' },
        { at: 0.95, text: 'smoke: exit status 7' },
        { at: 0.95, text: 'bakery: smoke failed' },
        { at: 0.95, text: 'BAKERY_RESULT=failure phase=smoke' },
      ];
    case 'builder-hangs':
      return [...download, ...provisionStart];
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
  const lines = [...bootNoise, ...scriptFor(instance.outcome)].map((line) => ({
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
