import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../src/clock.js';
import type { ChatSurface } from '../src/chat/surface.js';
import type { ChatMessage, MessageRef } from '../src/message.js';
import { SlackPace } from '../src/chat/pace.js';
import { ProgressThread } from '../src/chat/thread.js';

/** Records what a chat would show, in order, with the virtual time of each write. */
function recordingSurface(clock: VirtualClock, failOn?: (text: string) => boolean) {
  const writes: { kind: 'post' | 'reply' | 'update' | 'upload'; text: string; at: number; ref?: MessageRef }[] = [];
  let ts = 0;
  const surface: ChatSurface = {
    async post(channel, message) {
      writes.push({ kind: 'post', text: message.text, at: clock.now() });
      return { channel, ts: String(++ts) };
    },
    async reply(thread, message) {
      if (failOn?.(message.text)) throw new Error('channel_not_found');
      writes.push({ kind: 'reply', text: message.text, at: clock.now(), ref: thread });
      return { channel: thread.channel, ts: String(++ts) };
    },
    async update(ref, message) {
      if (failOn?.(message.text)) throw new Error('message_not_found');
      writes.push({ kind: 'update', text: message.text, at: clock.now(), ref });
    },
    async members() {
      return [];
    },
    async presenceIn() {
      return {};
    },
    async upload(thread, file) {
      if (failOn?.(file.title)) throw new Error('files.completeUploadExternal: not_in_channel');
      writes.push({ kind: 'upload', text: file.title, at: clock.now(), ref: thread });
    },
    linkTo: (ref, label) => `${label} ${ref.ts}`,
    async publishHome() {
      throw new Error('a progress thread never publishes a Home');
    },
  };
  return { surface, writes };
}

const state = (n: number): ChatMessage => ({ text: `state ${n}`, tone: 'running' });

describe('ProgressThread', () => {
  it('keeps several threads in one channel to one post a second, and all root updates under 50 a minute', async () => {
    const clock = new VirtualClock();
    const { surface, writes } = recordingSurface(clock);
    const pace = new SlackPace(clock);
    const threads = await Promise.all([1, 2, 3].map((n) => ProgressThread.open(surface, clock, 'C1', { text: `Baking app${n}` }, undefined, { pace })));
    for (let step = 1; step <= 5; step++) {
      for (const thread of threads) {
        void thread.reply({ text: `step ${step}` });
        thread.setRoot(state(step));
      }
    }
    await Promise.all(threads.map((thread) => thread.flush()));

    const posts = writes.filter((w) => w.kind !== 'update').map((w) => w.at);
    expect(posts).toHaveLength(3 + 15);
    for (let i = 1; i < posts.length; i++) expect(posts[i]! - posts[i - 1]!).toBeGreaterThanOrEqual(1000);
    const updates = writes.filter((w) => w.kind === 'update').map((w) => w.at);
    for (let i = 1; i < updates.length; i++) expect(updates[i]! - updates[i - 1]!).toBeGreaterThanOrEqual(1200);
  });

  it('coalesces a burst of 50 root updates into at most 2, ending with the latest state', async () => {
    const clock = new VirtualClock();
    const { surface, writes } = recordingSurface(clock);
    const thread = await ProgressThread.open(surface, clock, 'C1', { text: 'Baking demo v1' });
    for (let i = 1; i <= 50; i++) thread.setRoot(state(i));
    await thread.flush();

    const updates = writes.filter((w) => w.kind === 'update');
    expect(updates.length).toBeGreaterThanOrEqual(1);
    expect(updates.length).toBeLessThanOrEqual(2);
    expect(updates.at(-1)?.text).toBe('state 50');
    expect(updates.every((u) => u.ref?.ts === thread.ref.ts)).toBe(true);
  });

  it('never updates the root more often than once per interval, however the updates are spread', async () => {
    const clock = new VirtualClock();
    const { surface, writes } = recordingSurface(clock);
    const thread = await ProgressThread.open(surface, clock, 'C1', { text: 'root' }, undefined, { minUpdateIntervalMs: 1000 });
    for (let i = 1; i <= 30; i++) {
      thread.setRoot(state(i));
      await clock.sleep(100); // one update every 100 ms for 3 s
    }
    await thread.flush();
    const times = writes.filter((w) => w.kind !== 'reply').map((w) => w.at);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1000);
    expect(writes.at(-1)?.text).toBe('state 30');
  });

  it('posts replies strictly in order, under the root', async () => {
    const clock = new VirtualClock();
    const { surface, writes } = recordingSurface(clock);
    const thread = await ProgressThread.open(surface, clock, 'C1', { text: 'root' });
    const steps = ['resolve base', 'launch builder', 'provision', 'create image', 'terminate builder'];
    await Promise.all(steps.map((step) => thread.reply({ text: step })));
    await thread.flush();
    const replies = writes.filter((w) => w.kind === 'reply');
    expect(replies.map((r) => r.text)).toEqual(steps);
    expect(replies.every((r) => r.ref?.ts === thread.ref.ts)).toBe(true);
  });

  it('continues an existing thread when resumed, without posting a new root', async () => {
    const clock = new VirtualClock();
    const { surface, writes } = recordingSurface(clock);
    const existing = { channel: 'C1', ts: '1767268800.000100' };
    const thread = await ProgressThread.open(surface, clock, 'C1', { text: 'resumed' }, existing);
    await thread.reply({ text: 'step after restart' });
    await thread.flush();
    expect(thread.ref).toEqual(existing);
    expect(writes.map((w) => w.kind).sort()).toEqual(['reply', 'update']);
    expect(writes.find((w) => w.kind === 'update')).toMatchObject({ text: 'resumed', ref: existing });
  });

  it('shows a chart in turn with the replies, and its text fallback, saying why, when it cannot be uploaded', async () => {
    const clock = new VirtualClock();
    const { surface, writes } = recordingSurface(clock, (text) => text === 'unsharable chart');
    const thread = await ProgressThread.open(surface, clock, 'C1', { text: 'root' });
    const chart = (title: string) => ({ filename: 'c.png', title, altText: 'chart', png: Buffer.from('png'), fallback: ['canary    ▁▃█'] });
    void thread.reply({ text: 'window over' });
    await expect(thread.upload(chart('unsharable chart'))).resolves.toBeUndefined();
    void thread.upload(chart('good chart'));
    await thread.reply({ text: 'canary removed' });
    expect(writes.filter((w) => w.kind !== 'post').map((w) => `${w.kind}: ${w.text}`)).toEqual([
      'reply: window over',
      'reply: unsharable chart: the chart could not be uploaded (files.completeUploadExternal: not_in_channel).',
      'upload: good chart',
      'reply: canary removed',
    ]);
  });

  it('logs Slack errors and carries on: progress display never fails the operation', async () => {
    const clock = new VirtualClock();
    const { surface, writes } = recordingSurface(clock, (text) => text.includes('bad'));
    const thread = await ProgressThread.open(surface, clock, 'C1', { text: 'root' });
    thread.setRoot({ text: 'bad root' });
    await expect(thread.reply({ text: 'bad reply' })).resolves.toBeUndefined();
    await thread.reply({ text: 'good reply' });
    await thread.flush();
    thread.setRoot({ text: 'good root' });
    await thread.flush();
    expect(writes.map((w) => w.text)).toEqual(['root', 'good reply', 'good root']);
  });
});
