/*
 * The stack in deploy/, read from its synthesized CloudFormation template (one synth for the file:
 * aws-cdk-lib is slow to load and to synthesize). Synthesizing needs no AWS account.
 */
import { spawnSync } from 'node:child_process';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ExampleFleetStack, managedTag } from '../deploy/example-fleet.js';
import { BakeryDeployerStack, deployerPolicyFile } from '../deploy/deployer-stack.js';
import { BakeryStack, readPolicy, stopTimeoutSeconds } from '../deploy/stack.js';

type Resource = { Type: string; Properties: Record<string, unknown> };
type PolicyDocument = { Version: string; Statement: unknown[] };

/** An inline policy as its file has it: each Fn::Sub back to its ${…} text, with what fills each placeholder. */
function asInFile(document: PolicyDocument): { policy: PolicyDocument; filledBy: Record<string, unknown> } {
  const filledBy: Record<string, unknown> = {};
  const unsub = (value: unknown): unknown => {
    const sub = (value as { 'Fn::Sub'?: [string, Record<string, unknown>] })?.['Fn::Sub'];
    if (!sub) return Array.isArray(value) ? value.map(unsub) : value;
    Object.assign(filledBy, sub[1]);
    return sub[0];
  };
  const Statement = document.Statement.map((statement) => {
    const { Resource, ...rest } = statement as { Resource: unknown };
    return { ...rest, Resource: unsub(Resource) };
  });
  return { policy: { Version: document.Version, Statement }, filledBy };
}

describe('the deployable stack', () => {
  let template: Template;
  let logicalId: (type: string, pathPart: string) => string;

  beforeAll(() => {
    const stack = new BakeryStack(new App(), 'Bakery', {
      image: ecs.ContainerImage.fromRegistry('public.ecr.aws/example/bakery:1.0.0'),
      tableName: 'bakery',
      builderRoleName: 'bakery-builder',
      slackSecretName: 'bakery/slack',
      replicas: 2,
    });
    template = Template.fromStack(stack);
    logicalId = (type, pathPart) => {
      const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(pathPart));
      expect(ids).toHaveLength(1);
      return ids[0]!;
    };
    // aws-cdk-lib is slow to load on a busy machine.
  }, 120_000);

  /** The task's container definitions (it has one). */
  const containers = (): Record<string, unknown>[] =>
    (Object.values(template.findResources('AWS::ECS::TaskDefinition'))[0] as Resource).Properties.ContainerDefinitions as Record<string, unknown>[];

  it('creates the table as src/store/table.ts designs it: pk/sk, the sparse active index, TTL on expiresAt', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'bakery',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'gsi1pk', AttributeType: 'S' },
        { AttributeName: 'gsi1sk', AttributeType: 'S' },
      ]),
      GlobalSecondaryIndexes: [
        {
          IndexName: 'active',
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    // A stack deleted by mistake leaves the releases and running operations where they are.
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('gives the bot’s role exactly the policy in deploy/iam-policy.json, placeholders filled by the stack', () => {
    const role = template.findResources('AWS::IAM::Role', { Properties: { AssumeRolePolicyDocument: { Statement: [{ Principal: { Service: 'ecs-tasks.amazonaws.com' } }] } } });
    const botRole = Object.entries(role).find(([id]) => id.startsWith('BotRole'));
    expect(botRole).toBeDefined();
    const [botRoleId, { Properties }] = botRole as [string, Resource];
    const policies = Properties.Policies as { PolicyDocument: PolicyDocument }[];
    expect(policies).toHaveLength(1);
    expect(Properties.ManagedPolicyArns).toBeUndefined();

    // Fn::Sub keeps the file's placeholders as they are, and says what fills each.
    const { policy, filledBy } = asInFile(policies[0]!.PolicyDocument);
    expect(policy).toEqual(readPolicy());
    expect(filledBy).toEqual({ TableName: { Ref: logicalId('AWS::DynamoDB::Table', 'Table') }, BuilderRoleName: { Ref: logicalId('AWS::IAM::Role', 'BuilderRole') } });

    // No grant elsewhere adds to the bot's role.
    const attached = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify((p as Resource).Properties.Roles).includes(botRoleId));
    expect(attached).toEqual([]);
    template.hasResourceProperties('AWS::ECS::TaskDefinition', { TaskRoleArn: { 'Fn::GetAtt': [botRoleId, 'Arn'] } });
  });

  it('creates the builders’ instance profile under the name the apps file gives, with no permissions', () => {
    template.hasResourceProperties('AWS::IAM::InstanceProfile', { InstanceProfileName: 'bakery-builder' });
    const builder = template.findResources('AWS::IAM::Role', { Properties: { RoleName: 'bakery-builder' } });
    const [properties] = Object.values(builder).map((r) => (r as Resource).Properties);
    expect(properties?.Policies).toBeUndefined();
    expect(properties?.ManagedPolicyArns).toBeUndefined();
  });

  it('runs the image as two Fargate tasks, replacing them one deploy at a time with a rollback on failure', () => {
    template.hasResourceProperties('AWS::ECS::Service', {
      LaunchType: 'FARGATE',
      DesiredCount: 2,
      DeploymentConfiguration: { MinimumHealthyPercent: 100, MaximumPercent: 200, DeploymentCircuitBreaker: { Enable: true, Rollback: true } },
    });
    expect(containers()).toMatchObject([{ Image: 'public.ecr.aws/example/bakery:1.0.0', Essential: true }]);
  });

  it('checks each task’s health on /healthz', () => {
    const [definition] = containers() as { HealthCheck: { Command: string[] } }[];
    expect(definition?.HealthCheck.Command[0]).toBe('CMD');
    expect(definition?.HealthCheck.Command.join(' ')).toContain('http://127.0.0.1:3000/healthz');
  });

  it('gives a stopping task time to hand its bakes over after SIGTERM', () => {
    expect(containers()).toMatchObject([{ StopTimeout: stopTimeoutSeconds }]);
    expect(stopTimeoutSeconds).toBeGreaterThanOrEqual(60);
  });

  it('takes the Slack credentials from Secrets Manager, never from the template', () => {
    const fromSecret = (key: string) => ({
      Name: Match.anyValue(),
      ValueFrom: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(`:secret:bakery/slack:${key}::`)])] }),
    });
    const [definition] = containers() as { Secrets: { Name: string }[]; Environment: { Name: string; Value: unknown }[] }[];
    expect(definition?.Secrets.map((s) => s.Name).sort()).toEqual(['SLACK_APP_TOKEN', 'SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET']);
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({ Secrets: Match.arrayWith([fromSecret('botToken'), fromSecret('signingSecret'), fromSecret('appToken')]) })],
    });
    expect(JSON.stringify(definition?.Environment)).not.toMatch(/xox|xapp|SLACK/);
    expect(definition?.Environment).toContainEqual({ Name: 'BAKERY_TABLE', Value: { Ref: logicalId('AWS::DynamoDB::Table', 'Table') } });
  });

  it('sends the logs to CloudWatch Logs', () => {
    expect(containers()).toMatchObject([
      { LogConfiguration: { LogDriver: 'awslogs', Options: { 'awslogs-group': { Ref: logicalId('AWS::Logs::LogGroup', 'Logs') }, 'awslogs-stream-prefix': 'bakery' } } },
    ]);
  });

  it('opens no inbound port: Socket Mode only calls out', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroup', { SecurityGroupIngress: Match.absent() });
  });

  it('refuses a bad setting by name before synthesizing anything', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'deploy/app.ts'], {
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ replicas: 'many', tableName: 'no spaces allowed', bakeryAccount: '111111111111', deployerRoleName: 'deployer' }) },
      encoding: 'utf8',
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('context "replicas"');
    expect(run.stderr).toContain('context "tableName": a DynamoDB table name');
    expect(run.stderr).toContain('context "deployerRoleName": an IAM role name starting bakery-');
  });
});

