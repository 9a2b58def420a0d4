/*
 * Section 5's account: 10,000 images across 500 apps in 3 regions, in the simulator. For the digest's
 * survey and for the sweep: AWS calls per region and bot CPU, beside the naive count (one describe per
 * image) from the same run. DynamoDB runs in its own process; the in-process simulator's own CPU is
 * measured (AwsSimulator.handlerCpuMicros) and taken out of the bot's figure.
 */
import { pathToFileURL } from 'node:url';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { launchBuilder } from '../src/aws/builder.js';
import { createImage } from '../src/aws/images.js';
import { builderTags, imageName, imageTags, type Provenance } from '../src/aws/provenance.js';
import { AL2023_IMAGE_NAME, AL2023_PARAMETER, AwsSimulator, realisticTimings } from '../src/aws/simulator/index.js';
import { createBakery } from '../src/bakery.js';
import { VirtualClock } from '../src/clock.js';
import type { AppConfig } from '../src/config/apps.js';
import { silentLogger } from '../src/log.js';
import { recipeHash } from '../src/pipelines/bake/recipe.js';
import { createDocumentClient } from '../src/store/dynamo.js';
import type { Operation, Release } from '../src/store/items.js';
import { keys, Store } from '../src/store/store.js';
import { ensureTable } from '../src/store/table.js';
import { releaseApp } from '../test/support/lifecycle.js';
import { RecordingChat } from '../test/support/recording-chat.js';
import { demoApp } from '../test/support/world.js';
import { startDynamoProcess } from './dynamo-process.js';

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];
const APPS = 500;
const RELEASES_PER_APP = 20;
/** Apps with a live Auto Scaling group: one per region (each costs the digest a launch template read). */
const FLEET_APPS = 3;
/** Failed bakes whose cleanup never ran, per region: a builder, its volume, an image and its snapshot each. */
const LEAKS_PER_REGION = 3;
const DAY = 24 * 3_600_000;
const TABLE = 'bakery-bench-stale';

const appName = (n: number): string => `app-${String(n).padStart(3, '0')}`;

function configOf(n: number): AppConfig {
  const region = REGIONS[n % REGIONS.length]!;
  const app = appName(n);
  const base: AppConfig = { ...demoApp, channel: `#team-${n % 25}`, region, copyTo: [], shareWith: [] };
  if (n >= FLEET_APPS) return base;
  return { ...base, deploy: { ...releaseApp().deploy!, group: `${app}-live`, launchTemplate: app } };
}

async function writeAll(doc: DynamoDBDocumentClient, items: Record<string, unknown>[]): Promise<void> {
  for (let start = 0; start < items.length; start += 25) {
    const chunk = items.slice(start, start + 25).map((Item) => ({ PutRequest: { Item } }));
    const result = await doc.send(new BatchWriteCommand({ RequestItems: { [TABLE]: chunk } }));
    if (result.UnprocessedItems?.[TABLE]?.length) throw new Error('the bench setup: DynamoDB left writes unprocessed; run it again');
  }
}

