import {
  AlreadyExistsFault,
  AutoScalingServiceException,
  CreateAutoScalingGroupCommand,
  CreateOrUpdateTagsCommand,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeScalingActivitiesCommand,
  ActiveInstanceRefreshNotFoundFault,
  CancelInstanceRefreshCommand,
  DescribeInstanceRefreshesCommand,
  InstanceRefreshInProgressFault,
  IrreversibleInstanceRefreshFault,
  ResourceInUseFault,
  RollbackInstanceRefreshCommand,
  ScalingActivityInProgressFault,
  SetDesiredCapacityCommand,
  StartInstanceRefreshCommand,
  UpdateAutoScalingGroupCommand,
  type AutoScalingGroup,
  type CreateAutoScalingGroupCommandInput,
  type InstanceRefresh,
  type RefreshPreferences,
} from '@aws-sdk/client-auto-scaling';
import {
  CloudWatchServiceException,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  InvalidParameterValueException,
  ValidationException,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import {
  CreateImageCommand,
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  DeleteLaunchTemplateVersionsCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  EC2ServiceException,
  ModifyLaunchTemplateCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateTargetGroupCommand,
  DeleteTargetGroupCommand,
  DeregisterTargetsCommand,
  DescribeListenersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  InvalidConfigurationRequestException,
  ListenerNotFoundException,
  ModifyListenerCommand,
  ModifyTargetGroupAttributesCommand,
  RegisterTargetsCommand,
  ResourceInUseException,
  TargetGroupNotFoundException,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../src/clock.js';
import { AwsSimulator, SEED_DEREGISTRATION_DELAY_SECONDS, realisticTimings as t, type Fault, type SeededFleet } from '../src/aws/simulator/index.js';

const region = 'us-east-1';
/** How long a target of the seeded target group drains (its deregistration delay). */
const drainMs = SEED_DEREGISTRATION_DELAY_SECONDS * t.configSecondMs;
const AL2023 = '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64';

async function setup(options: { dataFile?: string; clock?: VirtualClock } = {}) {
  const clock = options.clock ?? new VirtualClock();
  const sim = new AwsSimulator({ clock, dataFile: options.dataFile });
  const fleet = sim.seedFleet({ region, app: 'demo' });
  const aws = sim.clients();
  return {
    clock,
    sim,
    fleet,
    ec2: await aws.ec2(region),
    ssm: await aws.ssm(region),
    asg: await aws.autoScaling(region),
    elb: await aws.elbv2(region),
    cw: await aws.cloudWatch(region),
  };
}
type Env = Awaited<ReturnType<typeof setup>>;

async function failure<E = Error & { name: string }>(promise: Promise<unknown>): Promise<E> {
  try {
    await promise;
  } catch (error) {
    return error as E;
  }
  throw new Error('expected the call to fail');
}

async function group(env: Env, name = env.fleet.groupName): Promise<AutoScalingGroup | undefined> {
  const { AutoScalingGroups } = await env.asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
  return AutoScalingGroups?.[0];
}

async function lifecycle(env: Env, name?: string): Promise<string[]> {
  return ((await group(env, name))?.Instances ?? []).map((i) => `${i.LifecycleState}/${i.HealthStatus}/v${i.LaunchTemplate?.Version}`).sort();
}

async function health(env: Env, targetGroupArn = env.fleet.targetGroupArn): Promise<string[]> {
  const { TargetHealthDescriptions } = await env.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }));
  return (TargetHealthDescriptions ?? []).map((d) => [d.TargetHealth?.State, d.TargetHealth?.Reason].filter(Boolean).join(':')).sort();
}

/** Moves virtual time on in steps until `done` holds; returns how long that took. */
async function until(env: Env, done: () => Promise<boolean>, stepMs = 5_000, limitMs = 3 * 3_600_000): Promise<number> {
  let waited = 0;
  while (!(await done())) {
    if (waited >= limitMs) throw new Error(`still not done after ${limitMs} ms of virtual time`);
    env.clock.advance(stepMs);
    waited += stepMs;
  }
  return waited;
}

/** Bakes an image the way Bakery does (builder, CreateImage), with any faults then in force. */
async function bake(env: Env, name: string, fault?: Fault): Promise<string> {
  if (fault) env.sim.inject(fault);
  const { Parameter } = await env.ssm.send(new GetParameterCommand({ Name: AL2023 }));
  const { Instances } = await env.ec2.send(
    new RunInstancesCommand({
      ImageId: Parameter!.Value!,
      MinCount: 1,
      MaxCount: 1,
      InstanceType: 't3.small',
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'bakery:app', Value: 'demo' }] }],
    }),
  );
  env.clock.advance(t.bootMs);
  const { ImageId } = await env.ec2.send(new CreateImageCommand({ InstanceId: Instances![0]!.InstanceId!, Name: name }));
  await env.ec2.send(new TerminateInstancesCommand({ InstanceIds: [Instances![0]!.InstanceId!] }));
  env.sim.clearFaults();
  env.clock.advance(t.imageMs);
  return ImageId!;
}

/** A new version of the app's launch template on `imageId`; its number. */
async function templateVersion(env: Env, imageId: string): Promise<string> {
  const { LaunchTemplateVersion } = await env.ec2.send(
    new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: env.fleet.launchTemplateId, SourceVersion: '1', LaunchTemplateData: { ImageId: imageId } }),
  );
  return String(LaunchTemplateVersion!.VersionNumber);
}

function groupInput(fleet: SeededFleet, extra: Partial<CreateAutoScalingGroupCommandInput> = {}): CreateAutoScalingGroupCommandInput {
  return {
    AutoScalingGroupName: 'demo-canary',
    LaunchTemplate: { LaunchTemplateId: fleet.launchTemplateId, Version: '1' },
    MinSize: 0,
    MaxSize: 4,
    DesiredCapacity: 1,
    VPCZoneIdentifier: fleet.subnetIds.join(','),
    HealthCheckType: 'ELB',
    HealthCheckGracePeriod: 60,
    ...extra,
  };
}

const MINUTE = 60_000;

function appMetric(id: string, groupName: string, metricName: 'Requests' | 'Errors5xx' | 'LatencyP99', stat = 'Sum', period = 60): MetricDataQuery {
  return { Id: id, MetricStat: { Metric: { Namespace: 'Demo/App', MetricName: metricName, Dimensions: [{ Name: 'AutoScalingGroupName', Value: groupName }] }, Period: period, Stat: stat } };
}

function albMetric(id: string, fleet: SeededFleet, targetGroupArn: string, metricName: string, stat = 'Sum'): MetricDataQuery {
  const dimensions = [
    { Name: 'TargetGroup', Value: targetGroupArn.slice(targetGroupArn.indexOf('targetgroup/')) },
    { Name: 'LoadBalancer', Value: fleet.dimensions.loadBalancer },
  ];
  return { Id: id, MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName: metricName, Dimensions: dimensions }, Period: 60, Stat: stat } };
}

interface Series {
  timestamps: number[];
  values: number[];
}

/** The last `minutes` of the queries' datapoints, oldest first, by query id. */
async function metrics(env: Env, queries: MetricDataQuery[], minutes = 10): Promise<Record<string, Series>> {
  const end = env.clock.now();
  const { MetricDataResults } = await env.cw.send(
    new GetMetricDataCommand({ MetricDataQueries: queries, StartTime: new Date(end - minutes * MINUTE), EndTime: new Date(end), ScanBy: 'TimestampAscending' }),
  );
  return Object.fromEntries(MetricDataResults!.map((r) => [r.Id!, { timestamps: r.Timestamps!.map((d) => d.getTime()), values: r.Values! }]));
}

