/*
 * npm run bench: every figure the README quotes, measured in one run on this machine, each beside
 * its baseline. Figures vary with the machine's load; compare within a run.
 */
import { benchAck } from './ack.js';
import { benchBake } from './bake.js';
import { benchCanary } from './canary.js';
import { benchIdle } from './idle.js';
import { benchJudge } from './judge.js';
import { benchStale } from './stale.js';

console.log(`# Bakery bench — ${new Date().toISOString()}, Node ${process.version}`);
await benchAck();
await benchBake();
await benchCanary();
await benchJudge();
await benchStale();
await benchIdle();
