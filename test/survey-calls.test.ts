import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppConfig } from '../src/config/apps.js';
import { recipeHash } from '../src/pipelines/bake/recipe.js';
import { demoApp, TestWorld } from './support/world.js';

const regions = ['us-east-1', 'eu-west-1'];
const apps: Record<string, AppConfig> = Object.fromEntries(
  Array.from({ length: 24 }, (_, n) => [`app-${n}`, { ...demoApp, region: regions[n % 2]!, copyTo: [] }]),
);

describe('the stale survey at scale', () => {
  let world: TestWorld;
  beforeEach(async () => {
    world = await TestWorld.create(apps);
  });
  afterEach(async () => {
    await world.close();
  });

  it('asks AWS a few calls per region, however many apps and images it looks at', async () => {
    const now = world.clock.now();
    for (const [n, [app, config]] of Object.entries(apps).entries()) {
      const base = world.sim.seedBaseImage({ region: config.region, name: `al2023-ami-2023.5.${n}-x86_64`, ownerAlias: 'amazon', createdAt: now - 90 * 86_400_000 });
      const ids = world.sim.seedImages(config.region, [1, 2, 3].map((r) => ({ name: `${app}-v${r}`, tags: { 'bakery:created-by': 'bakery' }, createdAt: now - (4 - r) * 86_400_000 })));
      for (const [r, ami] of ids.entries()) {
        await world.store.putRelease({
          app, version: `v${r + 1}`, amis: { [config.region]: ami }, amiName: `${app}-v${r + 1}`, baseAmi: base, baseAmiName: 'al2023', baseAmiCreatedAt: now - 90 * 86_400_000,
          recipeHash: recipeHash(config), status: 'baked', bakedBy: 'U0ALICE', bakedAt: now - (4 - r) * 86_400_000, operationId: `op-${app}-${r}`, history: [],
        });
      }
    }
    const from = world.sim.calls().length;

    const pictures = await world.replica().core.survey.survey();

    expect(pictures).toHaveLength(24);
    // Each app's base differs from the newest: every one of them was looked up, in one describe per region.
    expect(pictures.every((picture) => picture.reasons.some((reason) => reason.kind === 'base-superseded'))).toBe(true);
    for (const region of regions) {
      const calls = world.sim.calls().slice(from).filter((call) => call.region === region).map((call) => call.command);
      expect(calls.sort()).toEqual(['DescribeImages', 'DescribeImages', 'GetParameter']);
    }
  });
});
