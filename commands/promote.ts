import { z } from 'zod';
import type { SlashCommand } from '../src/chat/surface.js';
import { ChannelMembers, notSeen } from '../src/access/visibility.js';
import { appName } from '../src/config/names.js';
import type { Core } from '../src/core.js';
import { approvalMessage } from '../src/pipelines/canary/approval.js';
import { windowMoment } from '../src/pipelines/canary/operation.js';
import { canaryParams, canaryState } from '../src/pipelines/canary/state.js';
import { unknownApp } from './apps.js';
import type { Command } from './command.js';
import { firstIssue, usageError } from './grammar.js';

export const usage = '/promote <app>';

/** Shows the open approval request again, buttons and all. It never skips the approval. */
export const promote: Command = {
  name: '/promote',
  summary: 'Show the approval request of an app’s canary again (it never skips approval)',
  usage,

  async handle(core: Core, command: SlashCommand) {
    const words = command.text.trim().split(/\s+/).filter(Boolean);
    if (words.length === 0 || words[0] === 'help') return { text: '*/promote* — show the open approval request of an app’s canary again; only its approvers can press Promote', lines: [`Usage: \`${usage}\``], tone: 'info' };
    if (words.length > 1) return usageError(`unexpected "${words[1]!.slice(0, 40)}": give one app`, usage);
    const parsed = z.object({ app: appName }).safeParse({ app: words[0] });
    if (!parsed.success) return usageError(firstIssue(parsed.error, { app: words[0] }), usage);
    const { app } = parsed.data;
    const unknown = await unknownApp(core, app, usage);
    if (unknown) return unknown;

    // The request names the app's version, verdict and approvers: only for those who see the app.
    const config = (await core.store.listAppConfigs())[app]!;
    if (!(await new ChannelMembers(core).sees(command, config))) return notSeen(app, config);

    const lock = await core.store.getLock(app, 'deploy');
    const operation = lock ? await core.store.getOperation(lock.operationId) : undefined;
    if (!operation || operation.kind !== 'canary' || operation.status !== 'running') {
      return { text: `No canary of ${app} is running: \`/canary ${app} <version>\` first; a passing canary asks for approval.`, tone: 'failed' };
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
