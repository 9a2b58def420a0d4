import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeLaunchTemplateVersionsCommand } from '@aws-sdk/client-ec2';
import { DescribeListenersCommand, DescribeTargetGroupsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterEach, describe, expect, it } from 'vitest';
import { TestWorld } from './support/world.js';
import { alice, approvalRequest, bake, bob, deployEnded, everything, groupNames, liveGroup, mallory, operationOf, pressOn, releaseApp, until } from './support/lifecycle.js';

async function fleetWorld(app = releaseApp()): Promise<TestWorld> {
  const world = await TestWorld.create({ demo: app });
  world.sim.seedFleet({ region: 'us-east-1', app: 'demo' });
  return world;
}

/** A canary of v1 on a fleet serving 20 requests a minute: too few for its 5xx rate, so the judge waits past the plan. */
async function canaryOnTooLittleTraffic(): Promise<TestWorld> {
  const world = await TestWorld.create({ demo: releaseApp() });
  world.sim.seedFleet({ region: 'us-east-1', app: 'demo', requestsPerMinute: 20 });
  const bakery = world.replica();
  await bake(world, bakery, 'v1');
  await bakery.handlers.onCommand(world.command('demo v1', { command: '/canary', user: alice }));
  return world;
}

describe('/canary', () => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  it('judges a good release beside the live fleet, asks the approvers, and promotes it when one presses Promote', async () => {
    world = await fleetWorld();
    const bakery = world.replica();
    await bake(world, bakery, 'v1');
    const before = await liveGroup(world);

    // The canary continues the bake's thread, so the one who asked is told where it went (the terminal once said "a repeat").
    expect((await bakery.handlers.onCommand(world.command('demo v1', { command: '/canary', user: alice })))?.text).toBe('Canary of demo v1 started: it continues in the thread where v1 was baked.');
    await until(world, () => approvalRequest(world) !== undefined);

    const text = everything(world);
    expect(text).toContain('Canary demo v1');
    expect(text).toMatch(/PASS/);
    expect(text).toContain('5xx rate');
    expect(text).toContain('p99 latency');
    // A launch template version is never written like an app version (v5).
    expect(text).toMatch(/launch template `[\w-]+` version \d+ with ami-/);
    expect(text).not.toMatch(/launch template [\w-]+ v\d/);
    const request = approvalRequest(world)!;
    expect(request.text).toContain('Promote *demo v1* to the whole fleet?');
    expect(request.text).toContain('<@U0BOB>');
    expect(request.broadcast).toBe(true);
    expect(await groupNames(world)).toContainEqual(expect.stringMatching(/^demo-canary-v1-[0-9a-f]{8}$/));
    const chart = world.chat.roots[0]!.uploads[0];
    // One file per canary operation: a second canary of v1 gets a picture of its own.
    expect(chart?.filename).toMatch(/^canary-demo-v1-.+\.png$/);
    expect(chart?.png.subarray(1, 4).toString()).toBe('PNG');
    expect(chart?.fallback.join('\n')).toContain('5xx rate');

    const answer = await bakery.handlers.onButton(pressOn(request, 'release.promote', bob));
    expect(answer?.text).toContain('Promoting demo v1');
    await deployEnded(world, bakery);

    const after = await liveGroup(world);
    expect(after?.LaunchTemplate?.Version).not.toBe(before?.LaunchTemplate?.Version);
    expect((await groupNames(world)).filter((name) => name.startsWith('demo-canary-v1'))).toEqual([]);
    const live = await world.store.getLive('demo');
    expect(live?.live.version).toBe('v1');
    expect(live?.previous?.ami).toBeDefined();
    expect((await world.store.getRelease('demo', 'v1'))?.status).toBe('live');
    expect(everything(world)).toContain('demo v1 is live');
  });

  it('keeps on the launch template only the versions still live or a rollback target, canary after canary', async () => {
    world = await fleetWorld();
    const bakery = world.replica();
    for (const version of ['v1', 'v2', 'v3']) {
      await bake(world, bakery, version);
      await bakery.handlers.onCommand(world.command(`demo ${version}`, { command: '/canary', user: alice }));
      await until(world, () => approvalRequest(world)?.text.includes(`*demo ${version}*`) === true);
      await bakery.handlers.onButton(pressOn(approvalRequest(world)!, 'release.promote', bob));
      await deployEnded(world, bakery);
    }
    const { LaunchTemplateVersions: left = [] } = await (await world.sim.clients().ec2('us-east-1')).send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: 'demo' }));
    const live = await world.store.getLive('demo');
    // The platform's own version 1 (the default), v2's (the rollback target) and v3's (live, and the latest).
    expect(left.map((v) => String(v.VersionNumber)).sort()).toEqual(['1', live!.previous!.launchTemplateVersion, live!.live.launchTemplateVersion]);
    expect(everything(world)).toContain('deleted demo versions 2, no longer live nor a rollback target');
  }, 300_000);

  it('rolls a bad release back by itself, naming the metric that failed', async () => {
    world = await fleetWorld();
    const bakery = world.replica();
    world.sim.inject({ kind: 'bad-release', app: 'demo' });
    await bake(world, bakery, 'v2');
    world.sim.clearFaults();

    await bakery.handlers.onCommand(world.command('demo v2', { command: '/canary', user: alice }));
    await deployEnded(world, bakery);

    const summary = world.chat.allReplies().findLast((reply) => reply.text.includes('rolled back'));
    expect(summary?.text).toContain('5xx rate');
    expect(summary?.broadcast).toBe(true);
    expect(approvalRequest(world)).toBeUndefined();
    expect(await groupNames(world)).toEqual(['demo-live']);
    expect((await world.store.getRelease('demo', 'v2'))?.status).toBe('rejected');
    expect((await world.store.getLive('demo'))).toBeUndefined();
  });

  it('asks a human instead of rolling back when the app says ask', async () => {
    world = await fleetWorld(releaseApp({ onFail: 'ask' }));
    const bakery = world.replica();
    world.sim.inject({ kind: 'bad-release', app: 'demo' });
    await bake(world, bakery, 'v2');
    world.sim.clearFaults();

    await bakery.handlers.onCommand(world.command('demo v2', { command: '/canary', user: alice }));
    await until(world, () => approvalRequest(world) !== undefined);
    const request = approvalRequest(world)!;
    expect(request.text).toContain('failed: roll it back, or promote it anyway?');
    expect(request.buttons?.map((b) => b.label)).toEqual(['Promote anyway', 'Roll back']);

    await bakery.handlers.onButton(pressOn(request, 'release.rollback', alice));
    await deployEnded(world, bakery);
    expect(await groupNames(world)).toEqual(['demo-live']);
    expect(everything(world)).toContain('rolled back by <@U0ALICE>');
  });

  it('never passes on too little data: it extends the window, then asks a human', async () => {
    world = await canaryOnTooLittleTraffic();
    await until(world, () => approvalRequest(world) !== undefined);
    const request = approvalRequest(world)!;
    expect(request.text).toContain('stayed undecided: roll it back, or promote it anyway?');
    expect(everything(world)).toMatch(/minute 45 of 30 \(extended; at most 45 minutes\) · \*WAIT\*/);
    expect(everything(world)).toContain('too little');
    expect(await world.store.getLive('demo')).toBeUndefined();
  });

  it('judges no further than its limit when its next look comes late (the bot was down)', async () => {
    world = await canaryOnTooLittleTraffic();
    await until(world, () => /minute 3[2-9] of 30 \(extended/.test(everything(world)));
    world.clock.advance(3_600_000);
    await until(world, () => approvalRequest(world) !== undefined);
    expect(everything(world)).toMatch(/minute 45 of 30 \(extended; at most 45 minutes\) · \*WAIT\*/);
    expect(everything(world)).not.toMatch(/minute (4[6-9]|[5-9]\d|\d{3}) of 30/);
  });

  it('gives the canary its own target group and a weight of the listener, and takes both away after', async () => {
    world = await TestWorld.create({ demo: releaseApp() });
    const fleet = world.sim.seedFleet({ region: 'us-east-1', app: 'demo' });
    // Metrics by target group (the ALB's own), as a weighted canary shares no target group with the baseline.
    const weighted = releaseApp({ weightedListener: fleet.listenerArn });
    await world.store.putAppConfig('demo', weighted);
    const bakery = world.replica();
    await bake(world, bakery, 'v1');
    await bakery.handlers.onCommand(world.command('demo v1', { command: '/canary', user: alice }));
    await until(world, () => world.events.some((event) => event.type === 'step-waiting' && event.step === 'judge'));
    const elb = await world.sim.clients().elbv2('us-east-1');
    const forward = async () => (await elb.send(new DescribeListenersCommand({ ListenerArns: [fleet.listenerArn] }))).Listeners![0]!.DefaultActions![0]!.ForwardConfig!.TargetGroups!;
    const during = await forward();
    // Weights are relative: the live group's 1 becomes 9 beside the canary's 1, so the canary gets 10 %.
    expect(during.map((group) => group.Weight)).toEqual([9, 1]);

    await bakery.handlers.onButton(pressOn((await bakery.handlers.onCommand(world.command('demo', { command: '/rollback', user: bob })))!, 'rollback.confirm', bob));
    await deployEnded(world, bakery);
    expect((await forward()).map((group) => group.TargetGroupArn)).toEqual([fleet.targetGroupArn]);
    const groups = await elb.send(new DescribeTargetGroupsCommand({}));
    expect(groups.TargetGroups?.map((group) => group.TargetGroupArn)).toEqual([fleet.targetGroupArn]);
  });

  it('compares the canary with a fresh baseline of its size on the live image, removed once judged', async () => {
    world = await fleetWorld(releaseApp({ baseline: 'fresh' }));
    const bakery = world.replica();
    await bake(world, bakery, 'v1');
    const live = await liveGroup(world);

    await bakery.handlers.onCommand(world.command('demo v1', { command: '/canary', user: alice }));
    await until(world, async () => (await groupNames(world)).some((name) => name.startsWith('demo-baseline-v1-')));
    const baselineName = (await groupNames(world)).find((name) => name.startsWith('demo-baseline-v1-'))!;
    const groups = await (await world.sim.clients().autoScaling('us-east-1')).send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [baselineName] }));
    const baseline = groups.AutoScalingGroups![0]!;
    expect(baseline.DesiredCapacity).toBe(1);
    expect(baseline.LaunchTemplate?.Version).toBe(live?.LaunchTemplate?.Version);
    expect(baseline.TargetGroupARNs).toEqual(live?.TargetGroupARNs);

    await until(world, () => approvalRequest(world) !== undefined);
    expect(everything(world)).toMatch(/PASS/);
    expect((await groupNames(world)).sort()).toEqual([expect.stringMatching(/^demo-canary-v1-/), 'demo-live']);
    expect(everything(world)).toContain(`removed ${baselineName}; it was needed only for judging`);

    await bakery.handlers.onButton(pressOn(approvalRequest(world)!, 'release.promote', bob));
    await deployEnded(world, bakery);
    expect((await world.store.getLive('demo'))?.live.version).toBe('v1');
  });

  it('rolls a bad release back against a fresh baseline too, removing both groups', async () => {
    world = await fleetWorld(releaseApp({ baseline: 'fresh' }));
    const bakery = world.replica();
    world.sim.inject({ kind: 'bad-release', app: 'demo' });
    await bake(world, bakery, 'v2');
    world.sim.clearFaults();

    await bakery.handlers.onCommand(world.command('demo v2', { command: '/canary', user: alice }));
    await deployEnded(world, bakery);
    // A bad release serves more errors and slower: whichever the judge is sure of first is named.
    expect(world.chat.allReplies().findLast((reply) => reply.text.includes('rolled back'))?.text).toMatch(/canary fail at minute \d+: (5xx rate|p99 latency) High/);
    expect(await groupNames(world)).toEqual(['demo-live']);
  });

  it('refuses a version that is not baked, and an app without a fleet, changing nothing', async () => {
    world = await fleetWorld();
    const bakery = world.replica();
    const notBaked = await bakery.handlers.onCommand(world.command('demo v9', { command: '/canary', user: alice }));
    expect(notBaked?.text).toContain('not baked');
    const badFlag = await bakery.handlers.onCommand(world.command('demo v9 --instances lots', { command: '/canary', user: alice }));
    expect(badFlag?.lines?.[0]).toContain('Usage: `/canary');
    expect(await world.store.getLock('demo', 'deploy')).toBeUndefined();
    expect(world.chat.roots).toHaveLength(0);
  });
});

