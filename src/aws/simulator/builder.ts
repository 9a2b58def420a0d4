import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
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
  const sha = sha256Of(simulatedArtifact(instance.artifactUrl ?? '', instance.artifactTampered));
  // As Bakery's script checks it: the published digest against --sha256, then the download against either.
  const published = instance.digestUrl ? sha256Of(simulatedArtifact(instance.artifactUrl ?? '')) : undefined;
  const expected = published ?? instance.expectedSha256;
  const refusal = published && instance.expectedSha256 && published !== instance.expectedSha256
    ? `the published sha256 is ${published}, not the ${instance.expectedSha256} asked for`
    : expected && sha !== expected ? `the artifact's sha256 is ${sha}, not the expected ${expected}` : undefined;
  const fetched = [say(0, 'download started'), ...(published ? [say(0.05, `published sha256=${published}`)] : [])];
  if (refusal) {
    const artifact = refusal.startsWith('the artifact') ? [say(0.1, `artifact sha256=${sha}`)] : [];
    return [...fetched, ...artifact, say(0.1, `download failed: ${refusal}`), result(0.1, 'failure phase=download')];
  }
  const download = [...fetched, say(0.1, `artifact sha256=${sha}`), say(0.1, 'download done')];
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

const sha256Of = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/**
 * What the simulated artifact host serves at `url`: a small gzip of a release (so that its sha256 is a
 * release's, not the empty file's), the same for the same URL. `tampered`: not the bytes the CI built
 * and published a digest of (fault `artifact-tampered`).
 */
export function simulatedArtifact(url: string, tampered = false): Buffer {
  return gzipSync(`#!/bin/sh\n# release artifact from ${url}\necho installed${tampered ? '\n# not the build the CI published' : ''}\n`, { level: 9 });
}

/** The digest the CI publishes for the artifact at `url` (its `{artifactUrl}.sha256`). */
export const publishedSha256 = (url: string): string => sha256Of(simulatedArtifact(url));

/**
 * A value Bakery's user data sets, in its injection-proof form `name=$(printf '%s' '<base64>' | base64 -d)`,
 * or plainly `name='…'` (tests' own user data); undefined when absent or empty.
 */
function scriptValue(userDataBase64: string | undefined, names: string): string | undefined {
  if (!userDataBase64) return undefined;
  const script = Buffer.from(userDataBase64, 'base64').toString('utf8');
  const encoded = new RegExp(`^\\s*(?:export\\s+)?(?:${names})=\\$\\(printf '%s' '([A-Za-z0-9+/=]*)' \\| base64 -d\\)`, 'm').exec(script)?.[1];
  const value = encoded !== undefined ? Buffer.from(encoded, 'base64').toString('utf8') : new RegExp(`^\\s*(?:export\\s+)?(?:${names})='([^']*)'`, 'm').exec(script)?.[1];
  return value || undefined;
}

/** The artifact URL the user data downloads (Bakery's `url=`, or `BAKERY_ARTIFACT_URL=` in tests' own). */
export const artifactUrlOf = (userData: string | undefined): string | undefined => scriptValue(userData, 'url|BAKERY_ARTIFACT_URL');
/** The sha256 the user data expects of the artifact (`/bake --sha256`). */
export const expectedSha256Of = (userData: string | undefined): string | undefined => scriptValue(userData, 'expected');
/** Where the user data fetches the CI's published sha256, when the app takes the digest from there. */
export const digestUrlOf = (userData: string | undefined): string | undefined => scriptValue(userData, 'digest_url');

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
