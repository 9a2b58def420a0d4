import { describe, expect, it } from 'vitest';
import { builderUserData, readBuilderReport } from '../src/pipelines/bake/user-data.js';
import { imageName, imageTags, tagValue } from '../src/aws/provenance.js';
import { untrustedText } from '../src/message.js';
import { demoApp } from './support/world.js';

const key = '00112233445566778899aabbccddeeff';
const said = (event: string) => `bakery:${key} ${event}`;

describe('the builder’s user data', () => {
  const userData = (provision: string) =>
    builderUserData({ app: 'demo', config: { ...demoApp, provision }, version: 'v1.2', operationId: 'op-abc-12345678', resultKey: key });
  const script = Buffer.from(userData("echo 'EOF' $(whoami)\nexit 0"), 'base64').toString('utf8');

  it('downloads the artifact, provisions, smoke tests and reports on the console', () => {
    expect(script).toMatch(/download started[\s\S]*provision started[\s\S]*smoke started[\s\S]*report success/);
  });

  it('carries every outside value base64-encoded, so none can end a quote or run a command', () => {
    expect(script).not.toContain('whoami');
    expect(script).not.toContain('artifacts.example.com');
    expect(script).toContain(Buffer.from("echo 'EOF' $(whoami)\nexit 0").toString('base64'));
  });

  it('arms a shutdown before anything else, in whole minutes from the app’s builder timeout', () => {
    const longer = Buffer.from(
      builderUserData({ app: 'demo', config: { ...demoApp, timeouts: { ...demoApp.timeouts, builderMinutes: 20 } }, version: 'v1', operationId: 'op-abc-12345678', resultKey: key }),
      'base64',
    ).toString('utf8');
    expect(longer.split('\n').findIndex((line) => line.startsWith('shutdown -P +55 '))).toBeLessThan(longer.split('\n').findIndex((line) => line.startsWith('control=')));
    expect(() => builderUserData({ app: 'demo', config: { ...demoApp, timeouts: { ...demoApp.timeouts, builderMinutes: '1; reboot' as never } }, version: 'v1', operationId: 'op-abc-12345678', resultKey: key })).toThrow(/whole number/);
  });

  it('fetches the artifact over https only, redirects included', () => {
    expect(script).toContain('curl -fsSL --proto =https --proto-redir =https');
  });
});

describe('reading the builder’s console', () => {
  it('tells which phase failed and keeps the tail of the log, without the key', () => {
    const report = readBuilderReport(`boot\n${said('provision started')}\n${said('provision failed')}\n| npm ERR! missing script\nBAKERY_RESULT=${key} failure phase=provision\n`, key);
    expect(report).toMatchObject({ state: 'failed', phase: 'provision' });
    if (report.state === 'failed') {
      expect(report.logTail).toContain('| npm ERR! missing script');
      expect(report.logTail).toContain('bakery: provision failed');
      expect(report.logTail).not.toContain(key);
    }
  });

  it('knows a builder still at work, the phases it finished, the artifact it fetched, and a builder that succeeded', () => {
    const sha = 'ab'.repeat(32);
    expect(readBuilderReport(`${said(`artifact sha256=${sha}`)}\n${said('provision done')}\n${said('smoke started')}`, key)).toMatchObject({
      state: 'working', phase: 'smoke', finished: ['provision'], artifactSha256: sha, lastLine: 'bakery: smoke started',
    });
    expect(readBuilderReport(`${said('smoke done')}\nBAKERY_RESULT=${key} success`, key)).toMatchObject({ state: 'succeeded' });
  });

  it('reads why the download failed and the digest the CI published, from the bake’s own lines only', () => {
    const published = 'cd'.repeat(32);
    const report = readBuilderReport(
      [said(`published sha256=${published}`), `bakery:0000 download failed: all good`, said(`download failed: the artifact's sha256 is ${'ab'.repeat(32)}, not the expected ${published}`), `BAKERY_RESULT=${key} failure phase=download`].join('\n'),
      key,
    );
    expect(report).toMatchObject({ state: 'failed', phase: 'download', publishedSha256: published, reason: `the artifact's sha256 is ${'ab'.repeat(32)}, not the expected ${published}` });
  });

  it('ignores result and phase lines that do not carry the bake’s key', () => {
    const forged = `${said('provision started')}\nBAKERY_RESULT=success\nbakery: provision done\nBAKERY_RESULT=0000 success\nbakery:0000 smoke done`;
    expect(readBuilderReport(forged, key)).toMatchObject({ state: 'working', phase: 'provision', finished: [] });
  });
});

describe('builder text posted to the channel', () => {
  it('renders mentions, disguised links, code fences and secrets harmless', () => {
    const hostile = '<!channel> see <https://evil.example|your bank> ``` *now* AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDf4x1XfA0o8oDoL8nL1aUkdA7hYd6Xr+G2BLk7UjJcKwIgA';
    const shown = untrustedText(hostile);
    expect(shown).not.toMatch(/[<>`]/);
    expect(shown).toContain('&lt;!channel&gt;');
    expect(shown).toContain('&lt;https://evil.example|your bank&gt;');
    expect(shown).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(shown).not.toContain('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
    expect(shown).not.toContain('IQoJb3JpZ2luX2Vj');
    expect(untrustedText('aws_session_token = abc123 password: hunter2')).toBe('aws_session_token = [redacted] password: [redacted]');
  });

  it('keeps what is not a secret: digests, commits, words', () => {
    const plain = `sha256 ${'ab12'.repeat(16)} commit 0123456789abcdef0123456789abcdef01234567 Installing dependencies`;
    expect(untrustedText(plain)).toBe(plain);
  });
});

describe('names and tags', () => {
  const provenance = { app: 'demo', version: 'v1', baseAmi: 'ami-0123456789abcdef0', baseAmiName: 'al2023 <x>', requestedBy: '@bob "the builder"', operationId: 'op-abc-12345678' };

  it('gives each bake a unique, valid AMI name', () => {
    expect(imageName(provenance, Date.parse('2026-11-23T12:03:04Z'))).toBe('demo-v1-20261123-120304-345678');
  });

  it('keeps tag values to the characters EC2 allows', () => {
    expect(tagValue('@bob "the builder"')).toBe('@bob _the builder_');
    expect(imageTags(provenance).find((tag) => tag.Key === 'bakery:base-ami-name')?.Value).toBe('al2023 _x_');
  });
});
