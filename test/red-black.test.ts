import {
  CreateOrUpdateTagsCommand,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeLifecycleHooksCommand,
  DescribePoliciesCommand,
  DescribeScheduledActionsCommand,
  DescribeWarmPoolCommand,
  EnableMetricsCollectionCommand,
  PutLifecycleHookCommand,
  PutScalingPolicyCommand,
  PutScheduledUpdateGroupActionCommand,
  PutWarmPoolCommand,
  SuspendProcessesCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bakery } from '../src/bakery.js';
import { alice, approvalRequest, bake, bob, deployEnded, everything, groupNames, pressOn, releaseApp, until } from './support/lifecycle.js';
import { TestWorld } from './support/world.js';

async function group(world: TestWorld, name: string) {
  const result = await (await world.sim.clients().autoScaling('us-east-1')).send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
  return result.AutoScalingGroups?.find((g) => g.Status !== 'Delete in progress');
}

async function rollBack(world: TestWorld, bakery: Bakery): Promise<void> {
  const confirm = await bakery.handlers.onCommand(world.command('demo', { command: '/rollback', user: bob }));
  await bakery.handlers.onButton(pressOn(confirm!, 'rollback.confirm', bob));
}

describe('a red-black promotion', () => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  async function switched(options: { before?: () => Promise<void>; onUncopied?: 'switch' } = {}): Promise<Bakery> {
    const app = releaseApp({ strategy: 'red-black' });
    world = await TestWorld.create({ demo: options.onUncopied ? { ...app, deploy: { ...app.deploy!, redBlack: { ...app.deploy!.redBlack, onUncopied: options.onUncopied } } } : app });
    world.sim.seedFleet({ region: 'us-east-1', app: 'demo' });
    await options.before?.();
    const bakery = world.replica();
    await bake(world, bakery, 'v1');
    await bakery.handlers.onCommand(world.command('demo v1', { command: '/canary', user: alice }));
    await until(world, () => approvalRequest(world) !== undefined);
    await bakery.handlers.onButton(pressOn(approvalRequest(world)!, 'release.promote', bob));
    await until(world, async () => (await world.store.getLive('demo'))?.standby !== undefined);
    return bakery;
  }

  it('grows the canary into the new fleet, moves the traffic, and keeps the old group scaled as it was', async () => {
    await switched();
    const live = await world.store.getLive('demo');
    expect(live?.live).toMatchObject({ version: 'v1', group: expect.stringMatching(/^demo-canary-v1-/) });
    expect(live?.standby?.group).toBe('demo-live');
    const grown = await group(world, live!.live.group!);
    expect(grown?.DesiredCapacity).toBe(3);
    // Back to the live group's own bounds once it takes the traffic (the seeded group: 2 to 6).
    expect([grown?.MinSize, grown?.MaxSize]).toEqual([2, 6]);
    const old = await group(world, 'demo-live');
    expect(old?.DesiredCapacity).toBe(3);
    expect(old?.TargetGroupARNs ?? []).toEqual([]);
  });

  it('switches back at once when rolled back while the old group is kept', async () => {
    const bakery = await switched();
    await rollBack(world, bakery);
    await until(world, async () => (await world.store.getLock('demo', 'deploy')) === undefined);
    await bakery.runner.idle();
    expect((await group(world, 'demo-live'))?.TargetGroupARNs).toHaveLength(1);
    expect(await groupNames(world)).toEqual(['demo-live']);
    expect((await world.store.getLive('demo'))?.live.group).toBe('demo-live');
    expect((await world.store.getRelease('demo', 'v1'))?.status).toBe('rolled-back');
  });

  it('keeps the old group from scaling while it stands by, and lets it scale again once switched back to', async () => {
    const bakery = await switched({
      // The live group's own: a target-tracking policy (out of traffic it would scale in) and a process it keeps suspended.
      before: async () => {
        const asg = await world.sim.clients().autoScaling('us-east-1');
        await asg.send(new PutScalingPolicyCommand({ AutoScalingGroupName: 'demo-live', PolicyName: 'cpu-50', PolicyType: 'TargetTrackingScaling', TargetTrackingConfiguration: { TargetValue: 50, PredefinedMetricSpecification: { PredefinedMetricType: 'ASGAverageCPUUtilization' } } }));
        await asg.send(new SuspendProcessesCommand({ AutoScalingGroupName: 'demo-live', ScalingProcesses: ['AZRebalance'] }));
      },
    });
    const suspended = async () => ((await group(world, 'demo-live'))?.SuspendedProcesses ?? []).map((p) => p.ProcessName).sort();
    expect(await suspended()).toEqual(['AZRebalance', 'AlarmNotification', 'ScheduledActions']);
    expect((await group(world, 'demo-live'))?.DesiredCapacity).toBe(3);
    expect(everything(world)).toContain('demo-live takes no traffic; it stays up as the rollback target, its AlarmNotification, ScheduledActions, AZRebalance suspended so it keeps its instances');

    await rollBack(world, bakery);
    await until(world, async () => (await world.store.getLock('demo', 'deploy')) === undefined);
    await bakery.runner.idle();
    // Its own scaling back, and the process it had suspended itself still suspended.
    expect(await suspended()).toEqual(['AZRebalance']);
    expect(everything(world)).toContain('demo-live serves the traffic again, its AlarmNotification, ScheduledActions resumed');
  });

  it('still ends well when someone removed the old group by hand while it was kept', async () => {
    const bakery = await switched();
    const operationId = (await world.store.getLock('demo', 'deploy'))!.operationId;
    await (await world.sim.clients().autoScaling('us-east-1')).send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'demo-live', ForceDelete: true }));
    await until(world, async () => (await world.store.getLock('demo', 'deploy')) === undefined);
    await bakery.runner.idle();
    expect((await world.store.getOperation(operationId))?.status).toBe('succeeded');
    expect((await world.store.getLive('demo'))?.standby).toBeUndefined();
    expect(await groupNames(world)).toEqual([expect.stringMatching(/^demo-canary-v1-/)]);
  });

  it('removes the old group after the keep time, and a later rollback rolls the new group forward to the old image', async () => {
    const bakery = await switched();
    const oldImage = (await world.store.getLive('demo'))!.previous!.ami;
    await until(world, async () => (await world.store.getLock('demo', 'deploy')) === undefined);
    await bakery.runner.idle();
    expect(await groupNames(world)).toEqual([expect.stringMatching(/^demo-canary-v1-/)]);

    await rollBack(world, bakery);
    await until(world, async () => (await world.store.getLock('demo', 'deploy')) === undefined);
    await bakery.runner.idle();
    const live = await world.store.getLive('demo');
    expect(live?.live).toMatchObject({ ami: oldImage, group: expect.stringMatching(/^demo-canary-v1-/) });
    expect((await world.store.getRelease('demo', 'v1'))?.status).toBe('rolled-back');
  });

  describe("keeps the fleet's scaling", () => {
    const asg = () => world.sim.clients().autoScaling('us-east-1');
    const scaled = async () => {
      const send = await asg();
      await send.send(new UpdateAutoScalingGroupCommand({
        AutoScalingGroupName: 'demo-live', TerminationPolicies: ['OldestInstance'], MaxInstanceLifetime: 604_800, CapacityRebalance: true,
        DefaultInstanceWarmup: 120, DefaultCooldown: 120, InstanceMaintenancePolicy: { MinHealthyPercentage: 90, MaxHealthyPercentage: 120 },
      }));
      await send.send(new CreateOrUpdateTagsCommand({ Tags: [{ ResourceId: 'demo-live', ResourceType: 'auto-scaling-group', Key: 'cost-center', Value: 'web', PropagateAtLaunch: false }] }));
      await send.send(new PutScalingPolicyCommand({
        AutoScalingGroupName: 'demo-live', PolicyName: 'cpu-50', PolicyType: 'TargetTrackingScaling',
        TargetTrackingConfiguration: { TargetValue: 50, PredefinedMetricSpecification: { PredefinedMetricType: 'ASGAverageCPUUtilization' } },
      }));
      await send.send(new PutScalingPolicyCommand({
        AutoScalingGroupName: 'demo-live', PolicyName: 'latency', PolicyType: 'TargetTrackingScaling',
        TargetTrackingConfiguration: { TargetValue: 150, CustomizedMetricSpecification: { Namespace: 'Demo/App', MetricName: 'LatencyP99', Statistic: 'Average', Dimensions: [{ Name: 'AutoScalingGroupName', Value: 'demo-live' }] } },
      }));
      await send.send(new PutScheduledUpdateGroupActionCommand({ AutoScalingGroupName: 'demo-live', ScheduledActionName: 'nightly', Recurrence: '0 22 * * *', MinSize: 2, MaxSize: 4 }));
      await send.send(new PutLifecycleHookCommand({ AutoScalingGroupName: 'demo-live', LifecycleHookName: 'warm-cache', LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING', HeartbeatTimeout: 300, DefaultResult: 'CONTINUE' }));
      await send.send(new PutWarmPoolCommand({ AutoScalingGroupName: 'demo-live', MinSize: 1, PoolState: 'Stopped' }));
      await send.send(new SuspendProcessesCommand({ AutoScalingGroupName: 'demo-live', ScalingProcesses: ['AZRebalance'] }));
      await send.send(new EnableMetricsCollectionCommand({ AutoScalingGroupName: 'demo-live', Granularity: '1Minute', Metrics: ['GroupInServiceInstances'] }));
    };

    it('makes the new fleet a copy of the live group: settings, tags, policies, schedule, hooks, warm pool, processes, metrics', async () => {
      await switched({ before: scaled });
      const name = (await world.store.getLive('demo'))!.live.group!;
      const grown = (await group(world, name))!;
      expect(grown).toMatchObject({
        TerminationPolicies: ['OldestInstance'], MaxInstanceLifetime: 604_800, CapacityRebalance: true, DefaultInstanceWarmup: 120, DefaultCooldown: 120,
        InstanceMaintenancePolicy: { MinHealthyPercentage: 90, MaxHealthyPercentage: 120 }, HealthCheckType: 'ELB', HealthCheckGracePeriod: 60,
        MinSize: 2, MaxSize: 6, DesiredCapacity: 3,
      });
      expect(grown.Tags?.find((tag) => tag.Key === 'cost-center')).toMatchObject({ Value: 'web', PropagateAtLaunch: false });
      expect(grown.Tags?.find((tag) => tag.Key === 'app')).toMatchObject({ PropagateAtLaunch: true });
      expect(grown.SuspendedProcesses?.map((p) => p.ProcessName)).toEqual(['AZRebalance']);
      expect(grown.EnabledMetrics?.map((m) => m.Metric)).toEqual(['GroupInServiceInstances']);
      const policies = (await (await asg()).send(new DescribePoliciesCommand({ AutoScalingGroupName: name }))).ScalingPolicies ?? [];
      expect(policies.map((p) => p.PolicyName).sort()).toEqual(['cpu-50', 'latency']);
      // The copied policy measures the group that now takes the traffic, not the old one.
      expect(policies.find((p) => p.PolicyName === 'latency')?.TargetTrackingConfiguration?.CustomizedMetricSpecification?.Dimensions).toEqual([{ Name: 'AutoScalingGroupName', Value: name }]);
      expect((await (await asg()).send(new DescribeScheduledActionsCommand({ AutoScalingGroupName: name }))).ScheduledUpdateGroupActions?.map((a) => [a.ScheduledActionName, a.Recurrence])).toEqual([['nightly', '0 22 * * *']]);
      expect((await (await asg()).send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: name }))).LifecycleHooks?.map((h) => [h.LifecycleHookName, h.DefaultResult])).toEqual([['warm-cache', 'CONTINUE']]);
      expect((await (await asg()).send(new DescribeWarmPoolCommand({ AutoScalingGroupName: name }))).WarmPoolConfiguration).toMatchObject({ MinSize: 1, PoolState: 'Stopped' });
      expect(everything(world)).toContain('2 scaling policies (cpu-50, latency), 1 scheduled action (nightly), 1 lifecycle hook (warm-cache), the warm pool');
    });

    it('still scales once the old group and everything that belonged to it are gone', async () => {
      const bakery = await switched({ before: scaled });
      await deployEnded(world, bakery);
      const name = (await world.store.getLive('demo'))!.live.group!;
      expect(await groupNames(world)).toEqual([name]);
      expect((await (await asg()).send(new DescribePoliciesCommand({ AutoScalingGroupName: 'demo-live' }))).ScalingPolicies).toEqual([]);
      expect((await (await asg()).send(new DescribePoliciesCommand({ AutoScalingGroupName: name }))).ScalingPolicies).toHaveLength(2);
    });

    it('names what it cannot copy and refuses, before the canary, to switch without it', async () => {
      world = await TestWorld.create({ demo: releaseApp({ strategy: 'red-black' }) });
      world.sim.seedFleet({ region: 'us-east-1', app: 'demo' });
      await (await asg()).send(new PutScalingPolicyCommand({ AutoScalingGroupName: 'demo-live', PolicyName: 'step-out', PolicyType: 'StepScaling', AdjustmentType: 'ChangeInCapacity', StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }] }));
      const bakery = world.replica();
      await bake(world, bakery, 'v1');
      await bakery.handlers.onCommand(world.command('demo v1', { command: '/canary', user: alice }));
      await deployEnded(world, bakery);
      expect(everything(world)).toContain("the new fleet cannot have all of demo-live's configuration, so the traffic stays on demo-live. Not copyable: step scaling policy step-out");
      expect(everything(world)).toContain('deploy.redBlack.onUncopied: switch');
      expect(approvalRequest(world)).toBeUndefined();
      expect(await groupNames(world)).toEqual(['demo-live']);
      expect((await group(world, 'demo-live'))?.TargetGroupARNs).toHaveLength(1);
    });

    it('switches without what it cannot copy when the app says so, naming it in the thread', async () => {
      await switched({
        onUncopied: 'switch',
        before: async () => {
          await (await asg()).send(new PutScalingPolicyCommand({ AutoScalingGroupName: 'demo-live', PolicyName: 'step-out', PolicyType: 'StepScaling', AdjustmentType: 'ChangeInCapacity', StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }] }));
        },
      });
      expect(everything(world)).toContain('Not copied (deploy.redBlack.onUncopied: switch): step scaling policy step-out');
      expect((await world.store.getLive('demo'))?.live.version).toBe('v1');
    });
  });
});
