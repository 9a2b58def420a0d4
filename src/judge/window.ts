// What the judge is given: the metric config a team writes, and the window of data
// (one value per interval per metric, per group) the canary stage collects from
// CloudWatch. Both are validated with zod, so a mistake is reported as
// "metric latency_p99, field tolerance: …" rather than as a wrong verdict.

import { z } from 'zod';

/** A multiplicative bound: "x1.5" / "×1.5" (ratio) or "+10%" / "10%" (percent). */
export interface Bound {
  /** The ratio above which the canary is High, e.g. 1.5 or 1.1. */
  upper: number;
  /** The ratio below which the canary is Low, e.g. 1/1.5 or 0.9. */
  lower: number;
  /** As the team wrote it, for explanations ("×1.5", "+10 %"). */
  text: string;
}

const BOUND_PATTERN = /^\s*(?:(?<ratio>[x×*]\s*(?<r>\d+(?:\.\d+)?))|(?:\+?\s*(?<p>\d+(?:\.\d+)?)\s*%))\s*$/;

/** Parse "x1.5", "×1.5", "+10%", "10 %" or a bare ratio such as 1.5. */
export function parseBound(input: string | number): Bound | string {
  if (typeof input === 'number') {
    if (!(input > 1)) return `a ratio must be greater than 1 (got ${input})`;
    return { upper: input, lower: 1 / input, text: `×${input}` };
  }
  const match = BOUND_PATTERN.exec(input);
  const groups = match?.groups;
  if (!groups) return `write a ratio like "x1.5" or a percentage like "+10%" (got "${input}")`;
  if (groups['r'] !== undefined) {
    const ratio = Number(groups['r']);
    if (!(ratio > 1)) return `a ratio must be greater than 1 (got "${input}")`;
    return { upper: ratio, lower: 1 / ratio, text: `×${ratio}` };
  }
  const percent = Number(groups['p']);
  if (!(percent > 0)) return `a percentage must be above 0 (got "${input}")`;
  // -100 % or beyond is no lower bound at all; there, mirror the upper bound as a ratio.
  const lower = percent < 100 ? 1 - percent / 100 : 1 / (1 + percent / 100);
  return { upper: 1 + percent / 100, lower, text: `+${percent} %` };
}

const boundSchema = z.union([z.string(), z.number()]).transform((value, ctx): Bound => {
  const parsed = parseBound(value);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  }
  return parsed;
});

const metricBase = {
  /** The series name in the window's baseline and canary data. */
  name: z.string().min(1),
  /** What a person calls it ("5xx rate", "p99 latency"); defaults to the name. */
  label: z.string().min(1).optional(),
  /** Which way is bad. */
  direction: z.enum(['increase', 'decrease', 'either']).default('increase'),
  /** How far the canary may differ from the baseline before it is a regression. */
  tolerance: boundSchema,
  /** Beyond this the canary fails at once: no lone-spike allowance, warm-up included. */
  critical: boundSchema.optional(),
  /** Shadow metrics are judged and shown but never fail the canary. */
  gating: z.boolean().default(true),
};

export const countMetricSchema = z.strictObject({
  ...metricBase,
  kind: z.literal('count'),
  /** The series counting the requests these events are a share of. */
  requests: z.string().min(1),
  /** Fewer canary requests than this over the judged minutes is too little data to pass. */
  minRequests: z.number().int().nonnegative().default(500),
  /** Word for one event in explanations ("errors"). */
  unit: z.string().min(1).default('events'),
});

export const gaugeMetricSchema = z.strictObject({
  ...metricBase,
  kind: z.literal('gauge'),
  /** Unit shown after values ("ms", "%"). */
  unit: z.string().default(''),
  /** Fewer judged minutes than this is too little data to pass or fail (criticals aside). */
  minMinutes: z.number().int().min(3).default(5),
});

export const metricConfigSchema = z.discriminatedUnion('kind', [countMetricSchema, gaugeMetricSchema]);

export type CountMetricConfig = z.output<typeof countMetricSchema>;
export type GaugeMetricConfig = z.output<typeof gaugeMetricSchema>;
export type MetricConfig = z.output<typeof metricConfigSchema>;
/** Config as a team writes it (defaults not yet applied). */
export type MetricConfigInput = z.input<typeof metricConfigSchema>;

const canaryFields = {
  /** Planned length of the canary; the judge only passes a complete window. */
  durationMinutes: z.number().positive().default(30),
  /** The canary's first minutes (cold caches, JIT) are shown but not judged. */
  warmupMinutes: z.number().nonnegative().default(3),
  /** A second look at only the latest minutes, so a regression starting mid-window is not diluted. */
  recentMinutes: z.number().positive().default(10),
  /** Confidence for a failing verdict, over all the looks at one window. */
  confidence: z.number().gt(0.5).lt(1).default(0.99),
};

export const canaryConfigSchema = z
  .strictObject({
    ...canaryFields,
    metrics: z.array(metricConfigSchema).min(1, 'give at least one metric'),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.metrics.forEach((metric, i) => {
      if (seen.has(metric.name)) {
        ctx.addIssue({ code: 'custom', path: ['metrics', i, 'name'], message: `metric ${metric.name} is listed twice` });
      }
      seen.add(metric.name);
    });
  });

