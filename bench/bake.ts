/*
 * One bake in the simulator, on virtual time: how many AWS calls it makes and how much CPU the bot
 * spends on it. DynamoDB runs in its own process, as the real service would; the simulated AWS
 * answers in-process, so its (small) share is included in the figure.
 */
import { pathToFileURL } from 'node:url';
import { AwsSimulator, realisticTimings } from '../src/aws/simulator/index.js';
import { createBakery } from '../src/bakery.js';
import { VirtualClock } from '../src/clock.js';
import { silentLogger } from '../src/log.js';
import { createDocumentClient } from '../src/store/dynamo.js';
import { Store } from '../src/store/store.js';
import { ensureTable } from '../src/store/table.js';
import { RecordingChat } from '../test/support/recording-chat.js';
import { demoApp } from '../test/support/world.js';
import { startDynamoProcess } from './dynamo-process.js';

export async function benchBake(): Promise<void> {
  const dynamo = await startDynamoProcess();
  const doc = createDocumentClient({ endpoint: dynamo.endpoint, local: true });
  try {
    const clock = new VirtualClock();
    const started = clock.now();
    await ensureTable(doc, 'bakery-bench');
    const store = new Store(doc, 'bakery-bench', clock);
    await store.putAppConfig('demo', demoApp);
    const simulator = new AwsSimulator({ clock, timings: realisticTimings });
    const chat = new RecordingChat();
    const bakery = createBakery({ store, aws: simulator.clients(), surface: chat, clock, log: silentLogger, owner: 'bench', leaseMs: 60_000, pollIntervalMs: 15_000, access: { workspace: 'T0BENCH', channels: 'app', channelIds: { '#demo': 'C0BENCH' } } });

    const cpuBefore = process.cpuUsage();
    const wallBefore = performance.now();
    await bakery.handlers.onCommand({ command: '/bake', text: 'demo v1', user: { id: 'U0BENCH', name: 'bench' }, team: 'T0BENCH', channel: 'C0BENCH', channelName: 'demo', requestId: 'bench-1' });
    await bakery.runner.idle();
    const cpu = process.cpuUsage(cpuBefore);
    const wall = performance.now() - wallBefore;
    if (!(await store.getRelease('demo', 'v1'))) throw new Error('the benchmark bake did not finish');

    const calls = simulator.calls();
    const byCommand = new Map<string, number>();
    for (const call of calls) byCommand.set(call.command, (byCommand.get(call.command) ?? 0) + 1);
    console.log('\n## One simulated bake (home region + 1 copy, 1 shared account; realistic AWS timings, 15 s first poll interval)');
    console.log(`AWS calls:         ${calls.length}  (${[...byCommand].map(([command, n]) => `${command} ${n}`).join(', ')})`);
    console.log(`Slack messages:    ${chat.roots.length} root, ${chat.roots[0]?.replies.length ?? 0} replies, ${chat.roots[0]?.updates ?? 0} root updates`);
    console.log(`simulated time:    ${((clock.now() - started) / 60_000).toFixed(1)} min of AWS work`);
    console.log(`bot CPU:           ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms user+system (DynamoDB in its own process; the in-process AWS simulator included)`);
    console.log(`wall time:         ${wall.toFixed(0)} ms on virtual time`);
  } finally {
    doc.destroy();
    dynamo.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await benchBake();
