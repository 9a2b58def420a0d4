import {
  AlreadyExistsFault,
  AutoScalingServiceException,
  CreateAutoScalingGroupCommand,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeLifecycleHooksCommand,
  DescribePoliciesCommand,
  DescribeScheduledActionsCommand,
  DescribeWarmPoolCommand,
  DetachLoadBalancerTargetGroupsCommand,
  PutLifecycleHookCommand,
  PutScalingPolicyCommand,
  PutScheduledUpdateGroupActionCommand,
  PutWarmPoolCommand,
  ResumeProcessesCommand,
  SuspendProcessesCommand,
  UpdateAutoScalingGroupCommand,
  type CreateAutoScalingGroupCommandInput,
} from '@aws-sdk/client-auto-scaling';
import { describe, expect, it } from 'vitest';
import { AwsSimulator, SEED_DEREGISTRATION_DELAY_SECONDS, realisticTimings as t } from '../src/aws/simulator/index.js';
import { VirtualClock } from '../src/clock.js';

const region = 'us-east-1';
/** How long a target of the seeded target group drains (its deregistration delay). */
const drainMs = SEED_DEREGISTRATION_DELAY_SECONDS * t.configSecondMs;

async function setup() {
  const clock = new VirtualClock();
  const sim = new AwsSimulator({ clock });
  const fleet = sim.seedFleet({ region, app: 'demo' });
  const asg = await sim.clients().autoScaling(region);
  const canary: CreateAutoScalingGroupCommandInput = {
    AutoScalingGroupName: 'demo-canary', LaunchTemplate: { LaunchTemplateId: fleet.launchTemplateId, Version: '1' },
    MinSize: 1, MaxSize: 1, DesiredCapacity: 1, VPCZoneIdentifier: fleet.subnetIds.join(','), TargetGroupARNs: [fleet.targetGroupArn],
  };
  return { clock, sim, fleet, asg, canary };
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

const status = async (env: Awaited<ReturnType<typeof setup>>, name: string) =>
  (await env.asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }))).AutoScalingGroups?.[0]?.Status ?? 'gone';

