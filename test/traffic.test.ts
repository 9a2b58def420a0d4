import { DeleteAutoScalingGroupCommand, DescribeAutoScalingGroupsCommand, DescribePoliciesCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  CreateTargetGroupCommand,
  DescribeListenersCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ModifyListenerCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { AwsSimulator, fastTimings, type SeededFleet } from '../src/aws/simulator/index.js';
import { seedLocalFleets } from '../src/aws/simulator/local-fleets.js';
import { VirtualClock } from '../src/clock.js';
import { parseAppsFile } from '../src/config/apps.js';
import { environmentsOf } from '../src/config/environments.js';
import type { Bakery } from '../src/bakery.js';
import { alice, approvalRequest, bake, bob, deployEnded, everything, fleetConfig, groupNames, operationOf, pressOn, releaseApp, until } from './support/lifecycle.js';
import { TestWorld } from './support/world.js';

const region = 'us-east-1';

describe('weighted traffic', () => {
  let world: TestWorld;
  let fleet: SeededFleet;
  afterEach(async () => {
    await world.close();
  });

  async function weightedWorld(strategy: 'rolling' | 'red-black' = 'rolling'): Promise<Bakery> {
    world = await TestWorld.create({ demo: releaseApp() });
    fleet = world.sim.seedFleet({ region, app: 'demo' });
    await world.store.putAppConfig('demo', releaseApp({ weightedListener: fleet.listenerArn, strategy }));
    const bakery = world.replica();
    await bake(world, bakery, 'v1');
    return bakery;
  }

  const elb = () => world.sim.clients().elbv2(region);
  async function forward(): Promise<{ arn: string; weight: number }[]> {
    const listener = (await (await elb()).send(new DescribeListenersCommand({ ListenerArns: [fleet.listenerArn] }))).Listeners![0]!;
    return listener.DefaultActions![0]!.ForwardConfig!.TargetGroups!.map((group) => ({ arn: group.TargetGroupArn!, weight: group.Weight! }));
  }
  async function targetGroupNames(): Promise<string[]> {
    return ((await (await elb()).send(new DescribeTargetGroupsCommand({}))).TargetGroups ?? []).map((group) => group.TargetGroupName!).sort();
  }
  async function healthyTargets(arn: string): Promise<number> {
    const { TargetHealthDescriptions } = await (await elb()).send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
    return (TargetHealthDescriptions ?? []).filter((target) => target.TargetHealth?.State === 'healthy').length;
  }
  /** Requests the load balancer answered 503 itself over the last minutes: routed to a target group with no healthy target. */
  async function refusedRequests(minutes = 10): Promise<number> {
    const end = world.clock.now();
    const { MetricDataResults } = await (await world.sim.clients().cloudWatch(region)).send(
      new GetMetricDataCommand({
        MetricDataQueries: [{ Id: 'refused', MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'HTTPCode_ELB_503_Count', Dimensions: [{ Name: 'LoadBalancer', Value: fleet.dimensions.loadBalancer }] }, Period: 60, Stat: 'Sum' } }],
        StartTime: new Date(end - minutes * 60_000),
        EndTime: new Date(end),
      }),
    );
    return (MetricDataResults![0]!.Values ?? []).reduce((a, b) => a + b, 0);
  }
  async function canaryUntilApproval(bakery: Bakery, version = 'v1'): Promise<void> {
    await bakery.handlers.onCommand(world.command(`demo ${version}`, { command: '/canary', user: alice }));
    await until(world, () => approvalRequest(world) !== undefined && approvalRequest(world)!.text.includes(version));
  }
  async function rollBack(bakery: Bakery): Promise<void> {
    const confirm = await bakery.handlers.onCommand(world.command('demo', { command: '/rollback', user: bob }));
    await bakery.handlers.onButton(pressOn(confirm!, 'rollback.confirm', bob));
  }

  it('changes only the canary’s weight, and gives every other target group back exactly the weight it had', async () => {
    const bakery = await weightedWorld();
    // A spare target group at weight 0 beside the live one: it is not meant to serve.
    const spare = (await (await elb()).send(new CreateTargetGroupCommand({ Name: 'demo-spare', Protocol: 'HTTP', Port: 8080, VpcId: fleet.vpcId }))).TargetGroups![0]!.TargetGroupArn!;
    const before = [{ arn: fleet.targetGroupArn, weight: 2 }, { arn: spare, weight: 0 }];
    await (await elb()).send(new ModifyListenerCommand({ ListenerArn: fleet.listenerArn, DefaultActions: [{ Type: 'forward', ForwardConfig: { TargetGroups: before.map((g) => ({ TargetGroupArn: g.arn, Weight: g.weight })) } }] }));

    await bakery.handlers.onCommand(world.command('demo v1', { command: '/canary', user: alice }));
    await until(world, () => world.events.some((event) => event.type === 'step-waiting' && event.step === 'judge'));
    const during = await forward();
    const total = during.reduce((sum, group) => sum + group.weight, 0);
    const canary = during.find((group) => group.arn !== fleet.targetGroupArn && group.arn !== spare)!;
    expect(canary.weight / total).toBe(0.1);
    expect(during.find((group) => group.arn === spare)?.weight).toBe(0);

    await rollBack(bakery);
    await deployEnded(world, bakery);
    expect(await forward()).toEqual(before);
    expect(await targetGroupNames()).toEqual(['demo-live', 'demo-spare']);
  });

  it('lets the canary’s in-flight requests drain before its entry leaves the listener and its target group goes', async () => {
    const bakery = await weightedWorld();
    await bakery.handlers.onCommand(world.command('demo v1', { command: '/canary', user: alice }));
    await until(world, () => world.events.some((event) => event.type === 'step-waiting' && event.step === 'judge'));

    const rolledBackAt = world.clock.now();
    await rollBack(bakery);
    await deployEnded(world, bakery);
    // The order of the calls that took the canary out: weight to 0, out of its target group (its targets drain), and only
    // a whole deregistration delay later (30 s on the seeded fleet's target group, which the canary's copies) off the listener and deleted.
    const calls = world.sim.calls().filter((call) => call.at >= rolledBackAt && ['ModifyListener', 'DetachLoadBalancerTargetGroups', 'DeleteTargetGroup'].includes(call.command));
    expect(calls.map((call) => call.command)).toEqual(['ModifyListener', 'DetachLoadBalancerTargetGroups', 'ModifyListener', 'DeleteTargetGroup']);
    const [, detached, removed, deleted] = calls;
    expect(removed!.at - detached!.at).toBeGreaterThanOrEqual(30_000);
    expect(deleted!.at).toBeGreaterThanOrEqual(removed!.at);
    expect(everything(world)).toContain("the canary's targets drained, its entry left the listener");
    expect(await targetGroupNames()).toEqual(['demo-live']);
    expect(await forward()).toEqual([{ arn: fleet.targetGroupArn, weight: 1 }]);
  });

  it('deletes the canary’s target group after a successful rolling promotion too', async () => {
    const bakery = await weightedWorld();
    await canaryUntilApproval(bakery);
    await bakery.handlers.onButton(pressOn(approvalRequest(world)!, 'release.promote', bob));
    await deployEnded(world, bakery);
    expect((await world.store.getLive('demo'))?.live).toMatchObject({ version: 'v1', group: 'demo-live' });
    expect(await forward()).toEqual([{ arn: fleet.targetGroupArn, weight: 1 }]);
    expect(await targetGroupNames()).toEqual(['demo-live']);
  });

  it('ends a red-black promotion with all traffic on the new fleet, and deletes the old fleet’s target group when it was Bakery’s', async () => {
    const bakery = await weightedWorld('red-black');
    await canaryUntilApproval(bakery);
    await bakery.handlers.onButton(pressOn(approvalRequest(world)!, 'release.promote', bob));
    await until(world, async () => (await world.store.getLive('demo'))?.standby !== undefined);
    const v1Group = (await forward()).find((group) => group.arn !== fleet.targetGroupArn)!.arn;
    // While the old fleet is kept: its entry stays at 0, still health-checked, for an instant switch back.
    expect(await forward()).toEqual([{ arn: fleet.targetGroupArn, weight: 0 }, { arn: v1Group, weight: 1 }]);
    expect(await healthyTargets(fleet.targetGroupArn)).toBe(3);

    await deployEnded(world, bakery);
    expect(await groupNames(world)).toEqual([expect.stringMatching(/^demo-canary-v1-/)]);
    expect(await forward()).toEqual([{ arn: v1Group, weight: 1 }]);
    expect(await healthyTargets(v1Group)).toBe(3);
    expect(await refusedRequests()).toBe(0);
    // demo-live was there before Bakery: it stays.
    expect((await targetGroupNames()).filter((name) => name !== 'demo-live')).toHaveLength(1);

    // The next red-black promotion leaves v1's group, which Bakery made, and so deletes it.
    await bake(world, bakery, 'v2');
    await canaryUntilApproval(bakery, 'v2');
    await bakery.handlers.onButton(pressOn(approvalRequest(world)!, 'release.promote', bob));
    await deployEnded(world, bakery);
    const [v2Group] = (await forward()).map((group) => group.arn);
    expect(await forward()).toEqual([{ arn: v2Group, weight: 1 }]);
    expect(await healthyTargets(v2Group!)).toBe(3);
    expect(await targetGroupNames()).toHaveLength(2);
    expect((await (await elb()).send(new DescribeTargetGroupsCommand({}))).TargetGroups!.map((group) => group.TargetGroupArn)).not.toContain(v1Group);
    expect(await refusedRequests()).toBe(0);
  }, 120_000);

  it('refuses to switch traffic back to an old fleet that has no healthy target, and says so', async () => {
    const bakery = await weightedWorld('red-black');
    await canaryUntilApproval(bakery);
    await bakery.handlers.onButton(pressOn(approvalRequest(world)!, 'release.promote', bob));
    await until(world, async () => (await world.store.getLive('demo'))?.standby !== undefined);
    await (await world.sim.clients().autoScaling(region)).send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'demo-live', ForceDelete: true }));
    await until(world, async () => (await healthyTargets(fleet.targetGroupArn)) === 0);

    await rollBack(bakery);
    await deployEnded(world, bakery);
    const now = await forward();
    for (const group of now.filter((g) => g.weight > 0)) expect(await healthyTargets(group.arn)).toBeGreaterThan(0);
    expect(await refusedRequests(3)).toBe(0);
    expect(everything(world)).toMatch(/demo-live cannot take the traffic back, so it stays on demo-canary-v1-/);
    expect(everything(world)).toMatch(/demo-live \(no targets registered\)|demo-live \(i-[0-9a-f]+ draining/);
  });
});

