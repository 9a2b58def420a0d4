import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlack, type SlackRuntime } from '../src/chat/slack.js';
import { startFakeSlackApi, type FakeSlackApi } from './fakes/slack-api.js';
import { capturedLog } from './support/captured-log.js';

const botToken = 'xoxb-1111-2222-memberstest';
const signingSecret = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const crowd = Array.from({ length: 2_345 }, (_, i) => `U${String(i).padStart(8, '0')}`);

describe('Who is in a Slack channel or user group', () => {
  let fake: FakeSlackApi;
  let slack: SlackRuntime;

  beforeAll(async () => {
    fake = await startFakeSlackApi({
      token: botToken,
      channelMembers: { C0BIG: crowd, C0DEPLOYS: ['U0ALICE', 'U0BAKERY'], C0QUIET: ['U0ALICE'], G0OPS: ['U0BAKERY'], G0HIDDEN: ['U0ALICE'] },
      userGroups: { S0PLATFORM: ['U0ALICE', 'U0BOB'] },
      channels: { C0DEPLOYS: { name: 'deploys' }, C0QUIET: { name: 'quiet' }, G0OPS: { name: 'ops', private: true }, G0HIDDEN: { name: 'hidden', private: true } },
    });
    slack = await startSlack({ botToken, signingSecret, port: 0, apiUrl: fake.apiUrl, log: capturedLog().log, commands: ['/bake'], handlers: { onCommand: async () => undefined, onButton: async () => undefined } });
  });
  afterAll(async () => {
    await slack.stop();
    await fake.close();
  });

  it('knows the workspace it is installed in', () => {
    expect(slack.workspace).toBe('T0FAKE');
  });

  it('reads every page of a large channel’s members', async () => {
    expect(await slack.surface.members({ channel: 'C0BIG' })).toEqual(crowd);
    expect(fake.callsTo('conversations.members')).toHaveLength(3);
  });

  it('reads a user group’s members', async () => {
    expect(await slack.surface.members({ userGroup: 'S0PLATFORM' })).toEqual(['U0ALICE', 'U0BOB']);
  });

  it('fails, saying why, for a channel it cannot see', async () => {
    await expect(slack.surface.members({ channel: 'C0SECRET' })).rejects.toThrow(/channel_not_found/);
  });

  it('tells the channels Bakery is in from those it was not invited to, by id and by name', async () => {
    expect(await slack.surface.presenceIn(['C0DEPLOYS', 'C0QUIET', '#ops', '#quiet', '#hidden', '#typo', 'C0NONE'])).toEqual({
      C0DEPLOYS: { is: 'member' },
      C0QUIET: { is: 'outside' },
      // Asked by name, each says whose name it is: the id Bakery matches requests by.
      '#ops': { is: 'member', id: 'G0OPS' },
      '#quiet': { is: 'outside', id: 'C0QUIET' },
      // A private channel Bakery is not in is invisible to it, like a misspelt one.
      '#hidden': { is: 'unseen' },
      '#typo': { is: 'unseen' },
      C0NONE: { is: 'unseen' },
    });
    expect(fake.callsTo('conversations.list')).toHaveLength(1);
  });

  it('waits out a rate limit on the question, as the Web API client does', async () => {
    fake.rateLimitOnce('conversations.info', 0);
    const answer = await slack.surface.presenceIn(['C0DEPLOYS']);
    // The Web API client retries a rate limit itself; the question is answered.
    expect(answer).toEqual({ C0DEPLOYS: { is: 'member' } });
  });
});
