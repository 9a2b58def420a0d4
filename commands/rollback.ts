import { z } from 'zod';
import { authorize } from '../src/access/access.js';
import type { ButtonPress, SlashCommand } from '../src/chat/surface.js';
import type { ChatMessage } from '../src/message.js';
import type { AppConfig } from '../src/config/apps.js';
import { appName, version } from '../src/config/names.js';
import { newOperationId, type Core } from '../src/core.js';
import { formatTime } from '../src/operations/format.js';
import type { RollbackParams } from '../src/pipelines/rollback/state.js';
import type { AppLock, FleetImage, LiveRelease, Operation } from '../src/store/items.js';
import { unknownApp } from './apps.js';
import { busy } from './busy.js';
import type { Command } from './command.js';
import { firstIssue, jsonButtonValue, splitWords, usageError, type Parsed } from './grammar.js';

export const usage = '/rollback <app> [<version>]';
export const confirmAction = 'rollback.confirm';

export const help: ChatMessage = {
  text: '*/rollback* — put the last good release back, in any phase',
  lines: [
    `Usage: \`${usage}\``,
    'During a canary: removes it. During a promotion: stops the refresh and returns the fleet to what it ran.',
    'After: rolls the fleet to the previous release, or to `<version>`, from the release history (its old group need not exist).',
    'For the app’s approvers and whoever started the release; you confirm once, no approval wait.',
  ],
  tone: 'info',
};

const rollbackRequest = z.object({ app: appName, version: version.optional() });
type RollbackRequest = z.infer<typeof rollbackRequest>;

export function parseRollback(text: string): Parsed<RollbackRequest | 'help'> {
  if (/^\s*(help)?\s*$/i.test(text)) return { ok: true, value: 'help' };
  const words = splitWords(text, [], []);
  if (!words.ok) return words;
  const { positional } = words.value;
  if (positional.length > 2) return { ok: false, error: `unexpected "${positional[2]!.slice(0, 40)}": give one app and at most one version` };
  const input = { app: positional[0], version: positional[1] };
  const parsed = rollbackRequest.safeParse(input);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, error: firstIssue(parsed.error, input) };
}

/** What the confirm button carries: the app, the operation it would stop (if any), and the version asked for. */
const confirmValue = jsonButtonValue(300, z.strictObject({ app: appName, stop: z.string().regex(/^op-[a-z0-9]+-[0-9a-f]{8}$/).optional(), to: version.optional() }));

interface Situation {
  config: AppConfig;
  lock?: AppLock;
  running?: Operation;
  live?: LiveRelease;
}

async function situation(core: Core, app: string): Promise<Situation | undefined> {
  const [config, lock, live] = await Promise.all([core.store.getAppConfig(app), core.store.getLock(app, 'deploy'), core.store.getLive(app)]);
  if (!config) return undefined;
  const running = lock ? await core.store.getOperation(lock.operationId) : undefined;
  return { config, lock, running: running?.status === 'running' ? running : undefined, live };
}

/** Whoever started what is rolled back: the running operation, or else the promotion that made the live release. */
function startedBy(running?: Operation, live?: LiveRelease): string | undefined {
  return running ? running.requestedBy : live?.by;
}

async function targetOf(core: Core, app: string, config: AppConfig, live: LiveRelease | undefined, version: string | undefined): Promise<FleetImage | string> {
  if (version) {
    const release = await core.store.getRelease(app, version);
    const ami = release?.amis[config.region];
    if (!release || !ami) return `${app} ${version} was never baked in ${config.region}`;
    return { version, ami, launchTemplateVersion: live?.previous?.ami === ami ? live.previous.launchTemplateVersion : undefined };
  }
  if (!live?.previous) return `there is no earlier release of ${app} to return to (Bakery has not promoted one yet); name a version: \`${usage}\``;
  return live.previous;
}