describe('waiting for the canary to be healthy', () => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  async function canaryOf(fault: 'slow-start' | 'unhealthy-release'): Promise<Bakery> {
    world = await TestWorld.create({ demo: releaseApp() });
    world.sim.seedFleet({ region, app: 'demo' });
    // Looked at every few seconds, so a target's unhealthy spell inside the grace period is seen.
    const bakery = world.replica('replica-a', { pollIntervalMs: 5_000 });
    world.sim.inject({ kind: fault, app: 'demo' });
    await bake(world, bakery, 'v1');
    world.sim.clearFaults();
    await bakery.handlers.onCommand(world.command('demo v1', { command: '/canary', user: alice }));
    return bakery;
  }

  it('waits through a target that reports unhealthy inside the health-check grace period, and says so', async () => {
    await canaryOf('slow-start');
    await until(world, () => world.events.some((event) => event.type === 'step-waiting' && event.step === 'judge'));
    expect(everything(world)).toMatch(/canary instance i-[0-9a-f]+ reports unhealthy \(Target\.FailedHealthChecks: Health checks failed\) in demo-live inside its 60 s health-check grace period; waiting for it to settle/);
    expect(await groupNames(world)).toEqual(['demo-live', expect.stringMatching(/^demo-canary-v1-/)]);
  });

  it('fails a target still unhealthy after the grace period, naming it and the reason AWS gives', async () => {
    const bakery = await canaryOf('unhealthy-release');
    await deployEnded(world, bakery);
    expect(everything(world)).toMatch(/canary instance i-[0-9a-f]+ .*after its 60 s health-check grace period.*unhealthy \(Target\.FailedHealthChecks: Health checks failed\) in demo-live/);
    expect(await groupNames(world)).toEqual(['demo-live']);
  });
});

