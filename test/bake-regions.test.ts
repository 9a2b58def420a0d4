import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Bakery } from '../src/bakery.js';
import type { ChatMessage } from '../src/message.js';
import { ConfigError, parseAppsFile, type AppConfig } from '../src/config/apps.js';
import { retryRegionAction } from '../src/pipelines/bake/messages.js';
import { alice, pressOn } from './support/lifecycle.js';
import { demoApp, TestWorld } from './support/world.js';

const account = '210987654321';

/** The demo app (shared with one account) copying to two regions, with these KMS keys, read as the apps file is. */
function regionsApp(kmsKeys: Record<string, string> = {}): AppConfig {
  return parseAppsFile('test apps', stringify({ apps: { demo: { ...demoApp, copyTo: ['eu-west-1', 'ap-southeast-2'], kmsKeys } } })).demo!;
}

const text = (message: ChatMessage | undefined): string => [message?.text ?? '', ...(message?.lines ?? [])].join('\n');

describe('/bake to several regions: each region’s copy on its own', () => {
  let world: TestWorld;
  let bakery: Bakery;
  beforeEach(async () => {
    world = await TestWorld.create({ demo: regionsApp() });
    bakery = world.replica();
  });
  afterEach(async () => {
    await world.close();
  });

  async function bake(): Promise<ChatMessage> {
    await bakery.handlers.onCommand(world.command('demo v1'));
    await bakery.runner.idle();
    return world.chat.roots[0]!.replies.at(-1)!;
  }

  const copiesIn = (region: string) => world.sim.calls().filter((call) => call.command === 'CopyImage' && call.region === region).length;
  const imagesIn = (region: string) => world.bakedImages().filter((image) => image.region === region);

  it('keeps the home image and the other copies when one region’s copy fails, and says which region, why and how to retry', async () => {
    world.sim.inject({ kind: 'copy-fails', region: 'ap-southeast-2' });
    const summary = await bake();

    const release = await world.store.getRelease('demo', 'v1');
    expect(release?.status).toBe('baked');
    expect(Object.keys(release!.amis)).toEqual(['us-east-1', 'eu-west-1']);
    expect(release!.failedRegions?.['ap-southeast-2']?.reason).toContain('Copy image failed with an internal error');

    expect(world.chat.roots[0]!.message.tone).toBe('succeeded');
    expect(text(world.chat.roots[0]!.message)).toContain('not copied to ap-southeast-2');
    expect(summary.text).toContain('not copied to ap-southeast-2');
    expect(text(summary)).toMatch(/✗ Not in ap-southeast-2: copy ami-\w+ is failed: Copy image failed with an internal error/);
    expect(text(summary)).toContain('`/bake demo v1 --retry-region ap-southeast-2`');
    expect(summary.buttons?.map((button) => button.label)).toEqual(['Retry ap-southeast-2']);

    // One line per region in the thread, kept current as the copies went.
    const copies = world.chat.roots[0]!.replies.find((reply) => reply.text === '*Copies*');
    expect(copies?.lines).toEqual([
      expect.stringMatching(/^✓ eu-west-1 — .*ami-\w+.* available, shared with 1 account$/),
      expect.stringMatching(/^✗ ap-southeast-2 — failed: copy ami-\w+ is failed: Copy image failed/),
    ]);
    expect(imagesIn('us-east-1')[0]?.launchPermissions).toContain(account);
    expect(imagesIn('eu-west-1')[0]?.launchPermissions).toContain(account);
    // The failed copy is not left behind half-made.
    expect(imagesIn('ap-southeast-2')).toEqual([]);
    // /releases keeps saying so after the thread has scrolled away.
    const releases = await bakery.handlers.onCommand(world.command('demo', { command: '/releases' }));
    expect(text(releases)).toMatch(/⚠ no copy in ap-southeast-2 \(copy ami-\w+ is failed: Copy image failed.*\): `\/bake demo v1 --retry-region ap-southeast-2`/);
  });

  it('looks again at a copy when AWS cannot answer a look, even past the SDK’s retries, and does not fail its region', async () => {
    // Every one of the SDK's 8 attempts at the first look in eu-west-1 meets an EC2 internal error (a 500).
    // The SDK waits between them in real time, which the virtual clock races past: a day's copy timeout.
    await world.close();
    world = await TestWorld.create({ demo: { ...regionsApp(), timeouts: { ...regionsApp().timeouts, copyMinutes: 24 * 60 } } });
    bakery = world.replica();
    world.sim.inject({ kind: 'api-error', command: 'DescribeImages', region: 'eu-west-1', code: 'InternalError', message: 'An internal error has occurred', status: 500, times: 8 });
    await bake();
    const release = await world.store.getRelease('demo', 'v1');
    expect(Object.keys(release!.amis)).toEqual(['us-east-1', 'eu-west-1', 'ap-southeast-2']);
    expect(release!.failedRegions).toBeUndefined();
    expect(copiesIn('eu-west-1')).toBe(1);
    expect(imagesIn('eu-west-1')).toHaveLength(1);
    expect(world.sim.calls().filter((call) => call.command === 'DescribeImages' && call.region === 'eu-west-1').length).toBeGreaterThan(8);
  });

  it('leaves a failed copy AWS would not delete to the sweep, which removes it', async () => {
    world.sim.inject({ kind: 'copy-fails', region: 'ap-southeast-2' });
    world.sim.inject({ kind: 'api-error', command: 'DeregisterImage', region: 'ap-southeast-2', code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.', status: 403, times: 1 });
    await bake();
    const release = await world.store.getRelease('demo', 'v1');
    expect(release!.failedRegions?.['ap-southeast-2']?.reason).toMatch(/its copy ami-\w+ could not be deleted; the sweep will remove it/);
    expect(imagesIn('ap-southeast-2')).toHaveLength(1);

    const outcome = await bakery.sweep.sweep({ dryRun: false, by: 'schedule' });
    expect(outcome.removed.map(({ resource }) => `${resource.kind} ${resource.region}`)).toContain('image ap-southeast-2');
    expect(imagesIn('ap-southeast-2')).toEqual([]);
    // The bake's own images are products, not leaks.
    expect(imagesIn('us-east-1')).toHaveLength(1);
    expect(imagesIn('eu-west-1')).toHaveLength(1);
  });

  it('points /bake of the version again at the region retry, not at a new bake', async () => {
    world.sim.inject({ kind: 'copy-fails', region: 'ap-southeast-2' });
    await bake();
    const again = await bakery.handlers.onCommand(world.command('demo v1'));
    expect(again?.text).toContain('is already baked');
    expect(again?.lines).toContain('No copy in ap-southeast-2: `/bake demo v1 --retry-region ap-southeast-2` copies it from this image.');
  });

  it('marks a region failed when CopyImage is refused there, and still bakes', async () => {
    world.sim.inject({ kind: 'api-error', command: 'CopyImage', region: 'eu-west-1', code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.', status: 403 });
    const summary = await bake();
    const release = await world.store.getRelease('demo', 'v1');
    expect(Object.keys(release!.amis)).toEqual(['us-east-1', 'ap-southeast-2']);
    expect(release!.failedRegions?.['eu-west-1']?.reason).toBe('UnauthorizedOperation: You are not authorized to perform this operation.');
    expect(text(summary)).toContain('✗ Not in eu-west-1: UnauthorizedOperation');
    expect(world.liveInstances()).toEqual([]);
  });

  it('retries the failed region alone, from the baked image, and adds it to the release', async () => {
    world.sim.inject({ kind: 'copy-fails', region: 'ap-southeast-2' });
    const summary = await bake();
    world.sim.clearFaults();
    const before = { launches: world.sim.calls().filter((call) => call.command === 'RunInstances').length, euCopies: copiesIn('eu-west-1') };

    const answer = await bakery.handlers.onButton(pressOn(summary, retryRegionAction, alice));
    expect(answer?.text).toContain('Copying demo v1 to ap-southeast-2 again');
    await bakery.runner.idle();

    const release = await world.store.getRelease('demo', 'v1');
    expect(Object.keys(release!.amis)).toEqual(['us-east-1', 'eu-west-1', 'ap-southeast-2']);
    expect(release!.failedRegions?.['ap-southeast-2']).toBeUndefined();
    expect(release!.status).toBe('baked');
    // No new bake: no builder, no other region touched.
    expect(world.sim.calls().filter((call) => call.command === 'RunInstances').length).toBe(before.launches);
    expect(copiesIn('eu-west-1')).toBe(before.euCopies);
    const [copy] = imagesIn('ap-southeast-2');
    expect(copy?.imageId).toBe(release!.amis['ap-southeast-2']);
    expect(copy?.sourceImageId).toBe(release!.amis['us-east-1']);
    expect(copy?.launchPermissions).toContain(account);
    // It belongs to the bake that made the image, so retiring the bake takes it too.
    expect(copy?.tags['bakery:operation']).toBe(release!.operationId);

    const retry = world.chat.roots[1]!;
    expect(retry.message.text).toContain('Copy demo v1 to ap-southeast-2');
    expect(retry.replies.at(-1)!.text).toContain('Copied demo v1 to ap-southeast-2');
  });

  it('copies once when Retry is pressed twice, Slack delivers the press again, or /bake --retry-region comes meanwhile', async () => {
    world.sim.inject({ kind: 'copy-fails', region: 'ap-southeast-2' });
    const summary = await bake();
    world.sim.clearFaults();
    const before = copiesIn('ap-southeast-2');

    const first = pressOn(summary, retryRegionAction, alice, 'press-1');
    const answers = await Promise.all([bakery.handlers.onButton(first), bakery.handlers.onButton(pressOn(summary, retryRegionAction, alice, 'press-2'))]);
    await bakery.handlers.onButton(first);
    expect(text(await bakery.handlers.onCommand(world.command('demo v1 --retry-region ap-southeast-2')))).toContain('busy: baking demo v1');
    await bakery.runner.idle();

    expect(answers.map((answer) => answer?.text)).toEqual(expect.arrayContaining([expect.stringContaining('Copying demo v1'), expect.stringContaining('busy: baking demo v1')]));
    expect(copiesIn('ap-southeast-2')).toBe(before + 1);
    expect(imagesIn('ap-southeast-2')).toHaveLength(1);
    expect(world.chat.roots).toHaveLength(2);

    // Pressed again once it is done: the region has its copy now.
    const late = await bakery.handlers.onButton(pressOn(summary, retryRegionAction, alice, 'press-3'));
    expect(late?.text).toMatch(/already has a good copy in ap-southeast-2/);
    expect(copiesIn('ap-southeast-2')).toBe(before + 1);
  });

  it('refuses a retry of a version not baked, of a region the app does not copy to, and of a region whose copy is good', async () => {
    const refusal = async (command: string) => text(await bakery.handlers.onCommand(world.command(command)));
    expect(await refusal('demo v9 --retry-region eu-west-1')).toContain('demo v9* is not baked, so there is no image to copy to eu-west-1');
    await bake();
    expect(await refusal('demo v1 --retry-region us-west-2')).toContain('us-west-2 is not a region demo copies to (copyTo: eu-west-1, ap-southeast-2)');
    expect(await refusal('demo v1 --retry-region us-east-1')).toContain('the app’s home region');
    expect(await refusal('demo v1 --retry-region eu-west-1')).toContain('already has a good copy in eu-west-1');
    expect(await refusal('demo v1 --retry-region eu-west-1 --force')).toContain('--retry-region copies the image already baked, so it takes no --base, --commit, --sha256 or --force');
    expect(await refusal('demo v1 --retry-region europe')).toContain('a region looks like us-east-1');
    expect(world.chat.roots).toHaveLength(1);
  });

  it('says so when a retried copy fails again, keeping the release as it was', async () => {
    world.sim.inject({ kind: 'copy-fails', region: 'ap-southeast-2' });
    const summary = await bake();
    await bakery.handlers.onButton(pressOn(summary, retryRegionAction, alice));
    await bakery.runner.idle();
    const retry = world.chat.roots[1]!;
    expect(retry.message.tone).toBe('failed');
    expect(text(retry.replies.at(-1))).toMatch(/the copy to ap-southeast-2 failed: copy ami-\w+ is failed: Copy image failed/);
    expect(text(retry.replies.at(-1))).toContain('/bake demo v1 --retry-region ap-southeast-2');
    const release = await world.store.getRelease('demo', 'v1');
    expect(Object.keys(release!.amis)).toEqual(['us-east-1', 'eu-west-1']);
    expect(release!.failedRegions?.['ap-southeast-2']).toBeDefined();
    expect(imagesIn('ap-southeast-2')).toEqual([]);
  });
});

describe('/bake of an encrypted image: a KMS key per destination region', () => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  /** EBS encryption by default in the home region, with a customer managed key, so the home image is shareable. */
  async function encryptedWorld(keys: (euKey: string) => Record<string, string>): Promise<{ euKey: string; bakery: Bakery }> {
    world = await TestWorld.create();
    world.sim.encryptVolumesByDefault('us-east-1', world.sim.createKmsKey('us-east-1', 'bakery-images'));
    const euKey = world.sim.createKmsKey('eu-west-1', 'bakery-images');
    await world.store.putAppConfig('demo', regionsApp(keys(euKey)));
    return { euKey, bakery: world.replica() };
  }

  it('encrypts each copy with its region’s key and shares it; a region without a key cannot share its copy, and says what to do', async () => {
    const { euKey, bakery } = await encryptedWorld((euKey) => ({ 'eu-west-1': euKey }));
    await bakery.handlers.onCommand(world.command('demo v1'));
    await bakery.runner.idle();

    const release = await world.store.getRelease('demo', 'v1');
    expect(Object.keys(release!.amis)).toEqual(['us-east-1', 'eu-west-1']);
    const snapshots = world.sim.snapshot().snapshots;
    const eu = world.bakedImages().find((image) => image.region === 'eu-west-1')!;
    expect(snapshots.find((snapshot) => snapshot.snapshotId === eu.snapshotId)?.kmsKeyId).toBe(euKey);
    expect(eu.launchPermissions).toContain(account);
    // Without a key of its own, EC2 encrypts the copy with the AWS managed key, which it will not share.
    expect(release!.failedRegions?.['ap-southeast-2']?.reason).toMatch(/^InvalidParameter: Snapshots encrypted with the AWS Managed CMK can't be shared.*give ap-southeast-2 a customer managed key in the app's kmsKeys/);

    // Given a key, the region's retry copies and shares.
    const apKey = world.sim.createKmsKey('ap-southeast-2');
    await world.store.putAppConfig('demo', regionsApp({ 'eu-west-1': euKey, 'ap-southeast-2': apKey }));
    await bakery.handlers.onCommand(world.command('demo v1 --retry-region ap-southeast-2'));
    await bakery.runner.idle();
    const retried = await world.store.getRelease('demo', 'v1');
    const ap = world.bakedImages().find((image) => image.region === 'ap-southeast-2')!;
    expect(retried!.amis['ap-southeast-2']).toBe(ap.imageId);
    expect(world.sim.snapshot().snapshots.find((snapshot) => snapshot.snapshotId === ap.snapshotId)?.kmsKeyId).toBe(apKey);
    expect(ap.launchPermissions).toContain(account);
  });

  it('fails at share, saying why, when the home image itself is encrypted with the AWS managed key', async () => {
    world = await TestWorld.create();
    world.sim.encryptVolumesByDefault('us-east-1');
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1'));
    await bakery.runner.idle();
    const summary = world.chat.roots[0]!.replies.at(-1)!;
    expect(summary.text).toContain('at *Share with accounts*');
    expect(text(summary)).toContain("Why: InvalidParameter: Snapshots encrypted with the AWS Managed CMK can't be shared. Specify another snapshot. The image is encrypted with the AWS managed key");
    expect(world.bakedImages()).toEqual([]);
    expect(await world.store.getRelease('demo', 'v1')).toBeUndefined();
  });

  it('fails only that region when its key is not one EC2 can use there', async () => {
    const { bakery } = await encryptedWorld((euKey) => ({ 'eu-west-1': euKey, 'ap-southeast-2': 'arn:aws:kms:ap-southeast-2:123456789012:key/00000000-0000-0000-0000-000000000000' }));
    await bakery.handlers.onCommand(world.command('demo v1'));
    await bakery.runner.idle();
    const release = await world.store.getRelease('demo', 'v1');
    expect(Object.keys(release!.amis)).toEqual(['us-east-1', 'eu-west-1']);
    expect(release!.failedRegions?.['ap-southeast-2']?.reason).toMatch(/Client\.InvalidKMSKey\.InvalidState.*Check that the key in kmsKeys\.ap-southeast-2 exists in ap-southeast-2/);
  });
});

describe('the apps file’s kmsKeys', () => {
  const withKeys = (keys: Record<string, string>) => () => regionsApp(keys);
  const euKey = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

  it('takes a key ARN (or an alias ARN) per region the app copies to; an app without keys is as before', () => {
    expect(regionsApp().kmsKeys).toEqual({});
    expect(withKeys({ 'eu-west-1': euKey, 'ap-southeast-2': 'arn:aws:kms:ap-southeast-2:123456789012:alias/images' })().kmsKeys['eu-west-1']).toBe(euKey);
  });

  it('names the file, app and field of a key in another region, for a region not copied to, or not an ARN', () => {
    expect(withKeys({ 'ap-southeast-2': euKey })).toThrow(new ConfigError('test apps: app "demo", field "kmsKeys.ap-southeast-2": KMS keys are regional: this key is in eu-west-1, so it cannot encrypt the copy in ap-southeast-2'));
    expect(withKeys({ 'us-west-2': 'arn:aws:kms:us-west-2:123456789012:alias/images' })).toThrow('test apps: app "demo", field "kmsKeys.us-west-2": us-west-2 is not in copyTo');
    expect(withKeys({ 'eu-west-1': 'alias/images' })).toThrow('test apps: app "demo", field "kmsKeys.eu-west-1": a KMS key is given by its ARN');
  });
});
