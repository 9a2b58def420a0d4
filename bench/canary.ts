/*
 * The release lifecycle's costs, each beside its baseline from the same run:
 * 1. one 30-minute canary of demo v1 (1-minute interval, the 3 metrics of test/support/lifecycle.ts)
 *    in the simulator on virtual time: AWS calls by API and bot CPU, up to the approval request,
 *    beside a reader that makes one GetMetricData per series per group per interval;
 * 2. the wall-clock time from a Promote press to StartInstanceRefresh, when the replica running the
 *    canary takes the press, beside the same press taken by another replica (the owner sees it at
 *    its next look at the item, every watchMs), and what those looks cost in DynamoDB reads.
 * DynamoDB runs in its own process, as the real service would; the simulated AWS answers in-process.
 *
 * Run alone: npx tsx bench/canary.ts
 */
import { pathToFileURL } from 'node:url';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { readSeries } from '../src/aws/metrics.js';
import { AwsSimulator, realisticTimings } from '../src/aws/simulator/index.js';
import { createBakery, type Bakery } from '../src/bakery.js';
import type { ButtonPress, SlashCommand } from '../src/chat/surface.js';
import type { ChatUser } from '../src/message.js';
import { VirtualClock, type Clock } from '../src/clock.js';
import type { FleetAppConfig } from '../src/config/apps.js';
import type { RunnerEvent } from '../src/operations/runner.js';
import { silentLogger } from '../src/log.js';
import { requestRef } from '../src/pipelines/canary/approval.js';
import { queriesOf } from '../src/pipelines/canary/judging.js';
import { canaryState } from '../src/pipelines/canary/state.js';
import { createDocumentClient } from '../src/store/dynamo.js';
import { keys, Store } from '../src/store/store.js';
import { ensureTable } from '../src/store/table.js';
import { alice, bob, releaseApp } from '../test/support/lifecycle.js';
import { RecordingChat } from '../test/support/recording-chat.js';
import { startDynamoProcess } from './dynamo-process.js';
import { median } from './judge.js';
import { VirtualThenRealClock } from './virtual-then-real-clock.js';

const region = 'us-east-1';
const leaseMs = 60_000; // BAKERY_LEASE_SECONDS' default
const watchMs = 1_000; // the runner's default: how often an owner looks at its running operations' items
const pollIntervalMs = 15_000; // BAKERY_POLL_SECONDS' default outside local mode
/** Presses timed per path (each on a canary of its own app). */
const PRESSES = 5;

export async function benchCanary(): Promise<void> {
  const dynamo = await startDynamoProcess();
  const doc = createDocumentClient({ endpoint: dynamo.endpoint, local: true });
  try {
    await benchWindow(doc);
    await benchPromotePress(doc);
  } finally {
    doc.destroy();
    dynamo.stop();
  }
}

type Doc = ReturnType<typeof createDocumentClient>;

/** A Bakery replica that tells `onEvent` how its runs get on. */
function replica(world: { store: Store; sim: AwsSimulator; chat: RecordingChat; clock: Clock }, owner: string, onEvent?: (event: RunnerEvent) => void): Bakery {
  return createBakery({
    store: world.store,
    aws: world.sim.clients(),
    surface: world.chat,
    clock: world.clock,
    log: silentLogger,
    owner,
    leaseMs,
    watchMs,
    pollIntervalMs,
    // Bench commands come from the app's own channel, as the access model asks.
    access: { workspace: 'T0BENCH', channels: 'app', channelIds: { '#demo': 'C0DEMO' } },
    onEvent,
  });
}

const waitsForApproval = (event: RunnerEvent): boolean => event.type === 'step-waiting' && event.step === 'approval';

function command(name: '/bake' | '/canary', text: string, channel: string, user: ChatUser = alice): SlashCommand {
  return { command: name, text, user, team: 'T0BENCH', channel, channelName: channel.slice(2).toLowerCase(), requestId: `bench-${name}-${text}-${Math.random()}` };
}