/** The account: bases, 10,000 baked images with their snapshots, release and operation records, a few fleets and leaks. */
async function buildAccount(simulator: AwsSimulator, store: Store, doc: DynamoDBDocumentClient, clock: VirtualClock) {
  const now = clock.now();
  // Five Amazon Linux releases over the last five months in each region; the newest is the SSM parameter's.
  const bases = new Map<string, { id: string; name: string; createdAt: number }[]>();
  for (const region of REGIONS) {
    const list = [];
    for (let month = 5; month >= 1; month--) {
      const name = `al2023-ami-2023.${6 - month}.2026${String(7 - month).padStart(2, '0')}01.0-kernel-6.1-x86_64`;
      const createdAt = now - month * 30 * DAY;
      list.push({ id: simulator.seedBaseImage({ region, name, ownerAlias: 'amazon', createdAt }), name, createdAt });
    }
    if (region === 'ap-southeast-2') simulator.seedBaseImage({ region, name: AL2023_IMAGE_NAME, ownerAlias: 'amazon', ssmParameter: AL2023_PARAMETER });
    bases.set(region, list);
  }

  const items: Record<string, unknown>[] = [];
  for (let n = 0; n < APPS; n++) {
    const app = appName(n);
    const config = configOf(n);
    await store.putAppConfig(app, config);
    const regionBases = bases.get(config.region)!;
    const seeds = [];
    const records: Release[] = [];
    for (let r = 1; r <= RELEASES_PER_APP; r++) {
      const version = `v${r}`;
      const bakedAt = now - (RELEASES_PER_APP - r) * 7 * DAY - (n % 7) * DAY;
      const base = regionBases[Math.min(regionBases.length - 1, Math.floor((r - 1) / 4))]!;
      const operationId = `op-${app}-${version}`;
      const p: Provenance = { app, version, baseAmi: base.id, baseAmiName: base.name, baseAmiCreatedAt: base.createdAt, recipeHash: recipeHash(config), requestedBy: 'U0BENCH', operationId };
      seeds.push({ name: imageName(p, bakedAt), createdAt: bakedAt, tags: Object.fromEntries(imageTags(p).map((tag) => [tag.Key!, tag.Value!])) });
      records.push({
        app, version, amis: {}, amiName: imageName(p, bakedAt), baseAmi: base.id, baseAmiName: base.name, baseAmiCreatedAt: base.createdAt,
        recipeHash: recipeHash(config), status: 'baked', bakedBy: 'U0BENCH', bakedAt, operationId, history: [],
      });
      const operation: Operation = {
        id: operationId, kind: 'bake', app, version, requestedBy: 'U0BENCH', channel: 'C0BENCH', params: {}, state: {}, steps: [],
        status: 'succeeded', createdAt: bakedAt - 3_600_000, updatedAt: bakedAt, finishedAt: bakedAt, revision: 12,
      };
      items.push({ ...keys.operation(operationId), type: 'operation', ...operation });
    }
    const ids = simulator.seedImages(config.region, seeds);
    records.forEach((release, index) => {
      release.amis = { [config.region]: ids[index]! };
      items.push({ ...keys.release(app, release.version), type: 'release', ...release });
    });
  }
  await writeAll(doc, items);

  for (let n = 0; n < FLEET_APPS; n++) simulator.seedFleet({ region: configOf(n).region, app: appName(n) });

  // Failed bakes whose cleanup never ran (the bot died during it): what the sweep is for.
  const aws = simulator.clients();
  const leaks: Record<string, unknown>[] = [];
  for (const region of REGIONS) {
    for (let k = 0; k < LEAKS_PER_REGION; k++) {
      const n = REGIONS.indexOf(region) + REGIONS.length * k;
      const app = appName(n);
      const operationId = `op-${app}-failed-${k}`;
      const base = bases.get(region)!.at(-1)!;
      const p: Provenance = { app, version: 'v21', baseAmi: base.id, baseAmiName: base.name, requestedBy: 'U0BENCH', operationId };
      const builder = await launchBuilder(aws, configOf(n), base.id, '', p);
      clock.advance(5 * 60_000);
      await createImage(aws, region, builder, imageName(p, clock.now()), p);
      simulator.seedVolume({ region, tags: Object.fromEntries(builderTags(p).map((tag) => [tag.Key!, tag.Value!])) });
      const operation: Operation = {
        id: operationId, kind: 'bake', app, version: 'v21', requestedBy: 'U0BENCH', channel: 'C0BENCH', params: {}, state: {}, steps: [],
        status: 'failed', createdAt: clock.now() - 3_600_000, updatedAt: clock.now(), finishedAt: clock.now(), revision: 9,
      };
      leaks.push({ ...keys.operation(operationId), type: 'operation', ...operation });
    }
  }
  await writeAll(doc, leaks);
  clock.advance(30 * 60_000); // the leaks' images are available, and every new id visible
}

