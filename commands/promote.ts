import { z } from 'zod';
import type { SlashCommand } from '../src/chat/surface.js';
import { ChannelMembers, notSeen } from '../src/access/visibility.js';
import { environmentName, environmentsOf } from '../src/config/environments.js';
import { appName } from '../src/config/names.js';
import type { Core } from '../src/core.js';
import { approvalMessage } from '../src/pipelines/canary/approval.js';
import { windowMoment } from '../src/pipelines/canary/operation.js';
import { canaryParams, canaryState } from '../src/pipelines/canary/state.js';
import type { Operation } from '../src/store/items.js';
import { unknownApp } from './apps.js';
import type { Command } from './command.js';
import { noSuchEnvironment } from './environment.js';
import { firstIssue, splitWords, usageError } from './grammar.js';

export const usage = '/promote <app> [--env <environment>]';

/** Shows the open approval request again, buttons and all. It never skips the approval. */
export const promote: Command = {
  name: '/promote',
  summary: 'Show the approval request of an app’s canary again (it never skips approval)',
  usage,

  async handle(core: Core, command: SlashCommand) {
    const words = splitWords(command.text, ['env'], []);
    if (!words.ok) return usageError(words.error, usage);
    const [first, extra] = words.value.positional;
    if (!first || first === 'help') return { text: '*/promote* — show the open approval request of an app’s canary again; only its approvers can press Promote', lines: [`Usage: \`${usage}\``], tone: 'info' };
    if (extra) return usageError(`unexpected "${extra.slice(0, 40)}": give one app`, usage);
    const input = { app: first, env: words.value.flags.env };
    const parsed = z.object({ app: appName, env: environmentName.optional() }).safeParse(input);
    if (!parsed.success) return usageError(firstIssue(parsed.error, input), usage);
    const { app, env } = parsed.data;
    const unknown = await unknownApp(core, app, usage);
    if (unknown) return unknown;

    // The request names the app's version, verdict and approvers: only for those who see the app.
    const config = (await core.store.listAppConfigs())[app]!;
    if (!(await new ChannelMembers(core).sees(command, config))) return notSeen(app, config);

    // The named environment's canary, or the one running when there is only one (an app of one fleet has one lane).
    const names = environmentsOf(config).map((environment) => environment.name);
    if (env !== undefined && !names.includes(env)) return usageError(noSuchEnvironment(app, config, env, '--env'), usage);
    const running = (await Promise.all((env !== undefined ? [env] : names).map((name) => runningCanary(core, app, name)))).flatMap((operation) => operation ?? []);
    if (running.length > 1) return usageError(`canaries of ${app} are running in ${running.map((operation) => operation.environment).join(' and ')}; name one with --env`, usage);
    const operation = running[0];
    if (!operation) {
      return { text: `No canary of ${app} is running${env ? ` in ${env}` : ''}: \`/canary ${app} <version>\` first; a passing canary asks for approval.`, tone: 'failed' };
    }
    const state = canaryState.parse(operation.state);
    const deploy = canaryParams.parse(operation.params).config.deploy;
    if (!state.approvalRequest || !deploy) {
      const minute = state.verdict ? `at ${windowMoment(state.verdict.minute, deploy?.canary.interval ?? 60_000)}, ${state.verdict.outcome}` : 'starting';
      return { text: `The canary of ${app} ${operation.version} is still being judged (${minute}); it asks for approval once it passes.`, tone: 'info' };
    }
    return { ...approvalMessage(operation, state, deploy, core.clock.now()), broadcast: false };
  },
};

async function runningCanary(core: Core, app: string, environment: string | undefined): Promise<Operation | undefined> {
  const lock = await core.store.getLock(app, 'deploy', environment);
  const operation = lock ? await core.store.getOperation(lock.operationId) : undefined;
  return operation?.kind === 'canary' && operation.status === 'running' ? operation : undefined;
}