async function deployOperation(store: Store, app: string) {
  const lock = await store.getLock(app, 'deploy');
  const operation = lock && (await store.getOperation(lock.operationId));
  if (!operation) throw new Error(`bench: ${app} has no canary running`);
  return { operation, state: canaryState.parse(operation.state) };
}

// ---- 1. One 30-minute canary window.

async function benchWindow(doc: Doc): Promise<void> {
  const clock = new VirtualClock();
  const table = 'bakery-bench-canary';
  await ensureTable(doc, table);
  const store = new Store(doc, table, clock);
  const app = releaseApp();
  await store.putAppConfig('demo', app);
  const sim = new AwsSimulator({ clock, timings: realisticTimings });
  sim.seedFleet({ region, app: 'demo' });
  const chat = new RecordingChat();
  let asked!: (at: { clock: number; cpu: NodeJS.CpuUsage; wall: number }) => void;
  const approvalAsked = new Promise<{ clock: number; cpu: NodeJS.CpuUsage; wall: number }>((resolve) => (asked = resolve));
  const bakery = replica({ store, sim, chat, clock }, 'bench', (event) => {
    if (waitsForApproval(event)) asked({ clock: clock.now(), cpu: process.cpuUsage(), wall: performance.now() });
  });

  await bakery.handlers.onCommand(command('/bake', 'demo v1', 'C0DEMO'));
  await bakery.runner.idle();

  const callsBefore = sim.calls().length;
  const started = clock.now();
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  await bakery.handlers.onCommand(command('/canary', 'demo v1', 'C0DEMO'));
  const at = await approvalAsked;
  const calls = sim.calls().slice(callsBefore).filter((call) => call.at <= at.clock);
  const { state } = await deployOperation(store, 'demo');
  await bakery.runner.stop();

  const deploy = app.deploy!;
  const window = state.window!;
  const intervals = window.periods;
  const byCommand = countBy(calls.map((call) => call.command));
  const reads = byCommand.get('GetMetricData') ?? 0;
  const groups = { baseline: { group: state.live!.name }, canary: { group: state.canaryGroup! } };
  const queries = queriesOf(deploy, groups);
  const naiveReads = queries.length * intervals;

  // Both readers run over the same window on the same simulator, for what the reads cost the bot.
  const periodMs = deploy.canary.interval;
  const interval = (i: number) => ({ start: window.start + i * periodMs, end: window.start + (i + 1) * periodMs, periodMs });
  const bakeryReads = await cpuOf(async () => {
    for (let i = 0; i < intervals; i++) await readSeries(sim.clients(), region, queries.map((q) => q.query), interval(i));
  });
  const naive = await cpuOf(async () => {
    for (let i = 0; i < intervals; i++) for (const { query } of queries) await readSeries(sim.clients(), region, [query], interval(i));
  });

  console.log(`\n## One simulated canary of demo v1 (${deploy.canary.duration / 60_000} min, ${periodMs / 60_000}-minute interval, ${deploy.metrics.length} metrics, 1 canary instance beside 3 live; realistic AWS timings, virtual time)`);
  console.log(`judged:            ${intervals} intervals, verdict ${state.verdict?.outcome} at minute ${state.verdict?.minute}; ${((at.clock - started) / 60_000).toFixed(1)} simulated min from /canary to the approval request`);
  console.log(`GetMetricData:     ${reads} calls for ${intervals} intervals (${queries.length} series of both groups in each)   naive, one per series per group per interval: ${naiveReads}`);
  console.log(`AWS calls:         ${calls.length}  (${[...byCommand].map(([name, n]) => `${name} ${n}`).join(', ')})   naive: ${calls.length - reads + naiveReads}`);
  console.log(`bot CPU:           ${ms(diff(at.cpu, cpuBefore))} user+system, /canary to the approval request (wall ${(at.wall - wallBefore).toFixed(0)} ms on virtual time)`);
  console.log(`metric reads only: ${ms(bakeryReads)} CPU for Bakery's ${intervals} calls   naive, run on the same window: ${ms(naive)} for ${naiveReads} calls`);
  console.log('(naive counts are computed from this run\'s intervals and series; the naive reads\' CPU is measured by running them; DynamoDB in its own process, the in-process AWS simulator included)');
}