/** Calls per region (and per command) since `from`, bot CPU since `cpu` less what the simulator spent since `simCpu`. */
function measured(simulator: AwsSimulator, from: number, cpu: NodeJS.CpuUsage, simCpu: number) {
  const spent = process.cpuUsage(cpu);
  const calls = simulator.calls().slice(from);
  const perRegion = REGIONS.map((region) => {
    const mine = calls.filter((call) => call.region === region);
    const byCommand = new Map<string, number>();
    for (const call of mine) byCommand.set(call.command, (byCommand.get(call.command) ?? 0) + 1);
    return { region, total: mine.length, detail: [...byCommand].map(([command, n]) => `${command} ${n}`).join(', ') };
  });
  const totalMs = (spent.user + spent.system) / 1000;
  const simulatorMs = (simulator.handlerCpuMicros() - simCpu) / 1000;
  return { perRegion, botMs: totalMs - simulatorMs, simulatorMs };
}

export async function benchStale(): Promise<void> {
  const dynamo = await startDynamoProcess();
  const doc = createDocumentClient({ endpoint: dynamo.endpoint, local: true });
  try {
    const clock = new VirtualClock();
    await ensureTable(doc, TABLE);
    const store = new Store(doc, TABLE, clock);
    const simulator = new AwsSimulator({ clock, timings: realisticTimings });
    const setupStarted = performance.now();
    await buildAccount(simulator, store, doc, clock);
    const world = simulator.snapshot();
    const images = world.images.filter((image) => image.tags['bakery:created-by'] === 'bakery');
    console.log(`\n## Stale digest and sweep at scale: ${images.length} baked images, ${APPS} apps (${FLEET_APPS} with a fleet), ${REGIONS.length} regions`);
    console.log(`setup:             ${((performance.now() - setupStarted) / 1000).toFixed(1)} s (not measured below)`);

    const bakery = createBakery({ store, aws: simulator.clients(), surface: new RecordingChat(), clock, log: silentLogger, owner: 'bench', leaseMs: 60_000, pollIntervalMs: 15_000, access: { workspace: 'T0BENCH', channels: 'app' } });
    await store.listAppConfigs(); // read once at start, in every replica

    const naive = REGIONS.map((region) => images.filter((image) => image.region === region).length);
    const report = (title: string, m: ReturnType<typeof measured>, extra = '') => {
      console.log(`\n### ${title}`);
      for (const [index, { region, total, detail }] of m.perRegion.entries()) {
        console.log(`${region.padEnd(16)} ${String(total).padStart(3)} AWS calls (${detail}); naive, one describe per image: ${naive[index]}`);
      }
      console.log(`bot CPU:           ${m.botMs.toFixed(0)} ms user+system (simulator's own ${m.simulatorMs.toFixed(0)} ms taken out; DynamoDB in its own process)${extra}`);
    };

    let from = simulator.calls().length;
    let cpu = process.cpuUsage();
    let simCpu = simulator.handlerCpuMicros();
    const pictures = await bakery.core.survey.survey();
    const stale = pictures.filter((picture) => picture.reasons.length > 0).length;
    report('The digest\'s survey (every app)', measured(simulator, from, cpu, simCpu), `\nresult:            ${stale} of ${pictures.length} apps stale`);

    from = simulator.calls().length;
    cpu = process.cpuUsage();
    simCpu = simulator.handlerCpuMicros();
    const outcome = await bakery.sweep.sweep({ dryRun: false, by: 'bench' });
    report('The sweep (first run: every operation read from the store)', measured(simulator, from, cpu, simCpu), `\nresult:            ${outcome.removed.length} removed, ${outcome.left.length} left, ${outcome.plan.keep.length} kept`);

    from = simulator.calls().length;
    cpu = process.cpuUsage();
    simCpu = simulator.handlerCpuMicros();
    const again = await bakery.sweep.sweep({ dryRun: false, by: 'bench' });
    report('The sweep an hour later (ended operations remembered)', measured(simulator, from, cpu, simCpu), `\nresult:            ${again.removed.length} removed, ${again.left.length} left, ${again.plan.keep.length} kept`);
  } finally {
    doc.destroy();
    dynamo.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await benchStale();
