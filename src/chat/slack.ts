/*
 * Slack as a ChatSurface, through Bolt. Listeners do three things: acknowledge at once, turn Slack's
 * payload into a neutral SlashCommand/ButtonPress, and hand it to the core. Bolt verifies request
 * signatures and timestamps; this file adds only what Bolt leaves open: no request, however
 * malformed, may take the process down.
 *
 * Retries: Slack redelivers a request it thinks timed out, with `X-Slack-Retry-Num` (Bolt's
 * context.retryNum). A retry is acknowledged and handed over like the first delivery, with the same
 * requestId (the trigger id); the core dedupes on it, so a retry never starts a second bake.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPModuleFunctions, HTTPReceiver, isValidSlackRequest, LogLevel, SocketModeReceiver, webApi } from '@slack/bolt';
import type { Logger as BoltLogger, RespondFn } from '@slack/bolt';
import type { Logger } from '../log.js';
import { redactSecrets } from '../log.js';
import { renderHome, renderMessage } from './blocks.js';
import { slackRefusals } from './slack-refusals.js';
import { presenceIn } from './slack-presence.js';
import { uploadToThread } from './slack-upload.js';
import type { ButtonPress, ChatHandlers, ChatSurface, SlashCommand } from './surface.js';
import type { ChatMessage, MessageRef } from '../message.js';

export interface SlackOptions {
  botToken: string;
  signingSecret: string;
  /** With an app-level token (xapp-…) Bakery connects over Socket Mode instead of serving HTTP. */
  appToken?: string;
  port: number;
  /** SLACK_API_URL: the Web API base (GovSlack, or a local fake in tests). */
  apiUrl?: string;
  handlers: ChatHandlers;
  log: Logger;
  /** The slash commands to listen to, e.g. ['/bake', '/bakery']. */
  commands: string[];
}

export interface SlackRuntime {
  surface: ChatSurface;
  /** The workspace Bakery is installed in (auth.test's team id): requests from any other are refused. */
  workspace: string;
  /** The port actually bound (the options may ask for 0). */
  port: number;
  stop(): Promise<void>;
}

const eventsPath = '/slack/events';
type Refusals = ReturnType<typeof slackRefusals>;
const somethingWentWrong: ChatMessage = { text: 'Something went wrong. The error has been logged; please try again.', tone: 'failed' };

