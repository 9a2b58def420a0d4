import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { demoApp, TestWorld } from './support/world.js';

const STRANGER = '999988887777';

describe('/bake --base: only trusted bases, and a release is never silently replaced', () => {
  let world: TestWorld;
  beforeEach(async () => {
    world = await TestWorld.create();
  });
  afterEach(async () => {
    await world.close();
  });

  it('refuses a stranger’s public AMI as a base, launching nothing', async () => {
    const stranger = world.sim.seedBaseImage({ region: 'us-east-1', name: 'totally-legit-al2023', ownerId: STRANGER });
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command(`demo v1 --base ${stranger}`));
    await bakery.runner.idle();
    const root = world.chat.roots[0]!;
    expect(root.message.tone).toBe('failed');
    expect(world.chat.threadText(0)).toContain(`base AMI ${stranger} belongs to ${STRANGER} (a public image), and the app takes bases only from self, amazon`);
    expect(world.sim.snapshot().instances).toEqual([]);
    expect(await world.store.getRelease('demo', 'v1')).toBeUndefined();
  });

  it('takes a base from an owner the app’s config names', async () => {
    await world.store.putAppConfig('demo', { ...demoApp, baseImageOwners: ['self', STRANGER] });
    const vendor = world.sim.seedBaseImage({ region: 'us-east-1', name: 'vendor-hardened-al2023', ownerId: STRANGER });
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command(`demo v1 --base ${vendor}`));
    await bakery.runner.idle();
    expect((await world.store.getRelease('demo', 'v1'))?.baseAmi).toBe(vendor);
  });

  it('refuses another app’s image as a base, though it is the account’s own, launching nothing', async () => {
    const shops = world.sim.seedBaseImage({ region: 'us-east-1', name: 'shop-v3-20261201-120000-abcdef', tags: { 'bakery:app': 'shop', 'bakery:version': 'v3' } });
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command(`demo v1 --base ${shops}`));
    await bakery.runner.idle();
    expect(world.chat.roots[0]!.message.tone).toBe('failed');
    expect(world.chat.threadText(0)).toContain(`base AMI ${shops} is shop's image (shop v3), and demo bakes on another app's images only when its baseImageApps names that app (it names none)`);
    expect(world.sim.snapshot().instances).toEqual([]);
    expect(await world.store.getRelease('demo', 'v1')).toBeUndefined();
  });

  it('refuses another app’s image found by a name pattern too', async () => {
    world.sim.seedBaseImage({ region: 'us-east-1', name: 'shop-golden-2026', tags: { 'bakery:app': 'shop' } });
    await world.store.putAppConfig('demo', { ...demoApp, baseImage: { name: 'shop-golden-*', owner: 'self' } });
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1'));
    await bakery.runner.idle();
    expect(world.chat.threadText(0)).toContain("is shop's image");
    expect(world.sim.snapshot().instances).toEqual([]);
  });

  it('bakes on another app’s image when its config names that app, and on its own earlier images', async () => {
    const golden = world.sim.seedBaseImage({ region: 'us-east-1', name: 'golden-v7-20261201-120000-abcdef', tags: { 'bakery:app': 'golden', 'bakery:version': 'v7' } });
    await world.store.putAppConfig('demo', { ...demoApp, baseImageApps: ['golden'] });
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command(`demo v1 --base ${golden}`));
    await bakery.runner.idle();
    expect((await world.store.getRelease('demo', 'v1'))?.baseAmi).toBe(golden);
    const own = (await world.store.getRelease('demo', 'v1'))!.amis['us-east-1']!;
    await bakery.handlers.onCommand(world.command(`demo v2 --base ${own}`));
    await bakery.runner.idle();
    expect((await world.store.getRelease('demo', 'v2'))?.baseAmi).toBe(own);
  });

  it('refuses an image the SSM parameter points at when its owner is not trusted', async () => {
    const stranger = world.sim.seedBaseImage({ region: 'us-east-1', name: 'totally-legit-al2023', ownerId: STRANGER });
    await (await world.sim.clients().ssm('us-east-1')).send(new PutParameterCommand({ Name: '/aws/service/sneaky/base', Value: stranger, Type: 'String', Overwrite: true }));
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1 --base ssm:/aws/service/sneaky/base'));
    await bakery.runner.idle();
    expect(world.chat.threadText(0)).toContain(`belongs to ${STRANGER}`);
    expect(world.sim.snapshot().instances).toEqual([]);
  });

  it('refuses an SSM parameter outside the allowed prefixes, and never shows its value', async () => {
    await (await world.sim.clients().ssm('us-east-1')).send(new PutParameterCommand({ Name: '/team/db-password', Value: 'hunter2-very-secret', Type: 'String' }));
    const bakery = world.replica();
    const reply = await bakery.handlers.onCommand(world.command('demo v1 --base ssm:/team/db-password'));
    expect(reply?.text).toContain('reads only parameters under /aws/service/');
    expect(JSON.stringify(reply)).not.toContain('hunter2');
    expect(world.chat.roots).toEqual([]);
    expect(world.sim.calls().map((call) => call.command)).not.toContain('GetParameter');
  });

  it('does not show the value of an allowed parameter that holds no AMI id', async () => {
    await (await world.sim.clients().ssm('us-east-1')).send(new PutParameterCommand({ Name: '/aws/service/global-infrastructure/current-region', Value: 'us-east-1-with-secret-ish-text', Type: 'String' }));
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1 --base ssm:/aws/service/global-infrastructure/current-region'));
    await bakery.runner.idle();
    const everything = JSON.stringify(world.chat.roots);
    expect(everything).toContain('SSM parameter /aws/service/global-infrastructure/current-region does not hold an AMI id');
    expect(everything).not.toContain('secret-ish');
  });

  it('refuses another base for a version already baked unless --force, and keeps the release’s history when forced', async () => {
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1'));
    await bakery.runner.idle();
    const first = (await world.store.getRelease('demo', 'v1'))!;
    const other = world.sim.seedBaseImage({ region: 'us-east-1', name: 'al2023-ami-2023.9-x86_64', ownerAlias: 'amazon' });

    const refused = await bakery.handlers.onCommand(world.command(`demo v1 --base ${other}`));
    expect(refused?.text).toContain(`already baked, on base \`${first.baseAmi}\``);
    expect(refused?.lines?.join('\n')).toContain('--force');
    expect(world.chat.roots).toHaveLength(1);

    await bakery.handlers.onCommand(world.command(`demo v1 --base ${other} --force`));
    await bakery.runner.idle();
    const second = (await world.store.getRelease('demo', 'v1'))!;
    expect(second.baseAmi).toBe(other);
    expect(second.history).toHaveLength(2);
    expect(second.history[0]).toMatchObject({ status: 'baked', operationId: first.operationId });
    expect(second.history[1]?.note).toContain(`replacing ${first.amis['us-east-1']}`);
  });

  it('answers "already baked" for --base naming the base the version was baked on', async () => {
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1'));
    await bakery.runner.idle();
    const release = (await world.store.getRelease('demo', 'v1'))!;
    const reply = await bakery.handlers.onCommand(world.command(`demo v1 --base ${release.baseAmi}`));
    expect(reply?.text).toContain('is already baked');
    expect(world.chat.roots).toHaveLength(1);
  });
});
