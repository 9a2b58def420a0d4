import { DescribeAutoScalingGroupsCommand, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateVersionCommand, DescribeImagesCommand, ModifyImageAttributeCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAppsFile, type AppConfig } from '../src/config/apps.js';
import { environmentsOf } from '../src/config/environments.js';
import type { Bakery } from '../src/bakery.js';
import { alice, approvalRequest, bake, bob, everything, groupNames, pressOn, until } from './support/lifecycle.js';
import { promotedIn } from './support/environments.js';
import { pruneAction } from '../commands/prune.js';
import { TestWorld } from './support/world.js';

const PRODUCTION_ACCOUNT = '210987654321';
const ROLE = `arn:aws:iam::${PRODUCTION_ACCOUNT}:role/bakery-deployer`;

/** One environment's fleet: the simulator's seeded fleet of that name, judged as the lifecycle's demo is. */
const fleet = (seeded: string) => `
          group: ${seeded}-live
          launchTemplate: ${seeded}
          canary: { instances: 1, duration: 30m, interval: 1m, warmup: 3m }
          metrics:
            - { name: errors, label: 5xx rate, kind: count, namespace: Demo/App, metric: Errors5xx, stat: Sum, unit: errors,
                requests: { namespace: Demo/App, metric: Requests, stat: Sum }, tolerance: x1.5, critical: x5 }
          approvers: [U0BOB, U0ALICE]
          rolling: { minHealthyPercent: 66, warmup: 60s, alarms: [${seeded}-5xx-high] }`;

/** staging in Bakery's own account; production in another, reached with the role Bakery assumes there. */
const appsFile = `
apps:
  demo:
    channel: "#demo"
    region: us-east-1
    baseImage: { ssm: /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64 }
    instanceType: t3.small
    artifactUrl: https://artifacts.example.com/demo/{version}.tar.gz
    provision: ./install.sh
    smokeTest: curl -fsS localhost:8080/healthz
    shareWith: ["${PRODUCTION_ACCOUNT}"]
    deploy:
      environments:
        - name: staging${fleet('demo-stg')}
        - name: production
          account: "${PRODUCTION_ACCOUNT}"
          role: ${ROLE}
          externalId: bakery-demo${fleet('demo')}
`;

/** staging's fleet in Bakery's own account, production's in production's account, out of sight of Bakery's own credentials. */
async function twoAccountWorld(file = appsFile): Promise<TestWorld> {
  const world = await TestWorld.create({ demo: parseAppsFile('apps.yml', file).demo! as AppConfig });
  world.sim.seedFleet({ region: 'us-east-1', app: 'demo-stg' });
  world.sim.seedFleet({ region: 'us-east-1', app: 'demo', account: PRODUCTION_ACCOUNT });
  return world;
}

const wrong = (from: string, to: string) => () => parseAppsFile('apps.yml', appsFile.replace(from, to));

describe('an environment in another AWS account, in the apps file', () => {
  it('reads its account, the role Bakery assumes there and the external id', () => {
    const production = environmentsOf(parseAppsFile('apps.yml', appsFile).demo!)[1]!;
    expect(production.account).toEqual({ id: PRODUCTION_ACCOUNT, role: ROLE, externalId: 'bakery-demo' });
    expect(environmentsOf(parseAppsFile('apps.yml', appsFile).demo!)[0]!.account).toBeUndefined();
  });

  it('names the file, the app and the field of a wrong account or role', () => {
    expect(wrong(`account: "${PRODUCTION_ACCOUNT}"`, 'account: "2109876543"')).toThrow('apps.yml: app "demo", field "deploy.environments.1.account": an AWS account id is 12 digits');
    expect(wrong(`role: ${ROLE}`, 'role: bakery-deployer')).toThrow('field "deploy.environments.1.role": a role is an IAM role ARN');
    expect(wrong(`role: ${ROLE}`, 'role: arn:aws:iam::123456789012:role/bakery-deployer')).toThrow(
      `field "deploy.environments.1.role": arn:aws:iam::123456789012:role/bakery-deployer is a role of account 123456789012, not of the environment's account ${PRODUCTION_ACCOUNT}`,
    );
    expect(wrong(`          role: ${ROLE}\n`, '')).toThrow(`field "deploy.environments.1.role": name the role Bakery assumes in account ${PRODUCTION_ACCOUNT}`);
    expect(wrong(`          account: "${PRODUCTION_ACCOUNT}"\n`, '')).toThrow('field "deploy.environments.1.account": name the account the role is in');
    expect(wrong('externalId: bakery-demo', 'externalId: "x"')).toThrow('field "deploy.environments.1.externalId": an external id is 2-1224 letters');
  });

  it('shares the image with every environment’s account, whether or not shareWith names it', () => {
    expect(parseAppsFile('apps.yml', appsFile.replace(`shareWith: ["${PRODUCTION_ACCOUNT}"]`, 'shareWith: []')).demo!.shareWith).toEqual([PRODUCTION_ACCOUNT]);
  });
});

