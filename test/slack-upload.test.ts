import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canaryChartLines } from '../src/charts/canary-chart-text.js';
import type { CanaryChartInput } from '../src/charts/canary-chart-input.js';
import { renderCanaryChart } from '../src/charts/canary-chart.js';
import { startSlack, type SlackRuntime } from '../src/chat/slack.js';
import type { ChatFile } from '../src/message.js';
import { ProgressThread } from '../src/chat/thread.js';
import { VirtualClock } from '../src/clock.js';
import { webApi } from '@slack/bolt';
import { startFakeSlackApi, type FakeSlackApi } from './fakes/slack-api.js';
import { capturedLog } from './support/captured-log.js';

const botToken = 'xoxb-1111-2222-uploadtest';
const signingSecret = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';

const window: CanaryChartInput = {
  title: 'demo v42: canary',
  start: Date.UTC(2026, 11, 7, 12, 0),
  intervalMinutes: 1,
  warmupMinutes: 2,
  verdictMinute: 6,
  outcome: 'fail',
  metrics: [{ label: 'Error rate', unit: '%', verdict: 'High', gating: true, canary: [0.4, 0.5, 2.1, 2.4, null, 2.2], baseline: [0.4, 0.5, 0.4, 0.5, 0.4, 0.5] }],
};

describe('A chart in a Slack thread', () => {
  let fake: FakeSlackApi;
  let slack: SlackRuntime;
  let chart: ChatFile;
  const captured = capturedLog();

  beforeAll(async () => {
    fake = await startFakeSlackApi({ token: botToken });
    slack = await startSlack({ botToken, signingSecret, port: 0, apiUrl: fake.apiUrl, log: captured.log, commands: ['/bake'], handlers: { onCommand: async () => undefined, onButton: async () => undefined } });
    chart = {
      filename: 'canary-demo-v42.png',
      title: 'Canary window of demo v42',
      altText: 'Error rate of the canary against the baseline; the canary is higher from minute 3.',
      png: await renderCanaryChart(window),
      fallback: canaryChartLines(window),
    };
  });

  afterAll(async () => {
    await slack?.stop();
    await fake?.close();
  });

  it("goes up with Slack's external upload flow and ends up in the thread", async () => {
    const root = await slack.surface.post('C0RELEASES', { text: 'Canary *demo v42*', tone: 'running' });
    await slack.surface.upload(root, chart);

    expect(fake.callsTo('files.getUploadURLExternal').at(-1)?.body).toEqual({ filename: 'canary-demo-v42.png', length: String(chart.png.length), alt_txt: chart.altText });
    expect(fake.files.at(-1)).toEqual({
      id: expect.any(String),
      filename: 'canary-demo-v42.png',
      title: 'Canary window of demo v42',
      altText: chart.altText,
      channel: 'C0RELEASES',
      threadTs: root.ts,
      bytes: chart.png,
      // The bot token goes to the Web API only, never to the URL Slack handed out.
      sentToken: false,
    });
  });

  it('cuts an alt text longer than Slack takes rather than losing the chart', async () => {
    const root = await slack.surface.post('C0RELEASES', { text: 'Canary *demo v45*' });
    await slack.surface.upload(root, { ...chart, altText: 'a'.repeat(1500) });
    expect(fake.files.at(-1)).toMatchObject({ threadTs: root.ts, altText: 'a'.repeat(1000) });
  });

  it('rides out a rate limit on the completion with the Web API client', async () => {
    const root = await slack.surface.post('C0RELEASES', { text: 'Canary *demo v43*' });
    fake.rateLimitOnce('files.completeUploadExternal', 0);
    await slack.surface.upload(root, chart);
    expect(fake.files.at(-1)).toMatchObject({ channel: 'C0RELEASES', threadTs: root.ts });
  });

  it('says the bot is not in the channel when Slack will not share the file there', async () => {
    fake.refuseChannel('C0ELSEWHERE');
    await expect(slack.surface.upload({ channel: 'C0ELSEWHERE', ts: '1767268800.000100' }, chart)).rejects.toThrow('files.completeUploadExternal: not_in_channel');
  });

  it('is reported in the thread, with its sparklines, when the upload fails, and nothing crashes', async () => {
    const root = await slack.surface.post('C0RELEASES', { text: 'Canary *demo v44*' });
    const thread = await ProgressThread.open(slack.surface, new VirtualClock(), 'C0RELEASES', { text: 'Canary *demo v44*' }, root, { minUpdateIntervalMs: 0, log: captured.log });
    const shared = fake.files.length;
    fake.failNextUpload(500);

    await thread.upload(chart);
    await thread.reply({ text: 'Removing the canary' });

    expect(fake.files).toHaveLength(shared);
    const [notice, next] = fake.callsTo('chat.postMessage').slice(-2);
    expect(notice?.body).toMatchObject({ channel: 'C0RELEASES', thread_ts: root.ts });
    expect(JSON.stringify(notice?.body.blocks)).toContain('Canary window of demo v42: the chart could not be uploaded (Slack refused the bytes of canary-demo-v42.png (HTTP 500))');
    for (const line of chart.fallback) expect(JSON.stringify(notice?.body.blocks)).toContain(JSON.stringify(line).slice(1, -1));
    expect(next?.body).toMatchObject({ thread_ts: root.ts, text: 'Removing the canary' });
    expect(captured.text()).toContain('Could not upload a file');
    expect(captured.text()).not.toContain(botToken);
  });
});

describe('The fake Slack Web API, like Slack', () => {
  let fake: FakeSlackApi;
  let client: InstanceType<typeof webApi.WebClient>;

  beforeAll(async () => {
    fake = await startFakeSlackApi({ token: botToken });
    client = new webApi.WebClient(botToken, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
  });
  afterAll(async () => fake?.close());

  it('will not share a file whose bytes never arrived, nor one shared already', async () => {
    const ticket = await client.files.getUploadURLExternal({ filename: 'a.png', length: 3 });
    const id = String(ticket.file_id);
    await expect(client.files.completeUploadExternal({ files: [{ id }], channel_id: 'C0RELEASES' })).rejects.toMatchObject({ data: { error: 'file_not_found' } });

    const uploaded = await fetch(String(ticket.upload_url), { method: 'POST', body: 'png' });
    expect(uploaded.status).toBe(200);
    await client.files.completeUploadExternal({ files: [{ id }], channel_id: 'C0RELEASES' });
    await expect(client.files.completeUploadExternal({ files: [{ id }], channel_id: 'C0RELEASES' })).rejects.toMatchObject({ data: { error: 'file_not_found' } });
  });

  it('refuses an empty file and an upload URL it never handed out', async () => {
    await expect(client.files.getUploadURLExternal({ filename: 'a.png', length: 0 })).rejects.toMatchObject({ data: { error: 'missing_argument' } });
    const stray = await fetch(fake.apiUrl.replace('/api/', '/upload/F0NOPE'), { method: 'POST', body: 'png' });
    expect(stray.status).toBe(404);
  });
});