describe('the canary’s estimate of its end', () => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  /** What the root said of the judging at every update, in order: the minute judged and the end it named. */
  function judgingStatuses(): { minute: number; status: string }[] {
    return world.chat.roots.flatMap((root) => root.updates).flatMap((update) => {
      const status = update.lines?.[0] ?? '';
      const minute = /Judge the canary · minute ([\d.]+) of 30/.exec(status)?.[1];
      return minute === undefined ? [] : [{ minute: Number(minute), status }];
    });
  }
  const inMinutes = (time: string): number => Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));

  it('names one end, the plan’s, at every look while the judge waits for the plan', async () => {
    world = await fleetWorld();
    const bakery = world.replica();
    await bake(world, bakery, 'v1');
    await bakery.handlers.onCommand(world.command('demo v1', { command: '/canary', user: alice }));
    await until(world, () => approvalRequest(world) !== undefined);

    const looks = judgingStatuses();
    expect(new Set(looks.map((look) => look.minute)).size).toBeGreaterThanOrEqual(10);
    const ends = looks.map(({ status }) => /, ends about (\d\d:\d\d UTC)/.exec(status)?.[1]);
    expect(ends[0]).toMatch(/^\d\d:\d\d UTC$/);
    expect(ends).toEqual(looks.map(() => ends[0]));
    expect(looks.map((look) => look.status).join('\n')).not.toMatch(/more min/);
  });

  it('past the plan, says it was extended and by when at the latest, never earlier from look to look', async () => {
    world = await canaryOnTooLittleTraffic();
    await until(world, () => approvalRequest(world) !== undefined);

    const looks = judgingStatuses();
    const planned = looks.filter((look) => look.minute < 30).map(({ status }) => /, ends about (\d\d:\d\d UTC)/.exec(status)?.[1]);
    const extended = looks.filter((look) => look.minute >= 30).map(({ status }) => /, extended for more data: ends (?:about (\d\d:\d\d UTC), )?by (\d\d:\d\d UTC) at the latest/.exec(status));
    expect(planned[0]).toMatch(/^\d\d:\d\d UTC$/);
    expect(planned).toEqual(planned.map(() => planned[0]));
    expect(extended.length).toBeGreaterThan(0);
    expect(extended).not.toContain(null);
    const latest = extended.map((match) => match?.[2]);
    // maxExtension is 15m: the latest end is the plan's, 15 minutes on.
    expect(latest).toEqual(extended.map(() => latest[0]));
    expect(inMinutes(latest[0]!) - inMinutes(planned[0]!)).toBe(15);
    const announced = extended.map((match) => inMinutes(match?.[1] ?? match![2]!));
    expect(announced).toEqual([...announced].sort((a, b) => a - b));
  });
});