export async function startSlack(options: SlackOptions): Promise<SlackRuntime> {
  const log = options.log.child({ component: 'slack' });
  // From the parent: a child of the slack child would carry `component` twice in every line.
  const boltLogger = toBoltLogger(options.log);
  const clientOptions = {
    logger: boltLogger,
    ...(options.apiUrl ? { slackApiUrl: options.apiUrl.endsWith('/') ? options.apiUrl : `${options.apiUrl}/` } : {}),
  };
  const identity = await whoAmI(options.botToken, clientOptions);

  const health = (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  };

  let healthServer: Server | undefined;
  let receiver: InstanceType<typeof HTTPReceiver> | InstanceType<typeof SocketModeReceiver>;
  if (options.appToken) {
    receiver = new SocketModeReceiver({
      appToken: options.appToken,
      logger: boltLogger,
      // A copy: the Socket Mode client writes its own retry policy into the object it is given.
      installerOptions: { clientOptions: { ...clientOptions } },
      processEventErrorHandler: async ({ error }) => {
        log.error({ err: describeError(error) }, 'Bolt could not process a Socket Mode event');
        return false;
      },
    });
    guardSocketFrames(receiver, log);
    guardSocketEvents(receiver, slackRefusals(options.commands), log);
    // Our own server for /healthz rather than Bolt's customRoutes server: Bolt's socket-mode HTTP
    // server reports neither a failed listen (an unhandled 'error' would crash) nor the bound port.
    healthServer = createServer((req, res) => {
      if (req.method === 'GET' && req.url?.split('?')[0] === '/healthz') return health(req, res);
      res.writeHead(404);
      res.end();
    });
  } else {
    const httpReceiver = new HTTPReceiver({
      signingSecret: options.signingSecret,
      endpoints: [eventsPath],
      port: options.port,
      // Ack first, work after: the HTTP response leaves as soon as ack() is called.
      processBeforeResponse: false,
      bodyLimit: maxBodyBytes,
      logger: boltLogger,
      customRoutes: [{ path: '/healthz', method: ['GET'], handler: health }],
      processEventErrorHandler: async ({ error, response }) => {
        log.error({ err: describeError(error) }, 'Bolt could not process a request');
        if (!response.headersSent) {
          response.writeHead(500);
          response.end();
        }
        return false;
      },
    });
    guardMalformedBodies(httpReceiver, options.signingSecret, slackRefusals(options.commands), log);
    receiver = httpReceiver;
  }

  const app = new App({
    token: options.botToken,
    // Known from auth.test above: Bolt then never calls auth.test itself (whose failure, made in
    // its constructor and awaited only by the first request, would be an unhandled rejection).
    botId: identity.botId,
    botUserId: identity.botUserId,
    receiver,
    logger: boltLogger,
    clientOptions,
  });
  // Listener errors end here rather than rejecting out of processEvent.
  app.error(async (error) => {
    log.error({ err: describeError(error) }, 'Unhandled error in a Slack listener');
  });

  for (const name of options.commands) {
    app.command(name, async ({ ack, command, respond, context }) => {
      const slash = toSlashCommand(command);
      if (!slash) {
        await ack();
        return log.warn({ command: command?.command }, 'Ignored a slash command with missing fields');
      }
      // Help and usage errors travel in the ack itself: one request instead of two.
      const atOnce = answerAtOnce(log, options.handlers, slash);
      if (atOnce) return ack({ response_type: 'ephemeral', ...renderMessage(atOnce) } as Parameters<typeof ack>[0]);
      await ack();
      if (context.retryNum) log.info({ requestId: slash.requestId, retryNum: context.retryNum }, 'Slack retried a command');
      await handOver(log, respond, () => options.handlers.onCommand(slash), false);
    });
  }
  // One listener for every button: routing by actionId is the core's job, and an unknown action id
  // must still be acknowledged (an unacknowledged one shows the user an error after 3 s).
  app.action(/.*/, async ({ ack, body, action, respond, context }) => {
    await ack();
    const press = toButtonPress(body, action);
    if (!press) return log.warn('Ignored an interaction with missing fields');
    if (context.retryNum) log.info({ requestId: press.requestId, retryNum: context.retryNum }, 'Slack retried an action');
    await handOver(log, respond, () => options.handlers.onButton(press), true);
  });

  // The Home tab is drawn when it is opened (its Messages tab needs nothing from Bakery).
  app.event('app_home_opened', async ({ event }) => {
    const userId = str(field(event, 'user'));
    if (!userId || field(event, 'tab') !== 'home' || !options.handlers.onHomeOpened) return;
    await options.handlers.onHomeOpened({ id: userId, name: userId }).catch((error: unknown) => log.warn({ err: describeError(error) }, 'Could not publish the Home tab'));
  });

  let port: number;
  if (healthServer) {
    port = await listen(healthServer, options.port);
    await app.start();
  } else {
    const server = (await app.start(options.port, { requestTimeout: requestTimeoutMs })) as Server;
    port = (server.address() as AddressInfo).port;
  }
  log.info({ port, mode: options.appToken ? 'socket' : 'http' }, 'Slack connected');

  return {
    port,
    workspace: identity.teamId,
    surface: webApiSurface(app, identity.workspaceUrl),
    async stop() {
      await app.stop();
      if (healthServer) await new Promise<void>((resolve) => healthServer.close(() => resolve()));
    },
  };
}

function webApiSurface(app: InstanceType<typeof App>, workspaceUrl = 'https://slack.com/'): ChatSurface {
  return {
    // Slack's permalink shape (what chat.getPermalink returns), without a call per link.
    linkTo: (ref, label) => `<${workspaceUrl.replace(/\/?$/, '/')}archives/${ref.channel}/p${ref.ts.replace('.', '')}|${label}>`,
    async post(channel, message) {
      const result = await app.client.chat.postMessage({ channel, ...renderMessage(message) });
      return { channel: result.channel ?? channel, ts: requireTs(result.ts) };
    },
    async reply(thread, message) {
      const metadata = message.origin ? { metadata: { event_type: 'bakery_announcement', event_payload: message.origin } } : {};
      const result = await app.client.chat.postMessage({ channel: thread.channel, thread_ts: thread.ts, reply_broadcast: message.broadcast === true, ...renderMessage(message), ...metadata });
      return { channel: result.channel ?? thread.channel, ts: requireTs(result.ts) };
    },
    async update(ref: MessageRef, message) {
      // chat.update keeps fields it is not given: an empty attachments list clears the legacy
      // attachment a root posted by an earlier Bakery carried, which would show its headline twice.
      await app.client.chat.update({ channel: ref.channel, ts: ref.ts, ...renderMessage(message), attachments: [] });
    },
    upload: (thread, file) => uploadToThread(app.client, thread, file),
    async publishHome(user, view) {
      await app.client.views.publish({ user_id: user.id, view: renderHome(view) as never });
    },
    async members(of) {
      if ('userGroup' in of) return (await app.client.usergroups.users.list({ usergroup: of.userGroup })).users ?? [];
      const members: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await app.client.conversations.members({ channel: of.channel, limit: 1000, ...(cursor ? { cursor } : {}) });
        members.push(...(page.members ?? []));
        cursor = page.response_metadata?.next_cursor || undefined;
      } while (cursor);
      return members;
    },
    presenceIn: (channels) => presenceIn(app.client, channels),
  };
}

