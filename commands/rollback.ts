import { z } from 'zod';
import { authorize } from '../src/access/access.js';
import type { ButtonPress, SlashCommand } from '../src/chat/surface.js';
import { mention, type ChatMessage } from '../src/message.js';
import { configIn, type FleetAppConfig } from '../src/config/apps.js';
import { environmentName, environmentOf } from '../src/config/environments.js';
import { amiId, appName, version } from '../src/config/names.js';
import { newOperationId, type Core } from '../src/core.js';
import { formatDuration, formatTime } from '../src/operations/format.js';
import type { RollbackParams } from '../src/pipelines/rollback/state.js';
import { rollbackTarget, type TargetAnswer } from '../src/pipelines/rollback/target.js';
import type { AppLock, LiveRelease, Operation } from '../src/store/items.js';
import { unknownApp } from './apps.js';
import { busy } from './busy.js';
import { noSuchEnvironment } from './environment.js';
import type { Command } from './command.js';
import { firstIssue, jsonButtonValue, splitWords, usageError, type Parsed } from './grammar.js';

export const usage = '/rollback <app> [<version>] [--env <environment>]';
export const confirmAction = 'rollback.confirm';

export const help: ChatMessage = {
  text: '*/rollback* — put the last good release back, in any phase',
  lines: [
    `Usage: \`${usage}\``,
    'During a canary: removes it. During a promotion: stops the refresh and returns the fleet to what it ran.',
    'After: rolls the fleet to the previous release, or to `<version>`, from the release history (its old group need not exist).',
    'Only to a release that was live before and was neither rejected nor pruned; a new version goes through `/canary`.',
    'An app of several environments names one: `--env production`.',
    'For the app’s approvers; whoever asked for a release may stop it or return it to the one it replaced. You confirm once (within 5 minutes), no approval wait.',
  ],
  tone: 'info',
};

const rollbackRequest = z.object({ app: appName, version: version.optional(), env: environmentName.optional() });
type RollbackRequest = z.infer<typeof rollbackRequest>;

export function parseRollback(text: string): Parsed<RollbackRequest | 'help'> {
  if (/^\s*(help)?\s*$/i.test(text)) return { ok: true, value: 'help' };
  const words = splitWords(text, ['env'], []);
  if (!words.ok) return words;
  const { positional, flags } = words.value;
  if (positional.length > 2) return { ok: false, error: `unexpected "${positional[2]!.slice(0, 40)}": give one app and at most one version` };
  const input = { app: positional[0], version: positional[1], env: flags.env };
  const parsed = rollbackRequest.safeParse(input);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, error: firstIssue(parsed.error, input) };
}

const operationId = z.string().regex(/^op-[a-z0-9]+-[0-9a-f]{8}$/);

/** How long a confirm may be pressed: it acts on what it showed, and the fleet moves on. */
export const confirmFor = 5 * 60_000;

/**
 * What the confirm button carries: the app, and what it showed, so a stale press is refused rather than
 * replayed onto whatever is live by then: the operation it would stop, or the live release it was shown
 * against (its operation id, new with every deploy, is the confirm's nonce) and the target image; who it
 * was shown to, and until when it may be pressed.
 */
const confirmValue = jsonButtonValue(400, z.strictObject({
  app: appName,
  env: environmentName.optional(),
  stop: operationId.optional(),
  to: version.optional(),
  ami: amiId.optional(),
  live: operationId.optional(),
  for: z.string().regex(/^[UW][A-Z0-9]{2,20}$/),
  until: z.number().int().positive(),
}));
type ConfirmValue = z.infer<typeof confirmValue>;

interface Situation {
  /** The app's config as the environment sees it. */
  config: FleetAppConfig;
  lock?: AppLock;
  running?: Operation;
  live?: LiveRelease;
}

/** The environment's config, lock, running deploy and live release; a string when `env` picks no environment of the app. */
async function situation(core: Core, app: string, env: string | undefined): Promise<Situation | string | undefined> {
  const [appConfig, lock, live] = await Promise.all([core.store.getAppConfig(app), core.store.getLock(app, 'deploy', env), core.store.getLive(app, env)]);
  if (!appConfig) return undefined;
  const environment = environmentOf(appConfig, env);
  // An app of several environments is never rolled back in one by default: the wrong fleet would move.
  if (appConfig.deploy && environment?.name !== env) return noSuchEnvironment(app, appConfig, env, '--env');
  const config = environment ? configIn(appConfig, environment) : { ...appConfig, deploy: undefined };
  const running = lock ? await core.store.getOperation(lock.operationId) : undefined;
  return { config, lock, running: running?.status === 'running' ? running : undefined, live };
}

