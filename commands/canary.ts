import { z } from 'zod';
import type { ButtonPress, SlashCommand } from '../src/chat/surface.js';
import { mention, type ChatMessage } from '../src/message.js';
import { configIn, type AppConfig } from '../src/config/apps.js';
import { duration } from '../src/config/deploy.js';
import { environmentName, environmentOf } from '../src/config/environments.js';
import { appName, version } from '../src/config/names.js';
import { newOperationId, type Core } from '../src/core.js';
import { formatDuration, formatTime } from '../src/operations/format.js';
import { authorize, refusalOf, refuse as refuseAccess, type Asker } from '../src/access/access.js';
import { approvalValue, promoteAction, requestRef, rollbackAction } from '../src/pipelines/canary/approval.js';
import type { CanaryParams } from '../src/pipelines/canary/state.js';
import { canaryParams, canaryState } from '../src/pipelines/canary/state.js';
import { soakedAction, soakedAnnouncement, soakGate } from '../src/pipelines/canary/soak.js';
import { postedRef } from '../src/operations/outbox.js';
import type { Operation } from '../src/store/items.js';
import { unknownApp } from './apps.js';
import { busy } from './busy.js';
import { noSuchEnvironment } from './environment.js';
import type { Command } from './command.js';
import { firstIssue, jsonButtonValue, splitWords, usageError, type Parsed } from './grammar.js';

export const usage = '/canary <app> <version> [--to <environment>] [--instances N] [--for <duration, e.g. 30m>]';

export const help: ChatMessage = {
  text: '*/canary* — put a baked release beside the live fleet, judge it, and ask for approval to promote it',
  lines: [
    `Usage: \`${usage}\``,
    '`--to production` canaries it in that environment (default: the app’s first), once it has been live in the one before for its soak',
    'When that soak ends, the release’s thread says so, with a *Canary in production* button for production’s approvers.',
    '`--instances N` sizes the canary group (default: the app’s config); `--for 45m` judges it longer or shorter',
    'A table in the thread shows every metric, canary vs baseline, kept current. A pass asks the app’s approvers to *Promote*; a failure removes the canary.',
    '`/rollback <app>` (`--env <environment>` for an app of several) stops it at any point.',
  ],
  tone: 'info',
};

export const canaryRequest = z.object({
  app: appName,
  version,
  to: environmentName.optional(),
  instances: z.coerce.number().int().min(1, 'at least one instance').max(20, 'at most 20 instances').optional(),
  for: duration.refine((ms) => ms >= 60_000 && ms <= 6 * 3_600_000, 'between 1m and 6h').optional(),
});
export type CanaryRequest = z.infer<typeof canaryRequest>;

export function parseCanary(text: string): Parsed<CanaryRequest | 'help'> {
  if (/^\s*(help)?\s*$/i.test(text)) return { ok: true, value: 'help' };
  const words = splitWords(text, ['to', 'instances', 'for'], []);
  if (!words.ok) return words;
  const { positional, flags } = words.value;
  if (positional.length > 2) return { ok: false, error: `unexpected "${positional[2]!.slice(0, 40)}": give one app and one version` };
  const input = { app: positional[0], version: positional[1], to: flags.to, instances: flags.instances, for: flags.for };
  const parsed = canaryRequest.safeParse(input);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, error: firstIssue(parsed.error, input) };
}

export const canary: Command = {
  name: '/canary',
  summary: 'Canary a baked release beside the live fleet, then promote it',
  usage,

  async handle(core: Core, command: SlashCommand) {
    const parsed = parseCanary(command.text);
    if (!parsed.ok) return usageError(parsed.error, usage);
    if (parsed.value === 'help') return help;
    const unknown = await unknownApp(core, parsed.value.app, usage);
    if (unknown) return unknown;
    return (await startCanary(core, command, parsed.value)).answer;
  },

  buttons: {
    [promoteAction]: (core, press) => decide(core, press, 'promote'),
    [rollbackAction]: (core, press) => decide(core, press, 'rollback'),
    [soakedAction]: canaryAfterSoak,
  },
};