function requireTs(ts: string | undefined): string {
  if (!ts) throw new Error('Slack accepted a message but returned no ts');
  return ts;
}

/** The handlers' answer from the text alone; a failure there only means the answer comes the usual way. */
function answerAtOnce(log: Logger, handlers: ChatHandlers, command: SlashCommand): ChatMessage | undefined {
  try {
    return handlers.answerAtOnce?.(command);
  } catch (error) {
    log.warn({ reason: describeError(error).message }, 'Could not answer a command at once');
    return undefined;
  }
}

/** Runs a handler after the ack; its answer (or a failure notice) goes only to the person who asked. */
async function handOver(
  log: Logger,
  respond: RespondFn | undefined,
  run: () => Promise<ChatMessage | undefined>,
  isButton: boolean,
): Promise<void> {
  let answer: ChatMessage | undefined;
  try {
    answer = await run();
  } catch (error) {
    log.error({ err: describeError(error) }, 'A chat handler failed');
    answer = somethingWentWrong;
  }
  if (!answer) return;
  if (!respond) return log.warn('No response_url to answer on');
  try {
    await respond({
      response_type: 'ephemeral',
      // For a button, a response_url answer would otherwise be allowed to replace the message pressed.
      ...(isButton ? { replace_original: false } : {}),
      ...renderMessage(answer),
    } as Parameters<RespondFn>[0]);
  } catch (error) {
    log.warn({ err: describeError(error) }, 'Could not send an ephemeral answer');
  }
}

// ---- Slack payloads → neutral messages. Fields are checked, never assumed: bodies can be malformed. ----

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

export function toSlashCommand(command: unknown): SlashCommand | undefined {
  const name = str(field(command, 'command'));
  const userId = str(field(command, 'user_id'));
  const channel = str(field(command, 'channel_id'));
  const team = str(field(command, 'team_id'));
  const requestId = str(field(command, 'trigger_id'));
  if (!name || !userId || !channel || !team || !requestId) return undefined;
  const channelName = str(field(command, 'channel_name'));
  return {
    command: name,
    text: typeof field(command, 'text') === 'string' ? (field(command, 'text') as string).trim() : '',
    // user_name is deprecated and not unique: display only.
    user: { id: userId, name: str(field(command, 'user_name')) ?? userId },
    team,
    channel,
    ...(channelName ? { channelName } : {}),
    requestId,
  };
}

export function toButtonPress(body: unknown, action: unknown): ButtonPress | undefined {
  const actionId = str(field(action, 'action_id'));
  const user = field(body, 'user');
  const userId = str(field(user, 'id'));
  const container = field(body, 'container');
  // A press in the Home tab comes from a view, not a channel.
  const channel = str(field(field(body, 'channel'), 'id')) ?? str(field(container, 'channel_id')) ?? (field(container, 'type') === 'view' ? '' : undefined);
  // The person's own workspace: in a channel shared with another workspace it is not the channel's.
  const team = str(field(user, 'team_id')) ?? str(field(field(body, 'team'), 'id'));
  const actionTs = str(field(action, 'action_ts'));
  // action_ts + user identifies one press; the trigger id is the fallback for payloads without it.
  const requestId = actionTs && userId ? `${actionTs}:${userId}` : str(field(body, 'trigger_id'));
  if (!actionId || !userId || channel === undefined || !team || !requestId) return undefined;
  const value = field(action, 'value');
  const messageTs = str(field(container, 'message_ts')) ?? str(field(field(body, 'message'), 'ts'));
  const channelName = str(field(field(body, 'channel'), 'name'));
  return {
    actionId,
    value: typeof value === 'string' ? value : '',
    user: { id: userId, name: str(field(user, 'username')) ?? str(field(user, 'name')) ?? userId },
    team,
    channel,
    ...(channelName ? { channelName } : {}),
    ...(messageTs ? { message: { channel, ts: messageTs, ephemeral: field(container, 'is_ephemeral') === true } } : {}),
    requestId,
  };
}