async function targetOf(core: Core, app: string, config: FleetAppConfig, live: LiveRelease | undefined, to: string | undefined): Promise<TargetAnswer> {
  const named = to ?? live?.previous?.version;
  const release = named ? await core.store.getRelease(app, named) : undefined;
  return rollbackTarget({ app, region: config.region, version: to }, live, release, core.clock.now());
}

/**
 * Who "started" what is rolled back: the running operation's requester may stop it; whoever asked
 * for the live release may return it to the release it replaced (and hears why any other target is
 * refused). Anything else takes the `rollback` permission.
 */
function ownerOf(running: Operation | undefined, live: LiveRelease | undefined, target: TargetAnswer | undefined): string | undefined {
  if (running) return running.requestedBy;
  return !target?.ok || target.target.replaced ? live?.askedBy : undefined;
}

export const rollback: Command = {
  name: '/rollback',
  summary: 'Roll back to the last good release, in any phase',
  usage,

  async handle(core: Core, command: SlashCommand) {
    const parsed = parseRollback(command.text);
    if (!parsed.ok) return usageError(parsed.error, usage);
    if (parsed.value === 'help') return help;
    const { app, version: to, env } = parsed.value;
    const unknown = await unknownApp(core, app, usage);
    if (unknown) return unknown;
    const now = core.clock.now();
    const found = await situation(core, app, env);
    if (!found) return usageError(`unknown app "${app}"`, usage);
    if (typeof found === 'string') return usageError(found, usage);
    const { config, running, live } = found;
    const target = running ? undefined : await targetOf(core, app, config, live, to);
    const refused = await authorize(core, command, { app, config, action: 'rollback', startedBy: ownerOf(running, live, target), operationId: running?.id });
    if (refused) return refused;
    if (!config.deploy) return { text: `Not done: ${app} has no deploy config.`, tone: 'failed' };
    if (running?.kind === 'rollback') return busy(found.lock!, now);

    const value: ConfirmValue = { app, env, for: command.user.id, until: now + confirmFor };
    const where = env ? ` in ${env}` : '';
    let what: string;
    if (running) {
      what = `Stop the ${running.kind} of *${app} ${running.version}*${where} (since ${formatTime(running.createdAt, now)}) and return the fleet to what it ran before?`;
      value.stop = running.id;
    } else {
      if (!target?.ok) return { text: `Nothing to roll back to: ${target?.reason ?? 'no target'}.`, tone: 'failed' };
      const { image, history } = target.target;
      what = `Roll *${app}*${where} back from ${live?.live.version ?? live?.live.ami ?? 'the live release'} to ${image.version ?? image.ami} (${history})?`;
      Object.assign(value, { to, ami: image.ami, live: live?.operationId });
    }
    return {
      text: what,
      lines: [`Nothing happens until you press *Roll back now*; the button is good until ${formatTime(value.until, now)}.`],
      tone: 'info',
      buttons: [{ actionId: confirmAction, label: 'Roll back now', style: 'danger', value: JSON.stringify(value) }],
    };
  },

  buttons: {
    async [confirmAction](core: Core, press: ButtonPress) {
      const value = confirmValue.safeParse(press.value);
      if (!value.success) return { text: 'That button is not one Bakery made.', tone: 'failed' };
      const { app, env, stop, to } = value.data;
      const now = core.clock.now();
      const found = await situation(core, app, env);
      if (!found) return { text: `Unknown app "${app}".`, tone: 'failed' };
      if (typeof found === 'string') return { text: `Not done: ${found}.`, tone: 'failed' };
      const { config, running, live } = found;
      const target = running ? undefined : await targetOf(core, app, config, live, to);
      // The confirm is only ever shown to the one who asked (an ephemeral answer to /rollback).
      const refused = await authorize(core, press, { app, config, action: 'rollback', startedBy: ownerOf(running, live, target), operationId: running?.id, messages: { on: [], ephemeralCopies: true } });
      if (refused) return refused;
      if (!config.deploy) return { text: `Not done: ${app} has no deploy config.`, tone: 'failed' };
      const stale = staleness(value.data, press.user.id, found, target, now);
      if (stale) return stale;
      if (running?.cancelRequested) {
        const { by, at } = running.cancelRequested;
        return { text: `Already rolling back ${app}: ${by} asked to stop the ${running.kind} of ${running.version} at ${formatTime(at, now)}; the thread shows when the fleet is back.`, tone: 'info' };
      }
      if (running) {
        await core.runner.cancel(running.id, mention(press.user.id), { rollback: true });
        await core.store.appendAudit({ app, at: now, actor: press.user.id, action: 'rollback requested', operationId: running.id, detail: `stopping the ${running.kind} of ${running.version}` });
        return { text: `Rolling back ${app}: stopping the ${running.kind} of ${running.version}; the thread shows when the fleet is back.`, tone: 'info' };
      }
      if (stop) return { text: `The ${app} release you wanted to stop has already ended; \`/rollback ${app}\` again to return to an earlier one.`, tone: 'info' };
      if (!target?.ok) return { text: `Nothing to roll back to: ${target?.reason ?? 'no target'}.`, tone: 'failed' };

      const { image } = target.target;
      const id = newOperationId(core.clock);
      // It continues the thread whose root shows the live release (the operation that made it live), when that is in this channel.
      const shownIn = live ? (await core.store.getOperation(live.operationId))?.thread : undefined;
      const thread = shownIn?.channel === press.channel ? shownIn : undefined;
      const params: RollbackParams = { config, target: image, from: live?.live, requestedByName: mention(press.user.id), ...(thread ? { inReleaseThread: true } : {}) };
      const label = image.version ?? image.ami;
      const result = await core.runner.start({
        requestId: press.requestId,
        operation: { id, kind: 'rollback', app, version: image.version ?? 'previous', environment: env, requestedBy: press.user.id, channel: press.channel, params, state: {}, steps: [], status: 'running', thread, createdAt: now, updatedAt: now, revision: 0 },
        lock: { app, operationId: id, kind: 'rollback', version: label, environment: env, requestedBy: press.user.id, since: now, requestId: press.requestId },
      });
      switch (result.outcome) {
        case 'started':
          await core.store.appendAudit({ app, at: now, actor: press.user.id, action: 'rollback requested', operationId: id, detail: `to ${label}` });
          return { text: `Rolling ${app} back to ${label}.`, tone: 'info' };
        case 'duplicate-request':
          return { text: `Already rolling ${app} back.`, tone: 'info' };
        case 'not-posted':
          return { text: `The rollback did not start: ${result.reason}.`, tone: 'failed' };
        case 'busy':
          return busy(result.lock, now);
      }
    },
  },
};

