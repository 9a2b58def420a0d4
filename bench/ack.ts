/*
 * Ack latency: 200 signed slash commands, 50 at a time, through Bakery's Slack receiver and its
 * real handlers (which do their work after the ack), next to two bare Bolt apps: one that acks and
 * answers on the response_url (the least a bot that answers does) and one that only acks. Same
 * machine, same fake Web API, in interleaved rounds; each figure is the median of the rounds'.
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
const rounds = Number(process.env.ACK_BENCH_ROUNDS ?? 5);

interface Run {
  name: string;
  latencies: number[];
  cpuMs: number;
}

export async function benchAck(): Promise<void> {
  const generator = await startLoadGenerator();
  const bakery = await startBakery(generator.apiUrl, generator.dynamoEndpoint);
  const ackOnly = await startBareBolt(generator.apiUrl, 'ack');
  const answering = await startBareBolt(generator.apiUrl, 'answer');
  const receivers = [
    { name: 'Bakery (real /bake handlers)', port: bakery.port, answers: true },
    { name: 'bare Bolt App, ack + response_url', port: answering.port, answers: true },
    { name: 'bare Bolt App, ack only', port: ackOnly.port, answers: false },
  ];
  const runs = receivers.map((receiver) => ({ ...receiver, p50s: [] as number[], p99s: [] as number[], cpuMs: [] as number[] }));
  let answered = 0;
  const measure = async (run: (typeof runs)[number], count: number): Promise<number[]> => {
    const latencies = await generator.load(run.port, count);
    // A receiver's post-ack work (its answer on the response_url) is part of its cost: wait for it.
    if (run.answers) {
      answered += count;
      await generator.waitForResponses(answered);
    }
    return latencies;
  };
  try {
    // Warm every receiver (JIT, connection pools) before measuring.
    for (const run of runs) await measure(run, warmup);
    // Interleaved rounds, each starting with a different receiver, so that neither a quiet start nor a
    // busy moment of the shared machine falls on one receiver alone.
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < runs.length; i++) {
        const run = runs[(round + i) % runs.length]!;
        const cpu = process.cpuUsage();
        const sorted = (await measure(run, total)).sort((a, b) => a - b);
        const used = process.cpuUsage(cpu);
        run.p50s.push(percentile(sorted, 50));
        run.p99s.push(percentile(sorted, 99));
        run.cpuMs.push((used.user + used.system) / 1000);
      }
    }

    console.log(`Ack latency: ${rounds} interleaved rounds of ${total} signed slash commands, ${concurrency} in flight, Bolt HTTPReceiver on 127.0.0.1`);
    console.log(`${'receiver'.padEnd(40)}${'p50'.padStart(9)}${'p99'.padStart(9)}${'p99 range'.padStart(20)}${'bot CPU'.padStart(10)}`);
    for (const run of runs) {
      const range = `${Math.min(...run.p99s).toFixed(0)}–${Math.max(...run.p99s).toFixed(0)} ms`;
      console.log(`${run.name.padEnd(40)}${ms(median(run.p50s))}${ms(median(run.p99s))}${range.padStart(20)}${`${median(run.cpuMs).toFixed(0)} ms`.padStart(10)}`);
    }
    const floor = median(runs[1]!.p99s);
    console.log(`Bakery's p99 is ${(median(runs[0]!.p99s) / floor).toFixed(2)}× the p99 of a bare app that acks and answers (medians over the rounds)`);
    console.log('(load generator and fake Web API in child processes; bot CPU = the bots\' process, user+system, per round; Slack allows 3000 ms)');
  } finally {
    await bakery.stop();
    await ackOnly.stop();
    await answering.stop();
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
    access: { workspace: slack.workspace, channels: 'app', channelIds: { '#demo': 'C0BENCH' } },
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

/** A bare Bolt app: one that only acks, or one that acks and answers on the response_url (the least any answering bot does). */
async function startBareBolt(apiUrl: string, does: 'ack' | 'answer') {
  const app = new App({ token: botToken, signingSecret, logLevel: LogLevel.ERROR, clientOptions: { slackApiUrl: apiUrl } });
  app.command('/bake', async ({ ack, respond }) => {
    await ack();
    if (does === 'answer') await respond({ response_type: 'ephemeral', text: 'busy: a bake of demo is under way' });
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

function median(values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

function ms(value: number): string {
  return `${value.toFixed(1)} ms`.padStart(11);
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
