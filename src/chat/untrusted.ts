import { redactSecrets } from '../log.js';

/**
 * Text Bakery did not write (a builder's console), made harmless to post as Slack mrkdwn: secrets
 * redacted; & < > escaped as Slack asks, so `<!channel>` and `<https://evil|your bank>` show as
 * text; backticks replaced by a look-alike, so the text cannot close the code span or block it is
 * shown in and format what follows.
 */
export function untrustedText(text: string): string {
  return redactSecrets(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/`/g, 'ˋ');
}
