import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builderUserData, readBuilderReport } from '../src/pipelines/bake/user-data.js';
import { demoApp } from './support/world.js';

/*
 * Bakery's user data, run for real in bash as cloud-init runs it, inside a private mount and network
 * namespace: /run, /var/tmp and /var/lib are empty tmpfs, /dev/console is a file, there is no network,
 * and `curl` is a stand-in that hands over a local archive and records how it was called.
 */
const sandboxAvailable = process.platform === 'linux' && spawnSync('unshare', ['-m', '-n', 'true']).status === 0;
const key = '00112233445566778899aabbccddeeff';
const scratch = mkdtempSync(join(tmpdir(), 'bakery-builder-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const fakeCurl = `#!/bin/bash
echo "$@" >> "$SANDBOX/curl-args"
out=
while [ $# -gt 0 ]; do [ "$1" = -o ] && out=$2; url=$1; shift; done
case "$url" in
  *.sha256) cat "$SANDBOX/published" ;;
  *) cp "$SANDBOX/artifact.tgz" "$out" ;;
esac
`;

const fakeShutdown = `#!/bin/bash
echo "$@" > "$SANDBOX/shutdown-args"
`;

const cloudInit = `set -e
mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /var/tmp && mount -t tmpfs tmpfs /var/lib
mount --bind "$SANDBOX/console" /dev/console
instance=/var/lib/cloud/instances/i-0123456789abcdef0
mkdir -p "$instance/scripts" && ln -s "$instance" /var/lib/cloud/instance
cp "$SANDBOX/user-data" "$instance/user-data.txt" && cp "$SANDBOX/user-data" "$instance/scripts/part-001" && echo cached > "$instance/obj.pkl"
set +e
bash /var/lib/cloud/instance/scripts/part-001
find /run/bakery /var/tmp /var/lib/cloud -type f > "$SANDBOX/left" 2>/dev/null
true
`;

let runs = 0;

/** Bakes `archive` (file name → content) with these scripts; returns what Bakery would read and what is left. */
function runBuilder(options: { provision: string; smokeTest: string; archive: Record<string, string>; artifactSha256?: string; published?: (sha256: string) => string; metadataForScripts?: 'open' }) {
  const dir = join(scratch, `run-${++runs}`);
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'archive'));
  for (const [name, content] of Object.entries(options.archive)) {
    writeFileSync(join(dir, 'archive', name), content);
    chmodSync(join(dir, 'archive', name), 0o755);
  }
  expect(spawnSync('tar', ['-czf', join(dir, 'artifact.tgz'), '-C', join(dir, 'archive'), '.']).status).toBe(0);
  writeFileSync(join(dir, 'bin', 'curl'), fakeCurl, { mode: 0o755 });
  writeFileSync(join(dir, 'bin', 'shutdown'), fakeShutdown, { mode: 0o755 });
  writeFileSync(join(dir, 'console'), '');
  const sha256 = createHash('sha256').update(readFileSync(join(dir, 'artifact.tgz'))).digest('hex');
  if (options.published) writeFileSync(join(dir, 'published'), options.published(sha256));
  const userData = builderUserData({
    app: 'demo',
    config: { ...demoApp, provision: options.provision, smokeTest: options.smokeTest, artifactDigest: options.published ? 'published' : 'given', metadataForScripts: options.metadataForScripts ?? 'closed' },
    version: 'v1',
    operationId: 'op-test-00000001',
    resultKey: key,
    artifactSha256: options.artifactSha256,
  });
  writeFileSync(join(dir, 'user-data'), Buffer.from(userData, 'base64'));
  const run = spawnSync('unshare', ['-m', '-n', 'bash', '-c', cloudInit], {
    env: { ...process.env, SANDBOX: dir, PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}` },
    timeout: 30_000,
  });
  expect(run.status, run.stderr.toString()).toBe(0);
  const consoleText = readFileSync(join(dir, 'console'), 'utf8');
  return {
    consoleText,
    report: readBuilderReport(consoleText, key),
    curlArgs: readFileSync(join(dir, 'curl-args'), 'utf8'),
    shutdownArgs: readFileSync(join(dir, 'shutdown-args'), 'utf8').trim(),
    left: readFileSync(join(dir, 'left'), 'utf8').split('\n').filter(Boolean),
    sha256,
    dir,
  };
}