describe('/canary to an environment in another AWS account', () => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  async function twoAccounts(): Promise<Bakery> {
    world = await twoAccountWorld();
    const bakery = world.replica();
    await bake(world, bakery, 'v1');
    return bakery;
  }

  const canary = (bakery: Bakery, text: string) => bakery.handlers.onCommand(world.command(text, { command: '/canary', user: alice }));
  /** Production's account as its own people see it (through the role, the one way in here). */
  const production = () => world.sim.clients().assuming({ roleArn: ROLE, externalId: 'bakery-demo', sessionName: 'platform-team' });
  const productionGroups = async () =>
    ((await (await production().autoScaling('us-east-1')).send(new DescribeAutoScalingGroupsCommand({}))).AutoScalingGroups ?? [])
      .filter((group) => group.Status !== 'Delete in progress')
      .map((group) => group.AutoScalingGroupName);
  /** The accounts whose credentials made the calls named `command`. */
  const accountsOf = (command: string) => new Set(world.sim.calls().filter((call) => call.command === command).map((call) => call.account));

  it('canaries and promotes there with the credentials of the role it assumes, in a session named for the canary', async () => {
    const bakery = await twoAccounts();
    world.sim.createRole({ arn: ROLE, externalId: 'bakery-demo' });
    const ownAccount = world.sim.calls().find((call) => call.command === 'RunInstances')!.account;

    expect((await canary(bakery, 'demo v1 --to production'))?.text).toMatch(/^Canary of demo v1 in production started/);
    await until(world, () => approvalRequest(world)?.text.includes('whole fleet in production') === true);
    // The canary runs beside production's fleet, in its account; Bakery's own account sees only staging.
    expect(await productionGroups()).toEqual(expect.arrayContaining(['demo-live', expect.stringMatching(/^demo-canary-v1-/)]));
    expect(await groupNames(world)).toEqual(['demo-stg-live']);
    await bakery.handlers.onButton(pressOn(approvalRequest(world)!, 'release.promote', bob));
    await until(world, async () => (await world.store.getLock('demo', 'deploy', 'production')) === undefined);
    await bakery.runner.idle();

    const live = (await world.store.getLive('demo', 'production'))?.live;
    expect(live).toMatchObject({ version: 'v1', group: 'demo-live' });
    // The image baked in Bakery's account, shared with production's, is what production's fleet now runs.
    const { Images = [] } = await (await production().ec2('us-east-1')).send(new DescribeImagesCommand({ ImageIds: [live!.ami] }));
    expect(Images[0]?.OwnerId).not.toBe(PRODUCTION_ACCOUNT);
    expect(await productionGroups()).toEqual(['demo-live']);
    const sessions = world.sim.roleSessions().filter((session) => session.sessionName !== 'platform-team');
    expect(sessions.length).toBeGreaterThan(0);
    for (const session of sessions) {
      expect(session).toMatchObject({ roleArn: ROLE, account: PRODUCTION_ACCOUNT, externalId: 'bakery-demo', sessionName: expect.stringMatching(/^bakery-canary-op-[\w-]+$/) });
    }
    // The canary's group, its judging and the promotion were all production's account's doing; the bake was Bakery's own.
    for (const command of ['CreateAutoScalingGroup', 'GetMetricData', 'StartInstanceRefresh']) expect(accountsOf(command)).toEqual(new Set([PRODUCTION_ACCOUNT]));
    expect(ownAccount).not.toBe(PRODUCTION_ACCOUNT);
  }, 300_000);

  it('marks a release its canary there failed as rejected in Bakery’s own account, which owns the image', async () => {
    world = await twoAccountWorld();
    const bakery = world.replica();
    world.sim.inject({ kind: 'bad-release', app: 'demo' });
    await bake(world, bakery, 'v1');
    world.sim.clearFaults();
    world.sim.createRole({ arn: ROLE, externalId: 'bakery-demo' });
    const ownAccount = world.sim.calls().find((call) => call.command === 'RunInstances')!.account;

    await canary(bakery, 'demo v1 --to production');
    await until(world, async () => (await world.store.getLock('demo', 'deploy', 'production')) === undefined);
    await bakery.runner.idle();

    const ami = (await world.store.getRelease('demo', 'v1'))!.amis['us-east-1']!;
    const { Images = [] } = await (await world.sim.clients().ec2('us-east-1')).send(new DescribeImagesCommand({ ImageIds: [ami] }));
    expect(Images[0]?.Tags).toContainEqual({ Key: 'bakery:status', Value: 'rejected' });
    expect(accountsOf('CreateTags')).toContain(ownAccount);
    expect(everything(world)).toMatch(/tagged ami-\w+ rejected/);
  }, 300_000);

  it('reports a role it may not assume, naming the role, and launches nothing', async () => {
    const bakery = await twoAccounts();
    // The role exists, but its trust policy wants another external id than the one configured.
    world.sim.createRole({ arn: ROLE, externalId: 'someone-else' });

    expect((await canary(bakery, 'demo v1 --to production'))?.text).toMatch(/^Canary of demo v1 in production started/);
    await until(world, async () => (await world.store.getLock('demo', 'deploy', 'production')) === undefined);
    await bakery.runner.idle();

    expect(everything(world)).toContain(`Bakery could not assume the role ${ROLE}: AccessDenied: User: arn:aws:iam::`);
    expect(world.sim.roleSessions()).toEqual([]);
    expect(accountsOf('CreateAutoScalingGroup')).toEqual(new Set());
    expect(await world.store.getLive('demo', 'production')).toBeUndefined();
  }, 300_000);
});