/**
 * What /canary starts, asked by a command or by the button a soak's end posts: the same checks
 * (access, the environment, the lock, the release, the soak gate) in the same order.
 */
async function startCanary(core: Core, command: Asker & { requestId: string }, request: CanaryRequest): Promise<{ answer?: ChatMessage; started?: boolean }> {
  const answer = (message: ChatMessage | undefined) => ({ answer: message });
  // The environment's name picks its lock and live record, read with the config; that config must still name it.
  const named = environmentOf((await core.store.listAppConfigs())[request.app]!, request.to)?.name ?? request.to;
  const { config: appConfig, lock, release, live } = await core.store.getAppAtVersion(request.app, request.version, 'deploy', named);
  if (!appConfig) return answer(usageError(`app "${request.app}" is not configured in the table; restart Bakery to apply its apps file`, usage));
  const refused = await authorize(core, command, { app: request.app, config: appConfig, action: 'canary' });
  if (refused) return answer(refused);
  if (!appConfig.deploy) return answer({ text: `${request.app} has no \`deploy\` section in its config, so Bakery does not know its fleet.`, lines: ['Add one (see the README’s deploy config) and restart Bakery.'], tone: 'failed' });
  const environment = environmentOf(appConfig, named);
  if (!environment || environment.name !== named) return answer(usageError(noSuchEnvironment(request.app, appConfig, request.to, '--to'), usage));
  const config = configIn(appConfig, environment);
  const where = environment.name ? ` in ${environment.name}` : '';
  if (lock) return answer(lock.requestId === command.requestId ? undefined : busy(lock, core.clock.now()));
  const ami = release?.amis[config.region];
  if (!release || !ami) return answer({ text: `${request.app} ${request.version} is not baked in ${config.region}: \`/bake ${request.app} ${request.version}\` first.`, tone: 'failed' });
  if (release.status === 'retired') {
    return answer({ text: `${request.app} ${request.version} was pruned: its images are deregistered.`, lines: [`Bake it again: \`/bake ${request.app} ${request.version}\``], tone: 'failed' });
  }
  if (release.status === 'rejected') {
    return answer({ text: `${request.app} ${request.version} was rejected by its last canary.`, lines: ['Bake a fixed version, or `/bake … --force` this one to try again.'], tone: 'failed' });
  }
  if (live?.live.ami === ami) return answer({ text: `${request.app} ${request.version} is already live${where} (since ${formatTime(live.since, core.clock.now())}).`, tone: 'info' });
  const after = environment.after === undefined ? undefined : environmentOf(appConfig, environment.after);
  const soak = soakGate({ release, to: environment, after, afterLive: after && (await core.store.getLive(request.app, after.name)), now: core.clock.now() });
  if (!soak.ok) return answer({ text: `Not yet: ${soak.reason}.`, tone: 'failed' });

  const now = core.clock.now();
  const id = newOperationId(core.clock);
  const params: CanaryParams = {
    config,
    ami,
    instances: request.instances ?? config.deploy.canary.instances,
    durationMs: request.for ?? config.deploy.canary.duration,
    requestedByName: mention(command.user.id),
    releaseThread: release.thread,
  };
  // The lifecycle continues in the bake's thread when that is in this channel; else a new thread here.
  const thread = release.thread?.channel === command.channel ? release.thread : undefined;
  const result = await core.runner.start({
    requestId: command.requestId,
    operation: { id, kind: 'canary', app: request.app, version: request.version, environment: environment.name, requestedBy: command.user.id, channel: command.channel, params, state: {}, steps: [], status: 'running', thread, createdAt: now, updatedAt: now, revision: 0 },
    lock: { app: request.app, operationId: id, kind: 'canary', version: request.version, environment: environment.name, requestedBy: command.user.id, since: now, requestId: command.requestId },
  });
  switch (result.outcome) {
    case 'started':
      await core.store.setReleaseStatus(request.app, request.version, 'canary', { at: now, by: command.user.id, operationId: id, environment: environment.name });
      await core.store.appendAudit({ app: request.app, at: now, actor: command.user.id, action: 'canary requested', operationId: id, detail: `${request.version}${where} on ${params.instances} instance(s) for ${formatDuration(params.durationMs)}` });
      // A new thread is its own answer; one continued may be far up the channel, so say where it went.
      return { answer: thread ? { text: `Canary of ${request.app} ${request.version}${where} started: it continues in the thread where ${request.version} was baked.`, tone: 'info' } : undefined, started: true };
    case 'duplicate-request':
      return answer(undefined);
    case 'not-posted':
      return answer({ text: `The canary did not start: ${result.reason}.`, tone: 'failed' });
    case 'busy':
      return answer(busy(result.lock, now));
  }
}

