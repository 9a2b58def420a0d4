/*
 * Ack latency: 200 signed slash commands, 50 at a time, through Bakery's Slack receiver and its
 * real handlers (which do their work after the ack) next to a bare Bolt app whose listener only acks. Same machine, same run, same fake
 * Web API — the difference is what Bakery adds on the path to the ack.
 *
 * Run alone: npx tsx bench/ack.ts
 */
import { fork } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { App, LogLevel } from '@slack/bolt';
import pino from 'pino';
import { startSlack } from '../src/chat/slack.js';
import type { ChatHandlers } from '../src/chat/surface.js';
import { commandNames, createBakery } from '../src/bakery.js';
import { startFakeSlackApi } from '../test/fakes/slack-api.js';
import { deliverToSlackEvents } from '../test/fakes/slack-request.js';
import { demoApp } from '../test/support/world.js';
import { startDynamoProcess } from './dynamo-process.js';
import { AwsSimulator, realisticTimings } from '../src/aws/simulator/index.js';
import { systemClock } from '../src/clock.js';
import { silentLogger } from '../src/log.js';
import { createDocumentClient } from '../src/store/dynamo.js';
import { Store } from '../src/store/store.js';
import { ensureTable } from '../src/store/table.js';

const botToken = 'xoxb-0000-bench';
const signingSecret = 'bench-signing-secret';
const total = 200;
const concurrency = 50;
const warmup = 40;

interface Run {
  name: string;
  latencies: number[];
  cpuMs: number;
}

export async function benchAck(): Promise<void> {
  const generator = await startLoadGenerator();
  const bakery = await startBakery(generator.apiUrl, generator.dynamoEndpoint);
  const bare = await startBareBolt(generator.apiUrl);
  try {
    // Warm both (JIT, connection pools) before measuring.
    await generator.load(bakery.port, warmup);
    await generator.load(bare.port, warmup);
    const runs: Run[] = [];
    for (const [name, port] of [['Bakery (real /bake handlers)', bakery.port], ['bare Bolt App (ack only)', bare.port]] as const) {
      const cpu = process.cpuUsage();
      const latencies = await generator.load(port, total);
      // Bakery's post-ack work (its ephemeral answers) is part of its cost: wait for it before reading the CPU.
      if (port === bakery.port) await generator.waitForResponses(warmup + total);
      const used = process.cpuUsage(cpu);
      runs.push({ name, latencies, cpuMs: (used.user + used.system) / 1000 });
    }

    console.log(`Ack latency: ${total} signed slash commands, ${concurrency} in flight, Bolt HTTPReceiver on 127.0.0.1`);
    console.log(`${'receiver'.padEnd(38)}${'p50'.padStart(9)}${'p99'.padStart(9)}${'max'.padStart(9)}${'bot CPU'.padStart(10)}`);
    for (const run of runs) {
      const sorted = [...run.latencies].sort((a, b) => a - b);
      console.log(
        `${run.name.padEnd(38)}${ms(percentile(sorted, 50))}${ms(percentile(sorted, 99))}${ms(sorted.at(-1) ?? 0)}${`${run.cpuMs.toFixed(0)} ms`.padStart(10)}`,
      );
    }
    console.log('(load generator and fake Web API in child processes; bot CPU = the bots\' process, user+system; Slack allows 3000 ms)');
  } finally {
    await bakery.stop();
    await bare.stop();
    generator.stop();
  }
}

/**
 * Bakery as it runs: its real command handlers, with DynamoDB in another process (as the real
 * service is) and the simulated AWS. The first /bake starts a bake; the rest, for the
 * same app, are answered "busy": each a parse, DynamoDB round trips and an ephemeral answer, after the ack.
 */
async function startBakery(apiUrl: string, dynamoEndpoint: string) {
  // Real time, as in production: the bake started by the first command mostly waits on AWS.
  const clock = systemClock;
  const doc = createDocumentClient({ endpoint: dynamoEndpoint, local: true });
  await ensureTable(doc, 'bakery-bench');
  const store = new Store(doc, 'bakery-bench', clock);
  await store.putAppConfig('demo', demoApp);
  let handlers: ChatHandlers | undefined;
  const slack = await startSlack({
    botToken,
    signingSecret,
    port: 0,
    apiUrl,
    handlers: { onCommand: (c) => handlers!.onCommand(c), onButton: (p) => handlers!.onButton(p) },
    log: pino({ level: 'silent' }),
    commands: commandNames,
  });
  const bakery = createBakery({
    store,
    aws: new AwsSimulator({ clock, timings: realisticTimings }).clients(),
    surface: slack.surface,
    clock,
    log: silentLogger,
    owner: 'bench',
    leaseMs: 60_000,
    pollIntervalMs: 15_000,
    access: { workspace: slack.workspace, channels: 'app' },
  });
  handlers = bakery.handlers;
  return {
    port: slack.port,
    async stop() {
      await bakery.runner.stop();
      await slack.stop();
      doc.destroy();
    },
  };
}

