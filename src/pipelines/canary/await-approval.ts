import { formatDuration } from '../../operations/format.js';
import { StepFailure, type Step } from '../../operations/pipeline.js';
import { answeredMessage, approvalMessage, mention, newRequestKey, requestAnnouncement, requestRef } from './approval.js';
import { deployOf, type CanaryDependencies } from './operation.js';
import type { CanaryState } from './state.js';

/** A waiting step: posts the request, reminds at half its TTL, and ends on a press or at its expiry. */
export function awaitApproval({ clock }: CanaryDependencies): Step<CanaryState> {
  return {
    name: 'approval',
    title: 'Await approval',
    async run(input) {
      const { operation, state } = input;
      const deploy = deployOf(operation);
      const now = clock.now();
      const request = state.approvalRequest;
      if (!request) {
        const fresh = { key: newRequestKey(), postedAt: now, expiresAt: now + deploy.approvalTtl, reminded: false };
        const withRequest = { ...state, approvalRequest: fresh };
        const message = approvalMessage(operation, withRequest, deploy, now);
        return { state: { approvalRequest: fresh }, announce: [{ key: requestAnnouncement(fresh.key), message }], wait: { until: fresh.postedAt + deploy.approvalTtl / 2, detail: `waiting for ${deploy.approvers.length} approver${deploy.approvers.length === 1 ? '' : 's'}` } };
      }
      const approval = operation.approval;
      const ref = requestRef(operation, request);
      if (approval?.request === request.key) {
        const answered = approval.decision === 'promote' ? 'approved' : 'rolled-back';
        // The request's buttons go away in turn with the thread's writes; the promotion need not wait for Slack.
        if (ref) void input.say(answeredMessage(operation, answered, now), ref);
        if (approval.decision === 'rollback') throw new StepFailure(`rolled back by ${approval.byName} instead of promoting`);
        return { state: { approvedBy: approval.byName }, detail: `approved by ${approval.byName}` };
      }
      if (now >= request.expiresAt) {
        if (ref) await input.say(answeredMessage(operation, 'expired', now), ref);
        throw new StepFailure(`nobody approved within ${formatDuration(deploy.approvalTtl)}; the canary is removed`);
      }
      if (!request.reminded && now >= request.postedAt + deploy.approvalTtl / 2) {
        const reminder = { text: `Reminder: ${operation.app} ${operation.version} is waiting for approval ${deploy.approvers.map(mention).join(' ')}; it expires in ${formatDuration(request.expiresAt - now)}.`, tone: 'info' as const };
        return { state: { approvalRequest: { ...request, reminded: true } }, announce: [{ key: requestAnnouncement(request.key, true), message: reminder }], wait: { until: request.expiresAt, detail: 'reminded the approvers' } };
      }
      return { wait: { until: request.reminded ? request.expiresAt : request.postedAt + deploy.approvalTtl / 2, detail: 'waiting for approval' } };
    },
  };
}
