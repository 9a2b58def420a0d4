import { CreateTagsCommand, DescribeVolumesCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { launchBuilder } from '../src/aws/builder.js';
import { createImage } from '../src/aws/images.js';
import { builderTags, type Provenance } from '../src/aws/provenance.js';
import { ABANDONED_AFTER_MS } from '../src/jobs/sweep-plan.js';
import type { Operation, OperationStatus } from '../src/store/items.js';
import { keys } from '../src/store/store.js';
import { alice, bob, mallory, releaseApp } from './support/lifecycle.js';
import { TestWorld } from './support/world.js';

const region = 'us-east-1';
const HOUR = 3_600_000;

/** An operation as Bakery keeps it, written straight to the table (a bake that ran in an earlier life). */
async function recordOperation(world: TestWorld, id: string, status: OperationStatus, options: { leaseUntil?: number; state?: Record<string, unknown> } = {}): Promise<void> {
  const { leaseUntil, state = {} } = options;
  const now = world.clock.now();
  const operation: Operation = {
    id, kind: 'bake', app: 'demo', version: 'v1', requestedBy: alice.id, channel: 'C0DEMO', params: {}, state, steps: [],
    status, createdAt: now - HOUR, updatedAt: now, revision: 3,
    ...(status === 'running' ? { lease: { owner: 'replica-gone', until: leaseUntil ?? now + 60_000 } } : { finishedAt: now }),
  };
  await world.doc.send(new PutCommand({ TableName: world.store.tableName, Item: { ...keys.operation(id), type: 'operation', ...operation } }));
}

/** What a bake leaves when its cleanup never ran: its builder, the image made from it (and its snapshot), a loose volume. */
async function leftoversOf(world: TestWorld, operationId: string) {
  const aws = world.sim.clients();
  const p: Provenance = { app: 'demo', version: 'v1', baseAmi: world.sim.snapshot().images[0]!.imageId, baseAmiName: 'al2023', requestedBy: alice.id, operationId };
  const builder = await launchBuilder(aws, releaseApp(), p.baseAmi, '', p);
  world.clock.advance(5 * 60_000); // booted, and visible to EC2
  const image = (await createImage(aws, region, builder, `demo-v1-${operationId}`, p))!;
  const tags = Object.fromEntries(builderTags(p).map((tag) => [tag.Key!, tag.Value!]));
  const volume = world.sim.seedVolume({ region, tags });
  world.clock.advance(15 * 60_000);
  const snapshot = world.sim.snapshot().images.find((candidate) => candidate.imageId === image)!.snapshotId;
  // What the bake wrote down of them (its image's snapshot EC2 names; the loose volume was its builder's).
  const recorded = { builderId: builder, imageId: image, builderVolumes: [volume] };
  return { builder, image, snapshot, volume, recorded };
}

async function looseVolumes(world: TestWorld): Promise<string[]> {
  const { Volumes = [] } = await (await world.sim.clients().ec2(region)).send(new DescribeVolumesCommand({ Filters: [{ Name: 'status', Values: ['available'] }] }));
  return Volumes.map((volume) => volume.VolumeId!);
}

const removals = (world: TestWorld, from = 0) =>
  world.sim.calls().slice(from).map((call) => call.command).filter((command) => /^(Terminate|Deregister|Delete)/.test(command));

describe('the sweep', () => {
  let world: TestWorld;
  beforeEach(async () => {
    world = await TestWorld.create({ demo: releaseApp() });
  });
  afterEach(async () => {
    await world.close();
  });

  it('removes what a failed bake left behind: its builder first, then its image, the image’s snapshot, and its volume', async () => {
    const left = await leftoversOf(world, 'op-failed-00000001');
    await recordOperation(world, 'op-failed-00000001', 'failed', { state: left.recorded });
    const bakery = world.replica();
    const from = world.sim.calls().length;

    const outcome = await bakery.sweep.sweep({ dryRun: false, by: 'schedule' });

    expect(outcome.removed.map(({ resource }) => `${resource.kind} ${resource.id}`)).toEqual([
      `builder ${left.builder}`, `image ${left.image}`, `snapshot ${left.snapshot}`, `volume ${left.volume}`,
    ]);
    expect(removals(world, from)).toEqual(['TerminateInstances', 'DeregisterImage', 'DeleteSnapshot', 'DeleteVolume']);
    expect(world.liveInstances()).toEqual([]);
    expect(world.bakedImages()).toEqual([]);
    expect(world.sim.snapshot().snapshots.map((s) => s.snapshotId)).not.toContain(left.snapshot);
    expect(await looseVolumes(world)).toEqual([]);
    expect(await world.store.getLastSweep()).toMatchObject({ removed: { builder: 1, image: 1, snapshot: 1, volume: 1 }, left: 0 });
    expect((await world.store.listAudit('demo')).map((entry) => entry.action)).toContain('leftovers swept');
  });

  it('leaves alone what Bakery did not tag, and what another Bakery (another table) made', async () => {
    const aws = world.sim.clients();
    const base = world.sim.snapshot().images[0]!.imageId;
    await (await aws.ec2(region)).send(new RunInstancesCommand({ ImageId: base, InstanceType: 't3.small', MinCount: 1, MaxCount: 1 }));
    const theirs = world.sim.seedVolume({ region, tags: { Name: 'scratch' } });
    const strangers = await leftoversOf(world, 'op-elsewhere-00000001'); // no such operation here
    const before = world.sim.snapshot();
    const from = world.sim.calls().length;

    const outcome = await world.replica().sweep.sweep({ dryRun: false, by: 'schedule' });

    expect(outcome.removed).toEqual([]);
    expect(removals(world, from)).toEqual([]);
    expect(world.liveInstances()).toHaveLength(2);
    expect(world.sim.snapshot().images).toEqual(before.images);
    expect(await looseVolumes(world)).toEqual([theirs, strangers.volume]);
    expect(outcome.plan.keep.find(({ resource }) => resource.id === strangers.builder)?.why).toBe("its operation op-elsewhere-00000001 is not in this Bakery's table");
  });

  it('removes only what the operation recorded: a resource tagged with an ended operation’s id is reported, never deleted', async () => {
    const left = await leftoversOf(world, 'op-failed-00000008');
    await recordOperation(world, 'op-failed-00000008', 'failed', { state: left.recorded });
    // Anyone with ec2:CreateTags can tag a production volume and snapshot (and an image) as that bake's.
    const ec2 = await world.sim.clients().ec2(region);
    const forged = Object.entries({ 'bakery:created-by': 'bakery', 'bakery:role': 'builder', 'bakery:operation': 'op-failed-00000008', 'bakery:app': 'demo' }).map(([Key, Value]) => ({ Key, Value }));
    const production = world.sim.seedVolume({ region, tags: { Name: 'orders-db' } });
    const [productionImage] = world.sim.seedImages(region, [{ name: 'orders-golden', tags: { Name: 'orders' }, createdAt: world.clock.now() }]);
    const productionSnapshot = world.sim.snapshot().images.find((image) => image.imageId === productionImage)!.snapshotId;
    world.clock.advance(10 * 60_000); // visible to EC2's API
    await ec2.send(new CreateTagsCommand({ Resources: [production, productionImage!, productionSnapshot], Tags: forged }));
    const bakery = world.replica();
    const from = world.sim.calls().length;

    const outcome = await bakery.sweep.sweep({ dryRun: false, by: 'schedule' });

    expect(outcome.removed.map(({ resource }) => resource.id)).toEqual([left.builder, left.image, left.snapshot, left.volume]);
    expect(removals(world, from)).toEqual(['TerminateInstances', 'DeregisterImage', 'DeleteSnapshot', 'DeleteVolume']);
    expect(await looseVolumes(world)).toEqual([production]);
    expect(world.sim.snapshot().images.map((image) => image.imageId)).toContain(productionImage);
    expect(world.sim.snapshot().snapshots.map((snapshot) => snapshot.snapshotId)).toContain(productionSnapshot);
    expect(outcome.plan.unrecorded.map(({ resource, why }) => `${resource.kind} ${resource.id}: ${why}`).sort()).toEqual(
      [`image ${productionImage}`, `volume ${production}`].map((what) => `${what}: tagged as bake op-failed-00000008's, which never recorded it: left alone`).sort(),
    );
    expect(await world.store.getLastSweep()).toMatchObject({ removed: { builder: 1, image: 1, snapshot: 1, volume: 1 }, unrecorded: 2 });

    const dry = await bakery.handlers.onCommand(world.command('sweep --dry-run', { command: '/bakery', user: mallory }));
    expect(dry?.lines).toContain(`Left alone: volume \`${production}\` us-east-1 (demo): tagged as bake op-failed-00000008's, which never recorded it: left alone`);
  });

  it('never touches a running bake’s builder, image or volume, even hours after its lease lapsed', async () => {
    await leftoversOf(world, 'op-running-00000001');
    await recordOperation(world, 'op-running-00000001', 'running', { leaseUntil: world.clock.now() - 3 * HOUR });
    const from = world.sim.calls().length;

    const outcome = await world.replica().sweep.sweep({ dryRun: false, by: 'schedule' });

    expect(outcome.removed).toEqual([]);
    expect(removals(world, from)).toEqual([]);
    // The builder, its root volume, the image, its snapshot and the loose volume.
    expect(outcome.plan.keep.map(({ why }) => why)).toEqual(Array(5).fill('its bake op-running-00000001 is running'));
  });

  it('takes an abandoned bake’s leftovers once its lease has lapsed for a day', async () => {
    const left = await leftoversOf(world, 'op-abandoned-00000001');
    await recordOperation(world, 'op-abandoned-00000001', 'running', { leaseUntil: world.clock.now() - ABANDONED_AFTER_MS - HOUR, state: left.recorded });

    const outcome = await world.replica().sweep.sweep({ dryRun: false, by: 'schedule' });

    expect(outcome.removed.map(({ resource }) => resource.id)).toEqual([left.builder, left.image, left.snapshot, left.volume]);
    expect(outcome.removed[0]!.why).toBe('a builder left running: its bake was abandoned (no replica for 25 h)');
  });

  it('keeps every image and snapshot of a bake that succeeded: baked images are not leaks', async () => {
    const bakery = world.replica();
    await bakery.handlers.onCommand(world.command('demo v1', { user: alice }));
    await bakery.runner.idle();
    const images = world.bakedImages();
    expect(images).toHaveLength(1);
    const from = world.sim.calls().length;

    const outcome = await bakery.sweep.sweep({ dryRun: false, by: 'schedule' });

    expect(outcome.removed).toEqual([]);
    expect(removals(world, from)).toEqual([]);
    expect(world.bakedImages()).toEqual(images);
    expect(outcome.plan.keep.map(({ resource }) => resource.kind).sort()).toEqual(['image', 'snapshot']);
  });

  it('changes nothing on a dry run, and records no sweep', async () => {
    const left = await leftoversOf(world, 'op-failed-00000002');
    await recordOperation(world, 'op-failed-00000002', 'cancelled', { state: left.recorded });
    const from = world.sim.calls().length;

    const outcome = await world.replica().sweep.sweep({ dryRun: true, by: alice.id });

    expect(outcome.plan.remove.map(({ resource }) => resource.id)).toEqual([left.builder, left.image, left.snapshot, left.volume]);
    expect(outcome.removed).toEqual([]);
    expect(removals(world, from)).toEqual([]);
    expect(world.liveInstances()).toHaveLength(1);
    expect(await world.store.getLastSweep()).toBeUndefined();
  });

  it('leaves what AWS refuses for the next sweep, which removes it', async () => {
    const left = await leftoversOf(world, 'op-failed-00000003');
    await recordOperation(world, 'op-failed-00000003', 'failed', { state: left.recorded });
    world.sim.inject({ kind: 'api-error', command: 'DeregisterImage', code: 'InvalidAMIID.Unavailable', message: 'The image is not available yet' });
    const bakery = world.replica();

    const first = await bakery.sweep.sweep({ dryRun: false, by: 'schedule' });
    // Its image stayed, so its snapshot is still in use: both wait for the next sweep.
    expect(first.left.map(({ resource, error }) => `${resource.kind} ${error.split(':')[0]}`)).toEqual(['image InvalidAMIID.Unavailable', 'snapshot InvalidSnapshot.InUse']);
    expect(first.removed.map(({ resource }) => resource.kind)).toEqual(['builder', 'volume']);

    world.clock.advance(HOUR);
    const second = await bakery.sweep.sweep({ dryRun: false, by: 'schedule' });
    expect(second.removed.map(({ resource }) => resource.id)).toEqual([left.image, left.snapshot]);
    expect(second.left).toEqual([]);
  });

  it('runs once per slot however many replicas share it', async () => {
    const left = await leftoversOf(world, 'op-failed-00000004');
    await recordOperation(world, 'op-failed-00000004', 'failed', { state: left.recorded });
    const slot = world.clock.now();
    const ran = [await world.replica('replica-a').sweep.runSlot(slot), await world.replica('replica-b').sweep.runSlot(slot)];
    expect(ran).toEqual([true, false]);
    expect(removals(world).filter((command) => command === 'TerminateInstances')).toHaveLength(1);
  });
});

describe('/bakery sweep', () => {
  let world: TestWorld;
  beforeEach(async () => {
    world = await TestWorld.create({ demo: releaseApp() });
  });
  afterEach(async () => {
    await world.close();
  });

  it('shows anyone what would go, and lets only an approver remove it', async () => {
    const left = await leftoversOf(world, 'op-failed-00000005');
    await recordOperation(world, 'op-failed-00000005', 'failed', { state: left.recorded });
    const bakery = world.replica();

    const dry = await bakery.handlers.onCommand(world.command('sweep --dry-run', { command: '/bakery', user: mallory }));
    expect(dry?.text).toBe('*Sweep* (dry run): 4 leftovers would go');
    expect(dry?.lines?.[0]).toBe(`Would remove: builder \`${left.builder}\` us-east-1 (demo v1): a builder left running: its bake failed`);

    const refused = await bakery.handlers.onCommand(world.command('sweep', { command: '/bakery', user: mallory }));
    expect(refused?.text).toMatch(/^Only an approver of an app may sweep for real/);
    expect(world.liveInstances()).toHaveLength(1);

    const done = await bakery.handlers.onCommand(world.command('sweep', { command: '/bakery', user: bob }));
    expect(done?.text).toBe('*Sweep*: 4 leftovers removed');
    expect(world.liveInstances()).toEqual([]);
  });

  it('lets a member of an approvers\' user group sweep for real', async () => {
    const left = await leftoversOf(world, 'op-failed-00000007');
    await recordOperation(world, 'op-failed-00000007', 'failed', { state: left.recorded });
    const config = (await world.store.getAppConfig('demo'))!;
    await world.store.putAppConfig('demo', { ...config, deploy: { ...config.deploy!, approvers: ['S0RELEASE'] } });
    world.chat.userGroups.set('S0RELEASE', [mallory.id]);
    const bakery = world.replica();

    const done = await bakery.handlers.onCommand(world.command('sweep', { command: '/bakery', user: mallory }));
    expect(done?.text).toBe('*Sweep*: 4 leftovers removed');
  });

  it('is reported in the digest: what the last sweep removed', async () => {
    const left = await leftoversOf(world, 'op-failed-00000006');
    await recordOperation(world, 'op-failed-00000006', 'failed', { state: left.recorded });
    const bakery = world.replica();
    await bakery.sweep.sweep({ dryRun: false, by: 'schedule' });

    await bakery.handlers.onCommand(world.command('digest', { command: '/bakery', user: alice }));
    const digest = world.chat.roots.at(-1)!.message;
    expect(digest.lines?.at(-1)).toMatch(/^Last sweep \(.+\) removed 1 builder, 1 volume, 1 image and 1 snapshot that ended operations left behind\.$/);
  });
});