// ---- 2. From a Promote press to the instance refresh.

/**
 * Canaries of PRESSES × 2 apps, each run by a replica of its own (so no two share Slack's pacing),
 * reach their approval request on virtual time; then the clock turns real and each is pressed once:
 * half on the replica running it, half on a bystander replica.
 */
async function benchPromotePress(doc: Doc): Promise<void> {
  const clock = new VirtualThenRealClock();
  const table = 'bakery-bench-promote';
  await ensureTable(doc, table);
  const store = new Store(doc, table, clock);
  const sim = new AwsSimulator({ clock, timings: realisticTimings });
  const chat = new RecordingChat();
  const world = { store, sim, chat, clock };

  const refreshSent = new Map<string, number>();
  const refreshWaiters = new Map<string, () => void>();
  watchRefreshes(await sim.clients().autoScaling(region), (group) => {
    refreshSent.set(group, performance.now());
    refreshWaiters.get(group)?.();
  });

  const apps = Array.from({ length: PRESSES * 2 }, (_, i) => `demo${i + 1}`);
  const asked = new Map<string, () => void>();
  const owners = new Map<string, Bakery>();
  /** When each canary's approval step ended (its "Approved by" shown), on the wall clock. */
  const approved = new Map<string, number>();
  const approvals: Promise<void>[] = [];
  for (const app of apps) {
    await store.putAppConfig(app, fleetApp(app));
    sim.seedFleet({ region, app });
    approvals.push(new Promise<void>((resolve) => asked.set(app, resolve)));
    owners.set(app, replica(world, `owner-${app}`, (event) => {
      if (waitsForApproval(event)) asked.get(app)?.();
      if (event.type === 'step-finished' && event.step === 'approval') approved.set(app, performance.now());
    }));
  }
  const bystander = replica(world, 'bystander');

  await Promise.all(apps.map(async (app) => {
    const owner = owners.get(app)!;
    await owner.handlers.onCommand(command('/bake', `${app} v1`, channelOf(app)));
    await owner.runner.idle();
    await owner.handlers.onCommand(command('/canary', `${app} v1`, channelOf(app)));
  }));
  await Promise.all(approvals);
  clock.goReal();

  async function press(app: string, on: Bakery): Promise<Press> {
    const { operation, state } = await deployOperation(store, app);
    const sent = new Promise<void>((resolve) => refreshWaiters.set(`${app}-live`, resolve));
    const value = `${operation.id}.${state.approvalRequest!.key}`;
    const ref = requestRef(operation, state.approvalRequest!)!;
    const pressed: ButtonPress = { actionId: 'release.promote', value, user: bob, team: 'T0BENCH', channel: channelOf(app), channelName: app, message: { ...ref, ephemeral: false }, requestId: `bench-press-${app}` };
    const before = performance.now();
    const answer = await on.handlers.onButton(pressed);
    const returned = performance.now();
    if (!answer?.text.startsWith('Promoting')) {
      const failed = operation.steps.filter((step) => step.status === 'failed').map((step) => `${step.name}: ${step.detail ?? ''}`);
      throw new Error(`bench: the press on ${app} answered "${answer?.text}" (${operation.status}; ${failed.join('; ') || 'no step failed'})`);
    }
    await sent;
    const refresh = refreshSent.get(`${app}-live`)!;
    return { handler: returned - before, toRefresh: refresh - returned, afterApproval: refresh - approved.get(app)! };
  }

  // Same replica: one press at a time, so each is timed alone.
  const same: Press[] = [];
  for (const app of apps.slice(0, PRESSES)) same.push(await press(app, owners.get(app)!));
  // Another replica: each waits for its owner's next look at the item. The owners' looks may keep
  // step (their canaries ran together), so the presses are spread evenly over one look's period.
  const other = await Promise.all(
    apps.slice(PRESSES).map(async (app, i) => {
      await clock.sleep((i * watchMs) / PRESSES);
      return press(app, bystander);
    }),
  );
  // What the looks cost: one eventually consistent GetItem per watchMs per running operation, billed
  // on the whole item (half a read unit per 4 KB, rounded up), whatever the projection returns.
  const item = (await doc.send(new GetCommand({ TableName: table, Key: keys.operation((await deployOperation(store, apps[0]!)).operation.id) }))).Item ?? {};
  const itemBytes = Buffer.byteLength(JSON.stringify(item));
  const readsPerHour = 3_600_000 / watchMs;
  const unitsPerHour = readsPerHour * 0.5 * Math.ceil(itemBytes / 4096);

  for (const bakery of [...owners.values(), bystander]) await bakery.runner.stop();

  console.log(`\n## Promote press → StartInstanceRefresh (wall clock, real time; ${PRESSES} presses per path, leaseMs ${leaseMs / 1000} s, Slack = an in-process recording chat)`);
  console.log(`${'who takes the press'.padEnd(46)}${'handler'.padStart(10)}${'→ refresh p50'.padStart(15)}${'max'.padStart(10)}${'approved → refresh'.padStart(20)}`);
  for (const [name, runs] of [['the replica running the canary (wakes it)', same], [`another replica (owner's look, every ${watchMs / 1000} s)`, other]] as const) {
    const handler = median(runs.map((r) => r.handler));
    const toRefresh = runs.map((r) => r.toRefresh).sort((a, b) => a - b);
    console.log(`${name.padEnd(46)}${`${handler.toFixed(0)} ms`.padStart(10)}${`${median(toRefresh).toFixed(0)} ms`.padStart(15)}${`${toRefresh.at(-1)!.toFixed(0)} ms`.padStart(10)}${`${median(runs.map((r) => r.afterApproval)).toFixed(0)} ms`.padStart(20)}`);
  }
  console.log('(handler = the button handler, press to decision written and returned; → refresh = from its return to StartInstanceRefresh being sent;');
  console.log(' approved → refresh = from the approval step ending, its "Approved by" shown, to the same call: p50)');
  console.log(`DynamoDB for those looks: ${readsPerHour} eventually consistent GetItem an hour per running operation = ${unitsPerHour} read units an hour for a canary's item of ~${(itemBytes / 1024).toFixed(1)} KB (JSON size); the lease renewals stay ${3_600_000 / (leaseMs / 3)} writes an hour`);
}