describe('the simulated Auto Scaling group, as it is configured and deleted', () => {
  it('keeps the settings it is given and describes them back, checking them as AWS does', async () => {
    const env = await setup();
    await env.asg.send(new UpdateAutoScalingGroupCommand({
      AutoScalingGroupName: 'demo-live', TerminationPolicies: ['OldestInstance', 'Default'], MaxInstanceLifetime: 86_400, CapacityRebalance: true,
      DefaultInstanceWarmup: 90, DefaultCooldown: 60, InstanceMaintenancePolicy: { MinHealthyPercentage: 100, MaxHealthyPercentage: 110 },
    }));
    const group = (await env.asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['demo-live'] }))).AutoScalingGroups![0]!;
    expect(group).toMatchObject({ TerminationPolicies: ['OldestInstance', 'Default'], MaxInstanceLifetime: 86_400, CapacityRebalance: true, DefaultInstanceWarmup: 90, DefaultCooldown: 60 });
    expect(group.InstanceMaintenancePolicy).toEqual({ MinHealthyPercentage: 100, MaxHealthyPercentage: 110 });
    const short = await failure(env.asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'demo-live', MaxInstanceLifetime: 3600 })));
    expect(short).toBeInstanceOf(AutoScalingServiceException);
    expect(short.name).toBe('ValidationError');
    expect((await env.asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['demo-live'] }))).AutoScalingGroups![0]!.MaxInstanceLifetime).toBe(86_400);
  });

  it('deletes scaling policies, scheduled actions, lifecycle hooks and the warm pool with their group', async () => {
    const env = await setup();
    await env.asg.send(new CreateAutoScalingGroupCommand(env.canary));
    env.clock.advance(t.scalingDelayMs + t.bootMs + t.inServiceMs);
    await env.asg.send(new PutScalingPolicyCommand({ AutoScalingGroupName: 'demo-canary', PolicyName: 'cpu', PolicyType: 'TargetTrackingScaling', TargetTrackingConfiguration: { TargetValue: 40, PredefinedMetricSpecification: { PredefinedMetricType: 'ASGAverageCPUUtilization' } } }));
    await env.asg.send(new PutScheduledUpdateGroupActionCommand({ AutoScalingGroupName: 'demo-canary', ScheduledActionName: 'night', Recurrence: '0 22 * * *', DesiredCapacity: 1 }));
    await env.asg.send(new PutLifecycleHookCommand({ AutoScalingGroupName: 'demo-canary', LifecycleHookName: 'drain', LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING' }));
    await env.asg.send(new PutWarmPoolCommand({ AutoScalingGroupName: 'demo-canary', MinSize: 1 }));
    await env.asg.send(new SuspendProcessesCommand({ AutoScalingGroupName: 'demo-canary', ScalingProcesses: ['AZRebalance'] }));
    expect((await env.asg.send(new DescribePoliciesCommand({ AutoScalingGroupName: 'demo-canary' }))).ScalingPolicies?.map((p) => p.PolicyName)).toEqual(['cpu']);
    expect((await env.asg.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: 'demo-canary' }))).LifecycleHooks?.[0]).toMatchObject({ HeartbeatTimeout: 3600, DefaultResult: 'ABANDON' });
    expect((await env.asg.send(new DescribeWarmPoolCommand({ AutoScalingGroupName: 'demo-canary' }))).WarmPoolConfiguration).toMatchObject({ MinSize: 1, PoolState: 'Stopped' });

    await env.asg.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'demo-canary', ForceDelete: true }));
    const pending = await failure(env.asg.send(new PutScalingPolicyCommand({ AutoScalingGroupName: 'demo-canary', PolicyName: 'more', PolicyType: 'SimpleScaling', ScalingAdjustment: 1 })));
    expect(pending.message).toContain('pending delete');
    env.clock.advance(drainMs + t.terminateMs + t.scalingDelayMs);
    expect(await status(env, 'demo-canary')).toBe('gone');
    expect((await env.asg.send(new DescribePoliciesCommand({ AutoScalingGroupName: 'demo-canary' }))).ScalingPolicies).toEqual([]);
    expect((await env.asg.send(new DescribeScheduledActionsCommand({ AutoScalingGroupName: 'demo-canary' }))).ScheduledUpdateGroupActions).toEqual([]);
    // A new group of the old name starts with none of it.
    await env.asg.send(new CreateAutoScalingGroupCommand(env.canary));
    expect((await env.asg.send(new DescribePoliciesCommand({ AutoScalingGroupName: 'demo-canary' }))).ScalingPolicies).toEqual([]);
    expect((await env.asg.send(new DescribeWarmPoolCommand({ AutoScalingGroupName: 'demo-canary' }))).WarmPoolConfiguration).toBeUndefined();
  });

  it('suspends and resumes the processes named, all of them when none are, and refuses an unknown one', async () => {
    const env = await setup();
    const suspended = async () => ((await env.asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['demo-live'] }))).AutoScalingGroups![0]!.SuspendedProcesses ?? []).map((p) => p.ProcessName).sort();
    await env.asg.send(new SuspendProcessesCommand({ AutoScalingGroupName: 'demo-live', ScalingProcesses: ['AlarmNotification', 'ScheduledActions'] }));
    await env.asg.send(new SuspendProcessesCommand({ AutoScalingGroupName: 'demo-live', ScalingProcesses: ['ScheduledActions', 'AZRebalance'] }));
    expect(await suspended()).toEqual(['AZRebalance', 'AlarmNotification', 'ScheduledActions']);
    await env.asg.send(new ResumeProcessesCommand({ AutoScalingGroupName: 'demo-live', ScalingProcesses: ['AlarmNotification', 'ScheduledActions'] }));
    expect(await suspended()).toEqual(['AZRebalance']);
    // "If you omit this property, all processes are specified" (SuspendProcesses / ResumeProcesses, Auto Scaling API reference).
    await env.asg.send(new SuspendProcessesCommand({ AutoScalingGroupName: 'demo-live' }));
    expect(await suspended()).toHaveLength(9);
    await env.asg.send(new ResumeProcessesCommand({ AutoScalingGroupName: 'demo-live' }));
    expect(await suspended()).toEqual([]);
    const unknown = await failure(env.asg.send(new SuspendProcessesCommand({ AutoScalingGroupName: 'demo-live', ScalingProcesses: ['Scale'] })));
    expect(unknown.name).toBe('ValidationError');
  });

  it('refuses a scheduled action whose start time has passed', async () => {
    const env = await setup();
    const past = await failure(env.asg.send(new PutScheduledUpdateGroupActionCommand({ AutoScalingGroupName: 'demo-live', ScheduledActionName: 'once', StartTime: new Date(env.clock.now() - 60_000), DesiredCapacity: 4 })));
    expect(past.message).toBe('Given start time is in the past');
  });

  it('stays "Delete in progress", its name taken, while the instances of a detached target group drain', async () => {
    const env = await setup();
    await env.asg.send(new CreateAutoScalingGroupCommand(env.canary));
    env.clock.advance(t.scalingDelayMs + t.bootMs + t.inServiceMs + 60_000);
    await env.asg.send(new DetachLoadBalancerTargetGroupsCommand({ AutoScalingGroupName: 'demo-canary', TargetGroupARNs: [env.fleet.targetGroupArn] }));
    await env.asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'demo-canary', MinSize: 0, MaxSize: 0, DesiredCapacity: 0 }));
    await env.asg.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'demo-canary', ForceDelete: true }));
    env.clock.advance(t.terminateMs + t.scalingDelayMs);
    expect(await status(env, 'demo-canary')).toBe('Delete in progress');
    const taken = await failure(env.asg.send(new CreateAutoScalingGroupCommand(env.canary)));
    expect(taken).toBeInstanceOf(AlreadyExistsFault);
    env.clock.advance(drainMs);
    expect(await status(env, 'demo-canary')).toBe('gone');
    await env.asg.send(new CreateAutoScalingGroupCommand(env.canary));
  });
});
