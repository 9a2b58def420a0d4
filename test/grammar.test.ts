import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { parseBake } from '../commands/bake.js';
import { TestWorld } from './support/world.js';

describe('/bake grammar', () => {
  it('reads an app and a version', () => {
    expect(parseBake('myapp v42')).toEqual({ ok: true, value: { app: 'myapp', version: 'v42', force: false } });
  });

  it('reads every option, in any order, with = or a space', () => {
    expect(parseBake('myapp 1.2.3 --force --commit=0123abcd --base ami-0123456789abcdef0')).toEqual({
      ok: true,
      value: { app: 'myapp', version: '1.2.3', base: 'ami-0123456789abcdef0', commit: '0123abcd', force: true },
    });
    expect(parseBake('myapp v1 --base ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64')).toMatchObject({
      ok: true,
      value: { base: 'ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64' },
    });
  });

  it('accepts the long dash phones put in place of --', () => {
    expect(parseBake('myapp v1 —force')).toMatchObject({ ok: true, value: { force: true } });
  });

  it('treats an empty command and "help" as a request for help', () => {
    expect(parseBake('')).toEqual({ ok: true, value: 'help' });
    expect(parseBake(' help ')).toEqual({ ok: true, value: 'help' });
  });

  const refusals: [text: string, problem: RegExp][] = [
    ['myapp', /missing version/],
    ['MyApp v1', /app "MyApp": app names are/],
    ['myapp v1;reboot', /version "v1;reboot": versions are/],
    ["myapp v1'$(id)", /version .*versions are/],
    ['myapp ../../etc', /version "..\/..\/etc"/],
    ['my_app v1', /app "my_app"/],
    ['myapp v1 extra', /unexpected "extra"/],
    ['myapp v1 --fast', /unknown option --fast/],
    ['myapp v1 --force --force', /--force is given twice/],
    ['myapp v1 --base', /--base needs a value/],
    ['myapp v1 --base ami-xyz', /base "ami-xyz": the base is an AMI id/],
    ['myapp v1 --base ssm:bad name', /unexpected "name"/],
    ['myapp v1 --commit HEAD', /a commit is 7-40 lowercase hex digits/],
    ['myapp v1 --force=yes', /--force takes no value/],
    ['myapp v1 --retry-region ../etc', /^retry-region "..\/etc": a region looks like us-east-1/],
    ['myapp v1 --retry-region eu-west-1 --force', /--retry-region copies the image already baked/],
  ];
  for (const [text, problem] of refusals) {
    it(`refuses "${text}" naming the problem`, () => {
      const parsed = parseBake(text);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.error).toMatch(problem);
    });
  }
});

describe('/bake answers', () => {
  it('shows the usage with any refusal, only to the person who typed it, and starts nothing', async () => {
    const world = await TestWorld.create();
    try {
      const bakery = world.replica();
      const reply = await bakery.handlers.onCommand(world.command('demo v1 --fast'));
      expect(reply?.text).toContain('unknown option --fast');
      expect(reply?.lines?.join('\n')).toContain('Usage: `/bake <app> <version>');
      expect(world.chat.roots).toEqual([]);
      expect(await world.store.listActiveOperations()).toEqual([]);
    } finally {
      await world.close();
    }
  });

  it('names the damaged item when the table holds one it cannot read', async () => {
    const world = await TestWorld.create();
    try {
      await world.doc.send(new PutCommand({ TableName: world.store.tableName, Item: { pk: 'APP#demo', sk: 'RELEASE#v1', app: 'demo', version: 'v1', amis: { 'us-east-1': 'not-an-ami' } } }));
      const reply = await world.replica().handlers.onCommand(world.command('demo v1'));
      expect(reply?.text).toMatch(/cannot read: item APP#demo\/RELEASE#v1: field "amis.us-east-1"/);
      expect(world.chat.roots).toEqual([]);
    } finally {
      await world.close();
    }
  });

  it('names the configured apps when the app is unknown', async () => {
    const world = await TestWorld.create();
    try {
      const reply = await world.replica().handlers.onCommand(world.command('shop v1'));
      expect(reply?.text).toContain('unknown app "shop"; configured apps: demo');
      expect(world.chat.roots).toEqual([]);
    } finally {
      await world.close();
    }
  });
});

describe('/bakery', () => {
  it('lists every command with one line each, and the configured apps with their channels', async () => {
    const world = await TestWorld.create();
    try {
      const bakery = world.replica();
      const help = await bakery.handlers.onCommand(world.command('help', { command: '/bakery' }));
      expect(help?.lines).toEqual(['/bake', '/canary', '/promote', '/rollback', '/releases', '/bakery'].map((name) => expect.stringContaining(`\`${name}\` —`)));
      const apps = await bakery.handlers.onCommand(world.command('apps', { command: '/bakery' }));
      expect(apps?.lines).toEqual([expect.stringContaining('*demo* — channel #demo (C0DEMO), us-east-1, t3.small, copies to eu-west-1')]);
      const unknown = await bakery.handlers.onCommand(world.command('deploy', { command: '/bakery' }));
      expect(unknown?.text).toContain('unknown subcommand "deploy"');
    } finally {
      await world.close();
    }
  });

  it('answers an unknown button without doing anything', async () => {
    const world = await TestWorld.create();
    try {
      const reply = await world.replica().handlers.onButton({ actionId: 'bake.explode', value: 'x', user: { id: 'U1', name: 'eve' }, team: 'T0HOME', channel: 'C1', requestId: 'r' });
      expect(reply?.text).toContain('no longer in use');
      const forged = await world.replica('replica-b').handlers.onButton({ actionId: 'bake.cancel', value: "op-1'; DROP", user: { id: 'U1', name: 'eve' }, team: 'T0HOME', channel: 'C1', requestId: 'r2' });
      expect(forged?.text).toContain('not one Bakery made');
    } finally {
      await world.close();
    }
  });
});