/** releaseApp()'s deploy section pointed at `<app>`'s seeded fleet. */
interface Press {
  handler: number;
  toRefresh: number;
  /** From the end of the approval step (its message updated) to the refresh. */
  afterApproval: number;
}

function fleetApp(app: string): FleetAppConfig {
  const config = releaseApp();
  const deploy = config.deploy!;
  return { ...config, channel: channelOf(app), deploy: { ...deploy, group: `${app}-live`, launchTemplate: app, rolling: { ...deploy.rolling, alarms: [`${app}-5xx-high`] } } };
}

function channelOf(app: string): string {
  return `C0${app.toUpperCase()}`;
}

/** Calls `sent` with the group's name whenever a StartInstanceRefresh leaves this client. */
function watchRefreshes(client: AutoScalingClient, sent: (group: string) => void): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'StartInstanceRefreshCommand') sent(String((args.input as { AutoScalingGroupName?: string }).AutoScalingGroupName));
      return next(args);
    },
    { step: 'initialize', name: 'benchRefreshWatch' },
  );
}

async function cpuOf(work: () => Promise<void>): Promise<NodeJS.CpuUsage> {
  const before = process.cpuUsage();
  await work();
  return process.cpuUsage(before);
}

function countBy(values: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

function diff(after: NodeJS.CpuUsage, before: NodeJS.CpuUsage): NodeJS.CpuUsage {
  return { user: after.user - before.user, system: after.system - before.system };
}

function ms(cpu: NodeJS.CpuUsage): string {
  return `${((cpu.user + cpu.system) / 1000).toFixed(0)} ms`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await benchCanary();