describe('the example fleet a platform team hands to Bakery', () => {
  let template: Template;
  beforeAll(() => {
    template = Template.fromStack(new ExampleFleetStack(new App(), 'Fleet'));
  }, 120_000);

  it('tags the live group, its launch template and its listener with the tag the policy asks for, and no instance', () => {
    const tag = { Key: managedTag.key, Value: managedTag.value };
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { Tags: Match.arrayWith([{ ...tag, PropagateAtLaunch: false }]) });
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', { TagSpecifications: Match.arrayWith([{ ResourceType: 'launch-template', Tags: Match.arrayWith([tag]) }]) });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Tags: Match.arrayWith([tag]) });
    const scoped = readPolicy().Statement.map((statement) => JSON.stringify(statement)).filter((statement) => statement.includes(`"aws:ResourceTag/${managedTag.key}":"${managedTag.value}"`));
    expect(scoped.length).toBeGreaterThanOrEqual(3);
  });
});

describe('the deployer role an environment’s account gives Bakery', () => {
  let withExternalId: Template;
  let withoutExternalId: Template;
  beforeAll(() => {
    const app = new App();
    const staging = new BakeryDeployerStack(app, 'Staging', { bakeryAccount: '111111111111', roleName: 'bakery-deployer', externalId: 'bakery-staging' });
    const production = new BakeryDeployerStack(app, 'Production', { bakeryAccount: '111111111111', roleName: 'bakery-prod' });
    withExternalId = Template.fromStack(staging);
    withoutExternalId = Template.fromStack(production);
  }, 120_000);

  const roleOf = (template: Template): Record<string, unknown> => {
    const roles = Object.values(template.findResources('AWS::IAM::Role')) as Resource[];
    expect(roles).toHaveLength(1);
    return roles[0]!.Properties;
  };
  const bakerysAccount = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::111111111111:root']] };

  it('lets only Bakery’s account assume it, and only with the external id when one is given', () => {
    expect(roleOf(withExternalId)).toMatchObject({
      RoleName: 'bakery-deployer',
      AssumeRolePolicyDocument: {
        Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: bakerysAccount }, Condition: { StringEquals: { 'sts:ExternalId': 'bakery-staging' } } }],
      },
    });
    expect(roleOf(withoutExternalId)).toMatchObject({
      RoleName: 'bakery-prod',
      AssumeRolePolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: bakerysAccount } }] },
    });
    expect((roleOf(withoutExternalId).AssumeRolePolicyDocument as { Statement: Record<string, unknown>[] }).Statement[0]!.Condition).toBeUndefined();
  });

  it('holds exactly deploy/iam-deployer-policy.json, its account the one the role is in', () => {
    const properties = roleOf(withExternalId);
    const policies = properties.Policies as { PolicyDocument: PolicyDocument }[];
    expect(policies).toHaveLength(1);
    expect(properties.ManagedPolicyArns).toBeUndefined();
    const { policy, filledBy } = asInFile(policies[0]!.PolicyDocument);
    expect(policy).toEqual(readPolicy(deployerPolicyFile));
    // ${AWS::AccountId} is left to CloudFormation: the account the stack is deployed in.
    expect(filledBy).toEqual({});
    expect(withExternalId.findResources('AWS::IAM::Policy')).toEqual({});
  });
});
