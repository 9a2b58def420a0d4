import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../src/log.js';
import { capturedLog } from './support/captured-log.js';

describe('logs', () => {
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