/**
 * What the soak's button carries: the release, where it may go now, and the operation that made it live
 * where it soaked (naming the message the button is on); the press checks it all again.
 */
const soakedValue = jsonButtonValue(300, z.strictObject({ app: appName, version, to: environmentName, live: z.string().regex(/^op-[a-z0-9]+-[0-9a-f]{8}$/) }));

/**
 * A press of *Canary in <env>* in a soaked release's thread: for that environment's approvers, then
 * exactly /canary's start, so a release rolled back or passed over since is refused by the soak gate,
 * and a second press (or a second replica) finds the environment's lock taken.
 */
async function canaryAfterSoak(core: Core, press: ButtonPress): Promise<ChatMessage | undefined> {
  const value = soakedValue.safeParse(press.value);
  if (!value.success) return { text: 'That button is not one Bakery made.', tone: 'failed' };
  const { app, version, to, live } = value.data;
  const [appConfig, release] = await Promise.all([core.store.getAppConfig(app), core.store.getRelease(app, version)]);
  const environment = appConfig && environmentOf(appConfig, to);
  if (!appConfig || environment?.name !== to) return { text: `Not done: ${app} has no environment "${to}" any more.`, tone: 'failed' };
  // The message is the release's bake's announcement (a rebake since made another bake the release's).
  const bake = release && (await core.store.getOperation(release.operationId));
  const on = bake && postedRef(bake, soakedAnnouncement(to, live));
  const refused = await authorize(core, press, { app, config: configIn(appConfig, environment), action: 'advance', environment: to, operationId: release?.operationId, messages: { on: on ? [on] : [], ephemeralCopies: false } });
  if (refused) return refused;
  const { answer, started } = await startCanary(core, press, { app, version, to });
  const shown = bake?.outbox?.find((entry) => entry.key === soakedAnnouncement(to, live))?.reply?.message;
  if (started && on && shown) {
    // The message says who took it on, instead of offering the button again; the thread shows the rest.
    const taken = `*Canary in ${to}* pressed by ${mention(press.user.id)} at ${formatTime(core.clock.now(), core.clock.now())}: the canary runs below.`;
    await core.chat.update(on, { ...shown, lines: [taken], buttons: undefined }).catch((error: unknown) => core.log.warn({ err: error, app, version }, 'could not update a soak’s message'));
  }
  return answer;
}

/**
 * A press of Promote or Roll back on an approval request. Who may press is checked against the
 * config the canary started with and the current one (the stricter wins); the decision is a
 * conditional write, so a double press, two people at once, a stale or an expired request do nothing
 * and are told why.
 */
