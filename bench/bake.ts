/*
 * One bake in the simulator, on virtual time: how many AWS calls it makes, how many DynamoDB
 * requests, and how much CPU this process spends on it (the bot, plus the in-process simulator and
 * embedded DynamoDB it talks to; the figure is an upper bound of the bot's own share).
 */
import { pathToFileURL } from 'node:url';
import { TestWorld } from '../test/support/world.js';

export async function benchBake(): Promise<void> {
  const world = await TestWorld.create();
  try {
    const bakery = world.replica();
    // Warm up module loading and the first connections, so the figure is the bake's own.
    await world.store.listAppConfigs();
    const cpuBefore = process.cpuUsage();
    const wallBefore = performance.now();
    await bakery.handlers.onCommand(world.command('demo v1'));
    await bakery.runner.idle();
    const cpu = process.cpuUsage(cpuBefore);
    const wall = performance.now() - wallBefore;
    const release = await world.store.getRelease('demo', 'v1');
    if (!release) throw new Error('the benchmark bake did not finish');

    const calls = world.sim.calls();
    const byCommand = new Map<string, number>();
    for (const call of calls) byCommand.set(call.command, (byCommand.get(call.command) ?? 0) + 1);
    const virtualMinutes = (world.clock.now() - Date.parse('2026-01-01T12:00:00Z')) / 60_000;

    console.log('\n## One simulated bake (home region + 1 copy, 1 shared account; realistic AWS timings, 15 s polls)');
    console.log(`AWS calls:         ${calls.length}  (${[...byCommand].map(([command, n]) => `${command} ${n}`).join(', ')})`);
    console.log(`simulated time:    ${virtualMinutes.toFixed(1)} min of AWS work`);
    console.log(`CPU (user+system): ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms  (bot + in-process simulator + embedded DynamoDB)`);
    console.log(`wall time:         ${wall.toFixed(0)} ms`);
  } finally {
    await world.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await benchBake();
