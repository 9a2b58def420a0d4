import { join } from 'node:path';
import { z } from 'zod';
import { defaultDigestSchedule, defaultSweepSchedule, scheduleProblem, type JobSchedule } from './schedule.js';

/*
 * Bakery's environment, parsed once at start. Without Slack credentials Bakery runs locally: a
 * terminal chat, an embedded DynamoDB and a simulated AWS, all keeping their state in the data folder.
 */

const slackToken = (prefix: string) => z.string().regex(new RegExp(`^${prefix}-[A-Za-z0-9-]+$`), `must look like ${prefix}-…`);
const simulatedFault = /^(download-fails|provision-fails|smoke-fails|builder-hangs|image-stuck|bad-release|unhealthy-release|slow-start|copy-fails)(:[a-z][a-z0-9-]*)?$/;
const positiveSeconds = z.coerce.number().positive().max(86_400);

export const envSchema = z
  .object({
    SLACK_BOT_TOKEN: slackToken('xoxb').optional(),
    SLACK_SIGNING_SECRET: z.string().regex(/^[0-9a-f]{16,128}$/i, 'must be the hex signing secret from the app’s Basic Information page').optional(),
    SLACK_APP_TOKEN: slackToken('xapp').optional(),
    SLACK_API_URL: z.string().url().optional(),
    PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
    BAKERY_TABLE: z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, 'a DynamoDB table name').default('bakery'),
    BAKERY_APPS: z.string().min(1).default('config/apps.example.yml'),
    BAKERY_DATA_DIR: z.string().min(1).default('data'),
    BAKERY_DYNAMODB: z.enum(['embedded', 'aws']).optional(),
    BAKERY_AWS: z.enum(['simulated', 'real']).optional(),
    BAKERY_REPLICA: z.string().regex(/^[\w.-]{1,64}$/).optional(),
    BAKERY_LEASE_SECONDS: positiveSeconds.default(60),
    BAKERY_POLL_SECONDS: positiveSeconds.optional(),
    /** Local mode only: builder and image faults to simulate, e.g. "provision-fails" or "smoke-fails:demo,image-stuck,bad-release"; copy-fails takes a region (copy-fails:eu-west-1). */
    BAKERY_SIM_FAULTS: z
      .string()
      .transform((text) => text.split(',').map((item) => item.trim()).filter(Boolean))
      .pipe(z.array(z.string().regex(simulatedFault, 'each fault is one of download-fails, provision-fails, smoke-fails, builder-hangs, image-stuck, bad-release, unhealthy-release, slow-start, optionally :<app>; or copy-fails, optionally :<region>')))
      .optional(),
    /** When the stale-image digest is posted (node-cron, five fields), or "off". */
    BAKERY_DIGEST_CRON: z.string().max(100).default(defaultDigestSchedule.expression),
    BAKERY_DIGEST_TIMEZONE: z.string().max(64).default(defaultDigestSchedule.timezone),
    /** How late a slot missed while Bakery was down is still posted, at start. */
    BAKERY_DIGEST_GRACE_MINUTES: z.coerce.number().int().min(0).max(24 * 60).default(defaultDigestSchedule.graceMs / 60_000),
    /** When the sweep of leaked builders, volumes, images and snapshots runs (node-cron, five fields, UTC), or "off". */
    BAKERY_SWEEP_CRON: z.string().max(100).default(defaultSweepSchedule.expression),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
    LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  })
  .refine((env) => !env.SLACK_BOT_TOKEN === !env.SLACK_SIGNING_SECRET, {
    message: 'SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET go together: set both for Slack, or neither for the local terminal chat',
    path: ['SLACK_SIGNING_SECRET'],
  })
  .superRefine((env, ctx) => {
    if (env.BAKERY_DIGEST_CRON === 'off') return;
    const problem = scheduleProblem(env.BAKERY_DIGEST_CRON, env.BAKERY_DIGEST_TIMEZONE);
    if (problem) ctx.addIssue({ code: 'custom', path: [problem.startsWith('unknown timezone') ? 'BAKERY_DIGEST_TIMEZONE' : 'BAKERY_DIGEST_CRON'], message: problem });
  })
  .superRefine((env, ctx) => {
    if (env.BAKERY_SWEEP_CRON === 'off') return;
    const problem = scheduleProblem(env.BAKERY_SWEEP_CRON, defaultSweepSchedule.timezone);
    if (problem) ctx.addIssue({ code: 'custom', path: ['BAKERY_SWEEP_CRON'], message: problem });
  });

