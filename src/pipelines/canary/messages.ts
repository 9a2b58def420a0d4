import { mention, type ChatMessage, type Tone } from '../../message.js';
import type { Clock } from '../../clock.js';
import type { DeployConfig } from '../../config/deploy.js';
import { alignColumns, formatDuration, whereItIs } from '../../operations/format.js';
import type { Pipeline } from '../../operations/pipeline.js';
import type { Operation } from '../../store/items.js';
import { inEnvironment, windowMoment, windowPosition } from './operation.js';
import { formatDuration as formatMinutes } from '../../judge/explain.js';
import { canaryParams, type CanaryState } from './state.js';

/*
 * How a release's lifecycle reads in chat: the root shows where the release stands (baked → canary →
 * awaiting approval → promoting → live, or rolled back), one reply per step, one verdict table kept
 * current, and a summary posted to the channel when the release was rolled back.
 */

const stages = ['baked', 'canary', 'awaiting approval', 'promoting', 'live'] as const;
type Stage = (typeof stages)[number];

const stageOfStep: Record<string, Stage> = {
  'read-live': 'canary',
  'launch-template': 'canary',
  'launch-canary': 'canary',
  'wait-healthy': 'canary',
  judge: 'canary',
  approval: 'awaiting approval',
  refresh: 'promoting',
  'record-live': 'promoting',
  'remove-canary': 'promoting',
  grow: 'promoting',
  switch: 'promoting',
  'retire-old': 'live',
};

function stageOf(operation: Operation): Stage {
  if (operation.status === 'succeeded') return 'live';
  const current = operation.steps.findLast((step) => step.status === 'running' || step.status === 'failed') ?? operation.steps.at(-1);
  return current ? (stageOfStep[current.name] ?? 'canary') : 'canary';
}

/** "baked ✓ → canary ✓ → *awaiting approval* → promoting → live" */
function path(operation: Operation): string {
  const at = stages.indexOf(stageOf(operation));
  const ended = operation.status !== 'running';
  return stages
    .map((stage, i) => (i < at ? `${stage} ✓` : i === at ? (ended && stage === 'live' ? `*${stage}* ✓` : ended ? `~${stage}~` : `*${stage}*`) : stage))
    .join(' → ');
}

/** Who asked for the canary, and which operation it is: the small print of its root, however it reads. */
function rootContext(operation: Operation): string[] {
  return [`canary asked by ${mention(operation.requestedBy)}`, `Operation \`${operation.id}\``];
}

/**
 * A release's root once a later operation changed what became of it (replaced, rolled back, live
 * again): the path it went to live, then where it stands now instead of how its canary ended.
 */
export function releaseRoot(operation: Operation, fate: { stage: string; line: string; tone: Tone }): ChatMessage {
  // A canary of long ago may not read as today's params do; its fate is still worth showing.
  const ami = canaryParams.safeParse(operation.params).data?.ami;
  return {
    text: `*Release ${operation.app} ${operation.version}* · ${stages.map((stage) => `${stage} ✓`).join(' → ')} → *${fate.stage}*`,
    lines: [fate.line, ...(ami ? [`Image \`${ami}\``] : [])],
    context: rootContext(operation),
    tone: fate.tone,
  };
}

function rolledBackBy(operation: Operation): string | undefined {
  if (operation.approval?.decision === 'rollback') return operation.approval.byName;
  if (operation.cancelRequested) return operation.cancelRequested.by;
  return undefined;
}

/** The canary's interval as it was asked for; a minute for an operation that has no deploy config. */
const intervalOf = (operation: Operation): number => canaryParams.parse(operation.params).config.deploy?.canary.interval ?? 60_000;

export function verdictTable(operation: Operation, verdict: NonNullable<CanaryState['verdict']>, durationMs: number, deploy: DeployConfig): ChatMessage {
  const rows = verdict.metrics.map((m) => [m.gating ? m.label : `${m.label} (shadow)`, m.verdict, m.canary, m.baseline]);
  const table = alignColumns([['metric', 'verdict', 'canary', 'baseline'], ...rows]);
  const extended = verdict.minute > durationMs / 60_000 ? ` (extended; at most ${formatMinutes((durationMs + deploy.canary.maxExtension) / 60_000)})` : '';
  return {
    text: `*Canary ${operation.app} ${operation.version}${inEnvironment(operation)}* · ${windowPosition(verdict.minute, durationMs, deploy)}${extended} · *${verdict.outcome.toUpperCase()}*`,
    lines: ['```', ...table, '```', ...verdict.metrics.map((m) => `• ${m.explanation}`)],
    tone: verdict.outcome === 'fail' ? 'failed' : verdict.outcome === 'pass' ? 'succeeded' : 'running',
  };
}

