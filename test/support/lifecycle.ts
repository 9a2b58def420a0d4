import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import type { Bakery } from '../../src/bakery.js';
import type { ButtonPress } from '../../src/chat/surface.js';
import type { ChatMessage, ChatUser } from '../../src/message.js';
import { configIn, parseAppsFile, type AppConfig, type FleetAppConfig } from '../../src/config/apps.js';
import { environmentOf } from '../../src/config/environments.js';
import { whereIs } from './recording-chat.js';
import { TestWorld } from './world.js';

/** People in the lifecycle's stories: alice asks, bob approves, mallory may do neither. */
export const alice: ChatUser = { id: 'U0ALICE', name: 'alice' };
export const bob: ChatUser = { id: 'U0BOB', name: 'bob' };
export const mallory: ChatUser = { id: 'U0MALLORY', name: 'mallory' };

/** The demo app with a fleet to deploy to: the simulator's seeded demo fleet, judged minute by minute for 30 minutes. */
export function releaseApp(overrides: { strategy?: 'rolling' | 'red-black'; onFail?: 'rollback' | 'ask'; fourEyes?: boolean; approvalTtl?: string; weightedListener?: string; baseline?: 'live' | 'fresh' } = {}): FleetAppConfig {
  return fleetConfig(parseAppsFile('test apps', `
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
      group: demo-live
      launchTemplate: demo
      strategy: ${overrides.strategy ?? 'rolling'}
      traffic: ${overrides.weightedListener ? `{ mode: weighted, listener: "${overrides.weightedListener}", weight: 10 }` : '{ mode: shared }'}
      canary: { instances: 1, duration: 30m, interval: 1m, warmup: 3m, maxExtension: 15m, baseline: ${overrides.baseline ?? 'live'} }
      metrics:
        - { name: errors, label: 5xx rate, kind: count, namespace: Demo/App, metric: Errors5xx, stat: Sum, unit: errors,
            requests: { namespace: Demo/App, metric: Requests, stat: Sum }, tolerance: x1.5, critical: x5 }
        - { name: latency, label: p99 latency, kind: gauge, namespace: Demo/App, metric: LatencyP99, stat: Maximum, unit: ms, tolerance: +10%, critical: +200% }
        - { name: cpu, label: CPU, kind: gauge, namespace: AWS/EC2, metric: CPUUtilization, stat: Average, unit: '%', tolerance: +15%, gating: false }
      onFail: ${overrides.onFail ?? 'rollback'}
      approvers: [U0BOB, U0ALICE]
      fourEyes: ${overrides.fourEyes ?? true}
      approvalTtl: ${overrides.approvalTtl ?? '4h'}
      rolling: { minHealthyPercent: 66, warmup: 60s, alarms: [demo-5xx-high] }
`).demo!);
}

/** A config of one fleet, typed as such, so a spec reads its deploy fields directly. */
export function fleetConfig(config: AppConfig): FleetAppConfig {
  const environment = environmentOf(config);
  if (!environment || environment.name !== undefined) throw new Error('not an app of one fleet');
  return configIn(config, environment);
}

/** A world whose demo app has the simulator's seeded fleet to deploy to. */
export async function fleetWorld(config: AppConfig = releaseApp()): Promise<TestWorld> {
  const world = await TestWorld.create({ demo: config });
  world.sim.seedFleet({ region: 'us-east-1', app: 'demo' });
  return world;
}

/** Lets virtual time run until `done` holds (or fails the test after `limitMs` of it). */
export async function until(world: TestWorld, done: () => boolean | Promise<boolean>, limitMs = 6 * 3_600_000): Promise<void> {
  const deadline = world.clock.now() + limitMs;
  while (!(await done())) {
    if (world.clock.now() > deadline) throw new Error('the condition never held in virtual time');
    await world.clock.sleep(5_000);
  }
}

/**
 * Keeps virtual time from leaping ahead while real I/O is in flight (the clock jumps to the next
 * sleeper whenever the process is idle): it moves in steps of `stepMs` until stopped, so a latency
 * read off the clock is the one a person would see.
 */
