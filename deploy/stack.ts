/*
 * Bakery as a platform team runs it: its DynamoDB table, the bot's role with exactly
 * deploy/iam-policy.json, the builders' instance profile, and the bot as two Fargate tasks over
 * Slack's Socket Mode (no inbound port, no load balancer, no certificate).
 */
import { readFileSync } from 'node:fs';
import { Duration, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { activeIndex } from '../src/store/table.js';

export interface BakeryStackProps extends StackProps {
  /** The bot's image: built from this repository's Dockerfile by app.ts, or one the team already pushed. */
  image: ecs.ContainerImage;
  /** BAKERY_TABLE. */
  tableName: string;
  /** The builders' role and instance profile: the apps file's `instanceProfile`, and all iam:PassRole may pass. */
  builderRoleName: string;
  /** A Secrets Manager secret holding the JSON keys botToken, signingSecret and appToken. */
  slackSecretName: string;
  replicas: number;
}

export const policyFile = new URL('./iam-policy.json', import.meta.url);

/**
 * How long a stopping task has between SIGTERM and SIGKILL. It gives its leases up at once but
 * first lets the AWS and DynamoDB calls in flight finish (the SDK's retries included); 120 s is
 * Fargate's maximum, and costs nothing when the hand-over is quicker: the process exits when done.
 */
export const stopTimeoutSeconds = 120;

export class BakeryStack extends Stack {
  readonly table: dynamodb.Table;
  readonly botRole: iam.Role;
  readonly service: ecs.FargateService;

  constructor(scope: Construct, id: string, props: BakeryStackProps) {
    super(scope, id, props);

    // The design of src/store/table.ts (ensureTable); the state outlives the stack.
    this.table = new dynamodb.Table(this, 'Table', {
      tableName: props.tableName,
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: activeIndex,
      partitionKey: { name: 'gsi1pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'gsi1sk', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });

    // Lets a builder boot and fetch its artifact over HTTPS; no permissions of its own.
    const builderRole = new iam.Role(this, 'BuilderRole', {
      roleName: props.builderRoleName,
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'Bakery builders: no AWS permissions',
    });
    new iam.InstanceProfile(this, 'BuilderInstanceProfile', { instanceProfileName: props.builderRoleName, role: builderRole });

    // The bot's own role holds exactly the documented policy: no grants are added to it below.
    this.botRole = new iam.Role(this, 'BotRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'Bakery bot: exactly deploy/iam-policy.json',
      inlinePolicies: {
        bakery: iam.PolicyDocument.fromJson(withStackValues(readPolicy(), { TableName: this.table.tableName, BuilderRoleName: builderRole.roleName })),
      },
    });

    // Public subnets and no NAT gateway: the tasks only call out (Slack, AWS APIs) and take no inbound traffic.
    const vpc = new ec2.Vpc(this, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC }] });
    const cluster = new ecs.Cluster(this, 'Cluster', { vpc });

    const slack = secretsmanager.Secret.fromSecretNameV2(this, 'SlackSecret', props.slackSecretName);
    const taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: 512,
      memoryLimitMiB: 1024,
      taskRole: this.botRole,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    taskDefinition.addContainer('bakery', {
      image: props.image,
      environment: {
        AWS_REGION: this.region,
        BAKERY_TABLE: this.table.tableName,
        LOG_FORMAT: 'json',
      },
      secrets: {
        SLACK_BOT_TOKEN: ecs.Secret.fromSecretsManager(slack, 'botToken'),
        SLACK_SIGNING_SECRET: ecs.Secret.fromSecretsManager(slack, 'signingSecret'),
        SLACK_APP_TOKEN: ecs.Secret.fromSecretsManager(slack, 'appToken'),
      },
      portMappings: [{ containerPort: 3000 }],
      healthCheck: {
        command: ['CMD', 'node', '-e', "fetch('http://127.0.0.1:3000/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(30),
      },
      stopTimeout: Duration.seconds(stopTimeoutSeconds),
      logging: ecs.LogDrivers.awsLogs({
        streamPrefix: 'bakery',
        logGroup: new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY }),
      }),
    });

    this.service = new ecs.FargateService(this, 'Service', {
      cluster,
      taskDefinition,
      desiredCount: props.replicas,
      assignPublicIp: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      // A deploy starts the new tasks before stopping the old ones, which hand their bakes over on SIGTERM.
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { rollback: true },
    });
  }
}

interface PolicyJson {
  Version: string;
  Statement: { Resource: string | string[] }[];
}

export function readPolicy(file: URL = policyFile): PolicyJson {
  return JSON.parse(readFileSync(file, 'utf8')) as PolicyJson;
}

/** The policy with its ${…} placeholders filled by CloudFormation (Fn::Sub), each with only the values it names. */
export function withStackValues(policy: PolicyJson, values: Record<string, string>): PolicyJson {
  const fill = (resource: string): string => {
    const names = [...resource.matchAll(/\$\{([A-Za-z]+)\}/g)].map(([, name]) => name!).filter((name) => name in values);
    return resource.includes('${') ? Fn.sub(resource, Object.fromEntries(names.map((name) => [name, values[name]!]))) : resource;
  };
  return {
    ...policy,
    Statement: policy.Statement.map((statement) => ({
      ...statement,
      Resource: Array.isArray(statement.Resource) ? statement.Resource.map(fill) : fill(statement.Resource),
    })),
  };
}
