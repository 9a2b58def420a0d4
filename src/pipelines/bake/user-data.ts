import { ConfigError, type AppConfig } from '../../config/apps.js';

/*
 * The builder's user data. It downloads the release artifact, runs the app's provision script and
 * then its smoke test, and reports each phase on the serial console, which Bakery reads with
 * GetConsoleOutput: no SSH, no inbound port, no credentials on the builder.
 *
 * Every value from outside (URL, scripts, app, version) is carried base64-encoded inside single
 * quotes, so none of it can end a quote, a heredoc or a command.
 *
 * What the app's scripts (and any artifact they unpack or run) can not do is speak for Bakery:
 * - Bakery's lines on the console carry a per-operation key the scripts are not given (not exported,
 *   fd 3 closed for them, cloud-init's copies of this script deleted first), and the scripts' own
 *   output goes to the build log, reaching the console only as a `| `-prefixed tail on failure.
 * - Bakery's files live in their own root-only directory on /run (a tmpfs, so never in the image),
 *   not in the directory provision works in; the smoke script is written only after provision ends.
 * - The artifact, the working directory and the scripts are removed before success is reported, so
 *   the image is made without them.
 * - The key is out of the scripts' cheap reach: the user data (which holds it) only writes the key to
 *   a root-only file and the control script beside it, and execs that script, which reads the key and
 *   removes the file: no process holds the user data open and no file holds the key when provision
 *   starts. Provision and the smoke test cannot reach IMDS either (an `ip rule` prohibits it; the
 *   app's `metadataForScripts: open` lifts that, for scripts that need the builder role).
 * Provision runs as root: one that sets out to read the control script's memory, or to undo the rule,
 * still finds the key. The smoke test guards against mistakes, not malice; the canary and approval are the gate.
 *
 * Before anything else the script arms a shutdown at the builder's deadline (builderDeadlineMinutes);
 * Bakery launches builders with "shutdown means terminate", so a builder whose bot died goes away alone.
 */

export const resultPrefix = 'BAKERY_RESULT=';
export const phases = ['download', 'provision', 'smoke', 'scrub'] as const;
export type Phase = (typeof phases)[number];

const eventPrefix = (key: string): string => `bakery:${key} `;
const resultPrefixFor = (key: string): string => `${resultPrefix}${key} `;

/** Ends the control script's heredoc: no line of it is this (every outside value in it is base64). */
const controlDelimiter = 'BAKERY_CONTROL_SCRIPT_END';

/** Where the builder keeps Bakery's own files: root-only, on a tmpfs. */
export const controlDir = '/run/bakery';

export interface BuilderScript {
  app: string;
  config: AppConfig;
  version: string;
  operationId: string;
  /** The per-operation key Bakery's console lines carry (hex). */
  resultKey: string;
  /** When given (`/bake --sha256`), the artifact must have this sha256 (hex) before provision runs. */
  artifactSha256?: string;
}

/** Where the CI publishes an artifact's sha256 (sha256sum's format), for an app whose artifactDigest is `published`. */
export const publishedDigestUrl = (artifactUrl: string): string => `${artifactUrl}.sha256`;

/** Margin past the two builder waits: boot, EC2's visibility delay, another replica taking over a lease. */
export const builderDeadlineMarginMinutes = 15;

/**
 * When the builder shuts itself down, in minutes from the start of its user data: past the longest a
 * bake waits on it (provision and smoke test, each up to the app's builderMinutes) plus a margin.
 */
export function builderDeadlineMinutes(config: AppConfig): number {
  return 2 * config.timeouts.builderMinutes + builderDeadlineMarginMinutes;
}

function encoded(text: string): string {
  return `$(printf '%s' ${quoted64(text)} | base64 -d)`;
}

