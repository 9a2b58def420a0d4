/*
 * Idle memory and start-to-ready of the compiled build (`node dist/src/main.js`), in production mode
 * (Slack over HTTP to a fake Web API, real AWS clients, DynamoDB in a process of its own) and in local
 * mode (terminal chat, embedded DynamoDB, simulated AWS). The build is made first, so the figures are
 * of the code as it is. Baseline in the same run: a bare Bolt app that only acks, started the same way.
 *
 * Every start is on a store of its own, as a first start is. Such a start catches up the hour's sweep,
 * whose listing loads the EC2 client module (src/aws/clients.ts loads each at its first use); so each
 * mode is also started with the sweep off, for what it holds before it has asked anything of AWS.
 *
 * Run alone: npx tsx bench/idle.ts
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startFakeSlackApi } from '../test/fakes/slack-api.js';
import { createDocumentClient } from '../src/store/dynamo.js';
import { ensureTable } from '../src/store/table.js';
import { startDynamoProcess } from './dynamo-process.js';

const botToken = 'xoxb-0000-idle-bench';
const table = 'bakery-idle-bench';
/** How long a started process is left alone before its resident memory is read. */
const idleMs = 10_000;
const runs = Number(process.env.IDLE_BENCH_RUNS ?? 3);

interface Sample {
  readyMs: number;
  rssMb: number;
}

export async function benchIdle(): Promise<void> {
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  const slack = await startFakeSlackApi({ token: botToken });
  const dynamo = await startDynamoProcess();
  const scratch = mkdtempSync(join(tmpdir(), 'bakery-idle-'));
  const doc = createDocumentClient({ endpoint: dynamo.endpoint, local: true });
  let stores = 0;
  try {
    /** A table (production) and a data folder (local) no start has used. */
    const freshStore = async (): Promise<NodeJS.ProcessEnv> => {
      const name = `${table}-${++stores}`;
      await ensureTable(doc, name);
      return { BAKERY_TABLE: name, BAKERY_DATA_DIR: join(scratch, name) };
    };
    const production = {
      ...process.env,
      SLACK_BOT_TOKEN: botToken,
      SLACK_SIGNING_SECRET: '0123456789abcdef0123456789abcdef',
      SLACK_API_URL: slack.apiUrl,
      PORT: '0',
      BAKERY_AWS: 'real',
      BAKERY_DYNAMODB: 'aws',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDIDLEBENCH',
      AWS_SECRET_ACCESS_KEY: 'idle-bench',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const bareBolt = join(scratch, 'bare-bolt.mjs');
    writeFileSync(
      bareBolt,
      [
        `import bolt from ${JSON.stringify(pathToFileURL(join(process.cwd(), 'node_modules/@slack/bolt/dist/index.js')).href)};`,
        `const app = new bolt.App({ token: process.env.SLACK_BOT_TOKEN, signingSecret: process.env.SLACK_SIGNING_SECRET, clientOptions: { slackApiUrl: process.env.SLACK_API_URL } });`,
        `app.command('/bake', async ({ ack }) => ack());`,
        `await app.start(0);`,
        `console.log('Bakery is listening to Slack');`,
      ].join('\n'),
    );
    const sweepOff = { BAKERY_SWEEP_CRON: 'off' };
    const modes = [
      { name: 'production (Slack HTTP, real AWS clients)', args: ['dist/src/main.js'], env: production, ready: 'Bakery is listening to Slack' },
      { name: '  the same, sweep off: nothing asked of AWS', args: ['dist/src/main.js'], env: { ...production, ...sweepOff }, ready: 'Bakery is listening to Slack' },
      { name: 'local (terminal, embedded DynamoDB, simulator)', args: ['dist/src/main.js'], env: process.env, ready: 'Press a button' },
      { name: '  the same, sweep off: nothing asked of AWS', args: ['dist/src/main.js'], env: { ...process.env, ...sweepOff }, ready: 'Press a button' },
      { name: 'baseline: bare Bolt app (ack only)', args: [bareBolt], env: production, ready: 'Bakery is listening to Slack' },
    ];
    console.log(`Idle memory (resident, after ${idleMs / 1000} s idle) and start to ready, compiled build, median of ${runs} starts`);
    console.log(`${'mode'.padEnd(50)}${'RSS'.padStart(9)}${'ready'.padStart(10)}`);
    for (const mode of modes) {
      const samples: Sample[] = [];
      for (let i = 0; i < runs; i++) samples.push(await startAndMeasure(mode.args, { ...mode.env, ...(await freshStore()) }, mode.ready));
      const rss = median(samples.map((s) => s.rssMb));
      const ready = median(samples.map((s) => s.readyMs));
      console.log(`${mode.name.padEnd(50)}${`${rss.toFixed(0)} MB`.padStart(9)}${`${(ready / 1000).toFixed(2)} s`.padStart(10)}`);
    }
  } finally {
    doc.destroy();
    await slack.close();
    dynamo.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Starts one process, times it to its ready line, leaves it idle, reads its resident memory, stops it. */
async function startAndMeasure(args: string[], env: NodeJS.ProcessEnv, readyLine: string): Promise<Sample> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  try {
    const readyMs = await new Promise<number>((resolve, reject) => {
      let output = '';
      const look = (chunk: Buffer): void => {
        output += chunk.toString();
        if (output.includes(readyLine)) resolve(performance.now() - started);
      };
      child.stdout!.on('data', look);
      child.stderr!.on('data', look);
      child.once('exit', (code) => reject(new Error(`bench: ${args.join(' ')} exited (${code}) before it was ready:\n${output.slice(-2000)}`)));
    });
    await new Promise((resolve) => setTimeout(resolve, idleMs));
    return { readyMs, rssMb: residentMb(child) };
  } finally {
    await stop(child);
  }
}

function residentMb(child: ChildProcess): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchIdle();
}