export function tickEvery(world: TestWorld, stepMs: number): () => void {
  let ticking = true;
  void (async () => {
    while (ticking) await world.clock.sleep(stepMs);
  })();
  return () => {
    ticking = false;
  };
}

/** Bakes a version to the end, as /bake does. */
export async function bake(world: TestWorld, bakery: Bakery, version: string): Promise<void> {
  await bakery.handlers.onCommand(world.command(`demo ${version}`, { user: alice }));
  await until(world, async () => (await world.store.getRelease('demo', version)) !== undefined && (await world.store.getLock('demo')) === undefined);
}

/** Asks for a canary of a baked version, as alice. */
export async function canary(world: TestWorld, bakery: Bakery, version: string): Promise<void> {
  await bakery.handlers.onCommand(world.command(`demo ${version}`, { command: '/canary', user: alice }));
}

/** Bakes a version, canaries it and has bob promote it, to the end of the promotion. */
export async function promoted(world: TestWorld, bakery: Bakery, version: string): Promise<void> {
  await bake(world, bakery, version);
  await canary(world, bakery, version);
  await until(world, () => approvalRequest(world)?.text.includes(`demo ${version}`) === true);
  await bakery.handlers.onButton(pressOn(approvalRequest(world)!, 'release.promote', bob));
  await deployEnded(world, bakery);
}

/** Types /rollback and presses its confirm button, as a person would. */
export async function rollBack(world: TestWorld, bakery: Bakery, text = 'demo', user = bob): Promise<ChatMessage | undefined> {
  const confirm = await bakery.handlers.onCommand(world.command(text, { command: '/rollback', user }));
  if (!confirm?.buttons?.length) return confirm;
  return bakery.handlers.onButton(pressOn(confirm, 'rollback.confirm', user));
}

/** Every message of every thread, latest content, as text. */
export function everything(world: TestWorld): string {
  const text = (m: ChatMessage): string => [m.text, ...(m.lines ?? []), ...(m.context ?? [])].join('\n');
  return world.chat.roots.flatMap((root) => [text(root.message), ...root.replies.map(text)]).join('\n');
}

/** The approval request with its buttons, once it is posted. */
export function approvalRequest(world: TestWorld): ChatMessage | undefined {
  return world.chat.allReplies().findLast((reply) => reply.buttons?.some((button) => button.actionId === 'release.promote'));
}

export function pressOn(message: ChatMessage, actionId: string, user: ChatUser, requestId = `press-${Math.random()}`): ButtonPress {
  const button = message.buttons?.find((b) => b.actionId === actionId);
  if (!button) throw new Error(`no ${actionId} button on "${message.text}"`);
  const ref = whereIs(message);
  // A message the chat never posted is an answer shown only to the presser (/promote's copy, /rollback's confirm).
  return { actionId, value: button.value, user, team: 'T0HOME', channel: 'C0DEMO', channelName: 'demo', message: ref ? { ...ref, ephemeral: false } : { channel: 'C0DEMO', ts: '0.000001', ephemeral: true }, requestId };
}

export async function liveGroup(world: TestWorld) {
  const result = await (await world.sim.clients().autoScaling('us-east-1')).send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['demo-live'] }));
  return result.AutoScalingGroups?.[0];
}

export async function groupNames(world: TestWorld): Promise<string[]> {
  const result = await (await world.sim.clients().autoScaling('us-east-1')).send(new DescribeAutoScalingGroupsCommand({}));
  return (result.AutoScalingGroups ?? []).filter((group) => group.Status !== 'Delete in progress').map((group) => group.AutoScalingGroupName ?? '');
}

/** Waits until the app's deploy operation has ended, its summary posted. */
export async function deployEnded(world: TestWorld, bakery: Bakery): Promise<void> {
  await until(world, async () => (await world.store.getLock('demo', 'deploy')) === undefined);
  await bakery.runner.idle();
}

export async function operationOf(world: TestWorld, kind: 'canary' | 'rollback') {
  const lock = await world.store.getLock('demo', 'deploy');
  return lock?.kind === kind ? world.store.getOperation(lock.operationId) : undefined;
}