async function startBareBolt(apiUrl: string) {
  const app = new App({ token: botToken, signingSecret, logLevel: LogLevel.ERROR, clientOptions: { slackApiUrl: apiUrl } });
  app.command('/bake', async ({ ack }) => {
    await ack();
  });
  const server = (await app.start(0)) as import('node:http').Server;
  const port = (server.address() as import('node:net').AddressInfo).port;
  return { port, stop: () => app.stop() };
}

/** (In the child.) Sends `count` signed commands with `concurrency` in flight; returns each ack's latency. */
async function load(port: number, respondUrl: string, count: number): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const body = new URLSearchParams({
        team_id: 'T0FAKE',
        channel_id: 'C0BENCH',
        channel_name: 'demo',
        user_id: 'U0BENCH',
        user_name: 'bench',
        command: '/bake',
        text: `demo v${i}`,
        response_url: `${respondUrl}${i}`,
        trigger_id: `bench-${port}-${i}-${Math.random()}`,
      }).toString();
      const started = performance.now();
      const response = await deliverToSlackEvents(`http://127.0.0.1:${port}`, body, { secret: signingSecret });
      await response.arrayBuffer();
      latencies.push(performance.now() - started);
      if (response.status !== 200) throw new Error(`bench: ack answered ${response.status}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return latencies;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

function ms(value: number): string {
  return `${value.toFixed(1)} ms`.padStart(9);
}

// ---- The load generator and the fake Web API each run in a child process, so that the bot's event
// ---- loop and CPU are its own, and Bakery's answers to the response_url do not slow the generator.

type Request = { type: 'load'; port: number; count: number; respondUrl: string } | { type: 'responses'; count: number };
type ToChild = Request & { id: number };
type FromChild = { type: 'ready'; apiUrl: string; respondUrl: string } | { type: 'done'; id: number; latencies: number[] };

async function startChild(role: string) {
  // fork() reuses this process's execArgv, so under tsx the child runs this very file as TypeScript.
  const child = fork(fileURLToPath(import.meta.url), [role], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = new Map<number, (latencies: number[]) => void>();
  let lastId = 0;
  const ready = await new Promise<{ apiUrl: string; respondUrl: string }>((resolve, reject) => {
    child.once('error', reject);
    child.on('message', (message: FromChild) => {
      if (message.type === 'ready') resolve(message);
      else waiting.get(message.id)?.(message.latencies);
    });
  });
  return {
    ...ready,
    ask: (message: Request): Promise<number[]> =>
      new Promise((resolve) => {
        const id = ++lastId;
        waiting.set(id, resolve);
        child.send({ ...message, id });
      }),
    stop: () => child.kill(),
  };
}

async function startLoadGenerator() {
  const [fake, generator, dynamo] = await Promise.all([startChild(fakeRole), startChild(loadRole), startDynamoProcess()]);
  return {
    apiUrl: fake.apiUrl,
    dynamoEndpoint: dynamo.endpoint,
    load: (port: number, count: number) => generator.ask({ type: 'load', port, count, respondUrl: fake.respondUrl }),
    waitForResponses: (count: number) => fake.ask({ type: 'responses', count }),
    stop: () => {
      fake.stop();
      generator.stop();
      dynamo.stop();
    },
  };
}

async function runChild(role: string): Promise<void> {
  const fake = role === fakeRole ? await startFakeSlackApi({ token: botToken }) : undefined;
  process.on('message', (message: ToChild) => {
    const done = (latencies: number[]): void => void process.send?.({ type: 'done', id: message.id, latencies } satisfies FromChild);
    if (message.type === 'load') void load(message.port, message.respondUrl, message.count).then(done);
    else void fake?.waitFor(() => fake.responses.length >= message.count, 10_000).catch(() => undefined).then(() => done([]));
  });
  process.send?.({ type: 'ready', apiUrl: fake?.apiUrl ?? '', respondUrl: fake?.respondUrl ?? '' } satisfies FromChild);
}

const fakeRole = '--ack-bench-fake-slack';
const loadRole = '--ack-bench-load';
const role = process.argv.find((arg) => arg === fakeRole || arg === loadRole);
if (role) {
  await runChild(role);
} else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchAck();
}