export function builderUserData(b: BuilderScript): string {
  if (!/^[0-9a-f]{16,64}$/.test(b.resultKey)) throw new Error('the result key must be hex');
  const deadline = builderDeadlineMinutes(b.config);
  // The config's zod schema makes it a whole number; checked again because it goes into the script.
  if (!Number.isSafeInteger(deadline) || deadline < 1) throw new Error('the builder deadline must be a whole number of minutes');
  // The scripts do not reach IMDS, whose user data holds the key; the reboot for the image drops the rule.
  const imds = b.config.metadataForScripts === 'open' ? '' : `
ip rule add prohibit to 169.254.169.254/32 priority 90 || fail provision "the instance metadata service could not be closed to provision"
ip -6 rule add prohibit to fd00:ec2::254/128 priority 90 2>/dev/null || true`;
  // The control script, written to a root-only file and run in place of this one: once the exec is done,
  // no process holds this text (and its key) open, and the key is in no file (it reads and removes it).
  const control = `set -uo pipefail
control=${controlDir}
key=$(<"$control/key") && rm -f "$control/key" || exit 1
exec 3>/dev/console
exec >"$control/build.log" 2>&1
say() { echo "${eventPrefix('$key')}$*" >&3; }
report() { echo "${resultPrefixFor('$key')}$*" >&3; }
fail() { say "$1 failed\${2:+: $2}"; tail -n 40 "$control/build.log" | sed 's/^/| /' >&3; report "failure phase=$1"; exit 1; }
[ "$1" -eq 0 ] || say "could not arm the shutdown deadline"
export BAKERY_APP=${encoded(b.app)}
export BAKERY_VERSION=${encoded(b.version)}
url=${encoded(artifactUrlFor(b.config, b.version))}
expected=${encoded(b.artifactSha256 ?? '')}
digest_url=${encoded(b.config.artifactDigest === 'published' ? publishedDigestUrl(artifactUrlFor(b.config, b.version)) : '')}
work=$(mktemp -d /var/tmp/bakery.XXXXXX) || fail download
cd "$work" || fail download
export BAKERY_ARTIFACT="$work/artifact"
say "download started"
if [ -n "$digest_url" ]; then
  published=$(curl -fsSL --proto =https --proto-redir =https --retry 5 --retry-connrefused "$digest_url") || fail download "the published sha256 could not be fetched"
  published=\${published%%[[:space:]]*}
  published=\${published,,}
  [[ $published =~ ^[0-9a-f]{64}$ ]] || fail download "the published sha256 is not 64 hex digits"
  say "published sha256=$published"
  [ -z "$expected" ] || [ "$published" = "$expected" ] || fail download "the published sha256 is $published, not the $expected asked for"
  expected=$published
fi
curl -fsSL --proto =https --proto-redir =https --retry 5 --retry-connrefused -o "$BAKERY_ARTIFACT" "$url" || fail download
sha=$(sha256sum "$BAKERY_ARTIFACT") || fail download
sha=\${sha%% *}
say "artifact sha256=$sha"
[ -z "$expected" ] || [ "$sha" = "$expected" ] || fail download "the artifact's sha256 is $sha, not the expected $expected"
say "download done"${imds}
say "provision started"
printf '%s' ${quoted64(b.config.provision)} | base64 -d > "$control/provision.sh" || fail provision
bash -e "$control/provision.sh" </dev/null 3>&- || fail provision
say "provision done"
say "smoke started"
printf '%s' ${quoted64(b.config.smokeTest)} | base64 -d > "$control/smoke.sh" || fail smoke
bash -e "$control/smoke.sh" </dev/null 3>&- || fail smoke
say "smoke done"
say "scrub started"
cd / && rm -rf "$work" "$control" || fail scrub
say "scrub done"
report success
`;
  const script = `#!/bin/bash
# Bakery builder (operation ${b.operationId}): download, provision, smoke test, report on the console.
set -uo pipefail
umask 077
# Armed before anything can fail: at its deadline the builder powers off, which terminates it.
shutdown -P +${deadline} >/dev/null 2>&1; armed=$?
control=${controlDir}
rm -rf "$control" && mkdir -m 700 "$control" || exit 1
rm -f /var/lib/cloud/instances/*/user-data.txt* /var/lib/cloud/instances/*/obj.pkl /var/lib/cloud/instances/*/scripts/part-*
key='${b.resultKey}'
printf '%s' "$key" > "$control/key" || exit 1
cat > "$control/bake.sh" <<'${controlDelimiter}' || exit 1
${control}${controlDelimiter}
exec bash "$control/bake.sh" "$armed"
`;
  return Buffer.from(script, 'utf8').toString('base64');
}

/** The release artifact's URL for one version; the version's character set makes plain substitution safe. */
export function artifactUrlFor(app: AppConfig, releaseVersion: string): string {
  return app.artifactUrl.replaceAll('{version}', releaseVersion);
}

/** EC2 accepts at most 16 KB of user data, counted before base64 encoding. */
export const userDataLimitBytes = 16 * 1024;