export function canaryMessages(clock: Clock, steps: { name: string; title: string }[]): Pick<Pipeline<CanaryState>, 'root' | 'stepDone' | 'summary'> {
  const titleOf = (name: string): string => steps.find((step) => step.name === name)?.title ?? name;
  const elapsed = (operation: Operation): string => formatDuration((operation.finishedAt ?? clock.now()) - operation.createdAt);

  function statusLine(operation: Operation, state: CanaryState): string {
    switch (operation.status) {
      case 'running': {
        if (operation.cancelRequested) return `⏳ Rolling back (asked by ${operation.cancelRequested.by}): removing the canary…`;
        if (operation.ending) return `⏳ ${operation.ending === 'succeeded' ? 'Tidying up' : 'Rolling back: removing the canary'}…`;
        return `⏳ ${whereItIs(operation, titleOf)} · ${elapsed(operation)} so far`;
      }
      case 'succeeded':
        // A red-black switch made the canary's group the live one.
        return `✓ Live on ${(state.switchedAt !== undefined ? state.canaryGroup : state.live?.name) ?? 'the fleet'}${state.approvedBy ? `, approved by ${state.approvedBy}` : ''}, ${elapsed(operation)} after the canary began`;
      case 'failed':
        return `✗ Rolled back: ${operation.error?.message ?? 'the canary failed'}`;
      case 'cancelled':
        return `✗ Rolled back by ${rolledBackBy(operation) ?? 'someone'} after ${elapsed(operation)}`;
    }
  }

  return {
    root(operation, state) {
      const params = canaryParams.parse(operation.params);
      return {
        text: `*Release ${operation.app} ${operation.version}${inEnvironment(operation)}* · ${path(operation)}`,
        lines: [statusLine(operation, state), `Image \`${params.ami}\``],
        context: rootContext(operation),
        tone: operation.status,
      };
    },

    stepDone(_operation, step, title) {
      const took = step.finishedAt !== undefined ? formatDuration(step.finishedAt - step.startedAt) : '';
      return { text: `✓ ${title}${took ? ` (${took})` : ''}${step.detail ? ` — ${step.detail}` : ''}`, tone: 'info' };
    },

    summary(operation, state) {
      const rolledBack = operation.status !== 'succeeded';
      const fromCommand = operation.cancelRequested && operation.finishedAt ? operation.finishedAt - operation.cancelRequested.at : undefined;
      return {
        text: rolledBack
          ? `*${operation.app} ${operation.version} rolled back${inEnvironment(operation)}*${operation.status === 'cancelled' ? ` by ${rolledBackBy(operation) ?? 'someone'}` : operation.error ? `: ${operation.error.message}` : ''}`
          : `*${operation.app} ${operation.version} is live${inEnvironment(operation)}* on ${(state.switchedAt !== undefined ? state.canaryGroup : state.live?.name) ?? 'the fleet'}`,
        lines: [
          ...(rolledBack ? [`The fleet stays on ${state.liveVersion ?? state.liveAmi ?? 'its previous version'}.${fromCommand !== undefined ? ` From the rollback to the canary gone: ${formatDuration(fromCommand)}.` : ''}`] : []),
          // A red-black switch: the scaling the new fleet has, since what belonged to the old group went with it.
          ...(!rolledBack && state.switchedAt !== undefined && state.groupCopy
            ? [`Kept from ${state.groupCopy.from}: ${state.groupCopy.copied.join(', ')}${state.groupCopy.uncopied.length ? `. Not copied: ${state.groupCopy.uncopied.join('; ')}` : ''}`]
            : []),
          ...(state.verdict ? [`Verdict at ${windowMoment(state.verdict.minute, intervalOf(operation))}: ${state.verdict.summary}`] : []),
          ...(state.cleanup?.length ? [`Cleanup: ${state.cleanup.join('; ')}`] : []),
        ],
        context: [`Total ${elapsed(operation)} · ${state.awsCalls ?? 0} AWS calls (${state.awsRetries ?? 0} retried)`],
        tone: operation.status,
        broadcast: rolledBack,
      };
    },
  };
}
