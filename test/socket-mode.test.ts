/*
 * Slack over Socket Mode, end to end: startSlack with an app-level token runs Bolt's real Socket
 * Mode client, which asks the fake Web API (apps.connections.open, with the app token) for a url,
 * connects to the fake Socket Mode endpoint, waits for its hello, then receives envelopes and acks
 * them over the socket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlack, type SlackRuntime } from '../src/chat/slack.js';
import type { ButtonPress, SlashCommand } from '../src/chat/surface.js';
import { startFakeSlackApi, type FakeSlackApi } from './fakes/slack-api.js';
import { capturedLog } from './support/captured-log.js';
import { startFakeSocketMode, type FakeSocketMode } from './fakes/socket-mode.js';

const botToken = 'xoxb-1111-2222-testtoken';
const appToken = 'xapp-1-A0BAKERY-3333-apptesttoken';
const signingSecret = '8f742231b10e8888abcd99yyyzzz85a5';

describe('Slack over Socket Mode', () => {
  let socket: FakeSocketMode;
  let fake: FakeSlackApi;
  let slack: SlackRuntime;
  let stopped = false;
  const commands: SlashCommand[] = [];
  const presses: ButtonPress[] = [];
  const captured = capturedLog();
  // Anything that would have taken the process down, had vitest not been listening.
  const crashes: unknown[] = [];
  const recordCrash = (error: unknown): void => {
    crashes.push(error);
  };
  // The slow handler finishes only when the test says so: an ack that waited for it would never come.
  let finishSlowHandler = (): void => undefined;
  let slowHandlerFinished = false;
  const slowHandlerGate = new Promise<void>((resolve) => {
    finishSlowHandler = resolve;
  });
  let envelopeCount = 0;
  const nextEnvelopeId = (): string => `env-${++envelopeCount}-4d9c0a2e`;

  beforeAll(async () => {
    process.on('unhandledRejection', recordCrash);
    process.on('uncaughtException', recordCrash);
    socket = await startFakeSocketMode();
    fake = await startFakeSlackApi({ token: botToken, appToken, socketUrl: socket.url });
    slack = await startSlack({
      botToken,
      signingSecret,
      appToken,
      port: 0,
      apiUrl: fake.apiUrl,
      log: captured.log,
      commands: ['/bake', '/bakery'],
      handlers: {
        answerAtOnce: (command) => (command.text === 'usage' ? { text: 'Usage: `/bake <app> <version>`' } : undefined),
        async onCommand(command) {
          commands.push(command);
          if (command.text === 'slow') {
            await slowHandlerGate;
            slowHandlerFinished = true;
          }
          if (command.text === 'help') return { text: 'Usage: `/bake <app> <version>`' };
          return undefined;
        },
        async onButton(press) {
          presses.push(press);
          return { text: `pressed ${press.actionId}` };
        },
      },
    });
  });

  afterAll(async () => {
    finishSlowHandler();
    if (!stopped) await slack?.stop();
    await fake?.close();
    await socket?.close();
    process.off('unhandledRejection', recordCrash);
    process.off('uncaughtException', recordCrash);
  });

  function commandEnvelope(fields: Record<string, unknown> = {}, envelopeId = nextEnvelopeId()): Record<string, unknown> {
    return {
      envelope_id: envelopeId,
      type: 'slash_commands',
      accepts_response_payload: true,
      payload: {
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
        is_enterprise_install: 'false',
        response_url: `${fake.respondUrl}cmd`,
        trigger_id: 'trigger-1',
        ...fields,
      },
    };
  }

  function buttonEnvelope(actionId: string, value: string, envelopeId = nextEnvelopeId()): Record<string, unknown> {
    return {
      envelope_id: envelopeId,
      type: 'interactive',
      accepts_response_payload: false,
      payload: {
        type: 'block_actions',
        user: { id: 'U0BOB', username: 'bob', team_id: 'T0FAKE' },
        team: { id: 'T0FAKE', domain: 'fake' },
        api_app_id: 'A0BAKERY',
        is_enterprise_install: false,
        container: { type: 'message', channel_id: 'C0RELEASES', message_ts: '1767268800.000100' },
        channel: { id: 'C0RELEASES', name: 'releases' },
        trigger_id: 'trigger-button',
        response_url: `${fake.respondUrl}button`,
        actions: [{ type: 'button', action_id: actionId, block_id: 'b1', value, action_ts: '1767268801.000200' }],
      },
    };
  }

  it('opens the connection with the app-level token through the configured API url, and stays on one socket', () => {
    const opens = fake.callsTo('apps.connections.open');
    expect(opens).toHaveLength(1);
    expect(opens[0]?.token).toBe(appToken);
    // auth.test is Bakery's own start-up check, made with the bot token.
    expect(fake.callsTo('auth.test').map((call) => call.token)).toEqual([botToken]);
    expect(socket.connections).toBe(1);
    expect(socket.open).toBe(1);
  });

  it('answers /healthz on the given port', async () => {
    expect(slack.port).toBeGreaterThan(0);
    const response = await fetch(`http://127.0.0.1:${slack.port}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
    expect((await fetch(`http://127.0.0.1:${slack.port}/slack/events`, { method: 'POST' })).status).toBe(404);
  });

  it('acks a slash command envelope before its handler finishes, and hands it over as a SlashCommand', async () => {
    const envelope = commandEnvelope({ text: ' slow ', trigger_id: 'trigger-slow' });
    socket.send(envelope);
    const ack = await socket.waitForAck(String(envelope.envelope_id));
    // The ack went out while the handler was still waiting on its gate.
    expect(slowHandlerFinished).toBe(false);
    expect(ack.envelope_id).toBe(envelope.envelope_id);
    await fake.waitFor(() => commands.some((command) => command.requestId === 'trigger-slow'));
    expect(commands.find((command) => command.requestId === 'trigger-slow')).toEqual({
      command: '/bake',
      text: 'slow',
      user: { id: 'U0ALICE', name: 'alice' },
      team: 'T0FAKE',
      channel: 'C0RELEASES',
      channelName: 'releases',
      requestId: 'trigger-slow',
    });
    finishSlowHandler();
    await fake.waitFor(() => slowHandlerFinished);
    // One ack per envelope, never a second one after the handler.
    expect(socket.acks.filter((a) => a.envelope_id === envelope.envelope_id)).toHaveLength(1);
  });

  it('sends a returned message as an ephemeral reply to the response_url', async () => {
    const before = fake.responses.length;
    const envelope = commandEnvelope({ command: '/bakery', text: 'help', trigger_id: 'trigger-help' });
    socket.send(envelope);
    await socket.waitForAck(String(envelope.envelope_id));
    await fake.waitFor(() => fake.responses.length > before);
    expect(commands.at(-1)).toMatchObject({ command: '/bakery', text: 'help', requestId: 'trigger-help' });
    expect(fake.responses.at(-1)).toMatchObject({ id: 'cmd', body: { response_type: 'ephemeral' } });
    expect(String(fake.responses.at(-1)?.body.text)).toContain('Usage');
  });

  it('sends an answer known from the text alone in the ack’s payload, and nothing on the response_url', async () => {
    const before = { commands: commands.length, responses: fake.responses.length };
    const envelope = commandEnvelope({ text: 'usage', trigger_id: 'trigger-usage' });
    socket.send(envelope);
    const ack = await socket.waitForAck(String(envelope.envelope_id));
    expect(ack.payload).toMatchObject({ response_type: 'ephemeral', text: 'Usage: `/bake &lt;app&gt; &lt;version&gt;`' });
    expect({ commands: commands.length, responses: fake.responses.length }).toEqual(before);
  });

  it('acks an interactive block_actions envelope and hands the press to onButton', async () => {
    const before = presses.length;
    const envelope = buttonEnvelope('bake.cancel', 'op-123');
    socket.send(envelope);
    const ack = await socket.waitForAck(String(envelope.envelope_id));
    expect(ack.envelope_id).toBe(envelope.envelope_id);
    await fake.waitFor(() => presses.length > before);
    expect(presses.at(-1)).toEqual({
      actionId: 'bake.cancel',
      value: 'op-123',
      user: { id: 'U0BOB', name: 'bob' },
      team: 'T0FAKE',
      channel: 'C0RELEASES',
      channelName: 'releases',
      message: { channel: 'C0RELEASES', ts: '1767268800.000100', ephemeral: false },
      requestId: '1767268801.000200:U0BOB',
    });
    await fake.waitFor(() => fake.responses.some((response) => response.id === 'button'));
    expect(fake.responses.find((response) => response.id === 'button')?.body).toMatchObject({
      response_type: 'ephemeral',
      replace_original: false,
      text: 'pressed bake.cancel',
    });
  });

  it('survives malformed envelopes, and later envelopes still work', async () => {
    const commandsBefore = commands.length;
    const pressesBefore = presses.length;
    const crashesBefore = crashes.length;
    const incomplete = commandEnvelope({ trigger_id: undefined, user_id: undefined });
    const noActions = { envelope_id: nextEnvelopeId(), type: 'interactive', payload: { type: 'block_actions', user: { id: 'U0BOB' } } };

    socket.send('this is {not json');
    socket.send('[1,2,3]');
    socket.send('"hello"');
    socket.send({ envelope_id: 'env-no-payload', type: 'slash_commands', accepts_response_payload: true });
    socket.send({ envelope_id: 'env-no-payload-button', type: 'interactive' });
    socket.send({ envelope_id: 'env-null-payload', type: 'interactive', payload: null });
    socket.send({ envelope_id: 'env-string-payload', type: 'slash_commands', payload: 'command=/bake' });
    socket.send({ envelope_id: 'env-unknown-type', type: 'no_such_type', payload: {} });
    socket.send({ type: 'slash_commands', payload: { command: '/bake' } }); // no envelope_id
    socket.send(incomplete); // a well-formed command missing fields Bakery needs
    socket.send(noActions);

    // Then well-formed ones, sent after: the socket delivers in order, so once these are handled
    // every malformed one before them has been processed.
    const command = commandEnvelope({ text: 'demo v2', trigger_id: 'trigger-after' });
    socket.send(command);
    const button = buttonEnvelope('bake.cancel', 'op-after');
    socket.send(button);
    await socket.waitForAck(String(command.envelope_id));
    await socket.waitForAck(String(button.envelope_id));
    await fake.waitFor(() => commands.some((c) => c.requestId === 'trigger-after') && presses.some((p) => p.value === 'op-after'));

    // The incomplete command was acked (Slack would otherwise redeliver it) but not handed over.
    expect(socket.ackFor(String(incomplete.envelope_id))).toBeDefined();
    expect(captured.text()).toContain('Refused a malformed Slack request');
    expect(commands.slice(commandsBefore).map((c) => c.requestId)).toEqual(['trigger-after']);
    expect(presses.slice(pressesBefore).map((p) => p.value)).toEqual(['op-after']);
    // Still the same socket: nothing made the client drop and reconnect.
    expect(socket.connections).toBe(1);
    expect(fake.callsTo('apps.connections.open')).toHaveLength(1);
    expect(crashes.slice(crashesBefore)).toEqual([]);
  });

  it('acks each malformed interaction at once, with one warn line and nothing at error level', async () => {
    const pressesBefore = presses.length;
    const logBefore = captured.text().length;
    const press = (buttonEnvelope('bake.cancel', 'op-malformed').payload ?? {}) as Record<string, unknown>;
    const { user: _user, ...withoutUser } = press;
    const payloads = [
      withoutUser,
      { ...press, team: undefined, user: { id: 'U0BOB' } },
      { ...press, type: 'no_such_type' },
      { ...press, actions: [] },
      [press],
      42,
    ];
    const envelopes = Array.from({ length: 5 }, () => payloads).flat().map((payload) => ({ envelope_id: nextEnvelopeId(), type: 'interactive', payload }));
    for (const envelope of envelopes) socket.send(envelope);
    for (const envelope of envelopes) await socket.waitForAck(envelope.envelope_id);
    // One well-formed press after them: once it is handled, every refusal before it has been logged.
    const after = buttonEnvelope('bake.cancel', 'op-after-malformed');
    socket.send(after);
    await fake.waitFor(() => presses.some((p) => p.value === 'op-after-malformed'));

    const lines = captured.text().slice(logBefore).split('\n').filter(Boolean).map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    expect(lines.filter((line) => line.msg === 'Refused a malformed Slack request')).toHaveLength(envelopes.length);
    expect(presses.slice(pressesBefore).map((p) => p.value)).toEqual(['op-after-malformed']);
  });

  // @slack/socket-mode reads `event.type` / `event.payload.event.type` unchecked in an async
  // listener; startSlack hands it each frame and catches what it throws (guardSocketFrames).
  const strayRejections: unknown[] = [];
  it('keeps working after a null frame and an events_api envelope without an event', async () => {
    const crashesBefore = crashes.length;
    socket.send('null');
    socket.send({ envelope_id: 'env-events-no-payload', type: 'events_api', accepts_response_payload: false });
    socket.send({ envelope_id: 'env-events-no-event', type: 'events_api', payload: {} });
    const command = commandEnvelope({ text: 'demo v3', trigger_id: 'trigger-after-stray' });
    socket.send(command);
    await socket.waitForAck(String(command.envelope_id));
    await fake.waitFor(() => commands.some((c) => c.requestId === 'trigger-after-stray'));
    expect(socket.connections).toBe(1);
    strayRejections.push(...crashes.splice(crashesBefore));
  });

  it('leaves no unhandled rejection after a null frame or an events_api envelope without an event', () => {
    expect(strayRejections).toEqual([]);
  });

  it('stop() closes the socket with a normal closure, does not reconnect, and closes /healthz', async () => {
    await slack.stop();
    stopped = true;
    await socket.waitFor(() => socket.open === 0);
    expect(socket.closes).toEqual([{ code: 1000, reason: '' }]);
    await expect(fetch(`http://127.0.0.1:${slack.port}/healthz`)).rejects.toThrow();
    expect(socket.connections).toBe(1);
    expect(fake.callsTo('apps.connections.open')).toHaveLength(1);
    expect(crashes).toEqual([]);
    const logs = captured.text();
    expect(logs).not.toContain(botToken);
    expect(logs).not.toContain(appToken);
  });
});
