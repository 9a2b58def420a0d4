import { createGroup } from './autoscaling.js';
import { alarmRecord } from './cloudwatch.js';
import { state, type HandlerContext } from './context.js';
import { seedImage } from './ec2-images.js';
import { launchTemplateHandlers } from './ec2-launch-templates.js';
import { elbv2Handlers, listenerArn, loadBalancerArn, loadBalancerDimension, targetGroupDimension } from './elbv2.js';
import { scalingHandlers } from './scaling.js';
import { nextId } from './world.js';

/** The live fleet an app's deploys start from, with the names and ids Bakery's deploy config needs. */
export interface SeededFleet {
  region: string;
  app: string;
  vpcId: string;
  /** The first is always subnet-0a1b2c3d4e5f60718 (the example apps' builder subnet). */
  subnetIds: string[];
  securityGroupId: string;
  /** '<app>-v0', no bakery tags: the release running before Bakery's first. */
  imageId: string;
  imageName: string;
  launchTemplateId: string;
  launchTemplateName: string;
  loadBalancerArn: string;
  loadBalancerName: string;
  listenerArn: string;
  targetGroupArn: string;
  targetGroupName: string;
  groupName: string;
  alarmName: string;
  /** CloudWatch dimension values: TargetGroup=targetgroup/<name>/<hex>, LoadBalancer=app/<name>/<hex>. */
  dimensions: { targetGroup: string; loadBalancer: string; autoScalingGroupName: string };
}

export interface FleetSeedOptions {
  region: string;
  app: string;
  /** Traffic the load balancer receives (default 3000). */
  requestsPerMinute?: number;
  instanceType?: string;
  /** The 5xx alarm's period (default 60; 'Demo/App' is high-resolution, so 10 or 30 work too). */
  alarmPeriodSeconds?: number;
  /**
   * Give the group the scaling a real fleet has: target-tracking policy `cpu-50` and a recurring
   * scheduled action `weekday-mornings` (local mode does, so a red-black demo shows them carried over).
   */
  scaling?: boolean;
}

/** The seeded target group's deregistration delay (ELB's default is 300). */
export const SEED_DEREGISTRATION_DELAY_SECONDS = 30;

/** The seeded group's scaling, as `scaling: true` lays it down. */
export const SEED_SCALING = { policy: 'cpu-50', scheduledAction: 'weekday-mornings' } as const;

const SEED_SUBNET = 'subnet-0a1b2c3d4e5f60718';
const SEED_SECURITY_GROUP = 'sg-0a1b2c3d4e5f60718';
/** The seed is laid down this long before now, so the group is InService, healthy and warmed up at once. */
export const SEED_BACKDATE_MS = 15 * 60_000;

/** ELB names are at most 32 characters: '<app>-live' must fit. */
export function fleetSeedable(app: string): boolean {
  return `${app}-live`.length <= 32;
}

function describe(ctx: HandlerContext, app: string): SeededFleet | undefined {
  const region = state(ctx);
  const lb = region.loadBalancers.find((l) => l.name === app);
  if (!lb) return undefined;
  const listener = region.listeners.find((l) => l.loadBalancerArn === lb.arn)!;
  const targetGroup = region.targetGroups.find((tg) => tg.name === `${app}-live`)!;
  // Short requests, so a shorter deregistration delay than ELB's 300 s default, as web fleets often set.
  elbv2Handlers.ModifyTargetGroupAttributes!(ctx, { TargetGroupArn: targetGroup.arn, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: String(SEED_DEREGISTRATION_DELAY_SECONDS) }] });
  const template = region.launchTemplates.find((t) => t.name === app)!;
  const image = region.images.find((i) => i.name === `${app}-v0`)!;
  return {
    region: ctx.region,
    app,
    vpcId: lb.vpcId,
    subnetIds: [...lb.subnets],
    securityGroupId: SEED_SECURITY_GROUP,
    imageId: image.imageId,
    imageName: image.name,
    launchTemplateId: template.launchTemplateId,
    launchTemplateName: template.name,
    loadBalancerArn: lb.arn,
    loadBalancerName: lb.name,
    listenerArn: listener.arn,
    targetGroupArn: targetGroup.arn,
    targetGroupName: targetGroup.name,
    groupName: `${app}-live`,
    alarmName: `${app}-5xx-high`,
    dimensions: { targetGroup: targetGroupDimension(targetGroup.arn), loadBalancer: loadBalancerDimension(lb.arn), autoScalingGroupName: `${app}-live` },
  };
}

/**
 * Lays down an app's live fleet as of ctx.now (the caller backdates it): image, launch template,
 * load balancer, listener, target group, Auto Scaling group and 5xx alarm. A fleet already there is
 * returned as it is, so a restarted local mode does not seed twice.
 */
