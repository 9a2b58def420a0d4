import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { readSettings } from '../src/config/env.js';
import { createLogger, redactSecrets } from '../src/log.js';
import { untrustedText } from '../src/message.js';
import { capturedLog } from './support/captured-log.js';

describe('logs', () => {
  it('go to a file in the data folder in local mode, so that the terminal shows only the chat', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'bakery-log-')), 'data');
    const settings = readSettings({ BAKERY_DATA_DIR: dataDir });
    expect(settings.logFile).toBe(join(dataDir, 'bakery.log'));
    expect(readSettings({ SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_SIGNING_SECRET: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' }).logFile).toBeUndefined();

    const stdout = vi.spyOn(process.stdout, 'write');
    const stderr = vi.spyOn(process.stderr, 'write');
    try {
      const log = createLogger({ pretty: settings.logFormat === 'pretty', level: settings.logLevel, file: settings.logFile });
      log.warn({ app: 'demo' }, 'operation failed');
      // The pretty printer runs in a worker: the line is there once it has written it.
      for (let i = 0; i < 100 && !(existsSync(settings.logFile!) && readFileSync(settings.logFile!, 'utf8').includes('operation failed')); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      const written = readFileSync(settings.logFile!, 'utf8');
      expect(written).toMatch(/WARN.*: operation failed/);
      expect(written).toContain('app: "demo"');
      expect(written).not.toContain('\x1b[');
      expect([...stdout.mock.calls, ...stderr.mock.calls].map(([chunk]) => String(chunk)).join('')).not.toContain('operation failed');
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
  });

  it('never carry a Slack token or an AWS key, wherever it appears in a message', () => {
    const { log, text } = capturedLog('info');
    log.error('auth failed for xoxb-1234-5678-abcdefABCDEF with key AKIAABCDEFGHIJKLMNOP and xapp-1-A0-123-abc');
    expect(text()).not.toMatch(/xoxb-|AKIA|xapp-/);
    expect(text()).toContain('[redacted]');
    expect(redactSecrets('token xoxb-1-2-3')).toBe('token [redacted]');
  });

  it('never carry an AWS secret key or session token either', () => {
    const { log, text } = capturedLog('info');
    log.error('assumed role: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY with FwoGZXIvYXdzEBYaDHhBTEXAMPLEsessionTOKENAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA0123456789abcdefXYZ==');
    expect(text()).not.toMatch(/wJalr|FwoGZXIvYXdz/);
  });

  it('never carry secret fields of logged objects', () => {
    const { log, text } = capturedLog('info');
    log.info({ slack: { botToken: 'xoxb-9-9-9', signingSecret: 'abc123def456' }, credentials: { secretAccessKey: 'wJalr' } }, 'starting');
    expect(text()).not.toMatch(/xoxb-9|abc123def456|wJalr/);
    expect(text()).toContain('starting');
  });
});

/** A private key as a builder's log or a config dump would show it: several lines, maybe `| `-prefixed. */
const pem = [
  '-----BEGIN RSA PRIVATE KEY-----',
  'MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgwMbRvI0MBZhpI',
  'a2VnUkRpcmVjdG9yeQ9hbmRyb2lkR3JvdXBGcm9tS2V5c3RvcmUxMjM0NTY3ODk0',
  'xK3Q==',
  '-----END RSA PRIVATE KEY-----',
];

describe('redaction, in logs and in builder text posted to Slack', () => {
  const leaks: [string, string, string][] = [
    ['a PEM private key', `key:\n${pem.join('\n')}\ndone`, 'MIIEowIBAAKCAQEA0Z3VS5'],
    ['a PEM private key in a builder log tail', pem.map((line) => `| ${line}`).join('\n'), 'a2VnUkRpcmVjdG9yeQ9hbmRyb2lk'],
    ['an OpenSSH private key', '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----', 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmU'],
    ['a bearer token in an Authorization header', 'curl -H "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib3QifQ.c2lnbmF0dXJl" https://api', 'eyJhbGciOiJIUzI1NiJ9'],
    ['a bare bearer token', 'sent Bearer sk-live-0123456789abcdef to the API', 'sk-live-0123456789abcdef'],
    ['basic credentials in an Authorization header', 'Authorization: Basic dXNlcjpodW50ZXIy', 'dXNlcjpodW50ZXIy'],
    ['a password in a database URL', 'connecting to postgres://app:hunter2@db.internal:5432/shop', 'hunter2'],
    ['a token in a git URL', 'cloning https://x-access-token:s3cr3t-t0ken@github.com/acme/shop.git', 's3cr3t-t0ken'],
    ['a *_PASSWORD= variable', 'export DB_PASSWORD=hunter2', 'hunter2'],
    ['a *_TOKEN= variable', 'NPM_TOKEN=npm_abcdef123456 npm ci', 'npm_abcdef123456'],
    ['a *_SECRET: field', 'CLIENT_SECRET: swordfish', 'swordfish'],
  ];

  it.each(leaks)('redacts %s', (_what, text, secret) => {
    expect(redactSecrets(text)).not.toContain(secret);
    expect(redactSecrets(text)).toMatch(/\[redacted( private key)?\]/);
    expect(untrustedText(text)).not.toContain(secret);
    const { log, text: logged } = capturedLog('info');
    log.error(text);
    log.error({ detail: text }, 'builder said');
    log.error({ err: new Error(text) }, 'bake failed');
    expect(logged()).not.toContain(secret);
  });

  it('keeps the rest of the line: the user in a URL, the variable’s name, the header', () => {
    expect(redactSecrets('postgres://app:hunter2@db.internal:5432/shop')).toBe('postgres://app:[redacted]@db.internal:5432/shop');
    expect(redactSecrets('export DB_PASSWORD=hunter2 && run')).toBe('export DB_PASSWORD=[redacted] && run');
    expect(redactSecrets('Authorization: Bearer abc.def')).toBe('Authorization: Bearer [redacted]');
    expect(redactSecrets(`before\n${pem.join('\n')}\nafter`)).toBe('before\n[redacted private key]\nafter');
  });

  it('leaves ordinary text alone: URLs without credentials, tokenizer settings, digests', () => {
    const plain = `GET https://artifacts.example.com/demo/v1.tar.gz max_tokens=5 tokenizer=bpe sha256 ${'ab12'.repeat(16)}`;
    expect(redactSecrets(plain)).toBe(plain);
  });
});
