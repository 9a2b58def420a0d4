import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { renderMessage, truncateMrkdwn } from '../src/chat/blocks.js';
import { maxBodyBytes, maxRequestsInFlight, startSlack, type SlackRuntime } from '../src/chat/slack.js';
import { silentLogger } from '../src/log.js';
import type { ButtonPress, SlashCommand } from '../src/chat/surface.js';
import type { ChatMessage } from '../src/message.js';
import { startFakeSlackApi, type FakeSlackApi } from './fakes/slack-api.js';
import { deliverToSlackEvents } from './fakes/slack-request.js';
import { capturedLog } from './support/captured-log.js';

const botToken = 'xoxb-1111-2222-testtoken';
const signingSecret = '8f742231b10e8888abcd99yyyzzz85a5';

describe('Slack over HTTP', () => {
  let fake: FakeSlackApi;
  let slack: SlackRuntime;
  let base: string;
  const commands: SlashCommand[] = [];
  const presses: ButtonPress[] = [];
  const captured = capturedLog();
  // The slow handler finishes only when the test says so: an ack that waited for it would never come.
  let finishSlowHandler = (): void => undefined;
  const slowHandlerGate = new Promise<void>((resolve) => {
    finishSlowHandler = resolve;
  });

  beforeAll(async () => {
    fake = await startFakeSlackApi({ token: botToken });
    slack = await startSlack({
      botToken,
      signingSecret,
      port: 0,
      apiUrl: fake.apiUrl,
      log: captured.log,
      commands: ['/bake', '/bakery'],
      handlers: {
        answerAtOnce: (command) => (command.text === 'usage' ? { text: 'Usage: `/bake <app> <version>`', tone: 'failed' } : undefined),
        async onCommand(command) {
          commands.push(command);
          if (command.text === 'slow') await slowHandlerGate;
          if (command.text === 'boom') throw new Error(`exploded with ${botToken}`);
          if (command.text === 'help') return { text: 'Usage: `/bake <app> <version>`' };
          return undefined;
        },
        async onButton(press) {
          presses.push(press);
          return { text: `pressed ${press.actionId}` };
        },
        async onHomeOpened(user) {
          await slack.surface.publishHome(user, { title: 'Bakery · 1 of 1 apps stale', sections: [{ text: '*demo* · v1', lines: ['• too old'], buttons: [{ actionId: 'digest.rebake', label: 'Rebake demo v1', value: 'demo:v1' }] }] });
        },
      },
    });
    base = `http://127.0.0.1:${slack.port}`;
  });

  afterAll(async () => {
    await slack?.stop();
    await fake?.close();
  });

  function commandBody(fields: Record<string, string> = {}): string {
    return new URLSearchParams({
      token: 'legacy-verification-token',
      team_id: 'T0FAKE',
      team_domain: 'fake',
      channel_id: 'C0RELEASES',
      channel_name: 'releases',
      user_id: 'U0ALICE',
      user_name: 'alice',
      command: '/bake',
      text: 'demo v1',
      api_app_id: 'A0BAKERY',
      response_url: `${fake.respondUrl}cmd`,
      trigger_id: 'trigger-1',
      ...fields,
    }).toString();
  }

  function buttonBody(actionId: string, value: string): string {
    const payload = {
      type: 'block_actions',
      user: { id: 'U0ALICE', username: 'alice', team_id: 'T0FAKE' },
      team: { id: 'T0FAKE', domain: 'fake' },
      api_app_id: 'A0BAKERY',
      container: { type: 'message', channel_id: 'C0RELEASES', message_ts: '1767268800.000100' },
      channel: { id: 'C0RELEASES', name: 'releases' },
      trigger_id: 'trigger-button',
      response_url: `${fake.respondUrl}button`,
      actions: [{ type: 'button', action_id: actionId, block_id: 'b1', value, action_ts: '1767268801.000200' }],
    };
    return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  }

  async function send(
    body: string,
    options: { timestamp?: number; secret?: string; headers?: Record<string, string>; contentType?: string } = {},
  ): Promise<{ status: number; text: string }> {
    const response = await deliverToSlackEvents(base, body, { ...options, secret: options.secret ?? signingSecret });
    const text = await response.text();
    return { status: response.status, text };
  }

  const settle = (ms = 150): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  it('answers /healthz', async () => {
    const response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });

  it('acks a well-signed slash command at once and hands it to the core', async () => {
    const before = commands.length;
    const { status } = await send(commandBody({ text: 'slow', trigger_id: 'trigger-slow' }));
    expect(status).toBe(200);
    await fake.waitFor(() => commands.length > before);
    finishSlowHandler();
    expect(commands.at(-1)).toEqual({
      command: '/bake',
      text: 'slow',
      user: { id: 'U0ALICE', name: 'alice' },
      team: 'T0FAKE',
      channel: 'C0RELEASES',
      channelName: 'releases',
      requestId: 'trigger-slow',
    });
  });

  it('rejects a bad signature with 401 and never reaches the handler', async () => {
    const before = commands.length;
    const { status } = await send(commandBody({ trigger_id: 'trigger-forged' }), { secret: 'not-the-secret' });
    expect(status).toBe(401);
    await settle();
    expect(commands.length).toBe(before);
  });

  it('rejects a stale timestamp (more than 5 minutes old) even when correctly signed', async () => {
    const before = commands.length;
    const { status } = await send(commandBody({ trigger_id: 'trigger-replayed' }), { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(status).toBe(401);
    await settle();
    expect(commands.length).toBe(before);
  });

  it('acks a retried delivery and hands over the same requestId, for the core to dedupe', async () => {
    const before = commands.length;
    const body = commandBody({ trigger_id: 'trigger-retried' });
    expect((await send(body)).status).toBe(200);
    const retry = await send(body, { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } });
    expect(retry.status).toBe(200);
    await fake.waitFor(() => commands.length >= before + 2);
    expect(commands.slice(before).map((c) => c.requestId)).toEqual(['trigger-retried', 'trigger-retried']);
  });

  it('sends a returned message as an ephemeral reply to the response_url', async () => {
    const before = fake.responses.length;
    expect((await send(commandBody({ text: 'help', trigger_id: 'trigger-help' }))).status).toBe(200);
    await fake.waitFor(() => fake.responses.length > before);
    const response = fake.responses.at(-1);
    expect(response?.id).toBe('cmd');
    expect(response?.body).toMatchObject({ response_type: 'ephemeral', text: 'Usage: `/bake &lt;app&gt; &lt;version&gt;`' });
  });

  it('sends an answer known from the text alone in the ack itself, and nothing on the response_url', async () => {
    const before = { commands: commands.length, responses: fake.responses.length };
    const { status, text } = await send(commandBody({ text: 'usage', trigger_id: 'trigger-usage' }));
    expect(status).toBe(200);
    expect(JSON.parse(text)).toMatchObject({ response_type: 'ephemeral', text: 'Usage: `/bake &lt;app&gt; &lt;version&gt;`' });
    await settle();
    expect({ commands: commands.length, responses: fake.responses.length }).toEqual(before);
  });

  it('answers "Something went wrong" when a handler throws, without logging secrets', async () => {
    const before = fake.responses.length;
    expect((await send(commandBody({ text: 'boom', trigger_id: 'trigger-boom' }))).status).toBe(200);
    await fake.waitFor(() => fake.responses.length > before);
    expect(String(fake.responses.at(-1)?.body.text)).toMatch(/Something went wrong/);
    const logs = captured.text();
    expect(logs).toContain('A chat handler failed');
    expect(logs).not.toContain(botToken);
    expect(logs).not.toContain(signingSecret);
  });

  it('publishes the Home tab when a person opens it, through views.publish', async () => {
    const event = { token: 'legacy', team_id: 'T0FAKE', api_app_id: 'A0BAKERY', type: 'event_callback', event_id: 'Ev1', event_time: 1767268800, event: { type: 'app_home_opened', user: 'U0BOB', channel: 'D0BOB', tab: 'home' } };
    expect((await send(JSON.stringify(event), { contentType: 'application/json' })).status).toBe(200);
    await fake.waitFor(() => fake.callsTo('views.publish').length > 0);
    const [call] = fake.callsTo('views.publish');
    const view = (typeof call!.body.view === 'string' ? JSON.parse(call!.body.view) : call!.body.view) as { type: string; blocks: { type: string }[] };
    expect(call!.body.user_id).toBe('U0BOB');
    expect(view.type).toBe('home');
    expect(view.blocks.map((block) => block.type)).toEqual(['header', 'divider', 'section', 'section', 'actions']);
  });

  it('links to a thread with the workspace’s permalink, as chat.getPermalink would', () => {
    expect(slack.surface.linkTo({ channel: 'C0RELEASES', ts: '1767268800.000100' }, 'its thread')).toBe('<https://fake.slack.com/archives/C0RELEASES/p1767268800000100|its thread>');
  });

  it('takes a press in the Home tab, which comes from no channel', async () => {
    const before = presses.length;
    const payload = {
      type: 'block_actions',
      user: { id: 'U0BOB', username: 'bob', team_id: 'T0FAKE' },
      team: { id: 'T0FAKE', domain: 'fake' },
      api_app_id: 'A0BAKERY',
      container: { type: 'view', view_id: 'V0FAKE' },
      view: { id: 'V0FAKE', type: 'home' },
      trigger_id: 'trigger-home',
      actions: [{ type: 'button', action_id: 'digest.rebake', block_id: 'b1', value: 'demo:v1', action_ts: '1767268802.000300' }],
    };
    expect((await send(new URLSearchParams({ payload: JSON.stringify(payload) }).toString())).status).toBe(200);
    await fake.waitFor(() => presses.length > before);
    expect(presses.at(-1)).toMatchObject({ actionId: 'digest.rebake', value: 'demo:v1', channel: '', user: { id: 'U0BOB' } });
  });

  it('hands a button press to onButton and answers ephemerally', async () => {
    const before = presses.length;
    expect((await send(buttonBody('bake.cancel', 'op-123'))).status).toBe(200);
    await fake.waitFor(() => presses.length > before);
    expect(presses.at(-1)).toEqual({
      actionId: 'bake.cancel',
      value: 'op-123',
      user: { id: 'U0ALICE', name: 'alice' },
      team: 'T0FAKE',
      channel: 'C0RELEASES',
      channelName: 'releases',
      message: { channel: 'C0RELEASES', ts: '1767268800.000100', ephemeral: false },
      requestId: '1767268801.000200:U0ALICE',
    });
    await fake.waitFor(() => fake.responses.some((r) => r.id === 'button'));
    expect(fake.responses.find((r) => r.id === 'button')?.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
  });

  it('survives malformed requests, signed or not, and still answers /healthz', async () => {
    const before = commands.length;
    const results = await Promise.all([
      send('payload=%7Bnot-json'), // bad JSON in payload
      send(''), // empty body
      send('null', { contentType: 'application/json' }), // parses, but to null
      send(new URLSearchParams({ payload: 'null' }).toString()),
      send('42', { contentType: 'application/json' }),
      send('garbage \u0000 \uffff', { contentType: 'text/plain' }),
      send(commandBody({ command: '' })), // missing command
      send(commandBody({ user_id: '', channel_id: '' })), // a command without who and where
      send(new URLSearchParams({ payload: JSON.stringify({ type: 'block_actions', actions: [] }) }).toString()),
      send(new URLSearchParams({ payload: JSON.stringify({ type: 'block_actions', user: null, actions: [null] }) }).toString()),
      fetch(`${base}/slack/events`, { method: 'POST', body: 'x'.repeat(5 * 1024 * 1024) }).then((r) => ({ status: r.status })),
      fetch(`${base}/slack/events`, { method: 'POST', body: 'unsigned=1' }).then((r) => ({ status: r.status })),
      fetch(`${base}/healthz%zz`).then((r) => ({ status: r.status })),
      fetch(`${base}/nowhere`).then((r) => ({ status: r.status })),
    ]);
    for (const result of results) expect(result.status).toBeGreaterThanOrEqual(200); // an answer, not a hang
    // 400 malformed or not a request Bakery takes, 401 unsigned, 404 not a path Bakery serves, 413 too large.
    expect(results.map((r) => r.status)).toEqual([400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 413, 401, 404, 404]);
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(commands.length).toBe(before);
  });

  /** A request whose headers are sent and whose body never comes: it holds its place until destroyed. */
  function heldRequest(declaredBytes: number): Promise<{ socket: Socket; firstAnswer: Promise<string> }> {
    return new Promise((resolve, reject) => {
      const socket = connect(slack.port, '127.0.0.1', () => {
        socket.write(`POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${declaredBytes}\r\n\r\nx=`);
        resolve({ socket, firstAnswer: new Promise((answered) => socket.once('data', (data) => answered(data.toString().split('\r\n')[0] ?? ''))) });
      });
      socket.once('error', reject);
    });
  }

  it('refuses a body larger than Slack ever sends, before reading it', async () => {
    const held = await heldRequest(maxBodyBytes + 1);
    expect(await held.firstAnswer).toBe('HTTP/1.1 413 Payload Too Large');
    held.socket.destroy();
    // Bolt's own limit was 4 MB, all of it read before the signature check.
    const signedButLarge = await send(commandBody({ text: 'x'.repeat(maxBodyBytes) }));
    expect(signedButLarge.status).toBe(413);
  });

  it('answers 503 at once past the requests it reads at a time, and takes requests again once they end', async () => {
    const held = await Promise.all(Array.from({ length: maxRequestsInFlight }, () => heldRequest(1000)));
    // An unsigned probe: 401 while there is room, 503 once every place is taken.
    const probe = async (): Promise<number> => (await fetch(`${base}/slack/events`, { method: 'POST', body: 'probe=1' })).status;
    await vi.waitFor(async () => expect(await probe()).toBe(503), { timeout: 10_000, interval: 20 });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    for (const { socket } of held) socket.destroy();
    await vi.waitFor(async () => expect(await probe()).toBe(401), { timeout: 10_000, interval: 20 });
  });

  describe('a malformed request', () => {
    const interaction = (payload: unknown): string => new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const press = {
      type: 'block_actions',
      user: { id: 'U0ALICE', username: 'alice', team_id: 'T0FAKE' },
      team: { id: 'T0FAKE' },
      channel: { id: 'C0RELEASES' },
      trigger_id: 'trigger-malformed',
      actions: [{ type: 'button', action_id: 'bake.cancel', value: 'op-1', action_ts: '1767268801.000300' }],
    };
    const { user: _user, ...withoutUser } = press;
    // Bodies are made when sent: a command's response_url names the fake, started in beforeAll.
    const shapes: [string, () => string, string?][] = [
      ['an interaction without user', () => interaction(withoutUser)],
      ['an interaction without team', () => interaction({ ...press, team: undefined, user: { id: 'U0ALICE' } })],
      ['an interaction with team null and no team on its user', () => interaction({ ...press, team: null, user: { id: 'U0ALICE' } })],
      ['an interaction of an unknown type', () => interaction({ ...press, type: 'no_such_type' })],
      ['an interaction without actions', () => interaction({ ...press, actions: [] })],
      ['an interaction whose JSON is an array', () => interaction([press])],
      ['an interaction whose JSON is a string', () => interaction('block_actions')],
      ['an interaction whose JSON is null', () => interaction(null)],
      ['an unparsable interaction', () => 'payload=%7B%22type%22%3A'],
      ['an unparsable JSON body', () => '{"type":', 'application/json'],
      ['an empty body', () => ''],
      ['a command Bakery does not answer', () => commandBody({ command: '/deploy', trigger_id: 'trigger-other' })],
      ['a command without user and channel', () => commandBody({ user_id: '', channel_id: '', trigger_id: 'trigger-nobody' })],
    ];

    /** The JSON lines logged while `run` ran. */
    async function linesLoggedBy(run: () => Promise<unknown>): Promise<{ level: number; msg: string; stack?: unknown; err?: unknown }[]> {
      const before = captured.text().length;
      await run();
      await settle(50);
      return captured.text().slice(before).split('\n').filter(Boolean).map((line) => JSON.parse(line));
    }

    for (const [shape, body, contentType] of shapes) {
      it(`answers ${shape} with 400 at once and logs one warn line, without a stack`, async () => {
        const before = { commands: commands.length, presses: presses.length };
        let status = 0;
        const lines = await linesLoggedBy(async () => (status = (await send(body(), { contentType })).status));
        expect(status).toBe(400);
        expect(lines.map((line) => line.level)).toEqual([40]);
        expect(JSON.stringify(lines)).not.toMatch(/stack|\n\s+at /);
        expect({ commands: commands.length, presses: presses.length }).toEqual(before);
      });
    }

    it('answers a burst of them all with 4xx, and logs nothing at error level', async () => {
      const before = { commands: commands.length, presses: presses.length };
      let statuses: number[] = [];
      const burst = Array.from({ length: 8 }, () => shapes).flat();
      const lines = await linesLoggedBy(async () => {
        statuses = await Promise.all(burst.map(async ([, body, contentType]) => (await send(body(), { contentType })).status));
      });
      expect(new Set(statuses)).toEqual(new Set([400]));
      expect(lines.filter((line) => line.level >= 50)).toEqual([]);
      expect(lines.filter((line) => line.level === 40)).toHaveLength(burst.length);
      expect({ commands: commands.length, presses: presses.length }).toEqual(before);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    });

    it('is refused after the signature check: an unsigned one is still 401', async () => {
      expect((await send(interaction(withoutUser), { secret: 'not-the-secret' })).status).toBe(401);
    });
  });

  it('posts, replies and updates through the Web API as Block Kit', async () => {
    const failed: ChatMessage = {
      text: '*demo v1* failed at *provision*',
      lines: ['exit code 2', 'see the thread'],
      tone: 'failed',
      buttons: [{ actionId: 'bake.retry', label: 'Retry', value: 'op-1', style: 'primary' }],
    };
    const root = await slack.surface.post('C0RELEASES', { text: 'Baking *demo v1*', tone: 'running' });
    expect(root.channel).toBe('C0RELEASES');
    const reply = await slack.surface.reply(root, { text: 'resolve base: 2s' });
    expect(Number(reply.ts)).toBeGreaterThan(Number(root.ts));
    await slack.surface.update(root, failed);

    const [post, threaded] = fake.callsTo('chat.postMessage').slice(-2);
    expect(post?.token).toBe(botToken);
    expect(post?.body).toMatchObject({ channel: 'C0RELEASES', text: 'Baking *demo v1*' });
    expect(threaded?.body).toMatchObject({ channel: 'C0RELEASES', thread_ts: root.ts, text: 'resolve base: 2s' });
    const update = fake.callsTo('chat.update').at(-1);
    // Top-level blocks only; the empty attachments clear a legacy one an older Bakery posted.
    expect(update?.body).toMatchObject({ channel: 'C0RELEASES', ts: root.ts, text: failed.text, attachments: [] });
    expect(update?.body.blocks).toEqual([
      { type: 'section', text: { type: 'mrkdwn', text: failed.text } },
      { type: 'section', text: { type: 'mrkdwn', text: 'exit code 2\nsee the thread' } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: '🔴 Failed' }] }, // the root says it failed, in red
      { type: 'actions', elements: [{ type: 'button', action_id: 'bake.retry', text: { type: 'plain_text', text: 'Retry', emoji: true }, value: 'op-1', style: 'primary' }] },
    ]);
  });

  it("waits out a 429 with the Web API client's own retry", async () => {
    fake.rateLimitOnce('chat.update', 1);
    const before = fake.callsTo('chat.update').length;
    await slack.surface.update({ channel: 'C0RELEASES', ts: '1.2' }, { text: 'after the rate limit' });
    expect(fake.callsTo('chat.update').length).toBe(before + 2);
  });

  it('writes one `component` key per log line, Bolt’s own lines included', () => {
    const lines = captured.text().split('\n').filter(Boolean);
    const components = lines.map((line) => line.match(/"component":/g)?.length ?? 0);
    expect(new Set(components)).toEqual(new Set([1]));
    expect(lines.map((line) => (JSON.parse(line) as { component: string }).component)).toContain('bolt');
  });

  it('refuses to start with a bad token, without printing it', async () => {
    const error = await startSlack({
      botToken: 'xoxb-9999-wrong',
      signingSecret,
      port: 0,
      apiUrl: fake.apiUrl,
      log: silentLogger,
      commands: ['/bake'],
      handlers: { onCommand: async () => undefined, onButton: async () => undefined },
    }).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/invalid_auth/);
    expect((error as Error).message).not.toContain('xoxb-9999-wrong');
  });
});

