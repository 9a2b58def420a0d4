import { commandHandlers, commands } from '../commands/index.js';
import type { AccessSettings } from './access/access.js';
import { meterAwsCalls } from './aws/call-meter.js';
import type { AwsClients } from './aws/clients.js';
import { bakePipeline } from './pipelines/bake/pipeline.js';
import { canaryPipeline } from './pipelines/canary/pipeline.js';
import { rollbackPipeline } from './pipelines/rollback/pipeline.js';
import type { ChatHandlers, ChatSurface } from './chat/surface.js';
import type { Clock } from './clock.js';
import type { Core } from './core.js';
import type { Logger } from './log.js';
import { auditTrail } from './operations/audit.js';
import { ProgressReporter } from './chat/progress.js';
import { OperationRunner, type RunnerEvent } from './operations/runner.js';
import { DigestJob } from './jobs/digest.js';
import { SoakedJob } from './jobs/soaked.js';
import { SweepJob } from './jobs/sweep.js';
import { Retirement } from './retire/retire.js';
import { HomeTab } from './stale/home.js';
import { StaleSurvey } from './stale/survey.js';
import type { Store } from './store/store.js';

export interface BakeryOptions {
  store: Store;
  aws: AwsClients;
  surface: ChatSurface;
  clock: Clock;
  log: Logger;
  /** This replica's name: leases carry it. */
  owner: string;
  leaseMs: number;
  /** How often owners and replicas look for what another replica delivered or gave up (default 1 s); see RunnerOptions. */
  watchMs?: number;
  pollIntervalMs: number;
  access: AccessSettings;
  onEvent?: (event: RunnerEvent) => void;
}

export interface Bakery {
  core: Core;
  runner: OperationRunner;
  handlers: ChatHandlers;
  /** The stale-image digest: main.ts schedules it (src/jobs/schedule.ts). */
  digest: DigestJob;
  /** The sweep of leftovers: main.ts schedules it too. */
  sweep: SweepJob;
  /** The end of each release's soak, said in its thread: main.ts schedules it each minute. */
  soaked: SoakedJob;
}

/** Puts the core together; the same whether it talks to Slack or the terminal, AWS or the simulator. */
export function createBakery(options: BakeryOptions): Bakery {
  const { store, aws, surface, clock, log, owner, leaseMs, watchMs, pollIntervalMs, access, onEvent } = options;
  const metered = meterAwsCalls(aws);
  const survey = new StaleSurvey({ aws: metered, store, clock, log });
  const home = new HomeTab({ survey, chat: surface, clock, log, access });
  const pipelines = {
    bake: bakePipeline({ aws: metered, store, clock, pollIntervalMs }),
    canary: canaryPipeline({ aws: metered, store, clock, pollIntervalMs }),
    rollback: rollbackPipeline({ aws: metered, store, clock, pollIntervalMs }),
  };
  // Threads and the audit trail listen to the runner's events; the runner itself only runs steps.
  const progress = new ProgressReporter({ surface, clock, log, pipelines });
  // An operation's start and end change what the Homes show (what is running, the live release, stale images).
  const refreshHomes = (event: RunnerEvent): void => {
    const started = event.type === 'step-started' && event.operation.steps.length === 1;
    if (started || event.type === 'finished') home.refresh().catch((error: unknown) => log.warn({ err: error }, 'could not refresh the Homes'));
  };
  const runner = new OperationRunner({
    store,
    progress,
    listeners: [progress.listener, auditTrail(store, clock), refreshHomes, ...(onEvent ? [onEvent] : [])],
    clock,
    log,
    owner,
    leaseMs,
    watchMs,
    pipelines,
  });
  const sweep = new SweepJob({ aws: metered, store, clock, log, owner });
  const core: Core = { store, runner, chat: surface, clock, log, access, survey, home, retirement: new Retirement({ aws: metered, store, clock, log }), sweep };
  const digest = new DigestJob({ store, survey, chat: surface, clock, log, owner, retirement: core.retirement });
  return { core, runner, handlers: commandHandlers(core), digest, sweep, soaked: new SoakedJob({ store, runner, clock, log }) };
}

export const commandNames = commands.map((command) => command.name);
