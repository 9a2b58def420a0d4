import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Button, ChatMessage } from '../../message.js';
import type { DeployConfig } from '../../config/deploy.js';
import { formatDuration, formatTime } from '../../operations/format.js';
import { postedRef } from '../../operations/outbox.js';
import { mention } from '../../message.js';
import type { ChatThread, Operation } from '../../store/items.js';
import { inEnvironment, windowMoment } from './operation.js';
import type { CanaryState } from './state.js';

/*
 * The approval request: who is asked, what the buttons carry, and how the message reads in each
 * of its states (asked, reminded, approved, rolled back, expired). The decision itself is a
 * conditional write on the operation (Store.decideApproval), so it is taken once whoever presses.
 */

export const promoteAction = 'release.promote';
export const rollbackAction = 'release.rollback';

/** A button's value: the operation and the request it answers, so a stale button is recognised. */
export const approvalValue = z
  .string()
  .regex(/^op-[a-z0-9]+-[0-9a-f]{8}\.[0-9a-f]{12}$/)
  .transform((value) => {
    const [operationId, key] = value.split('.') as [string, string];
    return { operationId, key };
  });

export const newRequestKey = (): string => randomBytes(6).toString('hex');

/** The outbox key of an approval request (and of its reminder): one post each, however often the step runs. */
export const requestAnnouncement = (key: string, reminder = false): string => `approval-${key}${reminder ? '-reminder' : ''}`;

/** Where the request was posted: recorded by the outbox (in the step's state, for a request posted before it). */
export function requestRef(operation: Operation, request: { key: string; ref?: ChatThread }): ChatThread | undefined {
  return request.ref ?? postedRef(operation, requestAnnouncement(request.key));
}

/** The approval request names its approvers with the access module's mentions. */
export { mention };

export function approvalMessage(operation: Operation, state: CanaryState, deploy: DeployConfig, now: number): ChatMessage {
  const request = state.approvalRequest;
  const value = `${operation.id}.${request?.key ?? ''}`;
  const verdict = state.verdict;
  const target = `${deploy.group} (${deploy.strategy === 'rolling' ? 'instance refresh' : 'red-black'})`;
  const asked = deploy.approvers.map(mention).join(' ');
  const heading =
    state.needsHuman === 'failed'
      ? `The canary of *${operation.app} ${operation.version}*${inEnvironment(operation)} failed: roll it back, or promote it anyway?`
      : state.needsHuman === 'undecided'
        ? `The canary of *${operation.app} ${operation.version}*${inEnvironment(operation)} stayed undecided: roll it back, or promote it anyway?`
        : `Promote *${operation.app} ${operation.version}* to the whole fleet${inEnvironment(operation)}?`;
  const confirm = {
    title: 'Promote?',
    text: `${operation.app} ${operation.version} → ${target}. Canary verdict: ${verdict?.outcome ?? 'none'}${verdict ? ` (${verdict.summary.slice(0, 200)})` : ''}.`,
    confirm: state.needsHuman ? 'Promote anyway' : 'Promote',
    deny: 'Not yet',
  };
  const buttons: Button[] = [
    { actionId: promoteAction, label: state.needsHuman ? 'Promote anyway' : 'Promote', value, style: 'primary', confirm },
    {
      actionId: rollbackAction,
      label: 'Roll back',
      value,
      style: 'danger',
      confirm: { title: 'Roll back?', text: `Remove the canary of ${operation.app} ${operation.version}; the fleet stays on what it runs now.`, confirm: 'Roll back', deny: 'Keep it' },
    },
  ];
  return {
    text: `${heading} ${asked}`,
    lines: [
      verdict ? `Verdict at ${windowMoment(verdict.minute, deploy.canary.interval)}: ${verdict.summary}` : '',
      `Target: ${target}. Asked by ${canaryAskedBy(operation)}${deploy.fourEyes ? ', who may not approve it (four eyes)' : ''}.`,
      request ? `Expires ${formatTime(request.expiresAt, now)} (in ${formatDuration(request.expiresAt - now)}); then the canary is removed.` : '',
    ],
    tone: state.needsHuman ? 'failed' : 'info',
    broadcast: true,
    buttons,
  };
}

/** The request once it is answered or over: its buttons gone, what happened in their place. */
export function answeredMessage(operation: Operation, outcome: 'approved' | 'rolled-back' | 'expired', now: number): ChatMessage {
  const approval = operation.approval;
  const at = approval ? formatTime(approval.at, now) : '';
  switch (outcome) {
    case 'approved':
      return { text: `*${operation.app} ${operation.version}*: approved by ${approval?.byName ?? 'an approver'} at ${at}; promoting.`, tone: 'succeeded' };
    case 'rolled-back':
      return { text: `*${operation.app} ${operation.version}*: rolled back by ${approval?.byName ?? operation.cancelRequested?.by ?? 'someone'}${at ? ` at ${at}` : ''}.`, tone: 'cancelled' };
    case 'expired':
      return { text: `*${operation.app} ${operation.version}*: expired — \`/canary ${operation.app} ${operation.version}\` again or \`/rollback ${operation.app}\`.`, tone: 'cancelled' };
  }
}

function canaryAskedBy(operation: Operation): string {
  return `<@${operation.requestedBy}>`;
}
