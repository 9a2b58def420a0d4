import { hostname, userInfo } from 'node:os';
import { ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { join } from 'node:path';
import { realAwsClients, type AwsClients } from './aws/clients.js';
import type { AccessSettings } from './access/access.js';
import { resolveAppChannels } from './access/channel-presence.js';
import { commandNames, createBakery } from './bakery.js';
import type { ChatHandlers, ChatSurface } from './chat/surface.js';
import { systemClock } from './clock.js';
import { ConfigError, loadAppsFile, type AppConfig } from './config/apps.js';
import { EnvError, readSettings, type Settings } from './config/env.js';
import { createLogger, type Logger } from './log.js';
import { assertUserDataFits } from './pipelines/bake/user-data.js';
import { createDocumentClient } from './store/dynamo.js';
import { Store } from './store/store.js';
import { ensureTable } from './store/table.js';
import { scheduleJob } from './jobs/schedule.js';
import { soakLookSchedule } from './config/schedule.js';

/** Who you are in the terminal chat; config/apps.example.yml names this id as the demo app's approver. */
const LOCAL_USER_ID = 'U0LOCAL';

/**
 * Starts Bakery: Slack with real AWS in production, or the terminal chat on a simulated world locally.
 * Each mode's pieces (Slack or the terminal, the simulator, the embedded store) are imported only in the
 * mode that uses them, so a production replica does not carry the simulator (bench/README.md, idle memory).
 */
async function main(): Promise<void> {
  const settings = readSettings(process.env);
  const log = createLogger({ pretty: settings.logFormat === 'pretty', level: settings.logLevel, file: settings.logFile });
  keepRunningOnStrayErrors(log);
  logProcessWarnings(log);

  const apps = await loadAppsFile(settings.appsFile);
  assertUserDataFits(settings.appsFile, apps);
  const { store, closeStore } = await openStore(settings);
  await applyAppConfigs(store, apps, settings.table);
  log.info({ apps: Object.keys(apps), file: settings.appsFile }, 'app configs applied');

  const simulated = settings.aws === 'simulated' ? await simulatedAws(settings, apps, log) : undefined;
  const aws = simulated?.clients ?? realAwsClients();

  // The chat is up before the core exists (the core posts through it), so its handlers are bound late.
  let handlers: ChatHandlers | undefined;
  const lateHandlers: ChatHandlers = {
    answerAtOnce: (command) => handlers?.answerAtOnce?.(command),
    onCommand: async (command) => (handlers ? handlers.onCommand(command) : { text: 'Bakery is still starting; try again in a moment.' }),
    onButton: async (press) => (handlers ? handlers.onButton(press) : { text: 'Bakery is still starting; try again in a moment.' }),
  };
  const chat = await openChat(settings, lateHandlers, log, simulated?.withCommand);
  // Before the first request is taken: an app's channel is matched by the id its #name had now.
  // Said at start, not at the first bake: an app whose channel Bakery is not in cannot hear from it.
  const channelIds = await resolveAppChannels(chat.surface, apps, log);

  const bakery = createBakery({
    store,
    aws,
    surface: chat.surface,
    clock: systemClock,
    log,
    // Locally there is one replica: a restart takes its own operations back at once instead of waiting out the lease.
    owner: settings.replica ?? (settings.local ? 'local' : `${hostname()}-${process.pid}`),
    leaseMs: settings.leaseMs,
    pollIntervalMs: settings.pollIntervalMs,
    access: { ...chat.access, channelIds },
  });
  handlers = bakery.handlers;
  bakery.runner.watch();
  // Every replica schedules the digest; the slot's mark lets exactly one of them post it.
  const digest = settings.digest ? scheduleJob('digest', settings.digest, systemClock, log, (slot) => bakery.digest.postSlot(slot)) : undefined;
  // The sweep likewise: one replica per slot removes what ended operations left behind.
  const sweep = settings.sweep ? scheduleJob('sweep', settings.sweep, systemClock, log, (slot) => bakery.sweep.runSlot(slot)) : undefined;
  // Each minute every replica looks for soaks that ended; the outbox's conditional write lets one of them say each.
  const soaked = scheduleJob('soak', soakLookSchedule, systemClock, log, () => bakery.soaked.announce());

  let stopping = false;
  const shutdown = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await digest?.stop();
    await sweep?.stop();
    await soaked.stop();
    await bakery.runner.stop({ handOver: true });
    await chat.stop();
    await closeStore();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
  void chat.done.then(shutdown);
}

/**
 * The simulated AWS of local mode, in the data folder, with the faults BAKERY_SIM_FAULTS asks for this
 * run, and a live fleet for each app's environments to deploy to (seeded once; see src/aws/simulator/local-fleets.ts);
 * and `/sim`, for the terminal to change the simulated world while Bakery runs.
 */
async function simulatedAws(
  settings: Settings,
  apps: Record<string, AppConfig>,
  log: Logger,
): Promise<{ clients: AwsClients; withCommand(handlers: ChatHandlers): ChatHandlers }> {
  const { AwsSimulator, fastTimings } = await import('./aws/simulator/index.js');
  const { seedLocalFleets } = await import('./aws/simulator/local-fleets.js');
  const { withSimulatorCommand } = await import('./aws/simulator/local-command.js');
  const simulator = new AwsSimulator({ clock: systemClock, timings: fastTimings, dataFile: join(settings.dataDir, 'aws-simulator.json') });
  simulator.clearFaults();
  for (const fault of settings.simulatedFaults) simulator.inject(fault);
  for (const { app, environment, reason } of seedLocalFleets(simulator, apps).unseeded) log.warn({ app, environment }, `no simulated fleet for this app: ${reason}`);
  return { clients: simulator.clients(), withCommand: (handlers) => withSimulatorCommand(handlers, simulator) };
}

/** Writes the apps file's configs to the table; a missing table says how to create it. */
async function applyAppConfigs(store: Store, apps: Record<string, AppConfig>, table: string): Promise<void> {
  try {
    for (const [app, config] of Object.entries(apps)) await store.putAppConfig(app, config);
  } catch (error) {
    if (error instanceof ResourceNotFoundException) throw new ConfigError(`DynamoDB table "${table}" does not exist here; create it once with: npm run create-table`);
    throw error;
  }
}

async function openStore(settings: Settings): Promise<{ store: Store; closeStore: () => Promise<void> }> {
  if (settings.dynamodb === 'embedded') {
    const { startEmbeddedDynamo } = await import('./store/embedded.js');
    const embedded = await startEmbeddedDynamo({ dataDir: join(settings.dataDir, 'dynamodb') });
    const doc = createDocumentClient({ endpoint: embedded.endpoint, local: true });
    await ensureTable(doc, settings.table);
    return { store: new Store(doc, settings.table, systemClock), closeStore: () => embedded.close() };
  }
  const doc = createDocumentClient();
  return { store: new Store(doc, settings.table, systemClock), closeStore: async () => doc.destroy() };
}

interface OpenChat {
  surface: ChatSurface;
  access: AccessSettings;
  done: Promise<void>;
  stop(): Promise<void>;
}

/** `localCommands`: what the terminal answers besides Bakery's commands (the simulator's `/sim`). */
async function openChat(settings: Settings, handlers: ChatHandlers, log: Logger, localCommands?: (handlers: ChatHandlers) => ChatHandlers): Promise<OpenChat> {
  if (settings.slack) {
    const { startSlack } = await import('./chat/slack.js');
    const slack = await startSlack({ ...settings.slack, port: settings.port, handlers, log, commands: commandNames });
    log.info({ port: slack.port, socketMode: Boolean(settings.slack.appToken) }, 'Bakery is listening to Slack');
    return { surface: slack.surface, access: { workspace: slack.workspace, channels: 'app' }, done: new Promise(() => undefined), stop: () => slack.stop() };
  }
  const { startTerminal } = await import('./chat/terminal.js');
  const user = userInfo().username.replace(/[^\w.-]/g, '') || 'you';
  // The terminal is one person in one channel of a workspace of its own; the id is the one the example config names.
  const terminal = startTerminal({
    handlers: localCommands ? localCommands(handlers) : handlers,
    input: process.stdin,
    output: process.stdout,
    // A Slack-shaped id, so the demo app's config can name the local user as its approver.
    user: { id: LOCAL_USER_ID, name: user },
    team: 'local',
    channel: 'local',
    dataDir: settings.dataDir,
    banner: [
      'Bakery — local mode: a terminal chat, an embedded DynamoDB and a simulated AWS.',
      `State is kept in ${settings.dataDir}/ (delete it to start afresh); the log goes to ${settings.logFile}.`,
      'Try:  /bake demo v1   then  /canary demo v1   (Promote when the table passes),  /releases demo,  /rollback demo.',
      'Environments:  /bake demo-envs v1  then  /canary demo-envs v1  (staging); 2 min after it is live there, its thread has Canary in production.',
      'Stale images:  /sim publish-base  (Amazon publishes a newer base in the simulated AWS), then  /bakery digest  and press Rebake.',
      'Press a button by typing its number. quit (or Ctrl-D) leaves.',
    ],
  });
  return { surface: terminal.surface, access: { workspace: 'local', channels: 'any' }, done: terminal.done, stop: async () => undefined };
}

/** Node's warnings (the AWS SDK's about Node versions, say) go to the log like any other line, not to the terminal's chat. */
function logProcessWarnings(log: Logger): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning) => log.warn({ warning: { name: warning.name, message: warning.message } }, 'process warning'));
}

/** A stray error from a malformed request must not take every running bake down with it. */
function keepRunningOnStrayErrors(log: Logger): void {
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled rejection (kept running)'));
  process.on('uncaughtException', (error) => log.error({ err: error }, 'uncaught exception (kept running)'));
}

main().catch((error: unknown) => {
  if (error instanceof EnvError || error instanceof ConfigError) {
    process.stderr.write(`Bakery cannot start:\n${error.message}\n`);
  } else if (error instanceof Error && error.message === 'Region is missing') {
    process.stderr.write('Bakery cannot start: no AWS region is set; set AWS_REGION (or a region in your AWS profile)\n');
  } else {
    process.stderr.write(`Bakery cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  process.exit(1);
});
