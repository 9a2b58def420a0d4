import { z } from 'zod';
import type { Principal } from './access.js';
import { deployConfig, duration, type DeployConfig } from './deploy.js';
import { awsAccountId, awsRegion } from './names.js';

/*
 * An app's environments: `deploy.environments`, in order, each a fleet of its own (the deploy fields
 * of a plain `deploy` section) with its region and the environment a release must soak in first.
 * A plain `deploy` section is one implicit environment with no name, so a single-fleet app reads as it
 * always did and its records keep their keys.
 */

export const environmentName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,23}$/, 'an environment name is a short slug: 1-24 lowercase letters, digits and -, starting with a letter (e.g. staging)');

/** The role Bakery assumes in an environment's account (STS AssumeRole): an IAM role ARN. */
const roleArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, 'a role is an IAM role ARN, arn:aws:iam::<account>:role/<name>');

/** As STS takes it: 2-1,224 characters of letters, digits and +=,.@:/- (the account's admin gives it). */
const externalId = z.string().regex(/^[\w+=,.@:/-]{2,1224}$/, 'an external id is 2-1224 letters, digits and +=,.@:/-');

export const deployEnvironment = deployConfig.safeExtend({
  name: environmentName,
  /** Where its fleet runs: the app's region when not given (the image must be baked or copied there). */
  region: awsRegion.optional(),
  /** The environment a release must have been live in, for `soak`, before it may be canaried here. */
  after: environmentName.optional(),
  soak: duration.optional(),
  /** Another AWS account the fleet runs in; Bakery deploys there with the credentials of `role`. */
  account: awsAccountId.optional(),
  role: roleArn.optional(),
  externalId: externalId.optional(),
});
export type DeployEnvironment = z.infer<typeof deployEnvironment>;

export const deployEnvironments = z
  .strictObject({ environments: z.array(deployEnvironment).min(1, 'name at least one environment') })
  .superRefine(({ environments }, ctx) => {
    environments.forEach((environment, i) => {
      checkAccount(environment, (field, message) => ctx.addIssue({ code: 'custom', path: ['environments', i, field], message }));
      const earlier = environments.slice(0, i).map((e) => e.name);
      if (earlier.includes(environment.name)) ctx.addIssue({ code: 'custom', path: ['environments', i, 'name'], message: `"${environment.name}" is named twice` });
      if (environment.after !== undefined && !earlier.includes(environment.after)) {
        ctx.addIssue({ code: 'custom', path: ['environments', i, 'after'], message: `"${environment.after}" is not an environment before this one; a release soaks in an earlier environment` });
      }
      if (environment.soak !== undefined && environment.after === undefined) {
        ctx.addIssue({ code: 'custom', path: ['environments', i, 'soak'], message: 'a soak is how long a release is live in `after` first; name the environment with after' });
      }
    });
  });
export type DeployEnvironments = z.infer<typeof deployEnvironments>;

/** An account goes with the role assumed in it, and the role must be of that account. */
function checkAccount(environment: DeployEnvironment, issue: (field: 'account' | 'role' | 'externalId', message: string) => void): void {
  const { account, role } = environment;
  if (account !== undefined && role === undefined) issue('role', `name the role Bakery assumes in account ${account} (arn:aws:iam::${account}:role/<name>)`);
  if (role !== undefined && account === undefined) issue('account', 'name the account the role is in; a role is assumed only for an environment in another account');
  if (account !== undefined && role !== undefined && role.split(':')[4] !== account) {
    issue('role', `${role} is a role of account ${role.split(':')[4]}, not of the environment's account ${account}`);
  }
  if (environment.externalId !== undefined && role === undefined) issue('externalId', 'an external id is passed when assuming the role; name the account and role');
}

/** The `deploy` section: one fleet's fields, or `environments`; the form is told by that key, so errors name the form's own fields. */
export const deploySection = z.unknown().transform((value, ctx): DeployConfig | DeployEnvironments => {
  const schema: z.ZodType<DeployConfig | DeployEnvironments> = typeof value === 'object' && value !== null && 'environments' in value ? deployEnvironments : deployConfig;
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue(issue as Parameters<typeof ctx.addIssue>[0]);
  return z.NEVER;
});

/** When `after` is given without a soak. */
export const DEFAULT_SOAK_MS = 3_600_000;

/** What of an app's config its environments are read from. */
export interface AppDeploy {
  region: string;
  deploy?: DeployConfig | DeployEnvironments;
}

/** One environment as the commands and pipelines see it. */
export interface Environment {
  /** Undefined for the implicit environment of a plain `deploy` section: it is never shown. */
  name?: string;
  region: string;
  deploy: DeployConfig;
  /** Set for an environment in another AWS account: where its fleet is, and how Bakery gets in. */
  account?: EnvironmentAccount;
  after?: string;
  soakMs: number;
}

/** Another account an environment runs in, and the role Bakery assumes there (kept in an operation's params). */
export const environmentAccount = z.strictObject({ id: awsAccountId, role: roleArn, externalId: externalId.optional() });
export type EnvironmentAccount = z.infer<typeof environmentAccount>;

/** The app's environments in order; none without a deploy section. */
export function environmentsOf(config: AppDeploy): Environment[] {
  const { deploy } = config;
  if (!deploy) return [];
  if (!('environments' in deploy)) return [{ region: config.region, deploy, soakMs: 0 }];
  return deploy.environments.map(({ name, region, after, soak, account, role, externalId, ...fleet }) => ({
    name,
    region: region ?? config.region,
    deploy: fleet,
    ...(account !== undefined && role !== undefined && { account: { id: account, role, ...(externalId !== undefined && { externalId }) } }),
    after,
    soakMs: after === undefined ? 0 : (soak ?? DEFAULT_SOAK_MS),
  }));
}

/** The environment `name` names, or without a name the first one; undefined when there is none such. */
export function environmentOf(config: AppDeploy, name?: string): Environment | undefined {
  const all = environmentsOf(config);
  return name === undefined ? all[0] : all.find((environment) => environment.name === name);
}

/** The deploy section of a config with one fleet (a plain section, or a config narrowed by configIn); undefined with several environments. */
export function fleetOf(config: Pick<AppDeploy, 'deploy'>): DeployConfig | undefined {
  return config.deploy && !('environments' in config.deploy) ? config.deploy : undefined;
}

/** Everyone who approves releases of the app, in any environment (app-wide actions such as pin and prune are theirs). */
export function approversOf(config: AppDeploy): Principal[] {
  return [...new Set(environmentsOf(config).flatMap((environment) => environment.deploy.approvers))];
}

/** The environment's names of an app, for a usage line: "staging, production". */
export function environmentNames(config: AppDeploy): string[] {
  return environmentsOf(config).flatMap((environment) => (environment.name ? [environment.name] : []));
}