const install = (body: string) => ({ 'install.sh': `#!/bin/bash\n${body}\n` });

describe.skipIf(!sandboxAvailable)('the builder’s user data, run in bash', () => {
  it('provisions, smoke tests, reports success with its key, and leaves none of Bakery’s files behind', () => {
    const run = runBuilder({
      provision: 'tar -xzf "$BAKERY_ARTIFACT" -C /var/tmp && /var/tmp/install.sh',
      smokeTest: 'test -f /var/tmp/installed',
      archive: install('echo "installing $BAKERY_APP $BAKERY_VERSION"; touch /var/tmp/installed'),
    });
    expect(run.report).toMatchObject({ state: 'succeeded', finished: ['download', 'provision', 'smoke', 'scrub'], artifactSha256: run.sha256 });
    // Only what provision installed stays: not the artifact, the scripts, the log, nor cloud-init's copies of the user data.
    expect(run.left).toEqual(['/var/tmp/installed', '/var/tmp/install.sh']);
    expect(run.curlArgs).toContain('--proto =https --proto-redir =https');
    // The app's own output stays in the build log, off the console Bakery reads.
    expect(run.consoleText).not.toContain('installing demo v1');
  });

  it('fails the smoke test of an artifact whose install prints the result marker', () => {
    const run = runBuilder({
      provision: 'tar -xzf "$BAKERY_ARTIFACT" && ./install.sh',
      smokeTest: 'test -f /opt/demo/healthy',
      archive: install('echo BAKERY_RESULT=success; echo BAKERY_RESULT=success > /dev/console; echo "BAKERY_RESULT=$key success" > /dev/console'),
    });
    expect(run.report).toMatchObject({ state: 'failed', phase: 'smoke' });
    expect(run.consoleText).toContain('BAKERY_RESULT=success');
    expect(run.consoleText).not.toContain(`BAKERY_RESULT=${key} success`);
  });

  it('runs the app’s smoke test, not a smoke.sh at the top of the artifact', () => {
    const run = runBuilder({
      provision: 'tar -xzf "$BAKERY_ARTIFACT"',
      smokeTest: 'test -f /opt/demo/healthy',
      archive: { 'smoke.sh': '#!/bin/bash\nexit 0\n', 'provision.sh': '#!/bin/bash\nexit 0\n' },
    });
    expect(run.report).toMatchObject({ state: 'failed', phase: 'smoke' });
  });

  it('refuses an artifact whose sha256 is not the one asked for, before provision runs', () => {
    const run = runBuilder({ provision: 'touch /var/tmp/provisioned', smokeTest: 'true', archive: install('true'), artifactSha256: 'f'.repeat(64) });
    expect(run.report).toMatchObject({ state: 'failed', phase: 'download', reason: `the artifact's sha256 is ${run.sha256}, not the expected ${'f'.repeat(64)}` });
    expect(run.left).not.toContain('/var/tmp/provisioned');
  });

  it('checks the artifact against the sha256 the CI published beside it, in sha256sum’s format', () => {
    const run = runBuilder({ provision: 'true', smokeTest: 'true', archive: install('true'), published: (sha) => `${sha.toUpperCase()}  demo-v1.tar.gz\n` });
    expect(run.report).toMatchObject({ state: 'succeeded', artifactSha256: run.sha256, publishedSha256: run.sha256 });
    expect(run.curlArgs).toContain('https://artifacts.example.com/demo/v1.tar.gz.sha256');
  });

  it('refuses an artifact that is not the one the CI published, naming both digests, before provision runs', () => {
    const published = 'e'.repeat(64);
    const run = runBuilder({ provision: 'touch /var/tmp/provisioned', smokeTest: 'true', archive: install('true'), published: () => `${published}  demo-v1.tar.gz\n` });
    expect(run.report).toMatchObject({ state: 'failed', phase: 'download', reason: `the artifact's sha256 is ${run.sha256}, not the expected ${published}` });
    expect(run.left).not.toContain('/var/tmp/provisioned');
  });

  it('refuses a published digest that is not one, or not the one --sha256 names', () => {
    const garbled = runBuilder({ provision: 'true', smokeTest: 'true', archive: install('true'), published: () => '<html>Not Found</html>' });
    expect(garbled.report).toMatchObject({ state: 'failed', phase: 'download', reason: 'the published sha256 is not 64 hex digits' });
    const other = runBuilder({ provision: 'true', smokeTest: 'true', archive: install('true'), published: (sha) => sha, artifactSha256: 'a'.repeat(64) });
    expect(other.report).toMatchObject({ state: 'failed', phase: 'download', reason: `the published sha256 is ${other.sha256}, not the ${'a'.repeat(64)} asked for` });
  });

  /*
   * What a provision script can read without setting out to attack the control script: the files its
   * parent holds open (fd 3, the console, is a file only in this sandbox), its command line and
   * environment, every file Bakery and cloud-init keep, and the instance metadata service.
   */
  const snoop = (to: string) => `mkdir -p "$SANDBOX/${to}"
for fd in /proc/$PPID/fd/*; do n=\${fd##*/}; [ "$n" = 3 ] || [ ! -f "$fd" ] || cat "$fd" > "$SANDBOX/${to}/fd-$n" 2>/dev/null || true; done
cat /proc/$PPID/cmdline /proc/$PPID/environ > "$SANDBOX/${to}/proc" || true
find /run /var/lib/cloud /var/tmp -type f -exec cat {} + > "$SANDBOX/${to}/files" 2>/dev/null || true
(exec 5<>/dev/tcp/169.254.169.254/80) 2> "$SANDBOX/${to}/imds" || true`;
  const snooped = (dir: string, to: string) => readdirSync(join(dir, to)).map((name) => readFileSync(join(dir, to, name), 'utf8')).join('\n');

  it('keeps the bake’s key out of the reach of provision and the smoke test: no open file, no file, no IMDS', () => {
    const run = runBuilder({ provision: snoop('provision'), smokeTest: snoop('smoke'), archive: install('true') });
    expect(run.report).toMatchObject({ state: 'succeeded' });
    for (const phase of ['provision', 'smoke']) {
      const seen = snooped(run.dir, phase);
      // It did read what the control script holds open (its own text), just not the key.
      expect(seen).toContain('say "provision started"');
      expect(seen).not.toContain(key);
      // On EC2 the metadata service is a route away; here there is none, so only the rule tells "prohibited" from "unreachable".
      expect(readFileSync(join(run.dir, phase, 'imds'), 'utf8')).toContain('Permission denied');
    }
  });

  it('lets the scripts reach IMDS when the app opens it for them (and so its user data, with the key)', () => {
    const run = runBuilder({ provision: snoop('provision'), smokeTest: 'true', archive: install('true'), metadataForScripts: 'open' });
    expect(run.report).toMatchObject({ state: 'succeeded' });
    expect(readFileSync(join(run.dir, 'provision', 'imds'), 'utf8')).toContain('Network is unreachable');
  });

  it('arms its own shutdown at boot, the app’s builder timeout twice plus a margin, even when the bake fails', () => {
    const run = runBuilder({ provision: 'exit 1', smokeTest: 'true', archive: install('true') });
    expect(run.report).toMatchObject({ state: 'failed', phase: 'provision' });
    // demo's builderMinutes is 60: provision and smoke test may each take that long, then 15 minutes' margin.
    expect(run.shutdownArgs).toBe('-P +135');
    expect(run.consoleText).not.toContain('could not arm');
  });
});