export type CanaryConfig = z.output<typeof canaryConfigSchema>;
export type CanaryConfigInput = z.input<typeof canaryConfigSchema>;

/** One value per interval; null where CloudWatch returned no datapoint. */
const seriesSchema = z.array(z.number().finite().nonnegative().nullable());

export const windowSchema = z.strictObject({
  /** Length of one interval (CloudWatch period), in minutes. */
  intervalMinutes: z.number().positive().default(1),
  baseline: z.record(z.string(), seriesSchema),
  canary: z.record(z.string(), seriesSchema),
});

export type Window = z.output<typeof windowSchema>;
export type WindowInput = z.input<typeof windowSchema>;

/** A recorded window as kept in examples/ and replayed by `npm run judge`: config and data in one file. */
export const recordedWindowSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  ...canaryFields,
  metrics: z.array(z.unknown()),
  intervalMinutes: z.number().positive().default(1),
  baseline: z.record(z.string(), z.unknown()),
  canary: z.record(z.string(), z.unknown()),
});

export type RecordedWindow = z.input<typeof recordedWindowSchema>;

/** An input the judge cannot work with; the message names the metric and field. */
export class JudgeInputError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'JudgeInputError';
  }
}

/** Turn zod issues into lines a person can act on, naming metrics rather than array indexes. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], metrics: readonly unknown[] = []): string[] {
  return issues.map((issue) => {
    const path = [...issue.path];
    let where = '';
    if (path[0] === 'metrics' && typeof path[1] === 'number') {
      const raw = metrics[path[1]];
      const name =
        raw && typeof raw === 'object' && 'name' in raw && typeof raw.name === 'string' ? raw.name : `#${path[1] + 1}`;
      const field = path.slice(2).join('.');
      where = field ? `metric ${name}, field ${field}` : `metric ${name}`;
    } else if ((path[0] === 'baseline' || path[0] === 'canary') && path.length >= 2) {
      const index = typeof path[2] === 'number' ? ` value ${path[2] + 1}` : '';
      where = `metric ${String(path[1])}, field ${String(path[0])}${index}`;
    } else if (path.length > 0) {
      where = `field ${path.join('.')}`;
    } else {
      where = 'input';
    }
    return `${where}: ${issue.message}`;
  });
}

/** Validate a config alone (the canary stage does this once, when the app's config is loaded). */
export function parseConfig(configInput: unknown): CanaryConfig {
  const result = canaryConfigSchema.safeParse(configInput);
  if (result.success) return result.data;
  const rawMetrics =
    configInput && typeof configInput === 'object' && 'metrics' in configInput && Array.isArray(configInput.metrics)
      ? configInput.metrics
      : [];
  throw new JudgeInputError(describeIssues(result.error.issues, rawMetrics));
}

export interface ParsedInput {
  window: Window;
  config: CanaryConfig;
}

/** Validate a config and window together, including that every metric's data is there. */
export function parseInput(windowInput: unknown, configInput: unknown): ParsedInput {
  const configResult = canaryConfigSchema.safeParse(configInput);
  const rawMetrics =
    configInput && typeof configInput === 'object' && 'metrics' in configInput && Array.isArray(configInput.metrics)
      ? configInput.metrics
      : [];
  const windowResult = windowSchema.safeParse(windowInput);
  const problems: string[] = [];
  if (!configResult.success) problems.push(...describeIssues(configResult.error.issues, rawMetrics));
  if (!windowResult.success) problems.push(...describeIssues(windowResult.error.issues));
  if (!configResult.success || !windowResult.success) throw new JudgeInputError(problems);
  const config = configResult.data;
  const window = windowResult.data;
  problems.push(...checkSeries(window, config));
  if (problems.length > 0) throw new JudgeInputError(problems);
  return { window, config };
}

// Every series a metric needs must be present in both groups, and all series must
// cover the same intervals, or the groups would be compared over different minutes.
function checkSeries(window: Window, config: CanaryConfig): string[] {
  const problems: string[] = [];
  const needed: Array<{ metric: string; series: string; what: string }> = [];
  for (const metric of config.metrics) {
    needed.push({ metric: metric.name, series: metric.name, what: 'values' });
    if (metric.kind === 'count') needed.push({ metric: metric.name, series: metric.requests, what: 'requests' });
  }
  let expected: { length: number; where: string } | undefined;
  for (const group of ['baseline', 'canary'] as const) {
    for (const { metric, series, what } of needed) {
      const values = window[group][series];
      if (values === undefined) {
        const role = what === 'requests' ? 'its requests series' : 'its values';
        problems.push(`metric ${metric}, field ${group}.${series}: missing — the ${group} data has no series "${series}" (${role})`);
        continue;
      }
      if (expected === undefined) expected = { length: values.length, where: `${group}.${series}` };
      else if (values.length !== expected.length) {
        problems.push(
          `metric ${metric}, field ${group}.${series}: has ${values.length} values but ${expected.where} has ${expected.length}; every series must cover the same intervals`,
        );
      }
    }
  }
  return problems;
}

/** Intervals with data a gauge needs in each group before it can pass or fail (`minMinutes`, at least 3). */
export function gaugeIntervalsNeeded(minMinutes: number): number {
  return Math.max(3, minMinutes);
}