export function seedFleet(ctx: HandlerContext, options: FleetSeedOptions): SeededFleet {
  if (!fleetSeedable(options.app)) throw new Error(`cannot seed a fleet for app "${options.app}": "${options.app}-live" is longer than ELB's 32 characters`);
  const existing = describe(ctx, options.app);
  if (existing) return existing;
  const { app } = options;
  const region = state(ctx);
  const vpcId = nextId(ctx.world, 'vpc');
  const subnets = [SEED_SUBNET, nextId(ctx.world, 'subnet')];

  const image = seedImage(ctx, { name: `${app}-v0`, description: `${app} before Bakery` });

  launchTemplateHandlers.CreateLaunchTemplate(ctx, {
    LaunchTemplateName: app,
    VersionDescription: `${app} v0`,
    LaunchTemplateData: {
      ImageId: image.imageId,
      InstanceType: (options.instanceType ?? 't3.small') as never,
      SecurityGroupIds: [SEED_SECURITY_GROUP],
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: app }] }],
    },
  });
  const template = region.launchTemplates.find((t) => t.name === app)!;

  elbv2Handlers.CreateTargetGroup!(ctx, {
    Name: `${app}-live`,
    Protocol: 'HTTP',
    Port: 8080,
    VpcId: vpcId,
    HealthCheckPath: '/healthz',
    HealthCheckIntervalSeconds: 10,
    HealthyThresholdCount: 2,
    UnhealthyThresholdCount: 2,
  });
  const targetGroup = region.targetGroups.find((tg) => tg.name === `${app}-live`)!;
  // Short requests, so a shorter deregistration delay than ELB's 300 s default, as web fleets often set.
  elbv2Handlers.ModifyTargetGroupAttributes!(ctx, { TargetGroupArn: targetGroup.arn, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: String(SEED_DEREGISTRATION_DELAY_SECONDS) }] });

  const lbArn = loadBalancerArn(ctx, app);
  const requestsPerMinute = options.requestsPerMinute ?? 3000;
  region.loadBalancers.push({
    arn: lbArn,
    name: app,
    dnsName: `${app}-${lbArn.slice(-10)}.${ctx.region}.elb.amazonaws.com`,
    vpcId,
    subnets,
    createdAt: ctx.now,
    requestsPerMinute,
  });
  region.listeners.push({
    arn: listenerArn(ctx, lbArn),
    loadBalancerArn: lbArn,
    port: 80,
    protocol: 'HTTP',
    forwards: [{ from: ctx.now, targetGroups: [{ targetGroupArn: targetGroup.arn, weight: 1 }] }],
  });

  createGroup(ctx, {
    AutoScalingGroupName: `${app}-live`,
    LaunchTemplate: { LaunchTemplateId: template.launchTemplateId, Version: '1' },
    MinSize: 2,
    MaxSize: 6,
    DesiredCapacity: 3,
    VPCZoneIdentifier: subnets.join(','),
    TargetGroupARNs: [targetGroup.arn],
    HealthCheckType: 'ELB',
    HealthCheckGracePeriod: 60,
    Tags: [{ Key: 'app', Value: app, PropagateAtLaunch: true }],
  });
  if (options.scaling) {
    scalingHandlers.PutScalingPolicy!(ctx, {
      AutoScalingGroupName: `${app}-live`,
      PolicyName: SEED_SCALING.policy,
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingConfiguration: { TargetValue: 50, PredefinedMetricSpecification: { PredefinedMetricType: 'ASGAverageCPUUtilization' } },
    });
    scalingHandlers.PutScheduledUpdateGroupAction!(ctx, {
      AutoScalingGroupName: `${app}-live`,
      ScheduledActionName: SEED_SCALING.scheduledAction,
      Recurrence: '0 7 * * MON-FRI',
      TimeZone: 'Etc/UTC',
      MinSize: 3,
    });
  }

  const periodSeconds = options.alarmPeriodSeconds ?? 60;
  // Three standard deviations above the fleet's normal 5xx count (0.4 % of its requests, Poisson-like):
  // a good fleet does not fire it in 2 of 3 periods, a fleet a third on a bad release (×4) soon does.
  const normalErrors = (requestsPerMinute * periodSeconds * 0.004) / 60;
  region.alarms.push(
    alarmRecord(ctx, {
      AlarmName: `${app}-5xx-high`,
      AlarmDescription: `${app}: 5xx errors well above their normal rate`,
      Namespace: 'Demo/App',
      MetricName: 'Errors5xx',
      Dimensions: [{ Name: 'AutoScalingGroupName', Value: `${app}-live` }],
      Statistic: 'Sum',
      Period: periodSeconds,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      Threshold: Math.ceil(normalErrors + 3 * Math.sqrt(normalErrors)),
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    }),
  );
  return describe(ctx, app)!;
}
