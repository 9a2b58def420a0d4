import { z } from 'zod';
import { authorize } from '../src/access/access.js';
import { ChannelMembers, notSeen } from '../src/access/visibility.js';
import type { ButtonPress, SlashCommand } from '../src/chat/surface.js';
import type { Button, ChatMessage } from '../src/message.js';
import type { AppConfig } from '../src/config/apps.js';
import { approversOf } from '../src/config/environments.js';
import { appName } from '../src/config/names.js';
import { longDuration, type RetireConfig } from '../src/config/retire.js';
import { formatDuration } from '../src/operations/format.js';
import type { Core } from '../src/core.js';
import { pruneApps } from '../src/jobs/digest-message.js';
import { describePlan, outcomeLines, outcomeSummary, planSummary } from '../src/retire/describe.js';
import { actsNow } from '../src/retire/plan.js';
import { firstIssue, jsonButtonValue, splitWords, usageError } from './grammar.js';

export const pruneUsage = '/bakery prune <app> [--keep N] [--older-than <duration, e.g. 30d>] [--dry-run]';
export const pruneAction = 'retire.prune';
const DEFAULT_KEEP = 5;

const pruneRequest = z.object({
  app: appName,
  keep: z.coerce.number().int().min(1, 'keep at least the newest image').max(1000).default(DEFAULT_KEEP),
  olderThan: longDuration.optional(),
  dryRun: z.boolean(),
});
type PruneRequest = z.infer<typeof pruneRequest>;

/** The button's value: what to plan again when pressed (the plan itself is never trusted from a button). */
const pruneValue = jsonButtonValue(200, z.object({ app: appName, keep: z.number().int().min(1).max(1000), olderThan: z.number().int().nonnegative().optional() }));

function parse(words: string[]): { ok: true; value: PruneRequest } | { ok: false; error: string } {
  const split = splitWords(words.join(' '), ['keep', 'older-than'], ['dry-run']);
  if (!split.ok) return split;
  const { positional, flags } = split.value;
  if (positional.length > 1) return { ok: false, error: `unexpected "${positional[1]!.slice(0, 40)}": give one app` };
  const input = { app: positional[0], keep: flags.keep, olderThan: flags['older-than'], dryRun: flags['dry-run'] === true };
  const parsed = pruneRequest.safeParse(input);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, error: firstIssue(parsed.error, input) };
}

/**
 * `/bakery prune`: always a dry run first (from the digest too: its button shows this). Without
 * --dry-run, the plan carries a button that only the app's approvers may press, behind a confirm
 * dialog; the press plans again and carries that out.
 */
export async function pruneCommand(core: Core, command: SlashCommand, words: string[]): Promise<ChatMessage> {
  const parsed = parse(words);
  if (!parsed.ok) return usageError(parsed.error, pruneUsage);
  const { app, keep, olderThan, dryRun } = parsed.value;
  const config = await core.store.getAppConfig(app);
  if (!config) return usageError(`unknown app "${app}"`, pruneUsage);
  if (!(await new ChannelMembers(core).sees(command, config))) return notSeen(app, config);
  return planMessage(core, app, config, { keep, olderThan }, !dryRun);
}