const total = (values: number[]) => values.reduce((a, b) => a + b, 0);
const mean = (values: number[]) => total(values) / values.length;

/** A second group of `size` on `imageId`, serving from the live target group, healthy and warmed up. */
async function canary(env: Env, imageId: string, size = 3): Promise<string> {
  const version = await templateVersion(env, imageId);
  await env.asg.send(
    new CreateAutoScalingGroupCommand(
      groupInput(env.fleet, { LaunchTemplate: { LaunchTemplateId: env.fleet.launchTemplateId, Version: version }, DesiredCapacity: size, TargetGroupARNs: [env.fleet.targetGroupArn] }),
    ),
  );
  await until(env, async () => (await health(env)).filter((s) => s === 'healthy').length === 3 + size);
  env.clock.advance(3 * MINUTE);
  return version;
}

async function startRefresh(env: Env, version: string | undefined, preferences: RefreshPreferences = {}): Promise<string> {
  const { InstanceRefreshId } = await env.asg.send(
    new StartInstanceRefreshCommand({
      AutoScalingGroupName: 'demo-live',
      DesiredConfiguration: version ? { LaunchTemplate: { LaunchTemplateId: env.fleet.launchTemplateId, Version: version } } : undefined,
      Preferences: { MinHealthyPercentage: 100, MaxHealthyPercentage: 200, InstanceWarmup: 60, ...preferences },
    }),
  );
  return InstanceRefreshId!;
}

async function refresh(env: Env): Promise<InstanceRefresh> {
  const { InstanceRefreshes } = await env.asg.send(new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: 'demo-live' }));
  return InstanceRefreshes![0]!;
}

/** Waits for the refresh to reach one of `statuses`, checking on every step that the group keeps `minHealthy` healthy instances. */
async function refreshUntil(env: Env, statuses: string[], minHealthy = 0): Promise<InstanceRefresh> {
  let lowest = Infinity;
  await until(env, async () => {
    lowest = Math.min(lowest, (await health(env)).filter((s) => s === 'healthy').length);
    return statuses.includes((await refresh(env)).Status!);
  });
  expect(lowest).toBeGreaterThanOrEqual(minHealthy);
  return refresh(env);
}