export interface Settings {
  slack?: { botToken: string; signingSecret: string; appToken?: string; apiUrl?: string };
  local: boolean;
  port: number;
  table: string;
  appsFile: string;
  dataDir: string;
  dynamodb: 'embedded' | 'aws';
  aws: 'simulated' | 'real';
  replica?: string;
  leaseMs: number;
  pollIntervalMs: number;
  logLevel: string;
  logFormat: 'json' | 'pretty';
  /** Local mode: where the log goes, so that the terminal shows only the chat. Elsewhere stdout. */
  logFile?: string;
  /** Undefined when BAKERY_DIGEST_CRON is off. */
  digest?: JobSchedule;
  /** Undefined when BAKERY_SWEEP_CRON is off. */
  sweep?: JobSchedule;
  simulatedFaults: (
    | { kind: 'download-fails' | 'provision-fails' | 'smoke-fails' | 'builder-hangs' | 'image-stuck' | 'bad-release' | 'unhealthy-release' | 'slow-start'; app?: string }
    | { kind: 'copy-fails'; region?: string }
  )[];
}

export class EnvError extends Error {
  override name = 'EnvError';
}

/** Parses the environment; an error names each variable and what is wrong, never its value. */
export function readSettings(env: NodeJS.ProcessEnv): Settings {
  const blanksRemoved = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = envSchema.safeParse(blanksRemoved);
  if (!parsed.success) {
    throw new EnvError(parsed.error.issues.map((issue) => `${issue.path.join('.') || 'environment'}: ${issue.message}`).join('\n'));
  }
  const e = parsed.data;
  const local = !e.SLACK_BOT_TOKEN;
  return {
    slack: e.SLACK_BOT_TOKEN && e.SLACK_SIGNING_SECRET
      ? { botToken: e.SLACK_BOT_TOKEN, signingSecret: e.SLACK_SIGNING_SECRET, appToken: e.SLACK_APP_TOKEN, apiUrl: e.SLACK_API_URL }
      : undefined,
    local,
    port: e.PORT,
    table: e.BAKERY_TABLE,
    appsFile: e.BAKERY_APPS,
    dataDir: e.BAKERY_DATA_DIR,
    dynamodb: e.BAKERY_DYNAMODB ?? (local ? 'embedded' : 'aws'),
    aws: e.BAKERY_AWS ?? (local ? 'simulated' : 'real'),
    replica: e.BAKERY_REPLICA,
    leaseMs: e.BAKERY_LEASE_SECONDS * 1000,
    pollIntervalMs: (e.BAKERY_POLL_SECONDS ?? (local ? 1 : 15)) * 1000,
    logLevel: e.LOG_LEVEL ?? 'info',
    logFormat: e.LOG_FORMAT ?? (local ? 'pretty' : 'json'),
    logFile: local ? join(e.BAKERY_DATA_DIR, 'bakery.log') : undefined,
    digest: e.BAKERY_DIGEST_CRON === 'off'
      ? undefined
      : { expression: e.BAKERY_DIGEST_CRON, timezone: e.BAKERY_DIGEST_TIMEZONE, graceMs: e.BAKERY_DIGEST_GRACE_MINUTES * 60_000 },
    sweep: e.BAKERY_SWEEP_CRON === 'off' ? undefined : { ...defaultSweepSchedule, expression: e.BAKERY_SWEEP_CRON },
    simulatedFaults: (e.BAKERY_SIM_FAULTS ?? []).map((item): Settings['simulatedFaults'][number] => {
      const [kind, where] = item.split(':') as [Settings['simulatedFaults'][number]['kind'], string | undefined];
      if (kind === 'copy-fails') return where ? { kind, region: where } : { kind };
      return where ? { kind, app: where } : { kind };
    }),
  };
}