/** The size of the largest user data a bake of this app can send: the longest version, key and checksum. */
export function largestUserDataBytes(app: string, config: AppConfig): number {
  const userData = builderUserData({ app, config, version: 'v'.repeat(64), operationId: 'op-zzzzzzzzzz-ffffffff', resultKey: 'f'.repeat(64), artifactSha256: 'f'.repeat(64) });
  return Buffer.from(userData, 'base64').length;
}

/**
 * The provision and smoke scripts travel in the user data, which EC2 caps: found when the apps file is
 * read (main.ts), not at launch. Throws a ConfigError naming the file, each app and its longer script.
 */
export function assertUserDataFits(path: string, apps: Record<string, AppConfig>): void {
  const tooLarge = Object.entries(apps).flatMap(([app, config]) => userDataProblem(path, app, config) ?? []);
  if (tooLarge.length > 0) throw new ConfigError(tooLarge.join('\n'));
}

function userDataProblem(path: string, app: string, config: AppConfig): string | undefined {
  const size = largestUserDataBytes(app, config);
  if (size <= userDataLimitBytes) return undefined;
  const scripts = { provision: Buffer.byteLength(config.provision), smokeTest: Buffer.byteLength(config.smokeTest) };
  const field = scripts.provision >= scripts.smokeTest ? 'provision' : 'smokeTest';
  return `${path}: app "${app}", field "${field}": the builder's user data would be ${size} bytes (provision ${scripts.provision}, smokeTest ${scripts.smokeTest}), over EC2's limit of ${userDataLimitBytes} bytes; move long scripts into the release artifact`;
}

function quoted64(text: string): string {
  return `'${Buffer.from(text, 'utf8').toString('base64')}'`;
}

/** `logTail`: the console's last lines as a person should read them (Bakery's lines without the key). */
/**
 * `publishedSha256`: the digest the builder fetched from publishedDigestUrl, when the app takes it from
 * there. `reason`: why a phase failed, when Bakery's script says (an artifact that is not the one expected).
 */
export type BuilderReport = { finished: Phase[]; artifactSha256?: string; publishedSha256?: string; logTail: string } & (
  | { state: 'working'; phase?: Phase; lastLine?: string }
  | { state: 'succeeded' }
  | { state: 'failed'; phase: Phase | 'unknown'; reason?: string }
);

/**
 * Reads the builder's console output: which phases it finished, and its result once it has one.
 * Only lines carrying this operation's key count; in what is shown, they read `bakery: …` without it.
 */
export function readBuilderReport(consoleText: string, resultKey: string, tailLines = 25): BuilderReport {
  const events = eventPrefix(resultKey);
  const results = resultPrefixFor(resultKey);
  const lines = consoleText.split(/\r?\n/).filter((line) => line.trim() !== '');
  const shown = lines.map((line) =>
    line.startsWith(events) ? `bakery: ${line.slice(events.length)}` : line.startsWith(results) ? `bakery: result ${line.slice(results.length)}` : line,
  );
  const said = lines.flatMap((line) => (line.startsWith(events) ? [line.slice(events.length)] : []));
  const phaseOf = (name: string | undefined): Phase | undefined => phases.find((p) => p === name);
  const finished = said.flatMap((event) => phaseOf(/^(\w+) done$/.exec(event)?.[1]) ?? []);
  const digest = (pattern: RegExp) => said.map((event) => pattern.exec(event)?.[1]).findLast(Boolean);
  const artifactSha256 = digest(/^artifact sha256=([0-9a-f]{64})$/);
  const publishedSha256 = digest(/^published sha256=([0-9a-f]{64})$/);
  const common = { finished, ...(artifactSha256 ? { artifactSha256 } : {}), ...(publishedSha256 ? { publishedSha256 } : {}), logTail: shown.slice(-tailLines).join('\n') };
  const result = lines.findLast((line) => line.startsWith(results))?.slice(results.length);
  if (result === 'success') return { ...common, state: 'succeeded' };
  if (result !== undefined) {
    const phase = phaseOf(/phase=(\w+)/.exec(result)?.[1]) ?? 'unknown';
    const reason = said.map((event) => new RegExp(`^${phase} failed: (.+)$`).exec(event)?.[1]).findLast(Boolean);
    return { ...common, state: 'failed', phase, ...(reason ? { reason } : {}) };
  }
  const started = said.map((event) => /^(\w+) started$/.exec(event)?.[1]).findLast(Boolean);
  return { ...common, state: 'working', phase: phaseOf(started), lastLine: shown.at(-1) };
}