describe('the simulated fleet', () => {
  describe('the seeded demo fleet', () => {
    it('is InService, healthy and behind its load balancer at once', async () => {
      const env = await setup();
      const { fleet } = env;
      expect(fleet).toMatchObject({ groupName: 'demo-live', targetGroupName: 'demo-live', launchTemplateName: 'demo', loadBalancerName: 'demo', alarmName: 'demo-5xx-high', imageName: 'demo-v0' });
      expect(fleet.subnetIds).toContain('subnet-0a1b2c3d4e5f60718');
      expect(fleet.targetGroupArn).toMatch(/^arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup\/demo-live\/[0-9a-f]{16}$/);
      expect(fleet.loadBalancerArn).toMatch(/^arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer\/app\/demo\/[0-9a-f]{16}$/);
      expect(fleet.listenerArn).toMatch(/^arn:aws:elasticloadbalancing:us-east-1:123456789012:listener\/app\/demo\/[0-9a-f]{16}\/[0-9a-f]{16}$/);
      expect(fleet.dimensions.targetGroup).toMatch(/^targetgroup\/demo-live\/[0-9a-f]{16}$/);

      const live = await group(env);
      expect(live).toMatchObject({ MinSize: 2, MaxSize: 6, DesiredCapacity: 3, HealthCheckType: 'ELB', HealthCheckGracePeriod: 60, TargetGroupARNs: [fleet.targetGroupArn] });
      expect(live!.Tags).toEqual([{ ResourceId: 'demo-live', ResourceType: 'auto-scaling-group', Key: 'app', Value: 'demo', PropagateAtLaunch: true }]);
      expect(await lifecycle(env)).toEqual(['InService/Healthy/v1', 'InService/Healthy/v1', 'InService/Healthy/v1']);
      expect(await health(env)).toEqual(['healthy', 'healthy', 'healthy']);

      // Its instances are real simulated EC2 instances, tagged by the group, on the seeded image.
      const { Reservations } = await env.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:aws:autoscaling:groupName', Values: ['demo-live'] }] }));
      const instances = Reservations!.flatMap((r) => r.Instances!);
      expect(instances).toHaveLength(3);
      expect(new Set(instances.map((i) => i.ImageId))).toEqual(new Set([fleet.imageId]));
      expect(instances[0]!.Tags).toEqual(expect.arrayContaining([{ Key: 'app', Value: 'demo' }, { Key: 'Name', Value: 'demo' }]));
    });

    it('is seeded once: a restarted simulator on the same data file finds the same fleet, with time moved on', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'bakery-fleet-'));
      try {
        const dataFile = join(dir, 'aws.json');
        const clock = new VirtualClock();
        const first = await setup({ dataFile, clock });
        await first.asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'demo-live', DesiredCapacity: 4 }));
        expect(await lifecycle(first)).toHaveLength(3);

        clock.advance(5 * 60_000);
        const second = await setup({ dataFile, clock });
        expect(second.fleet).toEqual(first.fleet);
        expect(await lifecycle(second)).toEqual(['InService/Healthy/v1', 'InService/Healthy/v1', 'InService/Healthy/v1', 'InService/Healthy/v1']);
        expect(await health(second)).toEqual(['healthy', 'healthy', 'healthy', 'healthy']);
        const { LaunchTemplates } = await second.ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: ['demo'] }));
        expect(LaunchTemplates).toHaveLength(1);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('refuses an app whose "<app>-live" would not fit ELB\'s 32-character names', async () => {
      const { sim } = await setup();
      expect(() => sim.seedFleet({ region, app: 'a-very-long-application-name' })).toThrow(/longer than ELB's 32 characters/);
    });
  });

  describe('launch templates', () => {
    it('numbers versions upward, resolves $Latest and $Default, and inherits from a source version', async () => {
      const env = await setup();
      const imageId = await bake(env, 'demo-v1');
      const { LaunchTemplateVersion } = await env.ec2.send(
        new CreateLaunchTemplateVersionCommand({ LaunchTemplateName: 'demo', SourceVersion: '$Latest', VersionDescription: 'demo v1', LaunchTemplateData: { ImageId: imageId } }),
      );
      expect(LaunchTemplateVersion).toMatchObject({ VersionNumber: 2, DefaultVersion: false, LaunchTemplateData: { ImageId: imageId, InstanceType: 't3.small' } });

      const versions = async (...wanted: string[]) =>
        (await env.ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: env.fleet.launchTemplateId, Versions: wanted }))).LaunchTemplateVersions!.map(
          (v) => v.VersionNumber,
        );
      expect(await versions('$Latest', '$Default', '1')).toEqual([2, 1, 1]);
      await env.ec2.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: env.fleet.launchTemplateId, DefaultVersion: '2' }));
      expect(await versions('$Default')).toEqual([2]);
      const { LaunchTemplates } = await env.ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [env.fleet.launchTemplateId] }));
      expect(LaunchTemplates![0]).toMatchObject({ LaunchTemplateName: 'demo', DefaultVersionNumber: 2, LatestVersionNumber: 2 });

      const missing = await failure<EC2ServiceException>(env.ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: 'demo', Versions: ['9'] })));
      expect(missing.name).toBe('InvalidLaunchTemplateId.VersionNotFound');
    });

    it('deletes versions one by one as EC2 does: never the default, each refusal with its code, numbers never reused', async () => {
      const env = await setup();
      const imageId = await bake(env, 'demo-v1');
      for (let i = 0; i < 3; i++) await env.ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateName: 'demo', SourceVersion: '1', LaunchTemplateData: { ImageId: imageId } }));
      const answer = await env.ec2.send(new DeleteLaunchTemplateVersionsCommand({ LaunchTemplateId: env.fleet.launchTemplateId, Versions: ['1', '2', '4', '9', 'x'] }));
      expect(answer.SuccessfullyDeletedLaunchTemplateVersions!.map((v) => v.VersionNumber)).toEqual([2, 4]);
      expect(answer.UnsuccessfullyDeletedLaunchTemplateVersions!.map((v) => [v.VersionNumber, v.ResponseError?.Code])).toEqual([
        [1, 'unexpectedError'],
        [9, 'launchTemplateVersionDoesNotExist'],
        [undefined, 'launchTemplateVersionDoesNotExist'],
      ]);
      // With the latest (4) gone, $Latest is the newest left; the next version is still 5.
      const { LaunchTemplates } = await env.ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [env.fleet.launchTemplateId] }));
      expect(LaunchTemplates![0]).toMatchObject({ DefaultVersionNumber: 1, LatestVersionNumber: 3 });
      const next = await env.ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateName: 'demo', SourceVersion: '$Latest', LaunchTemplateData: { ImageId: imageId } }));
      expect(next.LaunchTemplateVersion!.VersionNumber).toBe(5);
      const unknown = await env.ec2.send(new DeleteLaunchTemplateVersionsCommand({ LaunchTemplateId: 'lt-0123456789abcdef0', Versions: ['2'] }));
      expect(unknown.UnsuccessfullyDeletedLaunchTemplateVersions!.map((v) => v.ResponseError?.Code)).toEqual(['launchTemplateIdDoesNotExist']);
      expect((await failure(env.ec2.send(new DeleteLaunchTemplateVersionsCommand({ LaunchTemplateName: 'demo', Versions: Array.from({ length: 201 }, (_, i) => String(i + 10)) })))).name).toBe('InvalidParameterValue');
    });

    it('treats a repeated client token as the same request', async () => {
      const env = await setup();
      const input = { LaunchTemplateName: 'other', ClientToken: 'op-1-template', LaunchTemplateData: { ImageId: env.fleet.imageId } };
      const first = await env.ec2.send(new CreateLaunchTemplateCommand(input));
      const again = await env.ec2.send(new CreateLaunchTemplateCommand(input));
      expect(again.LaunchTemplate!.LaunchTemplateId).toBe(first.LaunchTemplate!.LaunchTemplateId);
      expect(first.LaunchTemplate!.LaunchTemplateId).toMatch(/^lt-0[0-9a-f]{16}$/);

      const version = { LaunchTemplateName: 'other', ClientToken: 'op-1-version', LaunchTemplateData: { ImageId: env.fleet.imageId } };
      await env.ec2.send(new CreateLaunchTemplateVersionCommand(version));
      const repeated = await env.ec2.send(new CreateLaunchTemplateVersionCommand(version));
      expect(repeated.LaunchTemplateVersion!.VersionNumber).toBe(2);
      expect((await failure(env.ec2.send(new CreateLaunchTemplateCommand({ ...input, ClientToken: 'op-2' })))).name).toBe('InvalidLaunchTemplateName.AlreadyExistsException');
    });

    it("names an unknown template by EC2's own codes", async () => {
      const env = await setup();
      const byId = await failure<EC2ServiceException>(env.ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: ['lt-0123456789abcdef0'] })));
      expect(byId).toBeInstanceOf(EC2ServiceException);
      expect(byId.name).toBe('InvalidLaunchTemplateId.NotFound');
      const byName = await failure(env.ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateName: 'nope', LaunchTemplateData: { ImageId: env.fleet.imageId } })));
      expect(byName.name).toBe('InvalidLaunchTemplateName.NotFoundException');
      expect(byName.message).toBe('The specified launch template, with template name nope, does not exist.');
    });
  });

  describe('Auto Scaling groups', () => {
    it('scales out a scaling delay after the change: Pending, then InService, then healthy in its target group', async () => {
      const env = await setup();
      await env.asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'demo-live', DesiredCapacity: 5 }));
      // Like AWS, the group has not acted yet when the call returns.
      expect(await lifecycle(env)).toHaveLength(3);
      env.clock.advance(t.scalingDelayMs);
      expect((await lifecycle(env)).filter((s) => s.startsWith('Pending'))).toHaveLength(2);
      env.clock.advance(t.bootMs + t.inServiceMs);
      expect(await lifecycle(env)).toEqual(Array(5).fill('InService/Healthy/v1'));
      expect(await health(env)).toEqual(['healthy', 'healthy', 'healthy', 'initial:Elb.InitialHealthChecking', 'initial:Elb.InitialHealthChecking']);
      env.clock.advance(10 * 2 * 1_000);
      expect(await health(env)).toEqual(Array(5).fill('healthy'));

      const { Activities } = await env.asg.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: 'demo-live' }));
      expect(Activities![0]!.Description).toMatch(/^Launching a new EC2 instance: i-0[0-9a-f]{16}$/);
      expect(Activities![0]!.Cause).toContain('increasing the capacity from 3 to 5');
    });

    it('scales in newest first, deregistering it and terminating it only once it has drained', async () => {
      const env = await setup();
      await env.asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'demo-live', DesiredCapacity: 4 }));
      env.clock.advance(t.scalingDelayMs);
      const newest = (await group(env))!.Instances!.find((i) => i.LifecycleState === 'Pending')!.InstanceId!;
      await until(env, async () => (await health(env)).every((s) => s === 'healthy') && (await health(env)).length === 4);
      await env.asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'demo-live', DesiredCapacity: 3 }));
      env.clock.advance(t.scalingDelayMs);
      const leaving = (await group(env))!.Instances!.find((i) => i.LifecycleState === 'Terminating');
      expect(leaving?.InstanceId).toBe(newest);
      // DeregisterTargets, ELB API reference: no new requests, in-flight ones complete during the deregistration delay.
      expect(await health(env)).toEqual(['draining:Target.DeregistrationInProgress', 'healthy', 'healthy', 'healthy']);
      env.clock.advance(drainMs - t.scalingDelayMs - 1);
      const state = async () => (await env.ec2.send(new DescribeInstancesCommand({ InstanceIds: [newest] }))).Reservations![0]!.Instances![0]!.State!.Name;
      expect(await state()).toBe('running');
      env.clock.advance(t.scalingDelayMs + 1);
      expect(await health(env)).toEqual(['healthy', 'healthy', 'healthy']);
      expect(await state()).toBe('shutting-down');
      env.clock.advance(t.terminateMs + t.scalingDelayMs);
      expect(await lifecycle(env)).toEqual(Array(3).fill('InService/Healthy/v1'));
    });

    it('drains a deregistered target for its target group’s deregistration delay: 300 s unless changed', async () => {
      const env = await setup();
      const { TargetGroups } = await env.elb.send(new CreateTargetGroupCommand({ Name: 'demo-drain', Protocol: 'HTTP', Port: 8080, VpcId: env.fleet.vpcId, HealthCheckIntervalSeconds: 10, HealthyThresholdCount: 2 }));
      const arn = TargetGroups![0]!.TargetGroupArn!;
      const delay = async () => (await env.elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn }))).Attributes!.find((a) => a.Key === 'deregistration_delay.timeout_seconds')?.Value;
      expect(await delay()).toBe('300');
      const listener = (await env.elb.send(new DescribeListenersCommand({ ListenerArns: [env.fleet.listenerArn] }))).Listeners![0]!;
      await env.elb.send(new ModifyListenerCommand({ ListenerArn: listener.ListenerArn, DefaultActions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: env.fleet.targetGroupArn, Weight: 1 }, { TargetGroupArn: arn, Weight: 0 }] } }] }));
      const [first, second] = (await group(env))!.Instances!.map((i) => ({ Id: i.InstanceId! }));
      await env.elb.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [first!, second!] }));
      await env.elb.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: [first!] }));
      env.clock.advance(299_000);
      expect(await health(env, arn)).toContain('draining:Target.DeregistrationInProgress');
      env.clock.advance(1_000);
      expect(await health(env, arn)).not.toContain('draining:Target.DeregistrationInProgress');

      await env.elb.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: arn, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '45' }] }));
      expect(await delay()).toBe('45');
      await env.elb.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: [second!] }));
      env.clock.advance(44_000);
      expect(await health(env, arn)).toEqual(['draining:Target.DeregistrationInProgress']);
      // A target group a listener no longer forwards to may be deleted with its targets still draining
      // ("Deleting a target group does not affect its registered targets", DeleteTargetGroup, ELB API reference).
      expect(await failure(env.elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: arn })))).toBeInstanceOf(ResourceInUseException);
      await env.elb.send(new ModifyListenerCommand({ ListenerArn: listener.ListenerArn, DefaultActions: [{ Type: 'forward', TargetGroupArn: env.fleet.targetGroupArn }] }));
      await env.elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: arn }));

      const refused = await failure(env.elb.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: env.fleet.targetGroupArn, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '3601' }] })));
      expect(refused).toBeInstanceOf(InvalidConfigurationRequestException);
    });

    it('replaces an instance terminated behind its back', async () => {
      const env = await setup();
      const victim = (await group(env))!.Instances![0]!.InstanceId!;
      await env.ec2.send(new TerminateInstancesCommand({ InstanceIds: [victim] }));
      env.clock.advance(t.scalingDelayMs);
      const instances = (await group(env))!.Instances!;
      expect(instances.find((i) => i.InstanceId === victim)).toMatchObject({ LifecycleState: 'Terminating', HealthStatus: 'Unhealthy' });
      expect(instances.filter((i) => i.LifecycleState === 'Pending')).toHaveLength(1);
    });

    it('finds the instances of an unhealthy release Unhealthy after the grace period, and replaces them', async () => {
      const env = await setup();
      const imageId = await bake(env, 'demo-v1', { kind: 'unhealthy-release', app: 'demo' });
      const version = await templateVersion(env, imageId);
      const { TargetGroups } = await env.elb.send(new DescribeTargetGroupsCommand({ Names: ['demo-live'] }));
      await env.asg.send(
        new CreateAutoScalingGroupCommand(groupInput(env.fleet, { LaunchTemplate: { LaunchTemplateName: 'demo', Version: version }, TargetGroupARNs: [TargetGroups![0]!.TargetGroupArn!] })),
      );
      await until(env, async () => (await health(env)).includes('unhealthy:Target.FailedHealthChecks'));
      expect(await lifecycle(env, 'demo-canary')).toEqual([`InService/Healthy/v${version}`]);
      await until(env, async () => (await lifecycle(env, 'demo-canary')).some((s) => s.startsWith('Terminating/Unhealthy')));
      env.clock.advance(t.scalingDelayMs);
      expect(await lifecycle(env, 'demo-canary')).toEqual([`Pending/Healthy/v${version}`, `Terminating/Unhealthy/v${version}`]);
    });

    it('lets a slow-starting release report unhealthy inside the grace period, then settle healthy, and keeps it', async () => {
      const env = await setup();
      const imageId = await bake(env, 'demo-v1', { kind: 'slow-start', app: 'demo' });
      const version = await templateVersion(env, imageId);
      await env.asg.send(new CreateAutoScalingGroupCommand(groupInput(env.fleet, { LaunchTemplate: { LaunchTemplateName: 'demo', Version: version }, TargetGroupARNs: [env.fleet.targetGroupArn] })));
      const seen = new Set<string>();
      await until(env, async () => {
        for (const state of await health(env)) seen.add(state);
        return (await health(env)).filter((s) => s === 'healthy').length === 4;
      }, 1_000);
      expect([...seen]).toEqual(expect.arrayContaining(['initial:Elb.InitialHealthChecking', 'unhealthy:Target.FailedHealthChecks', 'healthy']));
      // Unhealthy only inside its 60 s grace period: Auto Scaling did not replace it.
      env.clock.advance(5 * MINUTE);
      expect(await lifecycle(env, 'demo-canary')).toEqual([`InService/Healthy/v${version}`]);
      const { TargetHealthDescriptions } = await env.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: env.fleet.targetGroupArn }));
      expect(TargetHealthDescriptions!.every((d) => d.TargetHealth?.State === 'healthy')).toBe(true);
    });

    it('refuses to delete a group with instances, and with ForceDelete shows it deleting until they are gone', async () => {
      const env = await setup();
      await env.asg.send(new CreateAutoScalingGroupCommand(groupInput(env.fleet)));
      env.clock.advance(t.scalingDelayMs);
      const busy = await failure(env.asg.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'demo-canary' })));
      expect(busy).toBeInstanceOf(ScalingActivityInProgressFault);
      env.clock.advance(t.bootMs + t.inServiceMs);
      const inUse = await failure(env.asg.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'demo-canary' })));
      expect(inUse).toBeInstanceOf(ResourceInUseFault);
      expect(inUse.message).toBe('You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group.');

      await env.asg.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'demo-canary', ForceDelete: true }));
      expect(await group(env, 'demo-canary')).toMatchObject({ Status: 'Delete in progress', DesiredCapacity: 0 });
      expect(await lifecycle(env, 'demo-canary')).toEqual(['Terminating/Healthy/v1']);
      env.clock.advance(t.terminateMs);
      expect(await group(env, 'demo-canary')).toBeUndefined();
    });

    it('finds groups by tag, and propagates tags to the instances it launches', async () => {
      const env = await setup();
      await env.asg.send(new CreateAutoScalingGroupCommand(groupInput(env.fleet, { Tags: [{ Key: 'bakery:release', Value: 'v2', PropagateAtLaunch: true }, { Key: 'team', Value: 'web' }] })));
      await env.asg.send(new CreateOrUpdateTagsCommand({ Tags: [{ ResourceId: 'demo-canary', ResourceType: 'auto-scaling-group', Key: 'app', Value: 'demo', PropagateAtLaunch: true }] }));
      const byTag = await env.asg.send(new DescribeAutoScalingGroupsCommand({ Filters: [{ Name: 'tag:app', Values: ['demo'] }] }));
      expect(byTag.AutoScalingGroups!.map((g) => g.AutoScalingGroupName).sort()).toEqual(['demo-canary', 'demo-live']);
      const byKey = await env.asg.send(new DescribeAutoScalingGroupsCommand({ Filters: [{ Name: 'tag-key', Values: ['bakery:release'] }] }));
      expect(byKey.AutoScalingGroups!.map((g) => g.AutoScalingGroupName)).toEqual(['demo-canary']);
      // EC2 shows a new instance to describes a few seconds after it is made.
      env.clock.advance(t.scalingDelayMs + t.newIdInvisibleMs);
      const { Reservations } = await env.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:aws:autoscaling:groupName', Values: ['demo-canary'] }] }));
      const tags = Reservations![0]!.Instances![0]!.Tags!;
      expect(tags).toEqual(expect.arrayContaining([{ Key: 'bakery:release', Value: 'v2' }, { Key: 'app', Value: 'demo' }]));
      expect(tags.some((tag) => tag.Key === 'team')).toBe(false);
    });

    it("lets the SDK's own retry absorb throttling of Auto Scaling, ELB and CloudWatch calls", { timeout: 30_000 }, async () => {
      const env = await setup();
      env.sim.inject({ kind: 'throttle', command: 'DescribeAutoScalingGroups', times: 1 });
      env.sim.inject({ kind: 'throttle', command: 'DescribeTargetHealth', times: 1 });
      env.sim.inject({ kind: 'throttle', command: 'GetMetricData', times: 1 });
      const { $metadata } = await env.asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['demo-live'] }));
      expect($metadata.attempts).toBe(2);
      expect((await env.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: env.fleet.targetGroupArn }))).$metadata.attempts).toBe(2);
      await metrics(env, [appMetric('requests', 'demo-live', 'Requests')]);
      expect(env.sim.calls().filter((call) => call.command === 'GetMetricData')).toHaveLength(2);
    });

    it("answers mistakes with Auto Scaling's own exceptions", async () => {
      const env = await setup();
      const exists = await failure(env.asg.send(new CreateAutoScalingGroupCommand(groupInput(env.fleet, { AutoScalingGroupName: 'demo-live' }))));
      expect(exists).toBeInstanceOf(AlreadyExistsFault);
      expect(exists).toMatchObject({ name: 'AlreadyExistsFault', Code: 'AlreadyExists', $metadata: { httpStatusCode: 400 } });

      const tooMany = await failure<AutoScalingServiceException>(env.asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'demo-live', DesiredCapacity: 7 })));
      expect(tooMany).toBeInstanceOf(AutoScalingServiceException);
      expect(tooMany.name).toBe('ValidationError');
      expect(tooMany.message).toBe('New SetDesiredCapacity value 7 is above max value 6 for the AutoScalingGroup.');
      const unknownTemplate = await failure(env.asg.send(new CreateAutoScalingGroupCommand(groupInput(env.fleet, { LaunchTemplate: { LaunchTemplateName: 'nope' } }))));
      expect(unknownTemplate.name).toBe('ValidationError');
      const missing = await failure(env.asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'nope', MinSize: 1 })));
      expect(missing.name).toBe('ValidationError');
      // A failed call changed nothing.
      expect((await group(env))!.DesiredCapacity).toBe(3);
    });
  });

  describe('target groups and listeners', () => {
    it('creates a target group as given; its targets are unused until a listener forwards to it', async () => {
      const env = await setup();
      const { TargetGroups } = await env.elb.send(
        new CreateTargetGroupCommand({ Name: 'demo-canary', Protocol: 'HTTP', Port: 8080, VpcId: env.fleet.vpcId, HealthCheckPath: '/healthz', HealthCheckIntervalSeconds: 15, HealthyThresholdCount: 3 }),
      );
      const canary = TargetGroups![0]!;
      // Creating the same target group again is harmless; the same name with other settings is not.
      const again = await env.elb.send(
        new CreateTargetGroupCommand({ Name: 'demo-canary', Protocol: 'HTTP', Port: 8080, VpcId: env.fleet.vpcId, HealthCheckPath: '/healthz', HealthCheckIntervalSeconds: 15, HealthyThresholdCount: 3 }),
      );
      expect(again.TargetGroups![0]!.TargetGroupArn).toBe(canary.TargetGroupArn);
      const other = await failure(env.elb.send(new CreateTargetGroupCommand({ Name: 'demo-canary', Protocol: 'HTTP', Port: 80, VpcId: env.fleet.vpcId })));
      expect(other.name).toBe('DuplicateTargetGroupNameException');
      expect(canary).toMatchObject({ TargetGroupName: 'demo-canary', Port: 8080, HealthCheckPath: '/healthz', HealthCheckIntervalSeconds: 15, HealthyThresholdCount: 3, UnhealthyThresholdCount: 2, LoadBalancerArns: [] });
      expect(canary.TargetGroupArn).toMatch(/:targetgroup\/demo-canary\/[0-9a-f]{16}$/);
      await env.asg.send(new CreateAutoScalingGroupCommand(groupInput(env.fleet, { TargetGroupARNs: [canary.TargetGroupArn!] })));
      env.clock.advance(t.scalingDelayMs + t.bootMs + t.inServiceMs);
      expect(await health(env, canary.TargetGroupArn)).toEqual(['unused:Target.NotInUse']);

      await env.elb.send(
        new ModifyListenerCommand({
          ListenerArn: env.fleet.listenerArn,
          DefaultActions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: env.fleet.targetGroupArn, Weight: 90 }, { TargetGroupArn: canary.TargetGroupArn, Weight: 10 }] } }],
        }),
      );
      expect(await health(env, canary.TargetGroupArn)).toEqual(['initial:Elb.InitialHealthChecking']);
      env.clock.advance(15 * 3 * 1_000);
      expect(await health(env, canary.TargetGroupArn)).toEqual(['healthy']);
      const { Listeners } = await env.elb.send(new DescribeListenersCommand({ LoadBalancerArn: env.fleet.loadBalancerArn }));
      expect(Listeners![0]!.DefaultActions![0]!.ForwardConfig!.TargetGroups).toEqual([
        { TargetGroupArn: env.fleet.targetGroupArn, Weight: 90 },
        { TargetGroupArn: canary.TargetGroupArn, Weight: 10 },
      ]);
      const described = await env.elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [canary.TargetGroupArn!] }));
      expect(described.TargetGroups![0]!.LoadBalancerArns).toEqual([env.fleet.loadBalancerArn]);

      // In use by the listener it cannot go; once the listener forwards elsewhere it can.
      const inUse = await failure(env.elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: canary.TargetGroupArn })));
      expect(inUse).toBeInstanceOf(ResourceInUseException);
      await env.elb.send(new ModifyListenerCommand({ ListenerArn: env.fleet.listenerArn, DefaultActions: [{ Type: 'forward', TargetGroupArn: env.fleet.targetGroupArn }] }));
      await env.elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: canary.TargetGroupArn }));
      expect(await failure(env.elb.send(new DescribeTargetGroupsCommand({ Names: ['demo-canary'] })))).toBeInstanceOf(TargetGroupNotFoundException);
    });

    it('answers 503 itself for the share forwarded to a target group with no healthy target', async () => {
      const env = await setup();
      const { TargetGroups } = await env.elb.send(
        new CreateTargetGroupCommand({ Name: 'demo-empty', Protocol: 'HTTP', Port: 8080, VpcId: env.fleet.vpcId, Tags: [{ Key: 'bakery:created-by', Value: 'bakery' }] }),
      );
      const empty = TargetGroups![0]!.TargetGroupArn!;
      const { TagDescriptions } = await env.elb.send(new DescribeTagsCommand({ ResourceArns: [empty] }));
      expect(TagDescriptions).toEqual([{ ResourceArn: empty, Tags: [{ Key: 'bakery:created-by', Value: 'bakery' }] }]);
      const lbMetric = (id: string, metricName: string): MetricDataQuery => ({
        Id: id,
        MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName: metricName, Dimensions: [{ Name: 'LoadBalancer', Value: env.fleet.dimensions.loadBalancer }] }, Period: 60, Stat: 'Sum' },
      });
      const forward = async (weights: [string, number][]) => {
        await env.elb.send(new ModifyListenerCommand({ ListenerArn: env.fleet.listenerArn, DefaultActions: [{ Type: 'forward', ForwardConfig: { TargetGroups: weights.map(([TargetGroupArn, Weight]) => ({ TargetGroupArn, Weight })) } }] }));
        env.clock.advance(6 * MINUTE);
        const series = await metrics(env, [lbMetric('served', 'RequestCount'), lbMetric('refused', 'HTTPCode_ELB_503_Count')], 4);
        // No datapoint at all for a period without any: read as 0 here.
        const perMinute = (values: number[]) => (values.length ? mean(values) : 0);
        return { served: perMinute(series.served!.values), refused: perMinute(series.refused!.values) };
      };
      const none = await forward([[env.fleet.targetGroupArn, 1], [empty, 0]]);
      expect(none.refused).toBe(0);
      const half = await forward([[env.fleet.targetGroupArn, 1], [empty, 1]]);
      expect(half.refused / (half.served + half.refused)).toBeCloseTo(0.5, 1);
      // All weight on the empty group: every request is the load balancer's own 503, none reaches a target.
      const all = await forward([[env.fleet.targetGroupArn, 0], [empty, 1]]);
      expect(all.served).toBe(0);
      expect(all.refused).toBeGreaterThan(2_500);
    });

    it("refuses weights outside 0-999 and unknown ARNs with ELB's own exceptions", async () => {
      const env = await setup();
      const heavy = await failure(
        env.elb.send(new ModifyListenerCommand({ ListenerArn: env.fleet.listenerArn, DefaultActions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: env.fleet.targetGroupArn, Weight: 1000 }] } }] })),
      );
      expect(heavy.name).toBe('ValidationError');
      const unknownGroup = env.fleet.targetGroupArn.replace(/[0-9a-f]{16}$/, '0123456789abcdef');
      expect(
        await failure(env.elb.send(new ModifyListenerCommand({ ListenerArn: env.fleet.listenerArn, DefaultActions: [{ Type: 'forward', TargetGroupArn: unknownGroup }] }))),
      ).toBeInstanceOf(TargetGroupNotFoundException);
      const unknownListener = await failure(env.elb.send(new DescribeListenersCommand({ ListenerArns: [env.fleet.listenerArn + '0'] })));
      expect(unknownListener).toBeInstanceOf(ListenerNotFoundException);
      expect(unknownListener.message).toBe('One or more listeners not found');
      // Nothing changed.
      const { Listeners } = await env.elb.send(new DescribeListenersCommand({ ListenerArns: [env.fleet.listenerArn] }));
      expect(Listeners![0]!.DefaultActions![0]!.TargetGroupArn).toBe(env.fleet.targetGroupArn);
    });
  });

  describe('CloudWatch metrics', () => {
    it('shows a period only once it has ended and the ingestion delay has passed', async () => {
      const env = await setup();
      env.clock.advance(MINUTE - (env.clock.now() % MINUTE) + 30_000);
      const query = [appMetric('requests', 'demo-live', 'Requests')];
      const last = async () => (await metrics(env, query)).requests!.timestamps.at(-1)!;
      const period = Math.floor(env.clock.now() / MINUTE) * MINUTE;
      // At hh:mm:30 the period that ended 30 s ago is still being ingested; the one before shows.
      expect(await last()).toBe(period - 2 * MINUTE);
      env.clock.advance(t.metricDelayMs - 30_000);
      expect(await last()).toBe(period - MINUTE);
      const series = (await metrics(env, query, 10)).requests!;
      expect(series.timestamps.every((ts) => ts % MINUTE === 0)).toBe(true);
      expect(series.values.every((v) => v > 2000 && v < 4000)).toBe(true);
    });

    it('has no datapoint, not a zero, for a period without traffic', async () => {
      const env = await setup();
      env.clock.advance(2 * MINUTE);
      // The fleet was laid down 15 minutes ago; the hour before it has no datapoints at all.
      const series = (await metrics(env, [appMetric('requests', 'demo-live', 'Requests')], 75)).requests!;
      expect(series.values.length).toBeGreaterThan(5);
      expect(series.values.length).toBeLessThan(17);
      expect(series.values.every((v) => v > 0)).toBe(true);
      // An unknown group, or ELB 5xx of a target group without errors, is simply absent.
      const none = await metrics(env, [appMetric('nobody', 'nope', 'Requests'), { ...albMetric('onlytg', env.fleet, env.fleet.targetGroupArn, 'RequestCount'), MetricStat: { ...albMetric('x', env.fleet, env.fleet.targetGroupArn, 'RequestCount').MetricStat!, Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'RequestCount', Dimensions: [{ Name: 'TargetGroup', Value: env.fleet.dimensions.targetGroup }] } } }]);
      expect(none.nobody!.values).toEqual([]);
      // ELB keeps target-group metrics under TargetGroup + LoadBalancer: TargetGroup alone matches nothing.
      expect(none.onlytg!.values).toEqual([]);
    });

    it('gives the same numbers for the same world, in another process or a rerun', async () => {
      const queries = [appMetric('errors', 'demo-live', 'Errors5xx'), appMetric('latency', 'demo-live', 'LatencyP99', 'Average'), albMetric('requests', (await setup()).fleet, (await setup()).fleet.targetGroupArn, 'RequestCount')];
      const first = await setup();
      const second = await setup();
      first.clock.advance(10 * MINUTE);
      second.clock.advance(10 * MINUTE);
      expect(await metrics(first, queries)).toEqual(await metrics(second, queries));
    });

    it('accepts high-resolution periods only for custom namespaces, aligned to the period', async () => {
      const env = await setup();
      const fine = (await metrics(env, [appMetric('requests', 'demo-live', 'Requests', 'Sum', 10)], 5)).requests!;
      expect(fine.timestamps.every((ts) => ts % 10_000 === 0)).toBe(true);
      expect(mean(fine.values)).toBeGreaterThan(400);
      expect(mean(fine.values)).toBeLessThan(600);
      const cpu = { Id: 'cpu', MetricStat: { Metric: { Namespace: 'AWS/EC2', MetricName: 'CPUUtilization', Dimensions: [{ Name: 'AutoScalingGroupName', Value: 'demo-live' }] }, Period: 10, Stat: 'Average' } };
      expect(await failure(metrics(env, [cpu]))).toBeInstanceOf(InvalidParameterValueException);
      const odd = await failure(metrics(env, [appMetric('requests', 'demo-live', 'Requests', 'Sum', 90)]));
      expect(odd).toBeInstanceOf(InvalidParameterValueException);
      const { cpu: percent } = await metrics(env, [{ ...cpu, MetricStat: { ...cpu.MetricStat, Period: 60 } }]);
      expect(Math.min(...percent!.values)).toBeGreaterThan(20);
      expect(Math.max(...percent!.values)).toBeLessThan(45);
    });

    it("refuses a query Id CloudWatch would refuse, and more than 500 queries, with CloudWatch's exceptions", async () => {
      const env = await setup();
      const badId = await failure<ValidationException & { Code: string }>(metrics(env, [appMetric('Errors', 'demo-live', 'Errors5xx')]));
      expect(badId).toBeInstanceOf(ValidationException);
      expect(badId).toBeInstanceOf(CloudWatchServiceException);
      expect(badId.Code).toBe('ValidationError');
      expect(badId.message).toBe('The value Errors for parameter MetricDataQueries.member.1.Id is not matching the expected pattern ^[a-z][a-zA-Z0-9_]*$.');
      const tooMany = Array.from({ length: 501 }, (_, i) => appMetric(`q${i}`, 'demo-live', 'Requests'));
      expect(await failure(metrics(env, tooMany))).toBeInstanceOf(ValidationException);
      expect(await failure(metrics(env, [appMetric('a', 'demo-live', 'Requests'), appMetric('a', 'demo-live', 'Errors5xx')]))).toBeInstanceOf(ValidationException);
    });

    it('shows a bad release serving more errors and slower than the live fleet beside it', async () => {
      const env = await setup();
      await canary(env, await bake(env, 'demo-v1', { kind: 'bad-release', app: 'demo' }));
      env.clock.advance(12 * MINUTE);
      const m = await metrics(env, [
        appMetric('liveRequests', 'demo-live', 'Requests'),
        appMetric('liveErrors', 'demo-live', 'Errors5xx'),
        appMetric('liveLatency', 'demo-live', 'LatencyP99', 'Average'),
        appMetric('canaryRequests', 'demo-canary', 'Requests'),
        appMetric('canaryErrors', 'demo-canary', 'Errors5xx'),
        appMetric('canaryLatency', 'demo-canary', 'LatencyP99', 'Average'),
      ]);
      // Same instance count in one target group: the same share of the traffic.
      expect(total(m.canaryRequests!.values) / total(m.liveRequests!.values)).toBeCloseTo(1, 0);
      const liveRate = total(m.liveErrors!.values) / total(m.liveRequests!.values);
      const canaryRate = total(m.canaryErrors!.values) / total(m.canaryRequests!.values);
      expect(liveRate).toBeGreaterThan(0.002);
      expect(liveRate).toBeLessThan(0.007);
      expect(canaryRate / liveRate).toBeGreaterThan(2.5);
      expect(mean(m.canaryLatency!.values) / mean(m.liveLatency!.values)).toBeGreaterThan(1.25);
      expect(mean(m.liveLatency!.values)).toBeGreaterThan(100);
      expect(mean(m.liveLatency!.values)).toBeLessThan(140);
    });

    it('shows new instances slow while they warm up', async () => {
      const env = await setup();
      await env.asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'demo-live', DesiredCapacity: 6 }));
      await until(env, async () => (await health(env)).filter((s) => s === 'healthy').length === 6);
      env.clock.advance(2 * MINUTE + t.metricDelayMs);
      const slowest = async () => Math.max(...(await metrics(env, [appMetric('latency', 'demo-live', 'LatencyP99', 'Maximum')], 3)).latency!.values);
      const warming = await slowest();
      env.clock.advance(10 * MINUTE);
      expect(warming / (await slowest())).toBeGreaterThan(1.5);
    });

    it("splits the load balancer's traffic over a listener's target groups by weight", async () => {
      const env = await setup();
      const { TargetGroups } = await env.elb.send(new CreateTargetGroupCommand({ Name: 'demo-canary', Protocol: 'HTTP', Port: 8080, VpcId: env.fleet.vpcId, HealthCheckIntervalSeconds: 10, HealthyThresholdCount: 2 }));
      const canaryGroup = TargetGroups![0]!.TargetGroupArn!;
      await env.asg.send(new CreateAutoScalingGroupCommand(groupInput(env.fleet, { TargetGroupARNs: [canaryGroup] })));
      await env.elb.send(
        new ModifyListenerCommand({
          ListenerArn: env.fleet.listenerArn,
          DefaultActions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: env.fleet.targetGroupArn, Weight: 90 }, { TargetGroupArn: canaryGroup, Weight: 10 }] } }],
        }),
      );
      await until(env, async () => (await health(env, canaryGroup)).includes('healthy'));
      env.clock.advance(12 * MINUTE);
      const m = await metrics(env, [albMetric('live', env.fleet, env.fleet.targetGroupArn, 'RequestCount'), albMetric('canary', env.fleet, canaryGroup, 'RequestCount')]);
      const share = total(m.canary!.values) / (total(m.canary!.values) + total(m.live!.values));
      expect(share).toBeGreaterThan(0.08);
      expect(share).toBeLessThan(0.12);
      // One canary instance takes the whole 10 %: about three times what each of the three live ones gets at 90 %.
      const perInstance = await metrics(env, [appMetric('canaryInstance', 'demo-canary', 'Requests'), appMetric('liveInstance', 'demo-live', 'Requests', 'Average')]);
      expect(mean(perInstance.liveInstance!.values) / mean(perInstance.canaryInstance!.values)).toBeCloseTo(3, 0);
    });

    it("computes the seeded 5xx alarm's state from the same metrics", async () => {
      const env = await setup();
      const alarm = async () => (await env.cw.send(new DescribeAlarmsCommand({ AlarmNames: ['demo-5xx-high'] }))).MetricAlarms![0]!;
      expect(await alarm()).toMatchObject({ StateValue: 'OK', Namespace: 'Demo/App', MetricName: 'Errors5xx', Statistic: 'Sum', Period: 60, Threshold: 23 });
      await canary(env, await bake(env, 'demo-v1', { kind: 'bad-release', app: 'demo', errorsX: 10 }), 3);
      // The alarm watches demo-live: a bad canary beside it does not fire it…
      expect((await alarm()).StateValue).toBe('OK');
      // …until the live group itself runs the bad release.
      await env.asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'demo-live', LaunchTemplate: { LaunchTemplateId: env.fleet.launchTemplateId, Version: '2' } }));
      const victims = (await group(env))!.Instances!.map((i) => i.InstanceId!);
      await env.ec2.send(new TerminateInstancesCommand({ InstanceIds: victims }));
      await until(env, async () => (await alarm()).StateValue === 'ALARM', 30_000);
      expect((await alarm()).StateReason).toMatch(/^Threshold Crossed: 3 datapoint\(s\) \[.*\] were greater than threshold \(23\)\.$/);
    });
  });

  describe('instance refresh', () => {
    it("replaces the group within its healthy bounds, pauses at checkpoints, and makes the desired version the group's own", async () => {
      const env = await setup();
      const version = await templateVersion(env, await bake(env, 'demo-v1'));
      await startRefresh(env, version, { CheckpointPercentages: [33], CheckpointDelay: 300 });
      expect(await refresh(env)).toMatchObject({ Status: 'Pending', PercentageComplete: 0, InstancesToUpdate: 3 });
      expect(await failure(startRefresh(env, version))).toBeInstanceOf(InstanceRefreshInProgressFault);

      const paused = await until(env, async () => (await refresh(env)).StatusReason?.startsWith('Waiting for a checkpoint') ?? false);
      expect(paused).toBeGreaterThan(0);
      expect(await refresh(env)).toMatchObject({ Status: 'InProgress', PercentageComplete: 33, InstancesToUpdate: 2 });
      expect((await group(env))!.LaunchTemplate!.Version).toBe('1');

      const done = await refreshUntil(env, ['Successful', 'Failed'], 3);
      expect(done).toMatchObject({ Status: 'Successful', PercentageComplete: 100, InstancesToUpdate: 0 });
      expect((await group(env))!.LaunchTemplate).toMatchObject({ LaunchTemplateId: env.fleet.launchTemplateId, Version: version });
      env.clock.advance(drainMs + t.terminateMs + t.scalingDelayMs);
      expect(await lifecycle(env)).toEqual(Array(3).fill(`InService/Healthy/v${version}`));
    });

    it('rolls back by itself when an alarm of the refresh fires on a bad release', async () => {
      const env = await setup();
      const version = await templateVersion(env, await bake(env, 'demo-v1', { kind: 'bad-release', app: 'demo' }));
      await startRefresh(env, version, { AutoRollback: true, AlarmSpecification: { Alarms: ['demo-5xx-high'] }, BakeTime: 900 });
      const rolledBack = await refreshUntil(env, ['RollbackSuccessful', 'RollbackFailed', 'Successful', 'Failed']);
      expect(rolledBack.Status).toBe('RollbackSuccessful');
      expect(rolledBack.StatusReason).toBe('The instance refresh was stopped because alarm demo-5xx-high is in ALARM state.');
      expect(rolledBack.RollbackDetails).toMatchObject({ RollbackReason: rolledBack.StatusReason, PercentageCompleteOnRollback: 100, InstancesToUpdateOnRollback: 0 });
      expect((await group(env))!.LaunchTemplate!.Version).toBe('1');
      env.clock.advance(drainMs + t.terminateMs + t.scalingDelayMs);
      expect(await lifecycle(env)).toEqual(Array(3).fill('InService/Healthy/v1'));
    });

    it('rolls back on request, and refuses a rollback AWS could not do', async () => {
      const env = await setup();
      const version = await templateVersion(env, await bake(env, 'demo-v1'));
      await startRefresh(env, version, { MinHealthyPercentage: 66, MaxHealthyPercentage: undefined });
      await until(env, async () => (await refresh(env)).PercentageComplete! > 0);
      await env.asg.send(new RollbackInstanceRefreshCommand({ AutoScalingGroupName: 'demo-live' }));
      expect((await refresh(env)).Status).toBe('RollbackInProgress');
      expect(await refreshUntil(env, ['RollbackSuccessful', 'RollbackFailed'], 2)).toMatchObject({ Status: 'RollbackSuccessful' });
      env.clock.advance(drainMs + t.terminateMs + t.scalingDelayMs);
      expect(await lifecycle(env)).toEqual(Array(3).fill('InService/Healthy/v1'));
      expect(await failure(env.asg.send(new RollbackInstanceRefreshCommand({ AutoScalingGroupName: 'demo-live' })))).toBeInstanceOf(ActiveInstanceRefreshNotFoundFault);

      // Without a desired configuration there is nothing to return to.
      await startRefresh(env, undefined);
      const irreversible = await failure(env.asg.send(new RollbackInstanceRefreshCommand({ AutoScalingGroupName: 'demo-live' })));
      expect(irreversible).toBeInstanceOf(IrreversibleInstanceRefreshFault);
      expect(irreversible.message).toBe('The rollback cannot be performed because the instance refresh does not specify a desired configuration.');
    });

    it('rolls back on request mid-refresh with a surge, the launch under way included', async () => {
      const env = await setup();
      const image = await bake(env, 'demo-v1');
      const version = await canary(env, image, 1);
      await startRefresh(env, version, {
        MinHealthyPercentage: 66,
        MaxHealthyPercentage: 166,
        SkipMatching: true,
        AutoRollback: true,
        AlarmSpecification: { Alarms: ['demo-5xx-high'] },
      });
      // The surge instance is launching above the desired 3 when the rollback is asked for.
      await until(env, async () => (await lifecycle(env)).some((s) => s.startsWith('Pending')));
      await env.asg.send(new RollbackInstanceRefreshCommand({ AutoScalingGroupName: 'demo-live' }));
      expect(await refreshUntil(env, ['RollbackSuccessful', 'RollbackFailed'], 2)).toMatchObject({
        Status: 'RollbackSuccessful',
        RollbackDetails: { PercentageCompleteOnRollback: 100, InstancesToUpdateOnRollback: 0 },
      });
      env.clock.advance(drainMs + t.terminateMs + t.scalingDelayMs);
      expect(await lifecycle(env)).toEqual(Array(3).fill('InService/Healthy/v1'));
      expect((await group(env))!.LaunchTemplate!.Version).toBe('1');
    });

    it('is cancelled once the batch under way is in', async () => {
      const env = await setup();
      const version = await templateVersion(env, await bake(env, 'demo-v1'));
      await startRefresh(env, version, { MinHealthyPercentage: 66, MaxHealthyPercentage: undefined });
      await until(env, async () => (await lifecycle(env)).some((s) => s.startsWith('Pending')));
      const { InstanceRefreshId } = await env.asg.send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: 'demo-live' }));
      expect(await refresh(env)).toMatchObject({ InstanceRefreshId, Status: 'Cancelling' });
      expect(await refreshUntil(env, ['Cancelled'])).toMatchObject({ Status: 'Cancelled', StatusReason: 'Cancelled due to user request.' });
      env.clock.advance(drainMs + t.terminateMs + t.scalingDelayMs);
      // The replaced instance stays; the group keeps its own launch template.
      expect(await lifecycle(env)).toEqual(['InService/Healthy/v1', 'InService/Healthy/v1', `InService/Healthy/v${version}`]);
      expect((await group(env))!.LaunchTemplate!.Version).toBe('1');
      expect(await failure(env.asg.send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: 'demo-live' })))).toBeInstanceOf(ActiveInstanceRefreshNotFoundFault);
    });

    it('fails when its replacements keep failing their health checks', async () => {
      const env = await setup();
      const version = await templateVersion(env, await bake(env, 'demo-v1', { kind: 'unhealthy-release', app: 'demo' }));
      await startRefresh(env, version, { MinHealthyPercentage: 100, MaxHealthyPercentage: 150 });
      const failed = await refreshUntil(env, ['Failed', 'Successful'], 3);
      expect(failed).toMatchObject({ Status: 'Failed', StatusReason: '3 replacement instances failed their health checks.' });
      env.clock.advance(drainMs + t.terminateMs + t.scalingDelayMs);
      expect(await lifecycle(env)).toEqual(Array(3).fill('InService/Healthy/v1'));
    });

    it('goes on after a restart of the simulator, mid-refresh', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'bakery-fleet-'));
      try {
        const dataFile = join(dir, 'aws.json');
        const clock = new VirtualClock();
        const first = await setup({ dataFile, clock });
        const version = await templateVersion(first, await bake(first, 'demo-v1'));
        await startRefresh(first, version, { MinHealthyPercentage: 66, MaxHealthyPercentage: undefined });
        await until(first, async () => (await refresh(first)).PercentageComplete! > 0);
        const second = await setup({ dataFile, clock });
        expect(await refreshUntil(second, ['Successful', 'Failed'], 2)).toMatchObject({ Status: 'Successful' });
        expect((await group(second))!.LaunchTemplate!.Version).toBe(version);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
