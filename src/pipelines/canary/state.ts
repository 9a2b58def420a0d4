import { z } from 'zod';
import { fleetAppConfig } from '../../config/apps.js';
import { amiId } from '../../config/names.js';
import { chatThread } from '../../store/items.js';

/** The live group as the canary found it: what it copies, and what a rollback returns to. */
export const liveGroupState = z.object({
  name: z.string(),
  launchTemplateId: z.string(),
  launchTemplateName: z.string(),
  launchTemplateVersion: z.string(),
  subnets: z.string(),
  targetGroups: z.array(z.string()),
  healthCheckType: z.string(),
  healthCheckGracePeriod: z.number(),
  min: z.number(),
  max: z.number(),
  desired: z.number(),
  tags: z.array(z.object({ key: z.string(), value: z.string(), propagate: z.boolean().optional() })),
});

const series = z.record(z.string(), z.array(z.number().nullable()));

/** One metric's line of the latest verdict, as the table and the chart show it. */
export const metricLine = z.object({
  name: z.string(),
  label: z.string(),
  unit: z.string(),
  kind: z.enum(['count', 'gauge']),
  gating: z.boolean(),
  verdict: z.enum(['Pass', 'High', 'Low', 'Inconclusive']),
  canary: z.string(),
  baseline: z.string(),
  explanation: z.string(),
  /** A High or Low that rests on a part of the window: which part (the latest minutes; since a shift or a run's start), for the chart to shade. */
  basis: z.object({ scope: z.enum(['recent', 'run', 'since']), fromMinute: z.number().optional(), toMinute: z.number().optional() }).optional(),
});
export type MetricLine = z.infer<typeof metricLine>;

export const canaryState = z.object({
  live: liveGroupState.optional(),
  /** What the live fleet ran when the canary began: the rollback target of this release. */
  liveAmi: amiId.optional(),
  liveVersion: z.string().optional(),
  templateVersion: z.string().optional(),
  canaryGroup: z.string().optional(),
  /** A fresh baseline only: the group of the canary's size on the live image that the canary is compared with. */
  baselineGroup: z.string().optional(),
  /** Weighted traffic only: the canary's own target group. */
  canaryTargetGroup: z.string().optional(),
  /** Weighted traffic only: what the listener's other weights were multiplied by to give the canary its share (undone when it leaves). */
  listenerScale: z.number().int().positive().optional(),
  /**
   * The minutes judged so far: where the window starts, how many periods it holds, and each series
   * per group. Kept after every look, so a restart reads only the periods after them.
   */
  window: z
    .object({ start: z.number(), periods: z.number().int().nonnegative(), baseline: series, canary: series })
    .optional(),
  verdict: z
    .object({ outcome: z.enum(['pass', 'fail', 'wait']), summary: z.string(), minute: z.number(), metrics: z.array(metricLine) })
    .optional(),
  /** Past the plan: the end announced for the extension, so that it never moves earlier from look to look. */
  extendedUntil: z.number().optional(),
  /** Why a human is asked instead of the usual Promote request: the canary failed in `ask` mode, or stayed undecided. */
  needsHuman: z.enum(['failed', 'undecided']).optional(),
  tableRef: chatThread.optional(),
  approvalRequest: z
    .object({ key: z.string(), ref: chatThread.optional(), postedAt: z.number(), expiresAt: z.number(), reminded: z.boolean() })
    .optional(),
  approvedBy: z.string().optional(),
  refreshId: z.string().optional(),
  refreshStartedAt: z.number().optional(),
  promotedAt: z.number().optional(),
  /** Red-black: the live group's own capacity and suspended processes, given to the new fleet once it takes the traffic. */
  liveScaling: z.object({ min: z.number(), max: z.number(), desired: z.number(), suspendedProcesses: z.array(z.string()) }).optional(),
  /** Red-black: what the new fleet was given of the live group's configuration, and what it could not have, for the summary. */
  groupCopy: z.object({ from: z.string(), copied: z.array(z.string()), uncopied: z.array(z.string()) }).optional(),
  /** Red-black: when traffic moved to the new fleet (a rollback after it switches back). */
  switchedAt: z.number().optional(),
  cleanup: z.array(z.string()).optional(),
  awsCalls: z.number().int().nonnegative().optional(),
  awsRetries: z.number().int().nonnegative().optional(),
});
export type CanaryState = z.infer<typeof canaryState>;

/** The request, and the app's config as it was when asked (a restart with a new config changes nothing under way). */
export const canaryParams = z.object({
  config: fleetAppConfig,
  ami: amiId,
  instances: z.number().int().positive(),
  durationMs: z.number().int().positive(),
  requestedByName: z.string(),
  /** The bake's thread: the lifecycle continues there when there is one. */
  releaseThread: chatThread.optional(),
});
export type CanaryParams = z.infer<typeof canaryParams>;
