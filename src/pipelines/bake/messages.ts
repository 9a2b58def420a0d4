import { amiLink, mention } from '../../message.js';
import type { Button, ChatMessage } from '../../message.js';
import { untrustedText } from '../../message.js';
import type { Clock } from '../../clock.js';
import { formatDuration } from '../../operations/format.js';
import type { Pipeline } from '../../operations/pipeline.js';
import type { Operation, StepRecord } from '../../store/items.js';
import { bakeParams, type BakeState, type RegionCopy } from './state.js';

export const cancelAction = 'bake.cancel';
/** The Retry <region> button of a bake whose copy to a region failed; its value is `app:version:region`. */
export const retryRegionAction = 'bake.retry-region';

/** How a person retries one region's copy by hand. */
export const retryCommand = (operation: Pick<Operation, 'app' | 'version'>, region: string): string => `/bake ${operation.app} ${operation.version} --retry-region ${region}`;

/** One line per region, kept current in the thread as the copies go. */
export function copiesMessage(regions: string[], copies: Partial<Record<string, RegionCopy>>, accounts: number): ChatMessage {
  const shared = `shared with ${accounts} account${accounts === 1 ? '' : 's'}`;
  const line = (region: string): string => {
    const copy = copies[region];
    switch (copy?.status) {
      case undefined:
        return `⏳ ${region} — not started`;
      case 'copying':
        return `⏳ ${region} — copying \`${copy.imageId}\``;
      case 'available':
        return `✓ ${region} — ${amiLink(region, copy.imageId ?? '')} available`;
      case 'shared':
        return `✓ ${region} — ${amiLink(region, copy.imageId ?? '')} available, ${shared}`;
      case 'failed':
        return `✗ ${region} — failed: ${copy.reason ?? 'no reason given'}`;
    }
  };
  return { text: '*Copies*', lines: regions.map(line) };
}

function retryButtons(operation: Operation, regions: string[]): Button[] {
  return regions.map((region) => ({ actionId: retryRegionAction, label: `Retry ${region}`, value: `${operation.app}:${operation.version}:${region}` }));
}

const failedRegions = (state: BakeState): [string, RegionCopy][] => Object.entries(state.regions ?? {}).filter(([, copy]) => copy.status === 'failed');

const regionOf = (operation: Operation): string => bakeParams.parse(operation.params).config.region;

export const smokeTestLine = 'Smoke test: reported by the builder. It guards against mistakes, not malice: the canary and the approval are the gate.';

/** Whether, and against what, the builder checked the artifact's sha256 before provision ran. */
export function digestCheck(checked: BakeState['artifactChecked']): string {
  switch (checked) {
    case 'given':
      return 'checked against --sha256';
    case 'published':
      return 'checked against the sha256 the CI published';
    case undefined:
      return 'not checked: no digest was given (/bake --sha256, or the app’s artifactDigest: published)';
  }
}

/** Slack's confirm dialog on the danger button, like every other one that stops or removes something. */
function cancelConfirm(operation: Operation): NonNullable<Button['confirm']> {
  return { title: 'Cancel the bake?', text: `Stop baking ${operation.app} ${operation.version} and clean up its builder; nothing is released.`, confirm: 'Cancel the bake', deny: 'Keep baking' };
}

const icons = { done: '✓', failed: '✗', running: '⏳', skipped: '–' } as const;

