import { z } from 'zod';
import type { ButtonPress, ChatMessage } from '../src/chat/surface.js';
import { duration } from '../src/config/deploy.js';
import { appName } from '../src/config/names.js';
import type { Core } from '../src/core.js';
import type { PrunePlan } from '../src/retire/plan.js';
import { firstIssue, splitWords, usageError } from './grammar.js';

export const pruneUsage = '/bakery prune <app> [--keep N] [--older-than <duration, e.g. 30d>] [--dry-run]';
export const pruneAction = 'retire.prune';
const DEFAULT_KEEP = 5;
const SHOWN = 15;

const days = z.string().regex(/^\d{1,4}d$/).transform((text) => Number(text.slice(0, -1)) * 24 * 3_600_000);
const pruneRequest = z.object({
  app: appName,
  keep: z.coerce.number().int().min(1, 'keep at least the newest image').max(1000).default(DEFAULT_KEEP),
  olderThan: z.union([days, duration], { error: 'a duration is a number and d, h, m or s, e.g. 30d' }).optional(),
  dryRun: z.boolean(),
});
type PruneRequest = z.infer<typeof pruneRequest>;

/** The button's value: what to plan again when pressed (the plan itself is never trusted from a button). */
const pruneValue = z
  .string()
  .max(200)
  .transform((text) => JSON.parse(text) as unknown)
  .pipe(z.object({ app: appName, keep: z.number().int().min(1).max(1000), olderThan: z.number().int().nonnegative().optional() }));

function parse(words: string[]): { ok: true; value: PruneRequest } | { ok: false; error: string } {
  const split = splitWords(words.join(' '), ['keep', 'older-than'], ['dry-run']);
  if (!split.ok) return split;
  const { positional, flags } = split.value;
  if (positional.length > 1) return { ok: false, error: `unexpected "${positional[1]!.slice(0, 40)}": give one app` };
  const input = { app: positional[0], keep: flags.keep, olderThan: flags['older-than'], dryRun: flags['dry-run'] === true };
  const parsed = pruneRequest.safeParse(input);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, error: firstIssue(parsed.error, input) };
}

function describePlan(app: string, plan: PrunePlan, removed: boolean): string[] {
  const bakeLine = (bake: PrunePlan['remove'][number]): string => `${bake.version ?? '?'} (${bake.images.map((image) => `\`${image.imageId}\` ${image.region}`).join(', ')})`;
  return [
    ...plan.remove.slice(0, SHOWN).map((bake) => `${removed ? 'Removed' : 'Would remove'}: ${bakeLine(bake)}, with ${bake.images.reduce((n, image) => n + image.snapshotIds.length, 0)} snapshots`),
    ...(plan.remove.length > SHOWN ? [`…and ${plan.remove.length - SHOWN} more bakes of ${app}`] : []),
    ...plan.keep.slice(0, SHOWN).map(({ bake, why }) => `Kept: ${bakeLine(bake)}: ${why.join('; ')}`),
    ...(plan.keep.length > SHOWN ? [`…and ${plan.keep.length - SHOWN} more kept`] : []),
  ];
}

/**
 * `/bakery prune`: always shows the plan first. Without --dry-run, the plan carries a button that
 * only the app's approvers may press, behind a confirm dialog; the press plans again and removes that.
 */
export async function pruneCommand(core: Core, words: string[]): Promise<ChatMessage> {
  const parsed = parse(words);
  if (!parsed.ok) return usageError(parsed.error, pruneUsage);
  const { app, keep, olderThan, dryRun } = parsed.value;
  const config = await core.store.getAppConfig(app);
  if (!config) return usageError(`unknown app "${app}"`, pruneUsage);
  const plan = await core.retirement.plan(app, config, { keep, olderThanMs: olderThan, now: core.clock.now() });
  const lines = describePlan(app, plan, false);
  if (plan.remove.length === 0) return { text: `*Prune ${app}*: nothing to remove`, lines, tone: 'info' };
  const approvers = config.deploy?.approvers ?? [];
  const canRun = !dryRun && approvers.length > 0;
  return {
    text: `*Prune ${app}* (dry run): ${plan.remove.length} bake${plan.remove.length === 1 ? '' : 's'} would go`,
    lines: [...lines, ...(dryRun ? [] : approvers.length ? ['An approver of the app may remove them:'] : ['The app has no approvers (deploy.approvers), so nobody may remove them from here.'])],
    tone: 'info',
    buttons: canRun
      ? [{
          actionId: pruneAction,
          label: `Remove ${plan.remove.length} bake${plan.remove.length === 1 ? '' : 's'}`,
          value: JSON.stringify({ app, keep, olderThan }),
          style: 'danger',
          confirm: { title: `Prune ${app}?`, text: 'Deregisters the images and deletes their snapshots in every region. This cannot be undone.', confirm: 'Remove', deny: 'Keep them' },
        }]
      : [],
  };
}

export async function pressPrune(core: Core, press: ButtonPress): Promise<ChatMessage> {
  const value = pruneValue.safeParse(press.value);
  if (!value.success) return { text: 'That button is not one Bakery made.', tone: 'failed' };
  const { app, keep, olderThan } = value.data;
  const config = await core.store.getAppConfig(app);
  if (!config) return { text: `${app} is no longer configured.`, tone: 'failed' };
  if (!config.deploy?.approvers.includes(press.user.id)) return { text: `Only an approver of ${app} may prune its images.`, tone: 'failed' };
  // Planned again: whatever changed since the dry run (a new live release, an instance) is protected now.
  const plan = await core.retirement.plan(app, config, { keep, olderThanMs: olderThan, now: core.clock.now() });
  const removed = await core.retirement.retire(plan);
  await core.store.appendAudit({ app, at: core.clock.now(), actor: press.user.id, action: 'images pruned', detail: removed.join(', ').slice(0, 1000) || 'none' });
  return { text: `*Pruned ${app}*: ${removed.length} image${removed.length === 1 ? '' : 's'} removed`, lines: describePlan(app, plan, true), tone: 'succeeded' };
}