// ---- Robustness around Bolt's HTTP receiver ----

/**
 * Slack's requests are small: a command is under a kilobyte, a button press carries its message (a
 * few tens of kilobytes at Block Kit's 50 blocks). A body declared larger is refused before a byte of
 * it is read, and none is read past this (Bolt's own limit is 4 MB, all buffered before the signature).
 */
export const maxBodyBytes = 256 * 1024;
/**
 * Requests read and answered at once on the events path; one more is answered 503 at once (Slack
 * retries events). Each holds at most maxBodyBytes, and a slow sender gives its place up at the
 * server's request timeout.
 */
export const maxRequestsInFlight = 32;
const requestTimeoutMs = 10_000;

/**
 * Bolt answers a signed body it cannot parse (400) or cannot verify (401) at once, but reads the
 * fields of one that parses without checking them: JSON `null` rejects an un-awaited promise, a
 * block_actions payload without `user` throws in its team-id parsing (500, a stack at error level),
 * and one no listener matches waits 3 s to be answered. So the body is buffered here first (Bolt
 * reuses a buffered request), and a signed one that is not a request Bakery takes is answered 400
 * with one warn line. Size and requests in flight are bounded here, before anything is read;
 * signature, timestamp and bad JSON stay Bolt's job.
 */
function guardMalformedBodies(receiver: InstanceType<typeof HTTPReceiver>, signingSecret: string, refusal: Refusals, log: Logger): void {
  const boltListener = receiver.requestListener;
  let inFlight = 0;
  receiver.requestListener = (req, res) => {
    if (req.method !== 'POST' || req.url?.split('?')[0] !== eventsPath) return boltListener(req, res);
    if (inFlight >= maxRequestsInFlight) {
      log.warn({ inFlight }, 'Refused a request: too many in flight');
      return reply(res, 503, { 'retry-after': '1' });
    }
    if (Number(req.headers['content-length']) > maxBodyBytes) {
      log.warn({ declared: Number(req.headers['content-length']) }, 'Rejected an unreadable request: too large');
      return reply(res, 413);
    }
    inFlight += 1;
    res.once('close', () => (inFlight -= 1));
    void (async () => {
      let buffered: Awaited<ReturnType<typeof HTTPModuleFunctions.bufferIncomingMessage>>;
      try {
        buffered = await HTTPModuleFunctions.bufferIncomingMessage(req, maxBodyBytes);
      } catch (error) {
        const tooLarge = HTTPModuleFunctions.isRawBodyError(error) && (error as { statusCode: number }).statusCode === 413;
        log.warn({ reason: tooLarge ? 'too large' : String((error as Error)?.message) }, 'Rejected an unreadable request');
        return reply(res, tooLarge ? 413 : 400);
      }
      const reason = signedRefusal(buffered, signingSecret, refusal);
      if (!reason) return boltListener(buffered, res);
      log.warn({ reason }, 'Refused a malformed Slack request');
      reply(res, 400);
    })();
  };
}

/** Why a signed, parseable body is refused; undefined (Bolt's to answer) for every other request. */
function signedRefusal(req: Parameters<typeof HTTPModuleFunctions.parseHTTPRequestBody>[0], signingSecret: string, refusal: Refusals): string | undefined {
  if (!isValidSlackRequest({ signingSecret, body: req.rawBody.toString(), headers: requestHeaders(req) })) return undefined; // Bolt answers 401
  let body: unknown;
  try {
    body = HTTPModuleFunctions.parseHTTPRequestBody(req);
  } catch {
    return undefined; // Bolt answers 400
  }
  return refusal(body);
}

function requestHeaders(req: IncomingMessage): Parameters<typeof isValidSlackRequest>[0]['headers'] {
  const header = (name: string): string => [req.headers[name]].flat()[0] ?? '';
  return {
    'x-slack-signature': header('x-slack-signature'),
    'x-slack-request-timestamp': Number(header('x-slack-request-timestamp')),
  };
}

function reply(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { ...headers, connection: 'close' });
  res.end();
}

// ---- Startup helpers ----

/**
 * The Socket Mode client reads fields of every frame without checking them (a `null` frame, an
 * events_api envelope without an event), and its handler's rejection is caught by nobody. Each
 * frame is handed to it here, and what it throws is logged, not left to crash the process.
 */