describe('Block Kit rendering', () => {
  it('keeps sections within 3000 characters without breaking links, surrogate pairs or code blocks', () => {
    const long = `\`\`\`\n${'log line 🍞\n'.repeat(400)}<https://example.com/very/long|the log>`;
    const cut = truncateMrkdwn(long, 3000);
    expect(cut.length).toBeLessThanOrEqual(3000);
    expect(cut.endsWith('```')).toBe(true);
    expect(cut).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
    expect(truncateMrkdwn(`${'a'.repeat(2990)} <https://example.com/x|label>`, 3000)).toBe(`${'a'.repeat(2990)} …`);
    const rendered = renderMessage({ text: 'x'.repeat(5000), lines: ['y'.repeat(5000)] });
    for (const block of rendered.blocks ?? []) if (block.type === 'section') expect(block.text.text.length).toBeLessThanOrEqual(3000);
  });

  it('shows long lines in several sections, broken between lines, rather than cutting them', () => {
    const lines = Array.from({ length: 100 }, (_, n) => `line ${n} ${'x'.repeat(90)}`);
    const sections = (renderMessage({ text: 'Old images', lines }).blocks ?? []).filter((block) => block.type === 'section').slice(1);
    expect(sections.length).toBeGreaterThanOrEqual(4);
    const texts = sections.map((block) => (block.type === 'section' ? block.text.text : ''));
    for (const text of texts) expect(text.length).toBeLessThanOrEqual(3000);
    expect(texts.join('\n').split('\n')).toEqual(lines);
    // A code block carried over a break is closed and opened again.
    const code = renderMessage({ text: 'log', lines: ['```', ...Array.from({ length: 60 }, () => 'z'.repeat(99)), '```'] }).blocks ?? [];
    for (const block of code) if (block.type === 'section') expect((block.text.text.split('```').length - 1) % 2).toBe(0);
  });

  it('escapes angle brackets that are not links, so usage texts render', () => {
    expect(renderMessage({ text: 'Usage: `/bake <app> <version>` see <https://x.io|docs> <@U1>' }).text).toBe(
      'Usage: `/bake &lt;app&gt; &lt;version&gt;` see <https://x.io|docs> <@U1>',
    );
  });

  it('shows the tone as a coloured mark in the small print, with no legacy attachment', () => {
    expect(renderMessage({ text: 'done', tone: 'succeeded', context: ['Operation `op-1`'] })).toEqual({
      text: 'done',
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: 'done' } },
        { type: 'context', elements: [{ type: 'mrkdwn', text: '🟢 Succeeded' }, { type: 'mrkdwn', text: 'Operation `op-1`' }] },
      ],
    });
    expect(renderMessage({ text: 'hello' })).toEqual({ text: 'hello', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'hello' } }] });
  });

  it('keeps small print within the 10 elements of a context block', () => {
    const context = Array.from({ length: 14 }, (_, n) => `item ${n}`);
    const [block] = renderMessage({ text: 'many', context }).blocks.filter((b) => b.type === 'context');
    expect(block?.type === 'context' && block.elements.length).toBe(10);
    expect(block?.type === 'context' && block.elements.at(-1)?.text).toBe('item 9 · item 10 · item 11 · item 12 · item 13');
  });
});
