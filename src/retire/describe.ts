import { formatTime } from '../operations/format.js';
import type { Bake, PrunePlan, RetireStep } from './plan.js';
import type { RetireOutcome } from './retire.js';

/*
 * A prune's plan, and what carrying it out did, in the words `/bakery prune` and its button answer with.
 */

const SHOWN = 15;
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
const snapshotsOf = (bake: Bake): number => bake.images.reduce((n, image) => n + image.snapshotIds.length, 0);

export function bakeLine(bake: Bake): string {
  return `${bake.version ?? '?'} (${bake.images.map((image) => `\`${image.imageId}\` ${image.region}`).join(', ')})`;
}

function stepLine(bake: Bake, step: RetireStep, now: number): string {
  switch (step.kind) {
    case 'deregister':
      return `Would remove: ${bakeLine(bake)}, with ${plural(snapshotsOf(bake), 'snapshot')}`;
    case 'deprecate':
      return `Would deprecate: ${bakeLine(bake)} from ${formatTime(step.at, now)}, the first stage of its retirement`;
    case 'disable':
      return `Would disable: ${bakeLine(bake)} (deprecated long enough)`;
    case 'wait':
      return `In retirement: ${bakeLine(bake)} ${step.stage}; ${step.next === 'disable' ? 'disabled' : 'deregistered'} from ${formatTime(step.dueAt, now)} at the first prune or digest after`;
  }
}

/** The plan, line by line: what would change, what is in retirement, what is kept and why. */
export function describePlan(app: string, plan: PrunePlan, now: number): string[] {
  const changes = [
    ...plan.restore.map(({ bake, why }) => `Would restore: ${bakeLine(bake)}, in use again: ${why.join('; ')}`),
    ...plan.retire.map(({ bake, step }) => stepLine(bake, step, now)),
  ];
  return [
    ...changes.slice(0, SHOWN),
    ...(changes.length > SHOWN ? [`…and ${changes.length - SHOWN} more bakes of ${app}`] : []),
    ...plan.keep.slice(0, SHOWN).map(({ bake, why }) => `Kept: ${bakeLine(bake)}: ${why.join('; ')}`),
    ...(plan.keep.length > SHOWN ? [`…and ${plan.keep.length - SHOWN} more kept`] : []),
  ];
}

/** "1 bake would go, 2 would be deprecated": what pressing the button does now. */
export function planSummary(plan: PrunePlan): string {
  const count = (kind: RetireStep['kind']): number => plan.retire.filter(({ step }) => step.kind === kind).length;
  const parts = [
    count('deregister') ? `${plural(count('deregister'), 'bake')} would go` : '',
    count('deprecate') ? `${count('deprecate')} would be deprecated` : '',
    count('disable') ? `${count('disable')} would be disabled` : '',
    plan.restore.length ? `${plan.restore.length} would be restored` : '',
  ].filter(Boolean);
  return parts.join(', ');
}

export function outcomeLines(outcomes: RetireOutcome[], now: number): string[] {
  const verbs = { deregistered: 'Removed', deprecated: 'Deprecated', disabled: 'Disabled', restored: 'Restored' };
  return outcomes.map((done) =>
    `${verbs[done.did]}: ${bakeLine(done.bake)}${done.did === 'deregistered' ? `, with ${plural(done.snapshots, 'snapshot')}` : done.at !== undefined ? ` from ${formatTime(done.at, now)}` : ''}`,
  );
}

/** "2 images removed, 1 bake deprecated". */
export function outcomeSummary(outcomes: RetireOutcome[]): string {
  const removed = outcomes.filter((done) => done.did === 'deregistered').reduce((n, done) => n + done.images, 0);
  const bakes = (did: RetireOutcome['did']): number => outcomes.filter((done) => done.did === did).length;
  const parts = [
    removed ? `${plural(removed, 'image')} removed` : '',
    bakes('deprecated') ? `${plural(bakes('deprecated'), 'bake')} deprecated` : '',
    bakes('disabled') ? `${plural(bakes('disabled'), 'bake')} disabled` : '',
    bakes('restored') ? `${plural(bakes('restored'), 'bake')} restored` : '',
  ].filter(Boolean);
  return parts.join(', ') || 'nothing changed';
}