async function decide(core: Core, press: ButtonPress, decision: 'promote' | 'rollback'): Promise<ChatMessage> {
  const value = approvalValue.safeParse(press.value);
  if (!value.success) return { text: 'That button is not one Bakery made.', tone: 'failed' };
  const operation = await core.store.getOperation(value.data.operationId);
  if (!operation || operation.kind !== 'canary') return { text: 'No such canary.', tone: 'failed' };
  const refuse = async (reason: string): Promise<ChatMessage> => {
    await core.store.appendAudit({ app: operation.app, at: core.clock.now(), actor: press.user.id, action: `${decision} refused`, operationId: operation.id, detail: reason });
    return { text: `Not done: ${reason}.`, tone: 'failed' };
  };
  // The request's own message, or the copy /promote showed the presser. The key in the value ties
  // either to the open request; until the request's message is recorded, the key alone does.
  const ref = canaryRequestOf(operation)?.ref;
  const request = { app: operation.app, action: decision, startedBy: operation.requestedBy, operationId: operation.id, messages: ref ? { on: [ref], ephemeralCopies: true } : undefined };
  // The config the canary started with and the one applied now must both allow it: an approver removed
  // since (or four eyes turned on) counts at once, not after the approval's TTL.
  const current = await core.store.getAppConfig(operation.app);
  const reason =
    (await refusalOf(core, press, { ...request, config: canaryParams.parse(operation.params).config })) ??
    (current ? await refusalOf(core, press, { ...request, config: currentIn(current, operation) }) : `${operation.app} is no longer configured`);
  if (reason !== undefined) return refuseAccess(core, press, request, reason);

  const now = core.clock.now();
  const { taken, operation: after } = await core.store.decideApproval(operation.id, { decision, by: press.user.id, byName: mention(press.user.id), at: now, request: value.data.key });
  if (!taken) return refuse(whyNot(after ?? operation, value.data.key, now));
  core.runner.notify(operation.id);
  await core.store.appendAudit({ app: operation.app, at: now, actor: press.user.id, action: decision === 'promote' ? 'promotion approved' : 'canary rolled back', operationId: operation.id, detail: operation.version });
  return decision === 'promote'
    ? { text: `Promoting ${operation.app} ${operation.version}; the thread shows the roll-out.`, tone: 'info' }
    : { text: `Rolling back ${operation.app} ${operation.version}: the canary is being removed.`, tone: 'info' };
}

/** The app's config now, as the canary's environment sees it; one without that environment any more approves nothing. */
function currentIn(current: AppConfig, operation: Operation): AppConfig {
  const environment = environmentOf(current, operation.environment);
  return environment && environment.name === operation.environment ? configIn(current, environment) : { ...current, deploy: undefined };
}

function whyNot(operation: Operation, key: string, now: number): string {
  const request = canaryRequestOf(operation);
  if (operation.approval) {
    const verb = operation.approval.decision === 'promote' ? 'approved' : 'rolled back';
    return `already ${verb} by ${operation.approval.byName} at ${formatTime(operation.approval.at, now)}`;
  }
  // An unanswered request ends its canary: say so, and how to try the release again.
  if (request?.key === key && request.expiresAt <= now) {
    const removal = operation.status === 'running' ? 'is being removed' : 'was removed';
    return `this approval request expired unanswered at ${formatTime(request.expiresAt, now)}, so the canary ${removal} and the fleet stays as it was; \`/canary ${operation.app} ${operation.version}\` judges it again`;
  }
  if (operation.status !== 'running') {
    const ended = operation.finishedAt !== undefined ? ` at ${formatTime(operation.finishedAt, now)}` : '';
    return `this canary has ended${ended} (${operation.status}${operation.error ? `: ${operation.error.message}` : ''})`;
  }
  if (!request || request.key !== key) return 'this request is no longer current (a newer one replaced it)';
  return 'the request could not be answered; try again';
}

function canaryRequestOf(operation: Operation): { key: string; expiresAt: number; ref?: { channel: string; ts: string } } | undefined {
  const state = canaryState.safeParse(operation.state);
  const request = state.success ? state.data.approvalRequest : undefined;
  return request && { ...request, ref: requestRef(operation, request) };
}
