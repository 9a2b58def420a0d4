import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keys } from '../src/store/store.js';
import { cancelAction } from '../src/pipelines/bake/messages.js';
import { bob, pressOn } from './support/lifecycle.js';
import { demoApp, TestWorld } from './support/world.js';
import type { Button } from '../src/message.js';

describe('/bake', () => {
  let world: TestWorld;
  beforeEach(async () => {
    world = await TestWorld.create();
  });
  afterEach(async () => {
    await world.close();
  });

  it('bakes a tested, tagged image, shares and copies it, terminates the builder and records the release', async () => {
    const bakery = world.replica();
    const reply = await bakery.handlers.onCommand(world.command('demo v1 --commit 0123abc'));
    expect(reply).toBeUndefined();
    await bakery.runner.idle();

    const release = await world.store.getRelease('demo', 'v1');
    expect(release?.status).toBe('baked');
    expect(Object.keys(release?.amis ?? {})).toEqual(['us-east-1', 'eu-west-1']);

    const images = world.bakedImages();
    expect(images).toHaveLength(2);
    const home = images.find((image) => image.region === 'us-east-1')!;
    expect(home.state).toBe('available');
    expect(home.tags).toMatchObject({
      'bakery:app': 'demo',
      'bakery:version': 'v1',
      'bakery:base-ami': release!.baseAmi,
      'bakery:commit': '0123abc',
      'bakery:requested-by': 'U0ALICE',
      'bakery:created-by': 'bakery',
    });
    expect(home.tags['bakery:artifact-sha256']).toMatch(/^[0-9a-f]{64}$/);
    expect(home.launchPermissions).toContain('210987654321');
    const snapshots = world.sim.snapshot().snapshots.filter((s) => s.snapshotId === home.snapshotId);
    expect(snapshots[0]?.tags['bakery:app']).toBe('demo');
    const copy = images.find((image) => image.region === 'eu-west-1')!;
    expect(copy.tags).toMatchObject({ 'bakery:app': 'demo', 'bakery:version': 'v1', 'bakery:commit': '0123abc' });
    expect(copy.launchPermissions).toContain('210987654321');
    const copySnapshot = world.sim.snapshot().snapshots.find((s) => s.snapshotId === copy.snapshotId);
    expect(copySnapshot?.tags['bakery:version']).toBe('v1');
    expect(copySnapshot?.createVolumePermissions).toContain('210987654321');
    // Tagged as they were made: the role needs no right to tag an image that already exists.
    expect(world.sim.calls().map((call) => call.command)).not.toContain('CreateTags');
    expect(world.liveInstances()).toEqual([]);

    expect(world.chat.roots).toHaveLength(1);
    const thread = world.chat.roots[0]!;
    expect(thread.message.tone).toBe('succeeded');
    expect(thread.message.buttons ?? []).toEqual([]);
    expect(thread.replies.map((r) => r.text).slice(0, 3)).toEqual([
      expect.stringContaining('Resolve base image'),
      expect.stringContaining('Check for an existing image'),
      expect.stringContaining('Launch builder'),
    ]);
    const summary = thread.replies.at(-1)!;
    expect(summary.text).toContain('Baked demo v1');
    expect(summary.lines?.join('\n')).toContain(release!.amis['us-east-1']);
    expect(summary.context?.join('\n')).toContain('Total:');
    // The release ran as root on the builder: its smoke test is its own word, and the summary says so.
    expect(summary.lines).toContain('Smoke test: reported by the builder. It guards against mistakes, not malice: the canary and the approval are the gate.');
  });

  it('gives the builder IMDSv2 with a hop limit of 1, so nothing beyond the builder itself can use its role', async () => {
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1'));
    await bakery.runner.idle();
    expect(world.sim.snapshot().instances[0]!.metadataOptions).toEqual({ httpTokens: 'required', httpPutResponseHopLimit: 1 });
  });

  it('terminates the builder as soon as its image is available, before sharing and copying', async () => {
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1'));
    await bakery.runner.idle();
    const calls = world.sim.calls().map((call) => call.command);
    expect(calls.indexOf('TerminateInstances')).toBeGreaterThan(calls.lastIndexOf('CreateImage'));
    expect(calls.indexOf('TerminateInstances')).toBeLessThan(calls.indexOf('ModifyImageAttribute'));
    expect(calls.indexOf('TerminateInstances')).toBeLessThan(calls.indexOf('CopyImage'));
    const titles = world.chat.roots[0]!.replies.map((reply) => reply.text);
    expect(titles.findIndex((text) => text.includes('Terminate builder'))).toBeLessThan(titles.findIndex((text) => text.includes('Copy to regions')));
  });

  it('bakes on the newest image matching a name pattern and owner', async () => {
    world.clock.advance(24 * 3_600_000); // a day later, Amazon publishes a patched base
    const newer = world.sim.seedBaseImage({ region: 'us-east-1', name: 'al2023-ami-2023.9.20261101.0-kernel-6.1-x86_64', ownerAlias: 'amazon' });
    await world.store.putAppConfig('demo', { ...demoApp, baseImage: { name: 'al2023-ami-2023.*-x86_64', owner: 'amazon' } });
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1'));
    await bakery.runner.idle();
    expect((await world.store.getRelease('demo', 'v1'))?.baseAmi).toBe(newer);
  });

  it('keeps an audit trail of who asked for what and how it ended', async () => {
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1'));
    await bakery.runner.idle();
    const audit = await world.store.listAudit('demo');
    expect(audit.map((entry) => [entry.actor, entry.action])).toEqual([
      ['U0ALICE', 'bake succeeded'],
      ['U0ALICE', 'bake requested'],
    ]);
  });

  it('refuses a flood of commands for unknown apps without reading the table', async () => {
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1'));
    await bakery.runner.idle();
    const reads: string[] = [];
    world.doc.middlewareStack.add((next, context) => async (args) => {
      reads.push(String(context.commandName));
      return next(args);
    }, { step: 'initialize', name: 'countReads' });
    for (let i = 0; i < 50; i++) {
      const reply = await bakery.handlers.onCommand(world.command(`nosuchapp${i} v1`));
      expect(reply?.text).toContain('configured apps: demo');
    }
    expect(reads).toEqual([]);
  });

  it('answers "already baked" instead of baking a version twice', async () => {
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1'));
    await bakery.runner.idle();
    const reply = await bakery.handlers.onCommand(world.command('demo v1'));
    expect(reply?.text).toContain('already baked');
    expect(world.chat.roots).toHaveLength(1);
    expect(world.bakedImages()).toHaveLength(2);
  });

  it('finds an image already in AWS for this version and base, and links it rather than baking again', async () => {
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1'));
    await bakery.runner.idle();
    const release = (await world.store.getRelease('demo', 'v1'))!;
    // The image is in AWS but Bakery's record of it is gone (a table restored from an older backup).
    await world.doc.send(new DeleteCommand({ TableName: world.store.tableName, Key: keys.release('demo', 'v1') }));
    await bakery.handlers.onCommand(world.command('demo v1'));
    await bakery.runner.idle();
    expect(world.chat.threadText(1)).toContain(`already baked on this base: <https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#ImageDetails:imageId=${release.amis['us-east-1']}|${release.amis['us-east-1']}>`);
    expect(world.bakedImages()).toHaveLength(2);
    expect(world.liveInstances()).toEqual([]);
  });

  it('bakes again with --force', async () => {
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1'));
    await bakery.runner.idle();
    await bakery.handlers.onCommand(world.command('demo v1 --force'));
    await bakery.runner.idle();
    expect(world.bakedImages().filter((image) => image.region === 'us-east-1')).toHaveLength(2);
  });

  it('tells a second bake of the same app that it is busy, and who is baking what', async () => {
    const bakery = world.replica();
    const first = bakery.handlers.onCommand(world.command('demo v41'));
    await first;
    const second = await bakery.handlers.onCommand(world.command('demo v42', { user: { id: 'U0BOB', name: 'bob' } }));
    expect(second?.text).toMatch(/busy: baking demo v41 since \d\d:\d\d UTC, asked by <@U0ALICE>/);
    await bakery.runner.idle();
    expect(world.chat.roots).toHaveLength(1);
    expect(await world.store.getRelease('demo', 'v42')).toBeUndefined();
  });

  it('never starts a second bake for a retried Slack delivery', async () => {
    const bakery = world.replica();
    const command = world.command('demo v1');
    await bakery.handlers.onCommand(command);
    const retry = await bakery.handlers.onCommand({ ...command });
    expect(retry).toBeUndefined();
    await bakery.runner.idle();
    expect(world.chat.roots).toHaveLength(1);
    expect(world.bakedImages().filter((image) => image.region === 'us-east-1')).toHaveLength(1);
  });

  it('stops and cleans up when the Cancel button is pressed and confirmed', async () => {
    let cancel: Button | undefined;
    const bakery = world.replica('replica-a', {
      onEvent: (event, self) => {
        if (event.type === 'step-started' && event.step === 'provision') {
          cancel = world.chat.roots[0]!.message.buttons?.find((button) => button.actionId === cancelAction);
          void self.handlers.onButton(pressOn(world.chat.roots[0]!.message, cancelAction, bob, 'press-1'));
        }
      },
    });
    await bakery.handlers.onCommand(world.command('demo v1'));
    await bakery.runner.idle();
    const root = world.chat.roots[0]!.message;
    expect(root.tone).toBe('cancelled');
    // Cancel is a danger button: Slack asks before the press counts, as for Promote and Roll back.
    expect(cancel).toMatchObject({ style: 'danger', confirm: { title: 'Cancel the bake?', confirm: 'Cancel the bake', deny: 'Keep baking' } });
    expect(root.lines?.join('\n')).toContain('Cancelled by <@U0BOB>');
    expect(world.liveInstances()).toEqual([]);
    expect(world.bakedImages()).toEqual([]);
    expect(await world.store.getLock('demo')).toBeUndefined();
  });

  it('answers a Cancel button for a finished bake without doing anything', async () => {
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1'));
    await bakery.runner.idle();
    const operationId = world.events.find((e) => e.type === 'finished')!.operationId;
    // The button as it was on the root before the bake finished (a client that had not refreshed).
    const reply = await bakery.handlers.onButton({ actionId: cancelAction, value: operationId, user: bob, team: 'T0HOME', channel: 'C0DEMO', channelName: 'demo', message: { ...world.chat.roots[0]!.ref, ephemeral: false }, requestId: 'press-2' });
    expect(reply?.text).toBe('That bake already finished.');
    expect((await world.store.listAudit('demo')).map((entry) => entry.action)).not.toContain('bake cancel requested');
  });
});
