/*
 * A fake Slack Web API on 127.0.0.1, answering like Slack for the methods Bakery calls, and
 * recording every call. It is also the target of response_urls (POST /respond/<id>).
 * Given an app-level token and a Socket Mode url (see ./socket-mode.ts), it also answers
 * apps.connections.open, which like Slack's takes only the app-level token.
 * Files go up as with Slack's external upload flow: files.getUploadURLExternal hands out an upload
 * URL (POST /upload/<file id>, no token), and files.completeUploadExternal shares the file only if
 * its bytes arrived, once, in a channel the bot is in.
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

/** A file shared by files.completeUploadExternal. */
export interface SharedFile {
  id: string;
  filename: string;
  title: string | undefined;
  altText: string | undefined;
  channel: string;
  threadTs: string | undefined;
  bytes: Buffer;
  /** Whether the bytes came with an Authorization header (the upload URL needs none). */
  sentToken: boolean;
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
  /** Posts (and file shares) in `channel` fail as they do when the bot was never invited there. */
  refuseChannel(channel: string): void;
  /** Files shared in channels, in order. */
  files: SharedFile[];
  /** The next upload of bytes to an upload URL is answered with this HTTP status. */
  failNextUpload(status: number): void;
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
  /** Who is in each channel (conversations.members) and each user group (usergroups.users.list). */
  channelMembers?: Record<string, string[]>;
  userGroups?: Record<string, string[]>;
  /** Channels by id, with their name and whether private (conversations.info, conversations.list); the bot (U0BAKERY) is in those whose members list it. */
  channels?: Record<string, { name: string; private?: boolean }>;
}

/** The bot user auth.test names. */
const botUserId = 'U0BAKERY';