describe('simulated accounts', () => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  it('keeps each account’s resources apart, and launches another account’s image only once it is shared', async () => {
    world = await TestWorld.create();
    world.sim.seedFleet({ region: 'us-east-1', app: 'demo' });
    world.sim.createRole({ arn: ROLE });
    const other = world.sim.clients().assuming({ roleArn: ROLE, sessionName: 'bakery-test' });
    expect((await (await other.autoScaling('us-east-1')).send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['demo-live'] }))).AutoScalingGroups).toEqual([]);

    const ownImage = world.sim.seedBaseImage({ region: 'us-east-1', name: 'demo-v9' });
    const launch = async () => (await other.ec2('us-east-1')).send(new RunInstancesCommand({ ImageId: ownImage, MinCount: 1, MaxCount: 1, InstanceType: 't3.small' }));
    await expect(launch()).rejects.toMatchObject({ name: 'InvalidAMIID.NotFound' });
    await (await world.sim.clients().ec2('us-east-1')).send(new ModifyImageAttributeCommand({ ImageId: ownImage, LaunchPermission: { Add: [{ UserId: PRODUCTION_ACCOUNT }] } }));
    const { Instances = [] } = await launch();
    expect(Instances[0]?.ImageId).toBe(ownImage);
    // Launched in the other account: Bakery's own account has no such instance.
    expect(world.sim.snapshot().instances.map((instance) => instance.instanceId)).not.toContain(Instances[0]?.InstanceId);
  });
});