function guardSocketFrames(receiver: InstanceType<typeof SocketModeReceiver>, log: Logger): void {
  const socket = receiver.client;
  const handlers = socket.listeners('ws_message') as ((data: unknown, isBinary: boolean) => unknown)[];
  socket.removeAllListeners('ws_message');
  socket.on('ws_message', (data: unknown, isBinary: boolean) => {
    for (const handle of handlers) {
      Promise.resolve()
        .then(() => handle.call(socket, data, isBinary))
        .catch((error: unknown) => log.warn({ err: describeError(error) }, 'ignored a malformed Socket Mode frame'));
    }
  });
}

/** Envelopes get the same check as HTTP bodies; a refused one is acked (or Slack redelivers it) and not passed on. */
function guardSocketEvents(receiver: InstanceType<typeof SocketModeReceiver>, refusal: Refusals, log: Logger): void {
  const socket = receiver.client;
  const handlers = socket.listeners('slack_event') as ((event: { ack: () => Promise<void>; body: unknown }) => unknown)[];
  socket.removeAllListeners('slack_event');
  socket.on('slack_event', async (event: { ack: () => Promise<void>; body: unknown }) => {
    const reason = refusal(event.body);
    if (!reason) return Promise.all(handlers.map((handle) => handle.call(socket, event)));
    log.warn({ reason }, 'Refused a malformed Slack request');
    await event.ack().catch((error: unknown) => log.warn({ reason: describeError(error).message }, 'Could not ack a refused envelope'));
  });
}

/** Checks the token once at start: a wrong token stops the start with a clear message. */
async function whoAmI(token: string, clientOptions: object): Promise<{ botId: string; botUserId: string; teamId: string; workspaceUrl?: string }> {
  // Few retries: at start, failing fast beats waiting half an hour on an unreachable Slack.
  const client = new webApi.WebClient(token, { ...clientOptions, retryConfig: { retries: 2 } });
  let result: Awaited<ReturnType<typeof client.auth.test>>;
  try {
    result = await client.auth.test();
  } catch (error) {
    const { message, code } = describeError(error);
    const reason = code === 'slack_webapi_request_error' ? 'Slack could not be reached' : 'Slack rejected the bot token';
    throw new Error(`${reason} at start (auth.test: ${message})`);
  }
  if (!result.bot_id || !result.user_id) throw new Error('SLACK_BOT_TOKEN is not a bot token (auth.test returned no bot id)');
  if (!result.team_id) throw new Error('auth.test returned no team id, so Bakery cannot tell its workspace from another');
  return { botId: result.bot_id, botUserId: result.user_id, teamId: result.team_id, workspaceUrl: result.url };
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      server.on('error', () => undefined); // after listening, errors are per-connection; never fatal
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Bolt's and the Web API client's log lines go to our pino logger (and its redaction). */
function toBoltLogger(log: Logger): BoltLogger {
  const bolt = log.child({ component: 'bolt' });
  const line = (args: unknown[]): string =>
    redactSecrets(args.map((arg) => (arg instanceof Error ? arg.message : typeof arg === 'string' ? arg : safeJson(arg))).join(' '));
  return {
    debug: (...args: unknown[]) => bolt.debug(line(args)),
    info: (...args: unknown[]) => bolt.info(line(args)),
    warn: (...args: unknown[]) => bolt.warn(line(args)),
    error: (...args: unknown[]) => bolt.error(line(args)),
    setLevel: () => undefined, // the level is pino's
    getLevel: () => (bolt.level in levelNames ? levelNames[bolt.level as keyof typeof levelNames] : LogLevel.INFO),
    setName: () => undefined,
  };
}

const levelNames = { debug: LogLevel.DEBUG, trace: LogLevel.DEBUG, info: LogLevel.INFO, warn: LogLevel.WARN, error: LogLevel.ERROR, fatal: LogLevel.ERROR, silent: LogLevel.ERROR } as const;

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/**
 * What may be logged of an error. Never the error object itself: the Web API client's errors
 * carry the HTTP request they failed on, Authorization header (the bot token) included.
 */
export function describeError(error: unknown): { message: string; code?: string; stack?: string } {
  const code = field(field(error, 'data'), 'error') ?? field(error, 'code');
  const message = error instanceof Error ? error.message : String(error);
  return {
    message: redactSecrets(message),
    ...(typeof code === 'string' ? { code } : {}),
    ...(error instanceof Error && error.stack ? { stack: redactSecrets(error.stack) } : {}),
  };
}