export const rollback: Command = {
  name: '/rollback',
  summary: 'Roll back to the last good release, in any phase',
  usage,

  async handle(core: Core, command: SlashCommand) {
    const parsed = parseRollback(command.text);
    if (!parsed.ok) return usageError(parsed.error, usage);
    if (parsed.value === 'help') return help;
    const { app, version: to } = parsed.value;
    const unknown = await unknownApp(core, app, usage);
    if (unknown) return unknown;
    const now = core.clock.now();
    const found = await situation(core, app);
    if (!found) return usageError(`unknown app "${app}"`, usage);
    const { config, running, live } = found;
    const refused = await authorize(core, command, { app, config, action: 'rollback', startedBy: startedBy(running, live), operationId: running?.id });
    if (refused) return refused;
    if (!config.deploy) return { text: `Not done: ${app} has no deploy config.`, tone: 'failed' };

    let what: string;
    if (running?.kind === 'rollback') return busy(found.lock!, now);
    if (running) {
      what = `Stop the ${running.kind} of *${app} ${running.version}* (since ${formatTime(running.createdAt, now)}) and return the fleet to what it ran before?`;
    } else {
      const target = await targetOf(core, app, config, live, to);
      if (typeof target === 'string') return { text: `Nothing to roll back to: ${target}.`, tone: 'failed' };
      what = `Roll *${app}* back from ${live?.live.version ?? live?.live.ami ?? 'the live release'} to ${target.version ?? target.ami}?`;
    }
    return {
      text: what,
      lines: ['Nothing happens until you press *Roll back now*.'],
      tone: 'info',
      buttons: [{ actionId: confirmAction, label: 'Roll back now', style: 'danger', value: JSON.stringify({ app, stop: running?.id, to }) }],
    };
  },

  buttons: {
    async [confirmAction](core: Core, press: ButtonPress) {
      const value = confirmValue.safeParse(press.value);
      if (!value.success) return { text: 'That button is not one Bakery made.', tone: 'failed' };
      const { app, stop, to } = value.data;
      const now = core.clock.now();
      const found = await situation(core, app);
      if (!found) return { text: `Unknown app "${app}".`, tone: 'failed' };
      const { config, running, live } = found;
      // The confirm is only ever shown to the one who asked (an ephemeral answer to /rollback).
      const refused = await authorize(core, press, { app, config, action: 'rollback', startedBy: startedBy(running, live), operationId: running?.id, messages: { on: [], ephemeralCopies: true } });
      if (refused) return refused;
      if (!config.deploy) return { text: `Not done: ${app} has no deploy config.`, tone: 'failed' };
      if (running && running.id !== stop) {
        return running.kind === 'rollback' ? busy(found.lock!, now) : { text: `Things changed since you asked: ${running.kind} ${running.version} is running now. \`/rollback ${app}\` again.`, tone: 'failed' };
      }
      if (running) {
        await core.runner.cancel(running.id, `@${press.user.name}`, { rollback: true });
        await core.store.appendAudit({ app, at: now, actor: press.user.id, action: 'rollback requested', operationId: running.id, detail: `stopping the ${running.kind} of ${running.version}` });
        return { text: `Rolling back ${app}: stopping the ${running.kind} of ${running.version}; the thread shows when the fleet is back.`, tone: 'info' };
      }
      if (stop) return { text: `The ${app} release you wanted to stop has already ended; \`/rollback ${app}\` again to return to an earlier one.`, tone: 'info' };
      const target = await targetOf(core, app, config, live, to);
      if (typeof target === 'string') return { text: `Nothing to roll back to: ${target}.`, tone: 'failed' };

      const id = newOperationId(core.clock);
      const params: RollbackParams = { config, target, from: live?.live, requestedByName: `@${press.user.name}` };
      const label = target.version ?? target.ami;
      const result = await core.runner.start({
        requestId: press.requestId,
        operation: { id, kind: 'rollback', app, version: target.version ?? 'previous', requestedBy: press.user.id, channel: press.channel, params, state: {}, steps: [], status: 'running', createdAt: now, updatedAt: now, revision: 0 },
        lock: { app, operationId: id, kind: 'rollback', version: target.version ?? 'previous', requestedBy: press.user.id, since: now, requestId: press.requestId },
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