describe('simulated STS AssumeRole', () => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  /** The credentials a client of the assumed role signs with, as the SDK resolves them. */
  const credentials = async (role: Parameters<ReturnType<TestWorld['sim']['clients']>['assuming']>[0]) => (await world.sim.clients().assuming(role).ec2('us-east-1')).config.credentials();

  it('returns temporary credentials for a role that trusts Bakery’s account, expiring after the session’s duration', async () => {
    world = await TestWorld.create();
    world.sim.createRole({ arn: ROLE, externalId: 'bakery-demo' });
    const issued = await credentials({ roleArn: ROLE, externalId: 'bakery-demo', sessionName: 'bakery-canary-op-1' });
    expect(issued.accessKeyId).toMatch(/^ASIA[0-9A-Z]{16}$/);
    expect(issued.sessionToken).toBeTruthy();
    expect(issued.expiration?.getTime()).toBe(world.clock.now() + 3_600_000);
    // (The SDK may ask again: it judges expiry by the real time, which the test's virtual clock is behind.)
    expect(world.sim.roleSessions()).toContainEqual(expect.objectContaining({ roleArn: ROLE, account: PRODUCTION_ACCOUNT, sessionName: 'bakery-canary-op-1', externalId: 'bakery-demo', durationSeconds: 3600 }));
  });

  it('refuses an unknown role, a wrong external id and a bad session name as STS does', async () => {
    world = await TestWorld.create();
    world.sim.createRole({ arn: ROLE, externalId: 'bakery-demo' });
    const refused = (role: Parameters<typeof credentials>[0]) => credentials(role).then(() => 'assumed', (error: Error) => error.message);
    const denied = `Bakery could not assume the role %s: AccessDenied: User: arn:aws:iam::123456789012:user/bakery is not authorized to perform: sts:AssumeRole on resource: %s`;
    const otherRole = `arn:aws:iam::${PRODUCTION_ACCOUNT}:role/nobody`;
    expect(await refused({ roleArn: otherRole, sessionName: 'bakery-test' })).toContain(denied.replaceAll('%s', otherRole));
    expect(await refused({ roleArn: ROLE, externalId: 'guess', sessionName: 'bakery-test' })).toContain(denied.replaceAll('%s', ROLE));
    expect(await refused({ roleArn: ROLE, sessionName: 'bakery-test' })).toContain('AccessDenied');
    expect(await refused({ roleArn: ROLE, externalId: 'bakery-demo', sessionName: 'x' })).toContain("ValidationError: 1 validation error detected: Value 'x' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2");
    expect(await refused({ roleArn: ROLE, externalId: 'bakery-demo', sessionName: 'bakery canary' })).toContain('Member must satisfy regular expression pattern: [\\w+=,.@-]*');
    expect(await refused({ roleArn: ROLE, externalId: 'bakery-demo', sessionName: 'b'.repeat(65) })).toContain('Member must have length less than or equal to 64');
    expect(world.sim.roleSessions()).toEqual([]);
  });
});

describe('the App Home and the digest of an environment in another AWS account', () => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  const DAY = 24 * 3_600_000;
  const homeOf = async (bakery: Bakery) => {
    await bakery.handlers.onHomeOpened!(bob);
    return world.chat.homes.get(bob.id)!;
  };
  const digest = (bakery: Bakery) => bakery.handlers.onCommand(world.command('stale demo', { command: '/bakery', user: bob }));

  it('judge what production runs as production’s account sees it, through the role, in a session named for the survey', async () => {
    world = await twoAccountWorld();
    world.sim.createRole({ arn: ROLE, externalId: 'bakery-demo' });
    const bakery = world.replica();
    await bake(world, bakery, 'v1');
    // Before any deploy there, production's fleet runs its own account's image, which only that account can describe.
    const production = (await homeOf(bakery)).sections.find((section) => 'lines' in section && section.text.includes('in production'));
    expect(production).toMatchObject({ text: "*demo* · nothing of Bakery's is live in production yet (v1 last baked) · baked today", lines: [expect.stringMatching(/^• the fleet runs `ami-[0-9a-f]+` \(demo-v0\), an image Bakery did not bake$/)] });
    for (const session of world.sim.roleSessions()) expect(session).toMatchObject({ roleArn: ROLE, externalId: 'bakery-demo', sessionName: 'bakery-survey' });
    expect(world.sim.roleSessions()).not.toEqual([]);

    await promotedIn(world, bakery, 'v1', 'production');
    expect((await homeOf(bakery)).sections).toContainEqual({ text: expect.stringMatching(/^Fresh: .*demo: production runs v1 \(baked today\)/) });
    world.clock.advance(40 * DAY);
    expect((await digest(bakery))?.lines).toContain('• *demo* · production runs v1 · 40 days old · the image is 40 days old, past the app’s maximum of 30 days');
  }, 300_000);

  it('say production could not be checked when its role cannot be assumed, and count it neither stale nor fresh', async () => {
    world = await twoAccountWorld();
    world.sim.createRole({ arn: ROLE, externalId: 'someone-else' });
    const bakery = world.replica();
    await bake(world, bakery, 'v1');

    const answer = await digest(bakery);
    expect(answer?.lines).toContainEqual(expect.stringMatching(new RegExp(`^• \\*demo\\* · nothing of Bakery's is live in production yet .*could not check the fleet: Bakery could not assume the role ${ROLE}: AccessDenied: `)));
    // Staging is stale (its fleet runs an image Bakery did not bake); production is only said, not counted.
    expect(answer?.text).toBe('*Image digest*: 1 of 1 app stale; 1 could not be checked');
    const production = (await homeOf(bakery)).sections.find((section) => 'lines' in section && section.text.includes('in production'));
    expect(production?.lines).toEqual([expect.stringMatching(new RegExp(`^• could not check the fleet: Bakery could not assume the role ${ROLE}: AccessDenied: .*with the external id configured\\)$`))]);
  }, 300_000);
});