describe('the approval', () => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  async function awaitingApproval(app = releaseApp()) {
    world = await fleetWorld(app);
    const bakery = world.replica();
    await bake(world, bakery, 'v1');
    await bakery.handlers.onCommand(world.command('demo v1', { command: '/canary', user: alice }));
    await until(world, () => approvalRequest(world) !== undefined);
    return { bakery, request: approvalRequest(world)! };
  }

  it('takes Promote only from an approver other than the person who started the canary, and audits the refusals', async () => {
    const { bakery, request } = await awaitingApproval();
    const stranger = await bakery.handlers.onButton(pressOn(request, 'release.promote', mallory));
    expect(stranger?.text).toContain('only the approvers');
    const own = await bakery.handlers.onButton(pressOn(request, 'release.promote', alice));
    expect(own?.text).toContain('four eyes');
    const audit = await world.store.listAudit('demo');
    expect(audit.filter((entry) => entry.action === 'promote refused').map((entry) => entry.actor).sort()).toEqual(['U0ALICE', 'U0MALLORY']);
    expect((await operationOf(world, 'canary'))?.approval).toBeUndefined();
  });

  it('is refused to an approver removed from the config since the canary started', async () => {
    const { request } = await awaitingApproval();
    const config = releaseApp();
    // The apps file now names alice alone, applied at a restart while the canary waits.
    await world.store.putAppConfig('demo', { ...config, deploy: { ...config.deploy!, approvers: ['U0ALICE'] } });
    const removed = await world.replica('replica-b').handlers.onButton(pressOn(request, 'release.promote', bob));
    expect(removed?.text).toBe('Not done: only the approvers of demo may promote it (<@U0ALICE>).');
    expect((await world.store.listAudit('demo')).some((entry) => entry.action === 'promote refused' && entry.actor === 'U0BOB')).toBe(true);
    expect((await operationOf(world, 'canary'))?.approval).toBeUndefined();
  });

  it('never lets whoever asked for the canary approve it, by the button, /promote’s copy or a user group, whatever fourEyes says', async () => {
    const config = releaseApp({ fourEyes: false });
    const { bakery, request } = await awaitingApproval({ ...config, deploy: { ...config.deploy!, approvers: ['S0DEPLOY'] } });
    world.chat.userGroups.set('S0DEPLOY', ['U0ALICE', 'U0BOB']);
    const own = await bakery.handlers.onButton(pressOn(request, 'release.promote', alice));
    expect(own?.text).toBe('Not done: you started this canary, so someone else must approve it (four eyes); ask <!subteam^S0DEPLOY>.');
    const copy = await bakery.handlers.onCommand(world.command('demo', { command: '/promote', user: alice }));
    expect((await bakery.handlers.onButton(pressOn(copy!, 'release.promote', alice)))?.text).toContain('four eyes');
    expect((await operationOf(world, 'canary'))?.approval).toBeUndefined();
  });

  it('acts once on a double press, and says who approved to the second', async () => {
    const { bakery, request } = await awaitingApproval();
    const [first, second] = await Promise.all([
      bakery.handlers.onButton(pressOn(request, 'release.promote', bob)),
      bakery.handlers.onButton(pressOn(request, 'release.promote', bob)),
    ]);
    const texts = [first?.text, second?.text].sort();
    expect(texts[0]).toContain('Not done: already approved by <@U0BOB>');
    expect(texts[1]).toContain('Promoting demo v1');
    await deployEnded(world, bakery);
    expect((await world.store.getLive('demo'))?.live.version).toBe('v1');
  });

  it('refuses a button from an earlier canary', async () => {
    const { bakery, request } = await awaitingApproval();
    const stale = { ...pressOn(request, 'release.promote', bob) };
    stale.value = stale.value.replace(/\.[0-9a-f]{12}$/, '.000000000000');
    expect((await bakery.handlers.onButton(stale))?.text).toContain('no longer current');
  });

  it('expires: reminds at half-time, then removes the canary and takes no press', async () => {
    const { bakery, request } = await awaitingApproval(releaseApp({ approvalTtl: '2h' }));
    await deployEnded(world, bakery);
    expect(everything(world)).toContain('Reminder: demo v1 is waiting for approval');
    expect(everything(world)).toContain('expired — `/canary demo v1` again or `/rollback demo`');
    expect(await groupNames(world)).toEqual(['demo-live']);
    const late = await bakery.handlers.onButton(pressOn(request, 'release.promote', bob));
    expect(late?.text).toMatch(/^Not done: this approval request expired unanswered at \d\d:\d\d UTC, so the canary was removed and the fleet stays as it was; `\/canary demo v1` judges it again/);
  });

  it('says approval times in the one duration format', async () => {
    const { bakery } = await awaitingApproval(releaseApp({ approvalTtl: '2h' }));
    await deployEnded(world, bakery);
    expect(everything(world)).toMatch(/it expires in (59m \d\ds|1h 00m)\./);
    expect(everything(world)).toContain('nobody approved within 2h 00m; the canary is removed');
  });
});
