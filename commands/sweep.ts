import { approvesSomeApp } from '../src/access/access.js';
import type { SlashCommand } from '../src/chat/surface.js';
import type { ChatMessage } from '../src/message.js';
import type { Core } from '../src/core.js';
import type { SweepDecision } from '../src/jobs/sweep-plan.js';
import type { SweepOutcome } from '../src/jobs/sweep.js';
import { splitWords, usageError } from './grammar.js';

export const sweepUsage = '/bakery sweep [--dry-run]';
const SHOWN = 15;

const line = (verb: string, { resource, why }: SweepDecision): string =>
  `${verb}: ${resource.kind} \`${resource.id}\` ${resource.region}${resource.app ? ` (${resource.app}${resource.version ? ` ${resource.version}` : ''})` : ''}: ${why}`;

function capped(decisions: SweepDecision[], verb: string, rest: string): string[] {
  return [...decisions.slice(0, SHOWN).map((decision) => line(verb, decision)), ...(decisions.length > SHOWN ? [`…and ${decisions.length - SHOWN} more ${rest}`] : [])];
}

function describeOutcome(outcome: SweepOutcome): string[] {
  const { plan, removed, left, unlisted, dryRun } = outcome;
  return [
    ...(dryRun ? capped(plan.remove, 'Would remove', 'to remove') : capped(removed, 'Removed', 'removed')),
    ...left.slice(0, SHOWN).map((decision) => `${line('Left for the next sweep', decision)} (${decision.error})`),
    ...capped(plan.unrecorded, 'Left alone', 'left alone, tagged but never recorded by their operation'),
    ...unlisted.map(({ region, error }) => `Not swept: ${region} could not be listed (${error})`),
    `Kept ${plan.keep.length} of Bakery's resources: running operations, baked images and what is not this Bakery's (${outcome.regions.join(', ') || 'no regions'}).`,
  ];
}

/**
 * `/bakery sweep [--dry-run]`: the scheduled sweep, now. A dry run (anyone) lists what would go; a
 * real run removes it, and only an approver (deploy.approvers) of some configured app may ask for one,
 * since it reaches every app's leftovers.
 */
export async function sweepCommand(core: Core, command: SlashCommand, words: string[]): Promise<ChatMessage> {
  const split = splitWords(words.join(' '), [], ['dry-run']);
  if (!split.ok) return usageError(split.error, sweepUsage);
  if (split.value.positional.length > 0) return usageError(`unexpected "${split.value.positional[0]!.slice(0, 40)}"`, sweepUsage);
  const dryRun = split.value.flags['dry-run'] === true;
  if (!dryRun) {
    if (!(await approvesSomeApp(core, command, Object.values(await core.store.listAppConfigs())))) {
      return { text: 'Only an approver of an app may sweep for real; `/bakery sweep --dry-run` shows what would go.', tone: 'failed' };
    }
  }
  const outcome = await core.sweep.sweep({ dryRun, by: command.user.id });
  const count = dryRun ? outcome.plan.remove.length : outcome.removed.length;
  const noun = `leftover${count === 1 ? '' : 's'}`;
  return {
    text: dryRun ? `*Sweep* (dry run): ${count} ${noun} would go` : `*Sweep*: ${count} ${noun} removed${outcome.left.length ? `, ${outcome.left.length} left for the next sweep` : ''}`,
    lines: describeOutcome(outcome),
    tone: dryRun ? 'info' : outcome.left.length || outcome.unlisted.length ? 'info' : 'succeeded',
  };
}
