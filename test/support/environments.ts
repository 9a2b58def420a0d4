import type { Bakery } from '../../src/bakery.js';
import { parseAppsFile, type AppConfig } from '../../src/config/apps.js';
import { alice, approvalRequest, bob, pressOn, until } from './lifecycle.js';
import { TestWorld } from './world.js';

/*
 * The demo app with environments: staging on the simulator's seeded demo-stg fleet, then production
 * on its demo fleet after a soak in staging, each judged as the lifecycle's demo is.
 */

/** One environment's fleet: the simulator's seeded fleet of that name, judged as the lifecycle's demo is. */
export const fleet = (seeded: string) => `
          group: ${seeded}-live
          launchTemplate: ${seeded}
          canary: { instances: 1, duration: 30m, interval: 1m, warmup: 3m }
          metrics:
            - { name: errors, label: 5xx rate, kind: count, namespace: Demo/App, metric: Errors5xx, stat: Sum, unit: errors,
                requests: { namespace: Demo/App, metric: Requests, stat: Sum }, tolerance: x1.5, critical: x5 }
            - { name: latency, label: p99 latency, kind: gauge, namespace: Demo/App, metric: LatencyP99, stat: Maximum, unit: ms, tolerance: +10%, critical: +200% }
          approvers: [U0BOB, U0ALICE]
          rolling: { minHealthyPercent: 66, warmup: 60s, alarms: [${seeded}-5xx-high] }`;

export function appsFile(environments: string): string {
  return `
apps:
  demo:
    channel: "#demo"
    region: us-east-1
    baseImage: { ssm: /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64 }
    instanceType: t3.small
    artifactUrl: https://artifacts.example.com/demo/{version}.tar.gz
    provision: ./install.sh
    smokeTest: curl -fsS localhost:8080/healthz
    deploy:
      environments:${environments}
`;
}

/** staging on the demo-stg fleet, then production on the demo fleet after a 2h soak in staging. */
export const twoEnvironments = appsFile(`
        - name: staging${fleet('demo-stg')}
        - name: production
          after: staging
          soak: 2h${fleet('demo')}`);

export function stagingAndProduction(): AppConfig {
  return parseAppsFile('apps.yml', twoEnvironments).demo!;
}

/** A world whose demo app deploys to staging (the seeded demo-stg fleet), then production (the seeded demo fleet). */
export async function twoFleetWorld(): Promise<TestWorld> {
  const world = await TestWorld.create({ demo: stagingAndProduction() });
  world.sim.seedFleet({ region: 'us-east-1', app: 'demo-stg' });
  world.sim.seedFleet({ region: 'us-east-1', app: 'demo' });
  return world;
}

/** Canaries a baked version in an environment, as alice, and has bob promote it, to the end of its deploy there. */
export async function promotedIn(world: TestWorld, bakery: Bakery, version: string, environment: string): Promise<void> {
  await bakery.handlers.onCommand(world.command(`demo ${version} --to ${environment}`, { command: '/canary', user: alice }));
  const asking = () => approvalRequest(world)?.text.includes(`*demo ${version}* to the whole fleet in ${environment}`) === true;
  await until(world, asking);
  await bakery.handlers.onButton(pressOn(approvalRequest(world)!, 'release.promote', bob));
  await until(world, async () => (await world.store.getLock('demo', 'deploy', environment)) === undefined);
  await bakery.runner.idle();
}
