import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { publishedSha256 } from '../src/aws/simulator/builder.js';
import { demoApp, TestWorld } from './support/world.js';

const url = 'https://artifacts.example.com/demo/v1.tar.gz';
const emptyFile = createHash('sha256').update('').digest('hex');

describe('/bake: the artifact’s sha256, checked on the builder before provision runs', () => {
  let world: TestWorld;
  beforeEach(async () => {
    world = await TestWorld.create();
  });
  afterEach(async () => {
    await world.close();
  });

  const summaryOf = () => world.chat.roots[0]!.replies.at(-1)!;
  const said = () => [summaryOf().text, ...(summaryOf().lines ?? []), ...(summaryOf().context ?? [])].join('\n');

  it('checks the artifact against --sha256, and records the digest on the release and the image', async () => {
    const bakery = world.replica();
    expect(await bakery.handlers.onCommand(world.command(`demo v1 --sha256 ${publishedSha256(url).toUpperCase()}`))).toBeUndefined();
    await bakery.runner.idle();
    const release = await world.store.getRelease('demo', 'v1');
    expect(release).toMatchObject({ status: 'baked', artifactSha256: publishedSha256(url), artifactChecked: 'given' });
    expect(world.bakedImages()[0]!.tags['bakery:artifact-sha256']).toBe(publishedSha256(url));
    expect(said()).toContain(`Artifact: sha256 \`${publishedSha256(url)}\`, checked against --sha256`);
  });

  it('fails the bake at Download and provision when the artifact is not the one --sha256 names, baking nothing', async () => {
    const wrong = 'ab'.repeat(32);
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command(`demo v1 --sha256 ${wrong}`));
    await bakery.runner.idle();
    const root = world.chat.roots[0]!;
    expect(root.message.tone).toBe('failed');
    expect(said()).toContain(`at *Download and provision*`);
    expect(said()).toContain(`Why: the builder's download phase failed: the artifact's sha256 is ${publishedSha256(url)}, not the expected ${wrong}`);
    expect(world.bakedImages()).toEqual([]);
    expect(world.liveInstances()).toEqual([]);
    expect(await world.store.getRelease('demo', 'v1')).toBeUndefined();
  });

  it('says when the digest was not checked, and still records the sha256 of a real artifact', async () => {
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1'));
    await bakery.runner.idle();
    const release = (await world.store.getRelease('demo', 'v1'))!;
    expect(release.artifactSha256).toBe(publishedSha256(url));
    expect(release.artifactSha256).not.toBe(emptyFile);
    expect(release.artifactChecked).toBeUndefined();
    expect(said()).toContain('not checked: no digest was given');
  });

  it('refuses a sha256 that is not 64 hex digits, and --sha256 on a region retry, starting nothing', async () => {
    const bakery = world.replica();
    expect((await bakery.handlers.onCommand(world.command('demo v1 --sha256 abc123')))?.text).toContain('a sha256 is 64 hex digits');
    expect((await bakery.handlers.onCommand(world.command(`demo v1 --retry-region eu-west-1 --sha256 ${'ab'.repeat(32)}`)))?.text).toContain('takes no --base, --commit, --sha256 or --force');
    expect(world.chat.roots).toEqual([]);
  });

  describe('an app whose CI publishes {artifactUrl}.sha256', () => {
    beforeEach(async () => {
      await world.store.putAppConfig('demo', { ...demoApp, artifactDigest: 'published' });
    });

    it('checks the artifact against the published digest', async () => {
      const bakery = world.replica();
      await bakery.handlers.onCommand(world.command('demo v1'));
      await bakery.runner.idle();
      expect(await world.store.getRelease('demo', 'v1')).toMatchObject({ artifactSha256: publishedSha256(url), artifactChecked: 'published' });
      expect(said()).toContain('checked against the sha256 the CI published');
    });

    it('fails when the artifact served is not the one the CI published', async () => {
      world.sim.inject({ kind: 'artifact-tampered', app: 'demo' });
      const bakery = world.replica();
      await bakery.handlers.onCommand(world.command('demo v1'));
      await bakery.runner.idle();
      expect(said()).toContain(`the artifact's sha256 is `);
      expect(said()).toContain(`not the expected ${publishedSha256(url)}`);
      expect(world.bakedImages()).toEqual([]);
    });

    it('fails when the published digest is not the one --sha256 names', async () => {
      const wrong = 'cd'.repeat(32);
      const bakery = world.replica();
      await bakery.handlers.onCommand(world.command(`demo v1 --sha256 ${wrong}`));
      await bakery.runner.idle();
      expect(said()).toContain(`the published sha256 is ${publishedSha256(url)}, not the ${wrong} asked for`);
      expect(world.bakedImages()).toEqual([]);
    });
  });
});
