import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveAppChannels } from '../src/access/channel-presence.js';
import { cancelAction } from '../src/pipelines/bake/messages.js';
import { capturedLog } from './support/captured-log.js';
import { alice, bob, mallory, pressOn, releaseApp } from './support/lifecycle.js';
import { demoApp, TestWorld } from './support/world.js';

/** alice and bob are in #demo (C0DEMO), mallory is not; the workspace is T0HOME. */
describe('who may do what', () => {
  let world: TestWorld;
  beforeEach(async () => {
    world = await TestWorld.create();
  });
  afterEach(async () => {
    await world.close();
  });

  const refusals = async () => (await world.store.listAudit('demo')).filter((entry) => entry.action.endsWith('refused')).map((entry) => [entry.actor, entry.action, entry.detail]);

  describe('/bake', () => {
    it('is refused for someone the app does not name, saying who may, and audited', async () => {
      await world.store.putAppConfig('demo', { ...demoApp, access: { bake: ['U0BOB'], canary: ['channel'] } });
      const bakery = world.replica();
      const reply = await bakery.handlers.onCommand(world.command('demo v1', { user: alice }));
      expect(reply).toMatchObject({ text: 'Not done: only <@U0BOB> may bake demo.', tone: 'failed' });
      expect(world.chat.roots).toEqual([]);
      expect(await refusals()).toEqual([['U0ALICE', 'bake refused', 'only <@U0BOB> may bake demo']]);
    });

    it('takes a member of a user group the app names', async () => {
      await world.store.putAppConfig('demo', { ...demoApp, access: { bake: ['S0PLATFORM'], canary: ['channel'] } });
      world.chat.userGroups.set('S0PLATFORM', ['U0ALICE']);
      const bakery = world.replica();
      expect(await bakery.handlers.onCommand(world.command('demo v1', { user: alice }))).toBeUndefined();
      expect((await bakery.handlers.onCommand(world.command('demo v2', { user: bob })))?.text).toContain('only <!subteam^S0PLATFORM> may bake demo');
      await bakery.runner.idle();
      expect((await world.store.getRelease('demo', 'v1'))?.bakedBy).toBe('U0ALICE');
    });

    it('is taken only in the app’s channel, and says where it was posted instead', async () => {
      const bakery = world.replica();
      const reply = await bakery.handlers.onCommand(world.command('demo v1', { channel: 'C0RANDOM', channelName: 'random' }));
      expect(reply?.text).toBe('Not done: demo takes requests only in #demo, and this was posted in #random.');
      expect(world.chat.roots).toEqual([]);
      expect(await refusals()).toEqual([['U0ALICE', 'bake refused', 'demo takes requests only in #demo, and this was posted in #random']]);
    });

    it('is refused from another workspace before anything else, even which apps exist', async () => {
      const bakery = world.replica();
      const guest = { user: { id: 'U0GUEST', name: 'alice' }, team: 'T0OTHER' };
      const reply = await bakery.handlers.onCommand(world.command('demo v1', guest));
      expect(reply?.text).toBe('Not done: Bakery takes requests only from the workspace it is installed in.');
      expect((await bakery.handlers.onCommand(world.command('nosuchapp v1', guest)))?.text).not.toContain('configured apps');
      expect(world.chat.roots).toEqual([]);
      expect(await refusals()).toEqual([['U0GUEST', '/bake refused', 'Bakery takes requests only from the workspace it is installed in (team T0OTHER)']]);
    });
  });

  describe('the Cancel button', () => {
    it('is refused for a stranger, and the bake goes on', async () => {
      let answer: Promise<unknown> | undefined;
      const bakery = world.replica('replica-a', {
        onEvent: (event, self) => {
          if (event.type === 'step-started' && event.step === 'provision' && !answer) answer = self.handlers.onButton(pressOn(world.chat.roots[0]!.message, cancelAction, mallory));
        },
      });
      await bakery.handlers.onCommand(world.command('demo v1'));
      await bakery.runner.idle();
      expect(await answer).toMatchObject({ text: 'Not done: only members of #demo and whoever started it may cancel a bake of demo.', tone: 'failed' });
      expect(world.chat.roots[0]!.message.tone).toBe('succeeded');
      expect(await refusals()).toEqual([['U0MALLORY', 'cancel refused', 'only members of #demo and whoever started it may cancel a bake of demo']]);
    });

    it('acts only on the bake of the message it is on', async () => {
      let answer: Promise<unknown> | undefined;
      const bakery = world.replica('replica-a', {
        onEvent: (event, self) => {
          if (event.type !== 'step-started' || event.step !== 'provision' || world.chat.roots.length < 2 || answer) return;
          // The finished bake's message, its button's value rewritten to name the running bake.
          const [finished, running] = world.chat.roots as [(typeof world.chat.roots)[0], (typeof world.chat.roots)[0]];
          const value = running.message.buttons!.find((button) => button.actionId === cancelAction)!.value;
          answer = self.handlers.onButton({ actionId: cancelAction, value, user: bob, team: 'T0HOME', channel: 'C0DEMO', channelName: 'demo', message: { ...finished.ref, ephemeral: false }, requestId: 'press-1' });
        },
      });
      await bakery.handlers.onCommand(world.command('demo v1'));
      await bakery.runner.idle();
      await bakery.handlers.onCommand(world.command('demo v2'));
      await bakery.runner.idle();
      expect(await answer).toMatchObject({ text: 'Not done: that button is not on the message of the operation it names.' });
      expect(world.chat.roots[1]!.message.tone).toBe('succeeded');
      expect((await refusals())[0]).toEqual(['U0BOB', 'cancel refused', 'that button is not on the message of the operation it names']);
    });

    it('is refused, saying why, when Slack cannot tell who is in the channel', async () => {
      const bakery = world.replica();
      await bakery.handlers.onCommand(world.command('demo v1'));
      world.chat.members = async () => {
        throw new Error('An API error occurred: missing_scope');
      };
      const reply = await bakery.handlers.onButton(pressOn(world.chat.roots[0]!.message, cancelAction, bob));
      expect(reply?.text).toBe('Not done: Bakery could not check who is in <#C0DEMO> (An API error occurred: missing_scope).');
      await bakery.runner.idle();
      expect(world.chat.roots[0]!.message.tone).toBe('succeeded');
    });

    it('is refused when pressed from another workspace', async () => {
      const bakery = world.replica();
      await bakery.handlers.onCommand(world.command('demo v1'));
      const press = { ...pressOn(world.chat.roots[0]!.message, cancelAction, { id: 'U0GUEST', name: 'bob' }), team: 'T0OTHER' };
      expect((await bakery.handlers.onButton(press))?.text).toBe('Not done: Bakery takes requests only from the workspace it is installed in.');
      await bakery.runner.idle();
      expect(world.chat.roots[0]!.message.tone).toBe('succeeded');
    });

    it('works for whoever started the bake, even when the app names others', async () => {
      await world.store.putAppConfig('demo', { ...demoApp, access: { bake: ['U0ALICE'], cancel: ['U0BOB'], canary: ['channel'] } });
      let answer: Promise<unknown> | undefined;
      const bakery = world.replica('replica-a', {
        onEvent: (event, self) => {
          if (event.type === 'step-started' && event.step === 'provision' && !answer) answer = self.handlers.onButton(pressOn(world.chat.roots[0]!.message, cancelAction, alice));
        },
      });
      await bakery.handlers.onCommand(world.command('demo v1'));
      await bakery.runner.idle();
      expect(await answer).toMatchObject({ tone: 'info' });
      expect(world.chat.roots[0]!.message.tone).toBe('cancelled');
    });
  });

  describe('/rollback', () => {
    it('is refused for someone who is neither an approver nor started the release', async () => {
      await world.store.putAppConfig('demo', releaseApp());
      const bakery = world.replica();
      const reply = await bakery.handlers.onCommand(world.command('demo', { command: '/rollback', user: mallory }));
      expect(reply?.text).toBe('Not done: only <@U0BOB>, <@U0ALICE> may roll back demo; whoever asked for a release may stop it or return it to the one it replaced.');
      expect(await refusals()).toEqual([['U0MALLORY', 'rollback refused', 'only <@U0BOB>, <@U0ALICE> may roll back demo; whoever asked for a release may stop it or return it to the one it replaced']]);
    });
  });

  describe('/promote', () => {
    it('shows nothing of an app to someone outside its channel', async () => {
      await world.store.putAppConfig('demo', releaseApp());
      const reply = await world.replica().handlers.onCommand(world.command('demo', { command: '/promote', user: mallory, channel: 'C0RANDOM', channelName: 'random' }));
      expect(reply?.text).toBe('Not shown: demo is shown only to the members of #demo.');
    });
  });

  describe('/bakery apps', () => {
    it('says plainly when Bakery is not in an app’s channel, and how to invite it', async () => {
      world.chat.notInvitedTo.add('#demo');
      const reply = await world.replica().handlers.onCommand(world.command('apps', { command: '/bakery' }));
      expect(reply?.lines).toEqual([
        '• *demo* — channel #demo (C0DEMO), us-east-1, t3.small, copies to eu-west-1',
        '   :warning: Bakery is not in #demo, so it cannot post there: type `/invite @Bakery` in that channel',
      ]);
    });

    it('names a user group that approves as a risk, since its members may edit it, and an ignored fourEyes: false', async () => {
      const config = releaseApp({ fourEyes: false });
      await world.store.putAppConfig('demo', { ...config, deploy: { ...config.deploy!, approvers: ['S0DEPLOY', 'U0BOB'] } });
      const reply = await world.replica().handlers.onCommand(world.command('apps', { command: '/bakery' }));
      expect(reply?.lines).toEqual([
        '• *demo* — channel #demo (C0DEMO), us-east-1, t3.small',
        '   :warning: <!subteam^S0DEPLOY> approves releases: its members can edit who is in it (and so add anyone) unless the workspace settings keep editing user groups to admins, which Slack does not tell Bakery; name people instead, or check that setting',
        '   :warning: `fourEyes: false` is ignored in Slack: whoever asks for a canary never approves it',
      ]);
    });

    it('lists an app whose channel Bakery is in without a warning', async () => {
      const reply = await world.replica().handlers.onCommand(world.command('apps', { command: '/bakery' }));
      expect(reply?.lines).toEqual(['• *demo* — channel #demo (C0DEMO), us-east-1, t3.small, copies to eu-west-1']);
    });

    it('says which channel id each #name resolved to at start, and when none had the name', async () => {
      // Every app is shown where the channel rule does not apply; an unresolved #name is then said so.
      const bakery = world.replica('replica-a', { access: { workspace: 'T0HOME', channels: 'any', channelIds: {} } });
      const reply = await bakery.handlers.onCommand(world.command('apps', { command: '/bakery' }));
      expect(reply?.lines?.[0]).toBe('• *demo* — channel #demo (no channel had this name at start, so none stands for it), us-east-1, t3.small, copies to eu-west-1');
    });
  });

  describe('an app’s channel, matched by the id its #name had at start', () => {
    it('resolves each #name once, at start, to the id of the channel that has it', async () => {
      world.chat.channelIds.set('#payments', 'C0PAYMENTS');
      const ids = await resolveAppChannels(world.chat, { demo: { channel: '#demo' }, billing: { channel: '#payments' }, ledger: { channel: 'C0LEDGER' } }, capturedLog('warn').log);
      expect(ids).toEqual({ '#demo': 'C0DEMO', '#payments': 'C0PAYMENTS' });
    });

    it('keeps taking requests in the app’s channel after it is renamed', async () => {
      const reply = await world.replica().handlers.onCommand(world.command('demo v1', { channel: 'C0DEMO', channelName: 'demo-archive' }));
      expect(reply).toBeUndefined();
      expect(world.chat.roots).toHaveLength(1);
    });

    it('refuses a new channel given the old name, saying where requests are taken', async () => {
      const reply = await world.replica().handlers.onCommand(world.command('demo v1', { channel: 'C0IMPOSTOR', channelName: 'demo' }));
      expect(reply?.text).toBe('Not done: demo takes requests only in #demo (C0DEMO), and this is another channel of that name (C0IMPOSTOR).');
      expect(world.chat.roots).toEqual([]);
    });

    it('refuses every channel when no channel had the name at start', async () => {
      const bakery = world.replica('replica-a', { access: { workspace: 'T0HOME', channels: 'app', channelIds: {} } });
      const reply = await bakery.handlers.onCommand(world.command('demo v1'));
      expect(reply?.text).toBe('Not done: demo takes requests only in #demo, and no channel had that name when Bakery started; check the apps file and restart Bakery.');
      expect(world.chat.roots).toEqual([]);
    });
  });

  describe('at start', () => {
    it('warns once for each app channel Bakery is not in, naming the apps that post there', async () => {
      world.chat.channelIds.set('#payments', 'C0PAYMENTS');
      world.chat.notInvitedTo.add('#payments');
      const captured = capturedLog('warn');
      await resolveAppChannels(world.chat, { demo: { channel: '#demo' }, billing: { channel: '#payments' }, ledger: { channel: '#payments' } }, captured.log);
      const lines = captured.text().trim().split('\n').map((line) => JSON.parse(line) as { msg: string; apps: string[] });
      expect(lines.map((line) => [line.msg, line.apps])).toEqual([
        ['Bakery is not in #payments, so it cannot post there: type `/invite @Bakery` in that channel (apps billing, ledger)', ['billing', 'ledger']],
      ]);
    });
  });
});