describe('the local demo’s red-black app (config/apps.example.yml)', () => {
  const example = parseAppsFile('config/apps.example.yml', readFileSync('config/apps.example.yml', 'utf8'));
  let world: TestWorld;
  afterEach(async () => {
    await world?.close();
  });

  it('names the listener local mode seeds for it', () => {
    const sim = new AwsSimulator({ clock: new VirtualClock(), timings: fastTimings });
    const fleets = seedLocalFleets(sim, example).seeded;
    const deploy = example['demo-rb']!.deploy!;
    expect(deploy).toMatchObject({ strategy: 'red-black', traffic: { mode: 'weighted', listener: fleets.find((f) => f.app === 'demo-rb')!.listenerArn } });
  });

  it('says where a 10-second canary is as time, never as a fraction of a minute', async () => {
    world = await TestWorld.create({ demo: example.demo! });
    world.sim.seedFleet({ region, app: 'demo', scaling: true });
    const bakery = world.replica('replica-a', { access: { workspace: 'T0HOME', channels: 'any' } });
    const local = { id: 'U0LOCAL', name: 'you' };
    await bakery.handlers.onCommand(world.command('demo v1', { user: local }));
    await until(world, async () => (await world.store.getRelease('demo', 'v1')) !== undefined && (await world.store.getLock('demo')) === undefined);
    await bakery.handlers.onCommand(world.command('demo v1', { command: '/canary', user: local }));
    // A look between whole minutes: 1 min 20 s, say, where the window was once "minute 1.3333333333333333".
    await until(world, async () => {
      const operation = await operationOf(world, 'canary');
      const minute = (operation?.state as { verdict?: { minute: number } } | undefined)?.verdict?.minute;
      return minute !== undefined && minute > 1 && !Number.isInteger(minute);
    });
    const answer = await bakery.handlers.onCommand(world.command('demo', { command: '/promote', user: local }));
    expect(answer?.text).toMatch(/is still being judged \(at \d+ min \d+ s, wait\)/);
    // The table is a reply queued behind the thread's paced writes: it shows a look's position the same way once posted.
    await until(world, () => /Canary demo v1\* · \d+ min \d+ s of 3 minutes · \*WAIT\*/.test(everything(world)));
    expect(everything(world)).not.toMatch(/minute \d+\.\d/);
  }, 60_000);

  it('ends a promotion with all traffic on the new fleet, scaling as the old one did', async () => {
    // The app's own channel is the test chat's #demo; the demo's approver, U0LOCAL, approves their own canary.
    const app = { ...fleetConfig(example['demo-rb']!), channel: '#demo' };
    world = await TestWorld.create({ demo: example.demo!, 'demo-rb': app });
    for (const name of Object.keys(example)) world.sim.seedFleet({ region, app: name, scaling: true });
    const elb = await world.sim.clients().elbv2(region);
    const listener = app.deploy!.traffic.mode === 'weighted' ? app.deploy!.traffic.listener : '';
    // As on the local terminal, where fourEyes: false counts.
    const bakery = world.replica('replica-a', { access: { workspace: 'T0HOME', channels: 'any' } });
    const local = { id: 'U0LOCAL', name: 'you' };
    await bakery.handlers.onCommand(world.command('demo-rb v1', { user: local }));
    await until(world, async () => (await world.store.getRelease('demo-rb', 'v1')) !== undefined && (await world.store.getLock('demo-rb')) === undefined);
    await bakery.handlers.onCommand(world.command('demo-rb v1', { command: '/canary', user: local }));
    await until(world, () => approvalRequest(world) !== undefined);
    await bakery.handlers.onButton(pressOn(approvalRequest(world)!, 'release.promote', local));
    await until(world, async () => (await world.store.getLock('demo-rb', 'deploy')) === undefined);
    await bakery.runner.idle();

    const live = await world.store.getLive('demo-rb');
    expect(live?.live).toMatchObject({ version: 'v1', group: expect.stringMatching(/^demo-rb-canary-v1-/) });
    const forward = (await elb.send(new DescribeListenersCommand({ ListenerArns: [listener] }))).Listeners![0]!.DefaultActions![0]!.ForwardConfig!.TargetGroups!;
    expect(forward).toHaveLength(1);
    const { TargetHealthDescriptions } = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: forward[0]!.TargetGroupArn }));
    expect(TargetHealthDescriptions!.filter((target) => target.TargetHealth?.State === 'healthy')).toHaveLength(3);
    expect(everything(world)).toMatch(/✓ Live on demo-rb-canary-v1-[0-9a-f]+, approved by <@U0LOCAL>/);
    expect(everything(world)).toMatch(/removed demo-rb-live after 2m 00s; listener forwards demo-rb-v1-[0-9a-f]+ 1/);
    // The seeded fleet's scaling, copied before the switch and read back once the old group (and what belonged to it) is gone.
    expect(everything(world)).toMatch(/has demo-rb-live's settings \(.*\), 1 tag \(app, propagated\), 1 scaling policy \(cpu-50\), 1 scheduled action \(weekday-mornings\)/);
    expect(everything(world)).toMatch(/demo-rb-canary-v1-[0-9a-f]+ scales on its own: 1 scaling policy \(cpu-50\), 1 scheduled action \(weekday-mornings\), 0 lifecycle hooks/);
    // The summary says where it is live and what scaling it kept.
    expect(everything(world)).toMatch(/\*demo-rb v1 is live\* on demo-rb-canary-v1-[0-9a-f]+/);
    expect(everything(world)).toMatch(/Kept from demo-rb-live: settings \(.*\), 1 tag \(app, propagated\), 1 scaling policy \(cpu-50\), 1 scheduled action \(weekday-mornings\), 0 lifecycle hooks/);
    const policies = (await (await world.sim.clients().autoScaling(region)).send(new DescribePoliciesCommand({ AutoScalingGroupName: live!.live.group! }))).ScalingPolicies ?? [];
    expect(policies.map((policy) => [policy.PolicyName, policy.TargetTrackingConfiguration?.TargetValue])).toEqual([['cpu-50', 50]]);
  }, 60_000);
});