describe('/bakery prune with an environment in another AWS account', () => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  /** Three bakes a day apart, v1 to v3; nothing recorded live, so v3 stands for the live release. */
  async function threeBakes(file = appsFile): Promise<Bakery> {
    world = await twoAccountWorld(file);
    const bakery = world.replica();
    for (const version of ['v1', 'v2', 'v3']) {
      await bake(world, bakery, version);
      world.clock.advance(24 * 3_600_000);
    }
    return bakery;
  }
  const ami = async (version: string): Promise<string> => (await world.store.getRelease('demo', version))!.amis['us-east-1']!;
  const dryRun = (bakery: Bakery) => bakery.handlers.onCommand(world.command('prune demo --keep 1 --dry-run', { command: '/bakery', user: alice }));

  it('keeps an image production’s fleet in its own account would launch, and says where', async () => {
    const bakery = await threeBakes();
    world.sim.createRole({ arn: ROLE, externalId: 'bakery-demo' });
    // Production's people point its group at v1 by hand, in their account: no launch yet, so EC2 has no launch to report either.
    const production = world.sim.clients().assuming({ roleArn: ROLE, externalId: 'bakery-demo', sessionName: 'platform-team' });
    const template = await (await production.ec2('us-east-1')).send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateName: 'demo', SourceVersion: '1', LaunchTemplateData: { ImageId: await ami('v1') } }));
    const version = String(template.LaunchTemplateVersion?.VersionNumber);
    await (await production.autoScaling('us-east-1')).send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'demo-live', LaunchTemplate: { LaunchTemplateName: 'demo', Version: version } }));

    const answer = await dryRun(bakery);
    expect(answer?.text).toBe('*Prune demo* (dry run): 1 bake would go');
    expect(answer?.lines).toContainEqual(expect.stringMatching(new RegExp(`^Kept: v1 .*: in launch template demo version ${version}, which an Auto Scaling group in production's account uses \\(us-east-1\\)$`)));
    expect(answer?.lines).toContainEqual(expect.stringMatching(/^Would remove: v2 /));
    expect(world.sim.roleSessions().filter((session) => session.sessionName !== 'platform-team')).toContainEqual(expect.objectContaining({ roleArn: ROLE, sessionName: 'bakery-prune' }));
  }, 300_000);

  it('keeps every image production could run when its role cannot be assumed, and says why', async () => {
    const bakery = await threeBakes();
    world.sim.createRole({ arn: ROLE, externalId: 'someone-else' });
    const before = world.sim.snapshot().images.length;

    const answer = await dryRun(bakery);
    expect(answer?.text).toBe('*Prune demo*: nothing to remove');
    for (const version of ['v1', 'v2']) {
      expect(answer?.lines).toContainEqual(expect.stringMatching(new RegExp(`^Kept: ${version} .*: could not check what production runs: Bakery could not assume the role ${ROLE}: AccessDenied: .* \\(us-east-1\\)$`)));
    }
    expect(world.sim.snapshot().images).toHaveLength(before);
  }, 300_000);

  it('holds a retirement under way while production cannot be checked, and moves it on once it can', async () => {
    const bakery = await threeBakes(appsFile.replace('    shareWith:', '    retire: {}\n    shareWith:'));
    world.sim.createRole({ arn: ROLE, externalId: 'bakery-demo' });
    const plan = await bakery.handlers.onCommand(world.command('prune demo --keep 1', { command: '/bakery', user: alice }));
    expect((await bakery.handlers.onButton(pressOn(plan!, pruneAction, bob)))?.text).toBe('*Pruned demo*: 2 bakes deprecated');
    const v1 = await ami('v1');
    const image = () => world.sim.snapshot().images.find((candidate) => candidate.imageId === v1)!;
    const deprecateAt = image().deprecateAt;

    // Its disable is due; production's role now refuses Bakery: the images stay as they are, neither disabled nor given back.
    world.sim.createRole({ arn: ROLE, externalId: 'someone-else' });
    world.clock.advance(21 * 24 * 3_600_000);
    expect(await bakery.digest.advanceRetirements()).toEqual([]);
    expect(image()).toMatchObject({ state: 'available', deprecateAt });
    expect((await world.store.listAudit('demo')).map((entry) => entry.action)).not.toContain('images restored');

    world.sim.createRole({ arn: ROLE, externalId: 'bakery-demo' });
    expect((await bakery.digest.advanceRetirements()).map((move) => `${move.version} ${move.did}`)).toEqual(['v2 disabled', 'v1 disabled']);
  }, 300_000);
});
