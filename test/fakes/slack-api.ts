/*
 * A fake Slack Web API on 127.0.0.1, answering like Slack for the methods Bakery calls, and
 * recording every call. It is also the target of response_urls (POST /respond/<id>).
 * Given an app-level token and a Socket Mode url (see ./socket-mode.ts), it also answers
 * apps.connections.open, which like Slack's takes only the app-level token.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ApiCall {
  method: string;
  token: string | undefined;
  /** Form or JSON body, parsed; JSON-encoded fields (blocks, attachments) decoded. */
  body: Record<string, unknown>;
}

export interface Response {
  id: string;
  body: Record<string, unknown>;
}

export interface FakeSlackApi {
  /** Base URL for SLACK_API_URL, with the trailing slash, e.g. http://127.0.0.1:1234/api/ */
  apiUrl: string;
  /** Base of response_urls: `${respondUrl}<id>` */
  respondUrl: string;
  calls: ApiCall[];
  responses: Response[];
  callsTo(method: string): ApiCall[];
  /** The next call to `method` gets 429 with Retry-After: `seconds`. */
  rateLimitOnce(method: string, seconds?: number): void;
  /** Posts to `channel` fail as they do when the bot was never invited there. */
  refuseChannel(channel: string): void;
  /** Resolves when `predicate` holds, polling; rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface FakeSlackApiOptions {
  /** The bot token (xoxb-…) every method but apps.connections.open requires. */
  token: string;
  /** The app-level token (xapp-…) apps.connections.open requires. */
  appToken?: string;
  /** What apps.connections.open answers, e.g. a fake Socket Mode endpoint's ws://127.0.0.1:<port>/socket. */
  socketUrl?: string;
}

export async function startFakeSlackApi(options: FakeSlackApiOptions): Promise<FakeSlackApi> {
  const calls: ApiCall[] = [];
  const responses: Response[] = [];
  const rateLimited = new Map<string, number>();
  const refused = new Set<string>();
  let lastTs = 1_767_268_800_000_000; // microseconds, so ts strings increase like Slack's "seconds.micros"
  const nextTs = (): string => {
    lastTs += 100;
    const s = String(lastTs);
    return `${s.slice(0, -6)}.${s.slice(-6)}`;
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://fake');
      const json = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      };
      if (url.pathname.startsWith('/respond/')) {
        responses.push({ id: url.pathname.slice('/respond/'.length), body: parse(raw, req.headers['content-type']) });
        res.writeHead(200, { 'content-type': 'text/plain' });
        return res.end('ok');
      }
      const method = url.pathname.replace(/^\/api\//, '');
      const body = parse(raw, req.headers['content-type']);
      const token = req.headers.authorization?.replace(/^Bearer /, '') ?? (typeof body.token === 'string' ? body.token : undefined);
      calls.push({ method, token, body });

      const retryAfter = rateLimited.get(method);
      if (retryAfter !== undefined) {
        rateLimited.delete(method);
        return json(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(retryAfter) });
      }
      if (options.appToken !== undefined) {
        // Slack's split: apps.connections.open only with the app-level token, the rest never with it.
        const isAppToken = token === options.appToken;
        if (method === 'apps.connections.open') {
          if (token === options.token) return json(200, { ok: false, error: 'not_allowed_token_type' });
          if (!isAppToken) return json(200, { ok: false, error: 'invalid_auth' });
          if (options.socketUrl === undefined) return json(200, { ok: false, error: 'internal_error' });
          return json(200, { ok: true, url: options.socketUrl });
        }
        if (isAppToken) return json(200, { ok: false, error: 'not_allowed_token_type' });
      }
      if (token !== options.token) return json(200, { ok: false, error: 'invalid_auth' });
      switch (method) {
        case 'auth.test':
          return json(200, { ok: true, url: 'https://fake.slack.com/', team: 'Fake', user: 'bakery', team_id: 'T0FAKE', user_id: 'U0BAKERY', bot_id: 'B0BAKERY' });
        case 'chat.postMessage': {
          if (refused.has(String(body.channel))) return json(200, { ok: false, error: 'not_in_channel' });
          const ts = nextTs();
          return json(200, { ok: true, channel: body.channel, ts, message: { type: 'message', text: body.text, ts, blocks: body.blocks, attachments: body.attachments, thread_ts: body.thread_ts } });
        }
        case 'chat.update':
          return json(200, { ok: true, channel: body.channel, ts: body.ts, text: body.text });
        default:
          return json(200, { ok: false, error: 'unknown_method' });
      }
    })().catch(() => {
      res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    apiUrl: `${base}/api/`,
    respondUrl: `${base}/respond/`,
    calls,
    responses,
    callsTo: (method) => calls.filter((call) => call.method === method),
    rateLimitOnce: (method, seconds = 1) => rateLimited.set(method, seconds),
    refuseChannel: (channel) => refused.add(channel),
    async waitFor(predicate, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error('fake Slack: condition not met in time');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parse(raw: string, contentType: string | undefined): Record<string, unknown> {
  if (raw === '') return {};
  if (contentType?.includes('application/json')) return JSON.parse(raw) as Record<string, unknown>;
  const body: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    // The Web API client JSON-encodes structured arguments in form posts.
    body[key] = (key === 'blocks' || key === 'attachments') && value.startsWith('[') ? JSON.parse(value) : value;
  }
  return body;
}