export async function startFakeSlackApi(options: FakeSlackApiOptions): Promise<FakeSlackApi> {
  const calls: ApiCall[] = [];
  const responses: Response[] = [];
  const rateLimited = new Map<string, number>();
  const refused = new Set<string>();
  // Uploads begun with files.getUploadURLExternal, by file id, until completed.
  const pending = new Map<string, { filename: string; length: number; altText: string | undefined; bytes?: Buffer; sentToken?: boolean }>();
  const files: SharedFile[] = [];
  let lastFileId = 0;
  let nextUploadStatus: number | undefined;
  let lastTs = 1_767_268_800_000_000; // microseconds, so ts strings increase like Slack's "seconds.micros"
  const nextTs = (): string => {
    lastTs += 100;
    const s = String(lastTs);
    return `${s.slice(0, -6)}.${s.slice(-6)}`;
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const bytes = await readBody(req);
      const raw = bytes.toString('utf8');
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
      if (url.pathname.startsWith('/upload/')) {
        const upload = pending.get(url.pathname.slice('/upload/'.length));
        const status = nextUploadStatus ?? (upload && req.method === 'POST' ? 200 : 404);
        nextUploadStatus = undefined;
        if (status === 200 && upload) Object.assign(upload, { bytes, sentToken: req.headers.authorization !== undefined });
        res.writeHead(status, { 'content-type': 'text/plain' });
        return res.end(status === 200 ? `OK - ${bytes.length}` : 'upload failed');
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
          return json(200, { ok: true, url: 'https://fake.slack.com/', team: 'Fake', user: 'bakery', team_id: 'T0FAKE', user_id: botUserId, bot_id: 'B0BAKERY' });
        case 'chat.postMessage': {
          if (refused.has(String(body.channel))) return json(200, { ok: false, error: 'not_in_channel' });
          const ts = nextTs();
          return json(200, { ok: true, channel: body.channel, ts, message: { type: 'message', text: body.text, ts, blocks: body.blocks, attachments: body.attachments, thread_ts: body.thread_ts } });
        }
        case 'views.publish': {
          // Slack's own checks on a Home view: its user, its type, at most 100 blocks.
          const view = (typeof body.view === 'string' ? JSON.parse(body.view) : body.view) as { type?: unknown; blocks?: unknown[] } | undefined;
          if (typeof body.user_id !== 'string' || !view) return json(200, { ok: false, error: 'invalid_arguments' });
          if (view.type !== 'home' || !Array.isArray(view.blocks) || view.blocks.length > 100) return json(200, { ok: false, error: 'invalid_arguments' });
          return json(200, { ok: true, view: { id: 'V0FAKE', type: 'home', blocks: view.blocks } });
        }
        case 'conversations.members': {
          const members = options.channelMembers?.[String(body.channel)];
          if (!members) return json(200, { ok: false, error: 'channel_not_found' });
          // Pages of `limit`, as Slack pages them, the cursor being the offset.
          const offset = Number(body.cursor ?? 0) || 0;
          const limit = Number(body.limit ?? 100) || 100;
          const next = offset + limit < members.length ? String(offset + limit) : '';
          return json(200, { ok: true, members: members.slice(offset, offset + limit), response_metadata: { next_cursor: next } });
        }
        case 'conversations.info':
        case 'conversations.list': {
          // Slack shows a private channel only to its members, the bot included.
          const visible = Object.entries(options.channels ?? {})
            .map(([id, channel]) => ({ id, name: channel.name, is_private: channel.private === true, is_member: (options.channelMembers?.[id] ?? []).includes(botUserId) }))
            .filter((channel) => !channel.is_private || channel.is_member);
          if (method === 'conversations.info') {
            const channel = visible.find((c) => c.id === String(body.channel));
            return channel ? json(200, { ok: true, channel }) : json(200, { ok: false, error: 'channel_not_found' });
          }
          const offset = Number(body.cursor ?? 0) || 0;
          const limit = Number(body.limit ?? 100) || 100;
          const next = offset + limit < visible.length ? String(offset + limit) : '';
          return json(200, { ok: true, channels: visible.slice(offset, offset + limit), response_metadata: { next_cursor: next } });
        }
        case 'usergroups.users.list': {
          const users = options.userGroups?.[String(body.usergroup)];
          if (!users) return json(200, { ok: false, error: 'no_such_subteam' });
          return json(200, { ok: true, users });
        }
        case 'chat.update':
          return json(200, { ok: true, channel: body.channel, ts: body.ts, text: body.text });
        case 'files.getUploadURLExternal': {
          const length = Number(body.length);
          if (typeof body.filename !== 'string' || body.filename === '' || body.length === undefined) return json(200, { ok: false, error: 'invalid_arguments' });
          if (!Number.isInteger(length) || length <= 0) return json(200, { ok: false, error: 'missing_argument' });
          const altText = typeof body.alt_txt === 'string' ? body.alt_txt : undefined;
          if (altText !== undefined && altText.length > 1000) return json(200, { ok: false, error: 'alt_txt_too_large' });
          const id = `F0FAKE${String(++lastFileId).padStart(4, '0')}`;
          pending.set(id, { filename: body.filename, length, altText });
          return json(200, { ok: true, upload_url: `${base}/upload/${id}`, file_id: id });
        }
        case 'files.completeUploadExternal': {
          const list = Array.isArray(body.files) ? (body.files as { id?: unknown; title?: unknown }[]) : undefined;
          if (!list || list.length === 0 || list.some((file) => typeof file?.id !== 'string')) return json(200, { ok: false, error: 'invalid_arguments' });
          const channel = typeof body.channel_id === 'string' ? body.channel_id : undefined;
          if (channel !== undefined && refused.has(channel)) return json(200, { ok: false, error: 'not_in_channel' });
          // An id never handed out, already completed, or whose bytes never arrived.
          if (list.some((file) => !pending.get(file.id as string)?.bytes)) return json(200, { ok: false, error: 'file_not_found' });
          const shared = list.map((file) => {
            const upload = pending.get(file.id as string)!;
            pending.delete(file.id as string);
            const title = typeof file.title === 'string' ? file.title : undefined;
            if (channel !== undefined) {
              files.push({ id: file.id as string, filename: upload.filename, title, altText: upload.altText, channel, threadTs: typeof body.thread_ts === 'string' ? body.thread_ts : undefined, bytes: upload.bytes!, sentToken: upload.sentToken ?? false });
            }
            return { id: file.id, title: title ?? upload.filename };
          });
          return json(200, { ok: true, files: shared });
        }
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
    files,
    failNextUpload: (status) => {
      nextUploadStatus = status;
    },
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

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function parse(raw: string, contentType: string | undefined): Record<string, unknown> {
  if (raw === '') return {};
  if (contentType?.includes('application/json')) return JSON.parse(raw) as Record<string, unknown>;
  const body: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    // The Web API client JSON-encodes structured arguments in form posts.
    body[key] = (key === 'blocks' || key === 'attachments' || key === 'files') && value.startsWith('[') ? JSON.parse(value) : value;
  }
  return body;
}