describe('the local demo’s environments app (config/apps.example.yml)', () => {
  const example = parseAppsFile('config/apps.example.yml', readFileSync('config/apps.example.yml', 'utf8'));

  it('goes to staging, then to production after a 2-minute soak there, U0LOCAL approving in each', () => {
    const environments = environmentsOf(example['demo-envs']!);
    expect(environments.map(({ name, after, soakMs }) => ({ name, after, soakMs }))).toEqual([
      { name: 'staging', after: undefined, soakMs: 0 },
      { name: 'production', after: 'staging', soakMs: 120_000 },
    ]);
    for (const { deploy } of environments) expect(deploy).toMatchObject({ approvers: ['U0LOCAL'], fourEyes: false, canary: { interval: 10_000, duration: 180_000 } });
  });

  it('has a fleet of its own in each environment once local mode has seeded the simulated AWS', async () => {
    const sim = new AwsSimulator({ clock: new VirtualClock(), timings: fastTimings });
    expect(seedLocalFleets(sim, example).unseeded).toEqual([]);
    const autoScaling = await sim.clients().autoScaling(region);
    const cloudWatch = await sim.clients().cloudWatch(region);
    for (const { region: where, deploy } of environmentsOf(example['demo-envs']!)) {
      expect(where).toBe(region);
      const { AutoScalingGroups } = await autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [deploy.group] }));
      expect(AutoScalingGroups).toHaveLength(1);
      expect(AutoScalingGroups![0]).toMatchObject({ LaunchTemplate: { LaunchTemplateName: deploy.launchTemplate }, DesiredCapacity: 3 });
      expect(AutoScalingGroups![0]!.Instances!.filter((instance) => instance.LifecycleState === 'InService')).toHaveLength(3);
      // The alarms its promotion rolls back on are there too.
      const { MetricAlarms } = await cloudWatch.send(new DescribeAlarmsCommand({ AlarmNames: deploy.rolling.alarms }));
      expect(MetricAlarms!.map((alarm) => alarm.AlarmName)).toEqual(deploy.rolling.alarms);
    }
  });
});
