import { removeGroupNamed } from '../../aws/fleet.js';
import type { Verdict } from '../../judge/judge.js';
import { formatTime } from '../../operations/format.js';
import { StepFailure, type Step } from '../../operations/pipeline.js';
import type { Operation } from '../../store/items.js';
import { extendWindow, judge, judgedBy, SETTLE_PERIODS, verdictLines, type Groups } from './judging.js';
import { verdictTable } from './messages.js';
import { deployOf, regionOf, windowMoment, windowPosition, required, type CanaryDependencies } from './operation.js';
import { canaryParams, type CanaryState } from './state.js';

type Window = NonNullable<CanaryState['window']>;

/** The groups a look reads: the baseline (fresh, or the live group) and the canary, with their target groups. */
function groupsOf(operation: Operation, state: CanaryState): Groups {
  const deploy = deployOf(operation);
  const live = required(state.live, 'live group');
  return {
    baseline: { group: state.baselineGroup ?? live.name, targetGroup: live.targetGroups[0] },
    canary: { group: required(state.canaryGroup, 'canary group'), targetGroup: state.canaryTargetGroup },
    listener: deploy.traffic.mode === 'weighted' ? deploy.traffic.listener : undefined,
  };
}

/** A waiting step: one look per interval, the verdict table kept current, until the window is decided or at its limit. */
export function judgeCanary({ aws, store, clock }: CanaryDependencies): Step<CanaryState> {
  return {
    name: 'judge',
    title: 'Judge the canary',
    async run(input) {
      const { operation, state } = input;
      const deploy = deployOf(operation);
      const { durationMs } = canaryParams.parse(operation.params);
      const period = deploy.canary.interval;
      const before = required(state.window, 'window');
      const window = await extendWindow(aws, regionOf(operation), deploy, groupsOf(operation, state), before, clock.now(), durationMs);
      const nextLook = window.start + (window.periods + 1 + SETTLE_PERIODS) * period;
      const plan = { window, periodMs: period, durationMs, maxExtensionMs: deploy.canary.maxExtension, nextLook, now: clock.now() };
      if (window.periods === before.periods) return { wait: { until: nextLook, detail: `waiting for the first minutes of metrics, ${expectedEnd(plan).text}` } };
      const verdict = judge({ ...deploy, canary: { ...deploy.canary, duration: durationMs } }, window);
      const lines = verdictLines(verdict);
      const summary = { outcome: verdict.outcome, summary: verdict.summary, minute: verdict.minute, metrics: lines };
      const limitMinutes = (durationMs + deploy.canary.maxExtension) / 60_000;
      const atLimit = verdict.outcome === 'wait' && verdict.minute >= limitMinutes - 1e-9;
      const tableRef = await input.say(verdictTable(operation, summary, durationMs, deploy), state.tableRef);
      const saved = { window, verdict: summary, tableRef: tableRef ?? state.tableRef };
      if (verdict.outcome === 'wait' && !atLimit) {
        const { text, extendedUntil } = expectedEnd(plan, verdict, state.extendedUntil);
        return { state: { ...saved, ...(extendedUntil !== undefined ? { extendedUntil } : {}) }, wait: { until: nextLook, detail: `${windowPosition(verdict.minute, durationMs, deploy)}, ${text}` } };
      }
      // The window's chart is drawn from the state saved with this outcome, when the outbox posts it.
      const chart = [{ key: 'chart', file: 'chart' }];
      if (verdict.outcome === 'fail' && deploy.onFail === 'rollback') {
        await store.setReleaseStatus(operation.app, operation.version, 'rejected', { at: clock.now(), by: operation.requestedBy, operationId: operation.id, environment: operation.environment, note: verdict.summary });
        throw new StepFailure(`canary ${verdict.summary}`).keeping(saved, chart);
      }
      const needsHuman = verdict.outcome === 'fail' ? 'failed' : atLimit ? 'undecided' : undefined;
      return { state: { ...saved, needsHuman }, detail: `${verdict.outcome} at ${windowMoment(verdict.minute, period)}: ${verdict.summary}`, announce: chart };
    },
  };
}

/**
 * When a waiting canary ends, steady from look to look: within the plan, the plan's end (the judge's
 * per-metric guesses move with every look); past it, the end the judge asked for, never earlier than
 * the one announced before, and at most the limit that maxExtension sets.
 */
function expectedEnd(
  plan: { window: Window; periodMs: number; durationMs: number; maxExtensionMs: number; nextLook: number; now: number },
  verdict?: Verdict,
  announced?: number,
): { text: string; extendedUntil?: number } {
  const { window, periodMs, durationMs, nextLook, now } = plan;
  const at = (time: number): string => formatTime(time, now);
  if (!verdict || verdict.minute < durationMs / 60_000 - 1e-9) return { text: `ends about ${at(judgedBy(window, periodMs, durationMs))}` };
  const limit = judgedBy(window, periodMs, durationMs + plan.maxExtensionMs);
  const asked = verdict.moreMinutes === null ? limit : Math.max(nextLook, judgedBy(window, periodMs, (verdict.minute + verdict.moreMinutes) * 60_000));
  const extendedUntil = Math.max(announced ?? 0, Math.min(asked, limit));
  const latest = `by ${at(limit)} at the latest`;
  return { text: `extended for more data: ends ${at(extendedUntil) === at(limit) ? latest : `about ${at(extendedUntil)}, ${latest}`}`, extendedUntil };
}

/**
 * Only with a fresh baseline (see stepsFor): once judged it has served its purpose, and kept on it
 * would serve the old image beside a promotion.
 */
export function removeBaseline({ aws }: CanaryDependencies): Step<CanaryState> {
  return {
    name: 'remove-baseline',
    title: 'Remove the fresh baseline',
    async run({ operation, state }) {
      const name = required(state.baselineGroup, 'baseline group');
      await removeGroupNamed(aws, regionOf(operation), name);
      return { detail: `removed ${name}; it was needed only for judging` };
    },
  };
}