/** The dry run's answer, with the approvers' button when `offer` and there is something to do now. */
export async function planMessage(core: Core, app: string, config: AppConfig, request: { keep: number; olderThan?: number }, offer: boolean): Promise<ChatMessage> {
  const now = core.clock.now();
  const plan = await core.retirement.plan(app, config, { keep: request.keep, olderThanMs: request.olderThan, now });
  const lines = describePlan(app, plan, now);
  if (!actsNow(plan)) return { text: `*Prune ${app}*: nothing to remove`, lines, tone: 'info' };
  const approvers = approversOf(config);
  const acting = plan.restore.length + plan.retire.filter(({ step }) => step.kind !== 'wait').length;
  const onlyRemoves = plan.restore.length === 0 && plan.retire.every(({ step }) => step.kind === 'deregister' || step.kind === 'wait');
  return {
    text: `*Prune ${app}* (dry run): ${planSummary(plan)}`,
    lines: [...lines, ...(!offer ? [] : approvers.length ? ['An approver of the app may go ahead:'] : ['The app has no approvers (deploy.approvers), so nobody may prune it from here.'])],
    tone: 'info',
    buttons:
      offer && approvers.length > 0
        ? [{
            actionId: pruneAction,
            label: onlyRemoves ? `Remove ${acting} bake${acting === 1 ? '' : 's'}` : `Go ahead (${acting} bake${acting === 1 ? '' : 's'})`,
            value: JSON.stringify({ app, keep: request.keep, olderThan: request.olderThan }),
            style: 'danger',
            confirm: config.retire
              ? { title: `Prune ${app}?`, text: stagedConfirm(config.retire), confirm: 'Go ahead', deny: 'Not now' }
              : { title: `Prune ${app}?`, text: 'Deregisters the images and deletes their snapshots in every region. This cannot be undone.', confirm: 'Remove', deny: 'Keep them' },
          }]
        : [],
  };
}

/** What an approver agrees to with a staged retirement: when each stage comes, the last one for good. */
function stagedConfirm(retire: RetireConfig): string {
  const { deprecateAfter, disableAfter, deregisterAfter } = retire;
  return `Moves each bake shown on in its retirement: deprecated ${formatDuration(deprecateAfter)} after it starts, disabled ${formatDuration(disableAfter)} after that, then deregistered with its snapshots deleted in every region ${formatDuration(deregisterAfter)} later. That last stage cannot be undone.`;
}

export async function pressPrune(core: Core, press: ButtonPress): Promise<ChatMessage | undefined> {
  const value = pruneValue.safeParse(press.value);
  if (!value.success) return { text: 'That button is not one Bakery made.', tone: 'failed' };
  const { app, keep, olderThan } = value.data;
  const config = await core.store.getAppConfig(app);
  if (!config) return { text: `${app} is no longer configured.`, tone: 'failed' };
  const refused = await authorize(core, press, { app, config, action: 'prune' });
  if (refused) return refused;
  // Planned again: whatever changed since the dry run (a new live release, an instance, a pin) is protected now.
  const plan = await core.retirement.plan(app, config, { keep, olderThanMs: olderThan, now: core.clock.now() });
  const outcomes = await core.retirement.carryOut(app, config, plan, press.user.id);
  return { text: `*Pruned ${app}*: ${outcomeSummary(outcomes)}`, lines: outcomeLines(outcomes, core.clock.now()), tone: 'succeeded' };
}

/**
 * The digest's Old images button: each app's dry run, to the presser only, each with its approvers'
 * button; only of the apps whose channel the presser is in (whoever reads the digest may press it).
 */
export async function pressDigestPrune(core: Core, press: ButtonPress): Promise<ChatMessage | undefined> {
  const apps = pruneApps.safeParse(press.value);
  if (!apps.success) return { text: 'That button is not one Bakery made.', tone: 'failed' };
  const lines: string[] = [];
  const buttons: Button[] = [];
  const members = new ChannelMembers(core);
  for (const app of apps.data) {
    const config = await core.store.getAppConfig(app);
    if (!config || !(await members.sees(press, config))) continue;
    const answer = await planMessage(core, app, config, { keep: DEFAULT_KEEP }, true);
    lines.push(answer.text, ...(answer.lines ?? []));
    buttons.push(...(answer.buttons ?? []));
  }
  if (lines.length === 0) return { text: 'None of these apps is in a channel you are in: Bakery shows each app only to the members of its channel.', tone: 'info' };
  return { text: '*Old images* (dry run: nothing is removed until an approver presses its button)', lines, tone: 'info', buttons: buttons.slice(0, 25) };
}