/**
 * Why a confirm may no longer be pressed: shown to someone else, what it showed has changed (another
 * operation runs, the live release or the target moved: said first, as it says more), or expired.
 * Undefined while it still holds.
 */
function staleness(value: ConfirmValue, presser: string, found: Situation, target: TargetAnswer | undefined, now: number): ChatMessage | undefined {
  const again = `\`/rollback ${value.app}${value.to ? ` ${value.to}` : ''}${value.env ? ` --env ${value.env}` : ''}\` again to see what it would do now`;
  if (value.for !== presser) return { text: `Not done: that confirm was shown to ${mention(value.for)}, not to you; ${again}.`, tone: 'failed' };
  const { running, live, lock } = found;
  if (running && running.id !== value.stop) {
    return running.kind === 'rollback' ? busy(lock!, now) : { text: `Not done: things changed since you asked: ${running.kind} ${running.version} is running now; ${again}.`, tone: 'failed' };
  }
  const expired: ChatMessage | undefined = now >= value.until ? { text: `Not done: that confirm expired at ${formatTime(value.until, now)} (a confirm is good for ${formatDuration(confirmFor)}); ${again}.`, tone: 'failed' } : undefined;
  if (running || value.stop) return expired;
  if (live?.operationId !== value.live) {
    const current = live ? `${live.live.version ?? live.live.ami} is live since ${formatTime(live.since, now)}` : 'nothing is recorded live';
    return { text: `Not done: that confirm is stale: the live release changed since it was shown (${current}); ${again}.`, tone: 'failed' };
  }
  if (target?.ok && target.target.image.ami !== value.ami) return { text: `Not done: that confirm is stale: ${value.app}'s rollback target changed since it was shown; ${again}.`, tone: 'failed' };
  return expired;
}
