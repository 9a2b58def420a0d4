import type { AppConfig } from '../../config/apps.js';

/*
 * The builder's user data. It downloads the release artifact, runs the app's provision script and
 * then its smoke test, and reports each phase on the serial console, which Bakery reads with
 * GetConsoleOutput: no SSH, no inbound port, no credentials on the builder.
 *
 * Every value from outside (URL, scripts, app, version) is carried base64-encoded inside single
 * quotes, so none of it can end a quote, a heredoc or a command.
 */

export const resultPrefix = 'BAKERY_RESULT=';
export const phases = ['download', 'provision', 'smoke'] as const;
export type Phase = (typeof phases)[number];

function encoded(text: string): string {
  return `$(printf '%s' ${quoted64(text)} | base64 -d)`;
}

export function builderUserData(app: string, config: AppConfig, version: string, operationId: string): string {
  const script = `#!/bin/bash
# Bakery builder (operation ${operationId}): download, provision, smoke test, report on the console.
set -uo pipefail
exec > >(tee -a /var/log/bakery-build.log > /dev/console) 2>&1
report() { echo "${resultPrefix}$1\${2:+ phase=$2}"; }
fail() { echo "bakery: $1 failed"; report failure "$1"; exit 1; }
export BAKERY_APP=${encoded(app)}
export BAKERY_VERSION=${encoded(version)}
BAKERY_ARTIFACT_URL=${encoded(artifactUrlFor(config, version))}
workdir=$(mktemp -d /var/tmp/bakery.XXXXXX)
cd "$workdir" || fail download
export BAKERY_ARTIFACT="$workdir/artifact"
printf '%s' ${quoted64(config.provision)} | base64 -d > provision.sh
printf '%s' ${quoted64(config.smokeTest)} | base64 -d > smoke.sh
echo "bakery: download started"
curl -fsSL --retry 5 --retry-connrefused -o "$BAKERY_ARTIFACT" "$BAKERY_ARTIFACT_URL" || fail download
echo "bakery: download done"
echo "bakery: provision started"
bash -e provision.sh || fail provision
echo "bakery: provision done"
echo "bakery: smoke started"
bash -e smoke.sh || fail smoke
echo "bakery: smoke done"
report success
`;
  return Buffer.from(script, 'utf8').toString('base64');
}

/** The release artifact's URL for one version; the version's character set makes plain substitution safe. */
export function artifactUrlFor(app: AppConfig, releaseVersion: string): string {
  return app.artifactUrl.replaceAll('{version}', releaseVersion);
}

/** EC2 accepts at most 16 KB of user data, counted before base64 encoding. */
export const userDataLimitBytes = 16 * 1024;

/** The size of the largest user data a bake of this app can send: the longest version and operation id. */
export function largestUserDataBytes(app: string, config: AppConfig): number {
  const userData = builderUserData(app, config, 'v'.repeat(64), 'op-zzzzzzzzzz-ffffffff');
  return Buffer.from(userData, 'base64').length;
}

function quoted64(text: string): string {
  return `'${Buffer.from(text, 'utf8').toString('base64')}'`;
}

export type BuilderReport =
  | { state: 'working'; phase?: Phase; lastLine?: string }
  | { state: 'succeeded' }
  | { state: 'failed'; phase: Phase | 'unknown'; logTail: string };

/** Reads the builder's console output: which phase it reached, and its result once it has one. */
export function readBuilderReport(consoleText: string, tailLines = 25): BuilderReport {
  const lines = consoleText.split(/\r?\n/).filter((line) => line.trim() !== '');
  const result = lines.findLast((line) => line.includes(resultPrefix));
  if (result?.includes(`${resultPrefix}success`)) return { state: 'succeeded' };
  if (result) {
    const phase = /phase=(\w+)/.exec(result)?.[1];
    return {
      state: 'failed',
      phase: phases.find((p) => p === phase) ?? 'unknown',
      logTail: lines.slice(-tailLines).join('\n'),
    };
  }
  const started = lines.map((line) => /bakery: (\w+) started/.exec(line)?.[1]).filter(Boolean).at(-1);
  return { state: 'working', phase: phases.find((p) => p === started), lastLine: lines.at(-1) };
}
