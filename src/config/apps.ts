import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { supportsLatestConsole } from '../aws/instance-types.js';
import { accessConfig } from './access.js';
import { deployConfig, type DeployConfig } from './deploy.js';
import { deploySection, environmentAccount, environmentsOf, type Environment } from './environments.js';
import { retireConfig } from './retire.js';
import { amiId, appName, awsAccountId, awsRegion, ssmParameterName } from './names.js';

/** Where a bake's base image comes from: a fixed id, an SSM parameter, or the newest image matching a name. */
export const baseImageSource = z.union([
  z.strictObject({ id: amiId }),
  z.strictObject({ ssm: ssmParameterName }),
  z.strictObject({ name: z.string().regex(/^[A-Za-z0-9()[\]./\-'@_* ]{3,128}$/, 'a name pattern is an AMI name with * wildcards'), owner: z.string().min(1) }),
]);
export type BaseImageSource = z.infer<typeof baseImageSource>;

/** An image owner as DescribeImages takes it: this account (self), an Amazon alias, or an account id. */
export const imageOwner = z.string().regex(/^(self|amazon|aws-marketplace|\d{12})$/, 'an image owner is self, amazon, aws-marketplace or a 12-digit account id');

/** An SSM path a `--base ssm:` name must start with. */
const parameterPrefix = z.string().regex(/^\/[A-Za-z0-9_.\-/]*\/$/, 'a parameter prefix is a path that starts and ends with /, like /aws/service/');

const minutes = z.number().int().positive().max(24 * 60);

/** A KMS key as an ARN (of a key or an alias), so that its region can be checked against the copy's. */
const kmsKeyArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:kms:[a-z]{2}(-[a-z]+)+-\d:\d{12}:(key\/[0-9a-zA-Z-]{1,64}|alias\/[A-Za-z0-9/_-]{1,250})$/, 'a KMS key is given by its ARN, arn:aws:kms:<region>:<account>:key/<id> (or alias/<name>)');

/** An app's fields; `deploy` here is one fleet's, as an operation keeps the config of the environment it deploys to. */
const appFields = z.strictObject({
  channel: z.string().regex(/^[#A-Za-z0-9_-]{1,80}$/, 'a Slack channel id (C0123ABC) or name (#deploys)'),
  region: awsRegion,
  baseImage: baseImageSource,
  /** Whose images may be a base (the configured one or `--base`): a stranger's public AMI is refused. */
  baseImageOwners: z.array(imageOwner).min(1, 'name at least one owner').default(['self', 'amazon']),
  /**
   * Apps of this file whose images may be this app's base. Bakery's images are the account's own
   * (`self`), so without this an image baked for another app (its id is on that app's releases) would be taken.
   */
  baseImageApps: z.array(appName).default([]),
  /** Where `--base ssm:<name>` may read; the role's policy must allow the same (deploy/iam-policy.json). */
  baseParameterPrefixes: z.array(parameterPrefix).min(1, 'name at least one prefix').default(['/aws/service/']),
  instanceType: z
    .string()
    .regex(/^[a-z0-9]+\.[a-z0-9]+$/, 'an instance type looks like t3.small')
    // Bakery follows the builder on its live console; a Xen type posts it only at start, stop and
    // reboot, so its phases and result would show an hour late or never. Refusing it here is simpler
    // and clearer than a second completion protocol for types AWS no longer develops.
    .refine(supportsLatestConsole, {
      error: (issue) => `${String(issue.input)} runs on the Xen hypervisor, whose console EC2 shows only after a start, stop or reboot; Bakery follows the builder's live console, so choose a Nitro type (t3, m5, c5, r5 or newer)`,
    }),
  subnetId: z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'a subnet id looks like subnet-0123abcd').optional(),
  securityGroupIds: z.array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'a security group id looks like sg-0123abcd')).default([]),
  instanceProfile: z.string().regex(/^[\w+=,.@-]{1,128}$/, 'an instance profile name').optional(),
  artifactUrl: z
    .string()
    .url()
    .refine((url) => url.includes('{version}'), 'the artifact URL template must contain {version}')
    // The builder also refuses a redirect away from https (curl --proto-redir =https).
    .refine((url) => url.startsWith('https://'), 'the artifact URL must be https'),
  /**
   * Where the artifact's sha256 comes from, checked on the builder before provision runs: `given`, the
   * one `/bake --sha256` gives (unchecked without it); `published`, the one the CI publishes beside the
   * artifact at `{artifactUrl}.sha256` (sha256sum's format), and --sha256 too when given.
   */
  artifactDigest: z.enum(['given', 'published']).default('given'),
  /**
   * Whether provision and the smoke test may reach the builder's instance metadata service (IMDS): `closed`
   * (the default), since its user data holds the bake's key; `open` for scripts that need the builder
   * role's credentials, which lets them read the key (src/pipelines/bake/README.md).
   */
  metadataForScripts: z.enum(['closed', 'open']).default('closed'),
  provision: z.string().min(1, 'the provision script is empty'),
  smokeTest: z.string().min(1, 'the smoke test is empty'),
  shareWith: z.array(awsAccountId).default([]),
  copyTo: z.array(awsRegion).default([]),
  /**
   * The customer managed KMS key to encrypt each region's copy with. An image encrypted with the AWS
   * managed key (aws/ebs) cannot be shared, so an encrypted image shared with other accounts needs one.
   */
  kmsKeys: z.record(awsRegion, kmsKeyArn).default({}),
  timeouts: z
    .strictObject({
      builderMinutes: minutes.default(60),
      imageMinutes: minutes.default(60),
      copyMinutes: minutes.default(90),
    })
    .default({ builderMinutes: 60, imageMinutes: 60, copyMinutes: 90 }),
  /** An image older than this is stale (the digest offers to rebake it); 30 days when not given. */
  maxImageAgeDays: z.number().int().min(1).max(3650).optional(),
  /** Where releases go after the bake: the fleet, the canary, approvals. Without it, an app is baked only. */
  deploy: deployConfig.optional(),
  /** Retirement in stages (deprecate, disable, deregister) with these times; without it a prune deregisters at once. */
  retire: retireConfig.optional(),
  /** Who may bake, cancel, canary and roll back; by default the members of the app's channel (see src/access/). */
  access: accessConfig.default({ bake: ['channel'], canary: ['channel'] }),
});

function checkKmsKeys(config: Pick<z.infer<typeof appFields>, 'kmsKeys' | 'copyTo'>, context: z.RefinementCtx): void {
  for (const [region, arn] of Object.entries(config.kmsKeys)) {
    const keyRegion = arn.split(':')[3];
    if (!config.copyTo.includes(region)) {
      context.addIssue({ code: 'custom', path: ['kmsKeys', region], message: `${region} is not in copyTo; a key is for a region the image is copied to` });
    } else if (keyRegion !== region) {
      context.addIssue({ code: 'custom', path: ['kmsKeys', region], message: `KMS keys are regional: this key is in ${keyRegion}, so it cannot encrypt the copy in ${region}` });
    }
  }
}

/**
 * The config of an app narrowed to one fleet (environments.ts configIn): what a canary's or a rollback's params hold,
 * with the other account its environment runs in, if any.
 */
export const fleetAppConfig = appFields.extend({ account: environmentAccount.optional() }).superRefine(checkKmsKeys);
export type FleetAppConfig = z.infer<typeof fleetAppConfig>;

/**
 * An app's config as the apps file gives it: its `deploy` section is one fleet or a list of environments. Each
 * environment's canary launches the release's image in its region and account, so the bake copies it to every
 * environment's region and shares it with every environment's account: `copyTo` and `shareWith` include them.
 */
export const appConfig = appFields
  .extend({ deploy: deploySection.optional() })
  .transform((config) => {
    const environments = environmentsOf(config);
    const regions = environments.map((environment) => environment.region).filter((region) => region !== config.region);
    const accounts = environments.flatMap((environment) => (environment.account ? [environment.account.id] : []));
    return { ...config, copyTo: [...new Set([...config.copyTo, ...regions])], shareWith: [...new Set([...config.shareWith, ...accounts])] };
  })
  .superRefine(checkKmsKeys);
export type AppConfig = z.infer<typeof appConfig>;

/** The app's config as one environment sees it: its fleet as the deploy section, its region as the app's. What an operation keeps in its params. */
export function configIn(config: AppConfig, environment: Environment): FleetAppConfig & { deploy: DeployConfig } {
  return { ...config, region: environment.region, deploy: environment.deploy, ...(environment.account && { account: environment.account }) };
}

export const appsFile = z.strictObject({
  apps: z
    .record(appName, appConfig)
    .refine((apps) => Object.keys(apps).length > 0, 'no apps are configured')
    .superRefine((apps, context) => {
      for (const [app, config] of Object.entries(apps)) {
        config.baseImageApps.forEach((named, index) => {
          if (!(named in apps)) context.addIssue({ code: 'custom', path: [app, 'baseImageApps', index], message: `"${named}" is not an app in this file` });
        });
      }
    }),
});

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and validates the apps file; an error names the file, the app and the field. */
export async function loadAppsFile(path: string): Promise<Record<string, AppConfig>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${path}: cannot read the apps file (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  return parseAppsFile(path, text);
}

export function parseAppsFile(path: string, text: string): Record<string, AppConfig> {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`${path}: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const parsed = appsFile.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      // A bad app name is reported by zod as an invalid record key, with the name's own rule inside.
      const message = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
      const [top, app, ...field] = issue.path.map(String);
      if (top === 'apps' && app !== undefined) {
        return field.length > 0
          ? `${path}: app "${app}", field "${field.join('.')}": ${message}`
          : `${path}: app "${app}": ${message}`;
      }
      return `${path}: ${issue.path.length ? `field "${issue.path.join('.')}": ` : ''}${message}`;
    });
    throw new ConfigError(lines.join('\n'));
  }
  return parsed.data.apps;
}
