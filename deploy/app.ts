/*
 * The CDK app: `npx cdk synth` (no AWS account needed) or `npx cdk deploy`, from deploy/.
 * Settings come as context (`-c tableName=…`), parsed here; an error names the setting.
 */
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { z } from 'zod';
import { BakeryDeployerStack } from './deployer-stack.js';
import { ExampleFleetStack } from './example-fleet.js';
import { BakeryStack } from './stack.js';

const settings = z.object({
  /** An image the team already pushed; without it, cdk deploy builds this repository's Dockerfile. */
  image: z.string().regex(/^[\w.\-/:@]+$/, 'an image reference like 123456789012.dkr.ecr.eu-west-1.amazonaws.com/bakery:1.4').optional(),
  /** The apps file baked into the built image, relative to the repository. */
  appsFile: z.string().regex(/^[\w./-]+\.ya?ml$/, 'a path to a YAML file in this repository').default('config/apps.example.yml'),
  tableName: z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, 'a DynamoDB table name').default('bakery'),
  builderRoleName: z.string().regex(/^[\w+=,.@-]{1,64}$/, 'an IAM role name').default('bakery-builder'),
  slackSecretName: z.string().regex(/^[\w/+=.@-]{1,512}$/, 'a Secrets Manager secret name').default('bakery/slack'),
  replicas: z.coerce.number().int().min(1).max(10).default(2),
  /** Also deploy example-fleet.ts: a launch template, group and listener handed to Bakery by its tag. */
  exampleFleet: z.enum(['true', 'false'], { message: 'true or false' }).default('false'),
  /** Also define BakeryDeployer, for an environment's account: the role that Bakery's account (this id) assumes there. */
  bakeryAccount: z.string().regex(/^\d{12}$/, 'the 12-digit id of the account Bakery runs in').optional(),
  /** Bakery's own policy assumes only roles named bakery-*. */
  deployerRoleName: z.string().regex(/^bakery-[\w+=,.@-]{1,57}$/, 'an IAM role name starting bakery- (the roles Bakery may assume)').default('bakery-deployer'),
  deployerExternalId: z.string().regex(/^[\w+=,.@:/-]{2,1224}$/, 'an external id: 2-1224 letters, digits and +=,.@:/-').optional(),
}).refine((settings) => settings.deployerExternalId === undefined || settings.bakeryAccount !== undefined, {
  path: ['deployerExternalId'],
  message: 'goes with bakeryAccount, the account that assumes the deployer role',
});

const app = new App();
const keys = Object.keys(settings.shape) as (keyof typeof settings.shape)[];
const parsed = settings.safeParse(Object.fromEntries(keys.map((key) => [key, app.node.tryGetContext(key)]).filter(([, value]) => value !== undefined)));
if (!parsed.success) {
  process.stderr.write(`deploy: ${parsed.error.issues.map((issue) => `context "${issue.path.join('.')}": ${issue.message}`).join('\n')}\n`);
  process.exit(2);
}
const { image, appsFile, exampleFleet, bakeryAccount, deployerRoleName, deployerExternalId, ...stack } = parsed.data;
const repository = fileURLToPath(new URL('..', import.meta.url));

new BakeryStack(app, 'Bakery', {
  ...stack,
  image: image
    ? ecs.ContainerImage.fromRegistry(image)
    : ecs.ContainerImage.fromAsset(repository, { buildArgs: { APPS_FILE: appsFile }, exclude: ['deploy/cdk.out', 'node_modules', 'data', 'dist', '.git'] }),
  description: 'Bakery: the Slack bot that bakes machine images, its table and its role',
});
if (exampleFleet === 'true') new ExampleFleetStack(app, 'BakeryExampleFleet', { description: 'An app fleet handed to Bakery: its group, launch template and listener tagged bakery:managed=true' });
if (bakeryAccount !== undefined) {
  new BakeryDeployerStack(app, 'BakeryDeployer', {
    bakeryAccount,
    roleName: deployerRoleName,
    ...(deployerExternalId !== undefined && { externalId: deployerExternalId }),
    description: 'The role Bakery assumes to deploy to the fleets of this account: exactly deploy/iam-deployer-policy.json',
  });
}
