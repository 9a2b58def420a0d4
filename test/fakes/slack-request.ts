import { createHmac } from 'node:crypto';

/** Signs like Slack: v0=HMAC-SHA256(secret, "v0:<timestamp>:<body>"). */
export function slackSignature(body: string, timestamp: number, secret: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/** Delivers a body to a Bolt receiver as Slack does: form-encoded and signed, with a timestamp of now unless told. */
export function deliverToSlackEvents(
  baseUrl: string,
  body: string,
  options: { secret: string; timestamp?: number; headers?: Record<string, string>; contentType?: string },
): Promise<Response> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  return fetch(`${baseUrl}/slack/events`, {
    method: 'POST',
    headers: {
      'content-type': options.contentType ?? 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': slackSignature(body, timestamp, options.secret),
      ...options.headers,
    },
    body,
  });
}