/** How a bake looks in a chat: the root message kept current, one reply per step, and a summary. */
export function bakeMessages(clock: Clock, steps: { name: string; title: string }[], retrySteps: { name: string; title: string }[]): Pick<Pipeline<BakeState>, 'root' | 'stepDone' | 'summary'> {
  const stepsOf = (operation: Operation) => (bakeParams.parse(operation.params).retryRegion ? retrySteps : steps);
  const titleOf = (name: string, operation: Operation): string => stepsOf(operation).find((step) => step.name === name)?.title ?? name;

  function elapsed(operation: Operation): string {
    return formatDuration((operation.finishedAt ?? clock.now()) - operation.createdAt);
  }

  function statusLine(operation: Operation, state: BakeState): string {
    switch (operation.status) {
      case 'running': {
        const current = operation.steps.findLast((s) => s.status === 'running');
        if (operation.cancelRequested) return `⏳ Cancelling (asked by ${operation.cancelRequested.by}), cleaning up…`;
        if (operation.ending) return `⏳ Cleaning up after the bake ${operation.ending === 'succeeded' ? 'succeeded' : operation.ending}…`;
        const done = operation.steps.filter((s) => s.status === 'done').length;
        return current
          ? `⏳ ${titleOf(current.name, operation)} (step ${done + 1} of ${stepsOf(operation).length}) · ${elapsed(operation)} so far${current.detail ? ` · ${current.detail}` : ''}`
          : `⏳ ${done} of ${stepsOf(operation).length} steps done · ${elapsed(operation)} so far`;
      }
      case 'succeeded': {
        const retried = bakeParams.parse(operation.params).retryRegion;
        if (retried) return `✓ Copied to ${retried}: ${amiLink(retried, state.regions?.[retried]?.imageId ?? '')} in ${elapsed(operation)}`;
        if (state.existingAmi) return `✓ Already baked: ${amiLink(regionOf(operation), state.existingAmi)}`;
        const failed = failedRegions(state).map(([region]) => region);
        return `✓ Baked ${amiLink(regionOf(operation), state.imageId ?? '')} in ${elapsed(operation)}${failed.length > 0 ? ` · ✗ not copied to ${failed.join(', ')}` : ''}`;
      }
      case 'failed':
        return `✗ Failed at *${titleOf(operation.error?.step ?? '', operation)}*: ${operation.error?.message}`;
      case 'cancelled':
        return `✗ Cancelled by ${operation.cancelRequested?.by ?? 'someone'} after ${elapsed(operation)}`;
    }
  }

  return {
    root(operation, state) {
      const params = bakeParams.parse(operation.params);
      return {
        text: params.retryRegion
          ? `*Copy ${operation.app} ${operation.version} to ${params.retryRegion}* (a retry, from the baked image)`
          : `*Bake ${operation.app} ${operation.version}*`,
        lines: [
          statusLine(operation, state),
          ...(state.baseAmi ? [`Base: \`${state.baseAmi}\` ${state.baseAmiName ?? ''}`] : []),
          ...(params.commit ? [`Commit: \`${params.commit}\``] : []),
        ],
        context: [`asked by ${mention(operation.requestedBy)}`, `Operation \`${operation.id}\``],
        tone: operation.status,
        buttons: operation.status === 'running' && !operation.cancelRequested && !operation.ending
          ? [{ actionId: cancelAction, label: 'Cancel', value: operation.id, style: 'danger', confirm: cancelConfirm(operation) }]
          : [],
      };
    },

    stepDone(_operation, step: StepRecord, title: string): ChatMessage {
      const took = step.finishedAt !== undefined ? formatDuration(step.finishedAt - step.startedAt) : '';
      return { text: `${icons[step.status]} *${title}* — ${took}${step.detail ? ` · ${step.detail}` : ''}` };
    },

    summary(operation, state): ChatMessage {
      const timings = operation.steps
        .filter((s) => s.status !== 'skipped')
        .map((s) => `${icons[s.status]} ${titleOf(s.name, operation)} ${s.finishedAt !== undefined ? formatDuration(s.finishedAt - s.startedAt) : ''}`);
      const retried = bakeParams.parse(operation.params).retryRegion;
      const cleanup = (state.cleanup ?? []).map((line) => `Cleanup: ${line}`);
      if (operation.status === 'succeeded' && state.existingAmi) {
        return { text: `*${operation.app} ${operation.version}* is already baked on this base: ${amiLink(regionOf(operation), state.existingAmi)}. Add \`--force\` to bake it again.`, tone: 'succeeded' };
      }
      if (operation.status === 'succeeded' && retried) {
        const copy = state.regions?.[retried];
        return {
          text: `*Copied ${operation.app} ${operation.version} to ${retried}* in ${elapsed(operation)}: ${amiLink(retried, copy?.imageId ?? '')}`,
          lines: [`${copy?.status === 'shared' ? 'Shared with the app’s accounts and added' : 'Added'} to the release; its other regions are as they were.`, ...cleanup],
          context: [`Steps: ${timings.join(' · ')}`],
          tone: 'succeeded',
        };
      }
      if (operation.status === 'succeeded') {
        const good = Object.entries(state.regions ?? {}).filter(([, copy]) => copy.status !== 'failed' && copy.imageId);
        const amis = [`${regionOf(operation)}: ${amiLink(regionOf(operation), state.imageId ?? '')}`, ...good.map(([region, copy]) => `${region}: ${amiLink(region, copy.imageId ?? '')}`)];
        const failed = failedRegions(state);
        return {
          text: `*Baked ${operation.app} ${operation.version}* in ${elapsed(operation)}${failed.length > 0 ? `, but not copied to ${failed.map(([region]) => region).join(', ')}` : ''}`,
          lines: [
            `AMI ${amis.join(' · ')}`,
            ...failed.map(([region, copy]) => `✗ Not in ${region}: ${copy.reason ?? 'no reason given'}`),
            ...(failed.length > 0
              ? [`The release lists only the regions above. Retry a region alone, from this image (no new bake): its button below, or \`${retryCommand(operation, failed[0]![0])}\`.`]
              : []),
            `Name: \`${state.imageName}\``,
            `Base: \`${state.baseAmi}\` ${state.baseAmiName ?? ''}`,
            `Artifact: sha256 \`${state.artifactSha256 ?? 'not reported'}\`, ${digestCheck(state.artifactChecked)}`,
            // The release ran as root on the builder that reports it: its word, not proof.
            smokeTestLine,
            ...cleanup,
          ],
          context: [`Steps: ${timings.join(' · ')}`, `Total: ${elapsed(operation)} · AWS: ${state.awsCalls ?? 0} calls${state.awsRetries ? ` (${state.awsRetries} retried)` : ''}`],
          tone: 'succeeded',
          buttons: retryButtons(operation, failed.map(([region]) => region)),
        };
      }
      if (retried) {
        const verb = operation.status === 'cancelled' ? 'Cancelled' : 'Failed';
        return {
          text: `*${verb}: copy of ${operation.app} ${operation.version} to ${retried}*`,
          lines: [`Why: ${operation.error?.message ?? 'unknown'}`, `The release and its other regions are as they were. Try again: \`${retryCommand(operation, retried)}\`.`, ...cleanup],
          context: [`Steps: ${timings.join(' · ')}`],
          tone: operation.status,
          buttons: operation.status === 'failed' ? retryButtons(operation, [retried]) : [],
        };
      }
      const verb = operation.status === 'cancelled' ? 'Cancelled' : 'Failed';
      return {
        text: `*${verb}: bake ${operation.app} ${operation.version}*${operation.error?.step ? ` at *${titleOf(operation.error.step, operation)}*` : ''}`,
        lines: [
          `Why: ${operation.error?.message ?? 'unknown'}`,
          // The log is the builder's text, not Bakery's: shown so that it cannot format, link or mention.
          ...(operation.error?.log ? [`Builder log (last lines):\n\`\`\`${untrustedText(operation.error.log.slice(-2500))}\`\`\``] : []),
          ...cleanup,
        ],
        context: [`Steps: ${timings.join(' · ')}`],
        tone: operation.status,
      };
    },
  };
}
