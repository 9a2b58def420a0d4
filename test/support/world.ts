import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AwsSimulator, realisticTimings } from '../../src/aws/simulator/index.js';
import type { AccessSettings } from '../../src/access/access.js';
import { createBakery, type Bakery } from '../../src/bakery.js';
import type { ChatSurface, SlashCommand } from '../../src/chat/surface.js';
import { VirtualClock } from '../../src/clock.js';
import { parseAppsFile, type AppConfig } from '../../src/config/apps.js';
import { createLogger, silentLogger } from '../../src/log.js';
import type { RunnerEvent } from '../../src/operations/runner.js';
import { createDocumentClient } from '../../src/store/dynamo.js';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../src/store/embedded.js';
import { Store } from '../../src/store/store.js';
import { ensureTable } from '../../src/store/table.js';
import { RecordingChat } from './recording-chat.js';

export const demoApp: AppConfig = parseAppsFile('test apps', `
apps:
  demo:
    channel: "#demo"
    region: us-east-1
    baseImage: { ssm: /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64 }
    instanceType: t3.small
    artifactUrl: https://artifacts.example.com/demo/{version}.tar.gz
    provision: ./install.sh
    smokeTest: curl -fsS localhost:8080/healthz
    shareWith: ["210987654321"]
    copyTo: [eu-west-1]
`).demo!;

let tableCount = 0;

/**
 * A small world for a test: an embedded DynamoDB, a simulated AWS on virtual time, a recording chat,
 * and as many Bakery replicas on one table as the test asks for.
 */
export class TestWorld {
  readonly clock = new VirtualClock();
  readonly sim = new AwsSimulator({ clock: this.clock, timings: realisticTimings });
  readonly chat = new RecordingChat();
  readonly events: (RunnerEvent & { replica: string })[] = [];
  store!: Store;
  /** The table's raw document client, for tests that write what Bakery would never write. */
  doc!: DynamoDBDocumentClient;
  private dynamo!: EmbeddedDynamo;
  private readonly replicas: Bakery[] = [];
  private requests = 0;

  static async create(apps: Record<string, AppConfig> = { demo: demoApp }): Promise<TestWorld> {
    const world = new TestWorld();
    world.dynamo = await startEmbeddedDynamo();
    world.doc = createDocumentClient({ endpoint: world.dynamo.endpoint, local: true });
    const table = `bakery-test-${++tableCount}`;
    await ensureTable(world.doc, table);
    world.store = new Store(world.doc, table, world.clock);
    for (const [app, config] of Object.entries(apps)) await world.store.putAppConfig(app, config);
    return world;
  }

  /** A Bakery replica on this world's table; `onEvent` lets a test act at a chosen moment (a kill). */
  replica(owner = 'replica-a', options: { surface?: ChatSurface; pollIntervalMs?: number; watchMs?: number; clock?: VirtualClock; access?: AccessSettings; onEvent?: (event: RunnerEvent, bakery: Bakery) => void } = {}): Bakery {
    const bakery: Bakery = createBakery({
      store: this.store,
      aws: this.sim.clients(),
      surface: options.surface ?? this.chat,
      clock: options.clock ?? this.clock,
      log: process.env.DEBUG_LOG ? createLogger({ pretty: false, level: 'warn' }) : silentLogger,
      owner,
      leaseMs: 60_000,
      // A look per lease/3, as the heartbeat renews, keeps virtual hours quick; specs of cross-replica latency ask for 1 s, as in production.
      watchMs: options.watchMs ?? 20_000,
      pollIntervalMs: options.pollIntervalMs ?? 15_000,
      // Slack's: the workspace T0HOME, commands in the app's channel (#demo is C0DEMO).
      access: options.access ?? { workspace: 'T0HOME', channels: 'app', channelIds: { '#demo': 'C0DEMO' } },
      onEvent: (event) => {
        this.events.push({ ...event, replica: owner });
        options.onEvent?.(event, bakery);
      },
    });
    this.replicas.push(bakery);
    return bakery;
  }

  command(text: string, overrides: Partial<SlashCommand> = {}): SlashCommand {
    return { command: '/bake', text, user: { id: 'U0ALICE', name: 'alice' }, team: 'T0HOME', channel: 'C0DEMO', channelName: 'demo', requestId: `trigger-${++this.requests}`, ...overrides };
  }

  /** Instances that still cost money: anything not terminated. */
  liveInstances() {
    return this.sim.snapshot().instances.filter((i) => i.state !== 'terminated' && i.state !== 'shutting-down');
  }

  /** Images Bakery made (not the seeded base images). */
  bakedImages() {
    return this.sim.snapshot().images.filter((image) => image.tags['bakery:created-by'] === 'bakery');
  }

  async close(): Promise<void> {
    for (const replica of this.replicas) await replica.runner.stop();
    await this.dynamo.close();
  }
}
