import { afterEach, describe, expect, it } from 'vitest';
import { parseAppsFile, type AppConfig } from '../src/config/apps.js';
import { environmentsOf } from '../src/config/environments.js';
import type { Bakery } from '../src/bakery.js';
import { alice, approvalRequest, bake, bob, everything, pressOn, until } from './support/lifecycle.js';
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

  it('refuses an account the bake does not share the image with', () => {
    expect(wrong(`shareWith: ["${PRODUCTION_ACCOUNT}"]`, 'shareWith: []')).toThrow(
      `field "deploy.environments.1.account": production's account ${PRODUCTION_ACCOUNT} is not in shareWith, so its fleet could not launch the image; add it to shareWith`,
    );
  });
});

describe('/canary to an environment in another AWS account', () => {
  let world: TestWorld;
  afterEach(async () => {
    await world.close();
  });

  async function twoAccounts(): Promise<Bakery> {
    world = await TestWorld.create({ demo: parseAppsFile('apps.yml', appsFile).demo! as AppConfig });
    world.sim.seedFleet({ region: 'us-east-1', app: 'demo-stg' });
    world.sim.seedFleet({ region: 'us-east-1', app: 'demo' });
    const bakery = world.replica();
    await bake(world, bakery, 'v1');
    return bakery;
  }

  const canary = (bakery: Bakery, text: string) => bakery.handlers.onCommand(world.command(text, { command: '/canary', user: alice }));
  /** The accounts whose credentials made the calls named `command`. */
  const accountsOf = (command: string) => new Set(world.sim.calls().filter((call) => call.command === command).map((call) => call.account));

  it('canaries and promotes there with the credentials of the role it assumes, in a session named for the canary', async () => {
    const bakery = await twoAccounts();
    world.sim.createRole({ arn: ROLE, externalId: 'bakery-demo' });
    const ownAccount = world.sim.calls().find((call) => call.command === 'RunInstances')!.account;

    expect((await canary(bakery, 'demo v1 --to production'))?.text).toMatch(/^Canary of demo v1 in production started/);
    await until(world, () => approvalRequest(world)?.text.includes('whole fleet in production') === true);
    await bakery.handlers.onButton(pressOn(approvalRequest(world)!, 'release.promote', bob));
    await until(world, async () => (await world.store.getLock('demo', 'deploy', 'production')) === undefined);
    await bakery.runner.idle();

    expect((await world.store.getLive('demo', 'production'))?.live).toMatchObject({ version: 'v1', group: 'demo-live' });
    const sessions = world.sim.roleSessions();
    expect(sessions.length).toBeGreaterThan(0);
    for (const session of sessions) {
      expect(session).toMatchObject({ roleArn: ROLE, account: PRODUCTION_ACCOUNT, externalId: 'bakery-demo', sessionName: expect.stringMatching(/^bakery-canary-op-[\w-]+$/) });
    }
    // The canary's group, its judging and the promotion were all production's account's doing; the bake was Bakery's own.
    for (const command of ['CreateAutoScalingGroup', 'GetMetricData', 'StartInstanceRefresh']) expect(accountsOf(command)).toEqual(new Set([PRODUCTION_ACCOUNT]));
    expect(ownAccount).not.toBe(PRODUCTION_ACCOUNT);
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
