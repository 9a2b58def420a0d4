import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveAppChannels } from '../src/access/channel-presence.js';
import type { Bakery } from '../src/bakery.js';
import { commandNames } from '../src/bakery.js';
import { startSlack, type SlackRuntime } from '../src/chat/slack.js';
import type { ChatHandlers } from '../src/chat/surface.js';
import { silentLogger } from '../src/log.js';
import { startFakeSlackApi, type FakeSlackApi } from './fakes/slack-api.js';
import { deliverToSlackEvents } from './fakes/slack-request.js';
import { TestWorld } from './support/world.js';

const botToken = 'xoxb-1111-2222-bakerytest';
const signingSecret = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

describe('/bake from Slack', () => {
  let world: TestWorld;
  let fake: FakeSlackApi;
  let slack: SlackRuntime;
  let bakery: Bakery;
  /** The body of the last ack: where help and usage errors travel. */
  let lastAck = '';

  beforeEach(async () => {
    world = await TestWorld.create();
    fake = await startFakeSlackApi({ token: botToken, channels: { C0DEMO: { name: 'demo' } }, channelMembers: { C0DEMO: ['U0BAKERY', 'U0ALICE'] } });
    let handlers: ChatHandlers | undefined;
    slack = await startSlack({
      botToken,
      signingSecret,
      port: 0,
      apiUrl: fake.apiUrl,
      log: silentLogger,
      commands: commandNames,
      handlers: { answerAtOnce: (c) => handlers!.answerAtOnce?.(c), onCommand: (c) => handlers!.onCommand(c), onButton: (p) => handlers!.onButton(p) },
    });
    // As at start: #demo resolved to its id through conversations.list.
    const channelIds = await resolveAppChannels(slack.surface, { demo: { channel: '#demo' } }, silentLogger);
    bakery = world.replica('replica-a', { surface: slack.surface, access: { workspace: slack.workspace, channels: 'app', channelIds } });
    handlers = bakery.handlers;
  });
  afterEach(async () => {
    await slack.stop();
    await fake.close();
    await world.close();
  });

  async function slash(text: string, options: { trigger?: string; retry?: string; channel?: string } = {}): Promise<number> {
    const body = new URLSearchParams({
      command: '/bake',
      text,
      user_id: 'U0ALICE',
      user_name: 'alice',
      channel_id: options.channel ?? 'C0DEMO',
      channel_name: 'demo',
      team_id: 'T0FAKE',
      trigger_id: options.trigger ?? `trigger-${Math.random()}`,
      response_url: `${fake.respondUrl}${options.trigger ?? 'cmd'}`,
    }).toString();
    const response = await deliverToSlackEvents(`http://127.0.0.1:${slack.port}`, body, {
      secret: signingSecret,
      headers: options.retry ? { 'x-slack-retry-num': options.retry, 'x-slack-retry-reason': 'http_timeout' } : {},
    });
    lastAck = await response.text();
    return response.status;
  }

  it('posts one root message with a Cancel button, a reply per step in its thread, and marks the root succeeded', async () => {
    expect(await slash('demo v1', { trigger: 't-1' })).toBe(200);
    await fake.waitFor(() => world.events.some((e) => e.type === 'finished'), 20_000);
    await bakery.runner.idle();

    const posts = fake.callsTo('chat.postMessage');
    const roots = posts.filter((call) => call.body.thread_ts === undefined);
    expect(roots).toHaveLength(1);
    expect(roots[0]!.body.channel).toBe('C0DEMO');
    expect(JSON.stringify(roots[0]!.body)).toContain('bake.cancel');
    const replies = posts.filter((call) => call.body.thread_ts !== undefined);
    expect(replies.length).toBe(12); // ten steps, the copies (one line per region, kept current) and the summary
    expect(String(replies.at(-1)!.body.text)).toContain('Baked demo v1');

    const lastUpdate = fake.callsTo('chat.update').at(-1)!;
    expect(JSON.stringify(lastUpdate.body.blocks)).toContain('🟢 Succeeded');
    expect(lastUpdate.body.attachments).toEqual([]);
    expect(JSON.stringify(lastUpdate.body)).not.toContain('bake.cancel');
    expect(await world.store.getRelease('demo', 'v1')).toBeDefined();
  });

  it('starts one bake however many times Slack retries the delivery', async () => {
    expect(await slash('demo v1', { trigger: 't-2' })).toBe(200);
    expect(await slash('demo v1', { trigger: 't-2', retry: '1' })).toBe(200);
    expect(await slash('demo v1', { trigger: 't-2', retry: '2' })).toBe(200);
    await fake.waitFor(() => world.events.some((e) => e.type === 'finished'), 20_000);
    await bakery.runner.idle();
    expect(fake.callsTo('chat.postMessage').filter((call) => call.body.thread_ts === undefined)).toHaveLength(1);
    expect(fake.responses.filter((r) => JSON.stringify(r.body).includes('busy'))).toEqual([]);
  });

  it('answers bad input only to the person who typed it, with the usage, in the ack, and starts nothing', async () => {
    expect(await slash('demo v1;rm -rf /', { trigger: 't-3' })).toBe(200);
    const reply = JSON.parse(lastAck) as Record<string, unknown>;
    expect(reply.response_type).toBe('ephemeral');
    expect(JSON.stringify(reply)).toContain('Usage');
    expect(fake.responses).toEqual([]);
    expect(fake.callsTo('chat.postMessage')).toEqual([]);
    expect(await world.store.listActiveOperations()).toEqual([]);
  });

  it('answers /bake help in the ack, and an unknown app on the response_url (it takes a read)', async () => {
    expect(await slash('help')).toBe(200);
    expect(JSON.parse(lastAck)).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('/bake') });
    expect(await slash('nope v1', { trigger: 't-unknown' })).toBe(200);
    expect(lastAck).toBe('');
    await fake.waitFor(() => fake.responses.length > 0);
    expect(JSON.stringify(fake.responses[0]!.body)).toContain('unknown app');
  });

  it('tells the person who asked when Bakery is not in the channel, and frees the app', async () => {
    fake.refuseChannel('C0DEMO');
    expect(await slash('demo v1', { trigger: 't-4', channel: 'C0DEMO' })).toBe(200);
    await fake.waitFor(() => fake.responses.length > 0);
    expect(JSON.stringify(fake.responses[0]!.body)).toContain('invite Bakery to the channel');
    await bakery.runner.idle();
    expect(await world.store.getLock('demo')).toBeUndefined();
    expect(world.liveInstances()).toEqual([]);
  });
});
