import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppConfig } from '../src/config/apps.js';
import { recipeHash } from '../src/pipelines/bake/recipe.js';
import { alice } from './support/lifecycle.js';
import { demoApp, TestWorld } from './support/world.js';

const withProvision = (provision: string): AppConfig => ({ ...demoApp, provision });

describe('a bake’s identity', () => {
  let world: TestWorld;
  beforeEach(async () => {
    world = await TestWorld.create();
  });
  afterEach(async () => {
    await world.close();
  });

  it('records what the image was made of: the base (id, name, date), the artifact’s digest and the recipe', async () => {
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1', { user: alice }));
    await bakery.runner.idle();
    const release = (await world.store.getRelease('demo', 'v1'))!;
    const base = world.sim.snapshot().images.find((image) => image.imageId === release.baseAmi)!;
    expect(release.baseAmiCreatedAt).toBe(base.createdAt);
    expect(release.artifactSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(release.recipeHash).toBe(recipeHash(demoApp));
    for (const image of world.bakedImages()) {
      expect(image.tags).toMatchObject({
        'bakery:base-ami': release.baseAmi,
        'bakery:base-ami-created': new Date(base.createdAt).toISOString(),
        'bakery:artifact-sha256': release.artifactSha256,
        'bakery:recipe': release.recipeHash,
      });
    }
  });

  it('bakes a version again when its recipe has changed, instead of answering "already baked"', async () => {
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1', { user: alice }));
    await bakery.runner.idle();
    await world.store.putAppConfig('demo', withProvision('./install.sh --hardened'));
    const reply = await bakery.handlers.onCommand(world.command('demo v1', { user: alice }));
    expect(reply).toBeUndefined();
    await bakery.runner.idle();
    expect(world.chat.threadText(1)).toContain('Baked demo v1');
    expect(world.bakedImages().filter((image) => image.region === 'us-east-1')).toHaveLength(2);
    expect((await world.store.getRelease('demo', 'v1'))?.recipeHash).toBe(recipeHash(withProvision('./install.sh --hardened')));
  });

  it('reuses the image of the same version, base and recipe, and says so', async () => {
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1', { user: alice }));
    await bakery.runner.idle();
    const release = (await world.store.getRelease('demo', 'v1'))!;
    await bakery.handlers.onCommand(world.command(`demo v1 --base ${release.baseAmi}`, { user: alice }));
    await bakery.runner.idle();
    expect(world.chat.threadText(1)).toContain('already baked on this base');
    expect(world.bakedImages().filter((image) => image.region === 'us-east-1')).toHaveLength(1);
  });

  it('makes a new image with --force and keeps the old one registered', async () => {
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1', { user: alice }));
    await bakery.runner.idle();
    const first = (await world.store.getRelease('demo', 'v1'))!.amis['us-east-1'];
    await bakery.handlers.onCommand(world.command('demo v1 --force', { user: alice }));
    await bakery.runner.idle();
    const second = (await world.store.getRelease('demo', 'v1'))!.amis['us-east-1'];
    expect(second).not.toBe(first);
    expect(world.bakedImages().map((image) => image.imageId)).toEqual(expect.arrayContaining([first, second]));
  });
});
