import {
  CopyImageCommand,
  CreateImageCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSnapshotAttributeCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  DeleteVolumeCommand,
  EC2Client,
  EC2ServiceException,
  GetConsoleOutputCommand,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { GetParameterCommand, ParameterAlreadyExists, ParameterNotFound, PutParameterCommand } from '@aws-sdk/client-ssm';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { paginateDescribeImages } from '@aws-sdk/client-ec2';
import { VirtualClock } from '../src/clock.js';
import { AwsSimulator, realisticTimings as t, type Fault } from '../src/aws/simulator/index.js';
import { builderUserData } from '../src/pipelines/bake/user-data.js';
import { demoApp } from './support/world.js';

const AL2023 = '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64';
const region = 'us-east-1';

async function setup(options: { dataFile?: string; clock?: VirtualClock } = {}) {
  const clock = options.clock ?? new VirtualClock();
  const sim = new AwsSimulator({ clock, dataFile: options.dataFile });
  const aws = sim.clients();
  return { clock, sim, ec2: await aws.ec2(region), ssm: await aws.ssm(region), aws };
}

async function baseImage(ssm: Awaited<ReturnType<typeof setup>>['ssm']): Promise<string> {
  const { Parameter } = await ssm.send(new GetParameterCommand({ Name: AL2023 }));
  return Parameter!.Value!;
}

function builder(imageId: string, app = 'demo', extra: Partial<RunInstancesCommandInput> = {}): RunInstancesCommandInput {
  const userData = ['#!/bin/bash', "BAKERY_ARTIFACT_URL='https://example.com/demo-v1.tgz'", `key='${K}'`].join('\n');
  return {
    ImageId: imageId,
    MinCount: 1,
    MaxCount: 1,
    InstanceType: 't3.small',
    SubnetId: 'subnet-0123456789abcdef0',
    SecurityGroupIds: ['sg-0123456789abcdef0'],
    IamInstanceProfile: { Name: 'bakery-builder' },
    UserData: Buffer.from(userData).toString('base64'),
    InstanceInitiatedShutdownBehavior: 'terminate',
    TagSpecifications: [
      { ResourceType: 'instance', Tags: [{ Key: 'bakery:app', Value: app }, { Key: 'bakery:role', Value: 'builder' }] },
      { ResourceType: 'volume', Tags: [{ Key: 'bakery:app', Value: app }] },
    ],
    ...extra,
  };
}

/** Launches a builder and waits out EC2's eventual consistency, so that describes know the new id. */
async function launch(env: Awaited<ReturnType<typeof setup>>, app = 'demo'): Promise<string> {
  const { Instances } = await env.ec2.send(new RunInstancesCommand(builder(await baseImage(env.ssm), app)));
  env.clock.advance(t.newIdInvisibleMs);
  return Instances![0]!.InstanceId!;
}

async function stateOf(ec2: EC2Client, instanceId: string): Promise<string | undefined> {
  const { Reservations } = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  return Reservations?.[0]?.Instances?.[0]?.State?.Name;
}

async function imageStateOf(ec2: EC2Client, imageId: string): Promise<string | undefined> {
  const { Images } = await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }));
  return Images?.[0]?.State;
}

/** The key Bakery's console lines carry, in the user data below. */
const K = '0123456789abcdef0123456789abcdef';
const said = (event: string) => `bakery:${K} ${event}`;
const result = (outcome: string) => `BAKERY_RESULT=${K} ${outcome}`;

async function consoleOf(ec2: EC2Client, instanceId: string, Latest = true): Promise<string[]> {
  const { Output } = await ec2.send(new GetConsoleOutputCommand({ InstanceId: instanceId, Latest }));
  return Output ? Buffer.from(Output, 'base64').toString('utf8').trimEnd().split('\n') : [];
}

async function failure(promise: Promise<unknown>): Promise<EC2ServiceException & { name: string }> {
  try {
    await promise;
  } catch (error) {
    return error as EC2ServiceException;
  }
  throw new Error('expected the call to fail');
}

/** Long enough for any builder script to have finished and its output to show. */
const wholeScript = t.bootMs + t.provisionMs + t.consoleDelayMs;

describe('simulated AWS', () => {
  it('starts with Amazon Linux 2023 in us-east-1 and eu-west-1, resolvable through the public SSM parameter', async () => {
    const { aws } = await setup();
    for (const r of ['us-east-1', 'eu-west-1']) {
      const id = await baseImage(await aws.ssm(r));
      expect(id).toMatch(/^ami-[0-9a-f]{17}$/);
      const { Images } = await (await aws.ec2(r)).send(
        new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'name', Values: ['al2023-ami-2023.*-x86_64'] }] }),
      );
      expect(Images).toHaveLength(1);
      expect(Images![0]).toMatchObject({ ImageId: id, State: 'available', ImageOwnerAlias: 'amazon', RootDeviceType: 'ebs' });
      expect(Images![0]!.BlockDeviceMappings![0]!.Ebs!.SnapshotId).toMatch(/^snap-[0-9a-f]{17}$/);
    }
    const { Images: mine } = await (await aws.ec2(region)).send(new DescribeImagesCommand({ Owners: ['self'] }));
    expect(mine).toEqual([]);
  });

  it('publishes a newer Amazon Linux on request: the parameter moves to an image anyone can describe at once, also after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-base-'));
    try {
      const clock = new VirtualClock();
      const dataFile = join(dir, 'aws.json');
      const first = await setup({ dataFile, clock });
      const old = await baseImage(first.ssm);
      const published = first.sim.publishNewerAmazonLinux();
      expect(published.name).toMatch(/^al2023-ami-2023\.7\.\d{8}\.0-kernel-6\.1-x86_64$/);
      for (const r of ['us-east-1', 'eu-west-1']) {
        const id = await baseImage(await first.aws.ssm(r));
        expect(id).toBe(published.images[r]);
        // No wait for EC2's eventual consistency: the image was registered before the parameter moved.
        const { Images } = await (await first.aws.ec2(r)).send(new DescribeImagesCommand({ ImageIds: [id], Owners: ['amazon'] }));
        expect(Images![0]).toMatchObject({ Name: published.name, State: 'available', Description: expect.stringContaining('2023.7.') });
      }
      expect(published.images[region]).not.toBe(old);

      // Bakery restarts: the parameter and the images it points at come back together; a second publish is newer still.
      const second = await setup({ dataFile, clock });
      expect(await baseImage(second.ssm)).toBe(published.images[region]);
      const again = second.sim.publishNewerAmazonLinux();
      expect(again.name).toMatch(/\.1-kernel-6\.1-x86_64$/);
      expect(await baseImage(second.ssm)).toBe(again.images[region]);
      const { Images } = await second.ec2.send(new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'name', Values: ['al2023-ami-2023.*-x86_64'] }] }));
      expect(Images!.map((image) => image.Name)).toEqual([expect.stringContaining('2023.6.'), published.name, again.name]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('boots an instance, and terminates it; a terminated instance stays visible for a while', async () => {
    const env = await setup();
    const instanceId = await launch(env);
    expect(instanceId).toMatch(/^i-[0-9a-f]{17}$/);
    expect(await stateOf(env.ec2, instanceId)).toBe('pending');
    env.clock.advance(t.bootMs - t.newIdInvisibleMs);
    expect(await stateOf(env.ec2, instanceId)).toBe('running');

    const { TerminatingInstances } = await env.ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
    expect(TerminatingInstances![0]).toMatchObject({
      PreviousState: { Name: 'running', Code: 16 },
      CurrentState: { Name: 'shutting-down', Code: 32 },
    });
    // Terminating again is harmless.
    await env.ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
    env.clock.advance(t.terminateMs);
    expect(await stateOf(env.ec2, instanceId)).toBe('terminated');
    const { Reservations } = await env.ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'tag:bakery:app', Values: ['demo'] }, { Name: 'instance-state-name', Values: ['pending', 'running'] }] }),
    );
    expect(Reservations).toEqual([]);
    env.clock.advance(2 * 3_600_000);
    expect((await failure(stateOf(env.ec2, instanceId))).name).toBe('InvalidInstanceID.NotFound');
  });

  it('treats a repeated client token as the same launch, and a changed request under it as a mismatch', async () => {
    const env = await setup();
    const input = builder(await baseImage(env.ssm), 'demo', { ClientToken: 'bake-op-1-builder' });
    const first = await env.ec2.send(new RunInstancesCommand(input));
    const again = await env.ec2.send(new RunInstancesCommand(input));
    env.clock.advance(t.newIdInvisibleMs);
    expect(again.ReservationId).toBe(first.ReservationId);
    expect(again.Instances![0]!.InstanceId).toBe(first.Instances![0]!.InstanceId);
    expect(env.sim.snapshot().instances).toHaveLength(1);

    const { Reservations } = await env.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'client-token', Values: ['bake-op-1-builder'] }] }));
    expect(Reservations?.[0]?.Instances?.[0]?.InstanceId).toBe(first.Instances![0]!.InstanceId);

    const error = await failure(env.ec2.send(new RunInstancesCommand({ ...input, InstanceType: 't3.large' })));
    expect(error.name).toBe('IdempotentParameterMismatch');
    expect(env.sim.snapshot().instances).toHaveLength(1);
  });

  it('creates, tags, shares, copies and cleans up an image over time', async () => {
    const env = await setup();
    const instanceId = await launch(env);
    env.clock.advance(t.bootMs);
    const tags = [{ Key: 'bakery:app', Value: 'demo' }, { Key: 'bakery:version', Value: 'v1' }];
    const { ImageId } = await env.ec2.send(
      new CreateImageCommand({
        InstanceId: instanceId,
        Name: 'bakery/demo/v1 (2026-01-01 12.00)',
        Description: 'demo v1',
        TagSpecifications: [{ ResourceType: 'image', Tags: tags }, { ResourceType: 'snapshot', Tags: tags }],
      }),
    );
    const imageId = ImageId!;
    env.clock.advance(t.newIdInvisibleMs);
    expect(await imageStateOf(env.ec2, imageId)).toBe('pending');
    const duplicate = await failure(env.ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: 'bakery/demo/v1 (2026-01-01 12.00)' })));
    expect(duplicate.name).toBe('InvalidAMIName.Duplicate');
    const malformed = await failure(env.ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: 'demo;rm -rf' })));
    expect(malformed.name).toBe('InvalidAMIName.Malformed');

    env.clock.advance(t.imageMs);
    const { Images } = await env.ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'tag:bakery:version', Values: ['v1'] }] }));
    expect(Images).toHaveLength(1);
    expect(Images![0]).toMatchObject({ ImageId: imageId, State: 'available', OwnerId: '123456789012', Description: 'demo v1' });
    const snapshotId = Images![0]!.BlockDeviceMappings![0]!.Ebs!.SnapshotId!;
    const { Snapshots } = await env.ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'tag:bakery:app', Values: ['demo'] }] }));
    expect(Snapshots!.map((s) => [s.SnapshotId, s.State])).toEqual([[snapshotId, 'completed']]);

    // Share with another account, image and snapshot.
    await env.ec2.send(new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Add: [{ UserId: '210987654321' }] } }));
    await env.ec2.send(new ModifySnapshotAttributeCommand({ SnapshotId: snapshotId, Attribute: 'createVolumePermission', OperationType: 'add', UserIds: ['210987654321'] }));
    const launchPermission = await env.ec2.send(new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: 'launchPermission' }));
    expect(launchPermission.LaunchPermissions).toEqual([{ UserId: '210987654321' }]);
    const volumePermission = await env.ec2.send(new DescribeSnapshotAttributeCommand({ SnapshotId: snapshotId, Attribute: 'createVolumePermission' }));
    expect(volumePermission.CreateVolumePermissions).toEqual([{ UserId: '210987654321' }]);

    // Copy to eu-west-1, through that region's client; the client token makes a retried copy the same copy.
    const eu = await env.aws.ec2('eu-west-1');
    const copyInput = { SourceImageId: imageId, SourceRegion: region, Name: 'bakery/demo/v1 (2026-01-01 12.00)', CopyImageTags: true, ClientToken: 'copy-1' };
    const copy = await eu.send(new CopyImageCommand(copyInput));
    expect((await eu.send(new CopyImageCommand(copyInput))).ImageId).toBe(copy.ImageId);
    env.clock.advance(t.newIdInvisibleMs);
    expect(await imageStateOf(eu, copy.ImageId!)).toBe('pending');
    env.clock.advance(t.copyMs);
    const { Images: copies } = await eu.send(new DescribeImagesCommand({ ImageIds: [copy.ImageId!] }));
    expect(copies![0]).toMatchObject({ State: 'available', SourceImageId: imageId, SourceImageRegion: region });
    expect(copies![0]!.Tags).toEqual(tags);
    // Regions are separate worlds.
    expect((await failure(env.ec2.send(new DescribeImagesCommand({ ImageIds: [copy.ImageId!] })))).name).toBe('InvalidAMIID.NotFound');

    // Clean up: the snapshot cannot go while its image is registered.
    expect((await failure(env.ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })))).name).toBe('InvalidSnapshot.InUse');
    await env.ec2.send(new DeregisterImageCommand({ ImageId: imageId }));
    await env.ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
    expect((await env.ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images).toEqual([]);
    expect(env.sim.snapshot().snapshots.some((s) => s.snapshotId === snapshotId)).toBe(false);
  });

  it('shows an image’s tags only to the account that owns it, as EC2 does: another account’s image shows none', async () => {
    const env = await setup();
    const own = env.sim.seedBaseImage({ region, name: 'shop-v3', tags: { 'bakery:app': 'shop' } });
    const theirs = env.sim.seedBaseImage({ region, name: 'vendor-v3', ownerId: '999988887777', tags: { 'bakery:app': 'shop' } });
    const { Images = [] } = await env.ec2.send(new DescribeImagesCommand({ ImageIds: [own, theirs] }));
    expect(Images.find((image) => image.ImageId === own)?.Tags).toEqual([{ Key: 'bakery:app', Value: 'shop' }]);
    expect(Images.find((image) => image.ImageId === theirs)?.Tags ?? []).toEqual([]);
    const tagged = await env.ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'tag:bakery:app', Values: ['shop'] }] }));
    expect(tagged.Images?.map((image) => image.ImageId)).toEqual([own]);
  });

  it('tags existing resources, and rejects unknown ids with the matching NotFound code', async () => {
    const env = await setup();
    const instanceId = await launch(env);
    await env.ec2.send(new CreateTagsCommand({ Resources: [instanceId], Tags: [{ Key: 'Name', Value: 'bakery builder' }] }));
    const { Reservations } = await env.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: ['bakery *'] }] }));
    expect(Reservations?.[0]?.Instances?.[0]?.InstanceId).toBe(instanceId);
    const error = await failure(env.ec2.send(new CreateTagsCommand({ Resources: [instanceId, 'ami-0123456789abcdef0'], Tags: [{ Key: 'x', Value: 'y' }] })));
    expect(error.name).toBe('InvalidAMIID.NotFound');
    expect(env.sim.snapshot().instances[0]!.tags.x).toBeUndefined();
  });

  it('is eventually consistent: a new instance or image is unknown to describes and CreateTags for a few seconds', async () => {
    const env = await setup();
    const { Instances } = await env.ec2.send(new RunInstancesCommand(builder(await baseImage(env.ssm))));
    const instanceId = Instances![0]!.InstanceId!;
    const tag = (id: string) => env.ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'x', Value: 'y' }] }));
    expect((await failure(stateOf(env.ec2, instanceId))).name).toBe('InvalidInstanceID.NotFound');
    expect((await failure(consoleOf(env.ec2, instanceId))).name).toBe('InvalidInstanceID.NotFound');
    expect((await failure(tag(instanceId))).name).toBe('InvalidInstanceID.NotFound');
    const { Reservations } = await env.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:bakery:app', Values: ['demo'] }] }));
    expect(Reservations).toEqual([]);
    env.clock.advance(t.newIdInvisibleMs);
    expect(await stateOf(env.ec2, instanceId)).toBe('pending');
    await tag(instanceId);

    env.clock.advance(t.bootMs);
    const { ImageId } = await env.ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: 'demo-v1' }));
    expect((await failure(imageStateOf(env.ec2, ImageId!))).name).toBe('InvalidAMIID.NotFound');
    expect((await failure(tag(ImageId!))).name).toBe('InvalidAMIID.NotFound');
    expect((await env.ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images).toEqual([]);
    env.clock.advance(t.newIdInvisibleMs);
    expect(await imageStateOf(env.ec2, ImageId!)).toBe('pending');
    await tag(ImageId!);
  });

  it('pages describes as EC2 does: everything without MaxResults, else pages and a NextToken', async () => {
    const env = await setup();
    env.sim.seedImages(region, Array.from({ length: 12 }, (_, n) => ({ name: `demo-v${n}`, tags: { 'bakery:created-by': 'bakery' }, createdAt: env.clock.now() - 3_600_000 })));
    const ours = [{ Name: 'tag:bakery:created-by', Values: ['bakery'] }];
    expect((await env.ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: ours }))).Images).toHaveLength(12);
    const first = await env.ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: ours, MaxResults: 5 }));
    expect(first.Images).toHaveLength(5);
    expect(first.NextToken).toBeDefined();
    const pages = [];
    for await (const page of paginateDescribeImages({ client: env.ec2, pageSize: 5 }, { Owners: ['self'], Filters: ours })) pages.push(page.Images?.length);
    expect(pages).toEqual([5, 5, 2]);
    expect((await failure(env.ec2.send(new DescribeImagesCommand({ ImageIds: [first.Images![0]!.ImageId!], MaxResults: 5 })))).name).toBe('InvalidParameterCombination');
    expect((await failure(env.ec2.send(new DescribeImagesCommand({ Owners: ['self'], NextToken: 'bm9wZQ==' })))).name).toBe('InvalidPaginationToken');
    const tooMany = Array.from({ length: 201 }, (_, n) => `ami-${String(n).padStart(17, '0')}`);
    expect((await failure(env.ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'image-id', Values: tooMany }] })))).name).toBe('FilterLimitExceeded');
  });

  it('keeps a root volume in use while its instance lives and deletes it with it; a loose volume can be deleted', async () => {
    const env = await setup();
    const instanceId = await launch(env);
    const loose = env.sim.seedVolume({ region, tags: { 'bakery:created-by': 'bakery' } });
    const volumes = async () => (await env.ec2.send(new DescribeVolumesCommand({}))).Volumes!.map((v) => `${v.VolumeId} ${v.State}`);
    const root = (await env.ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }] }))).Volumes![0]!.VolumeId!;
    expect(await volumes()).toEqual([`${root} in-use`, `${loose} available`]);
    expect((await failure(env.ec2.send(new DeleteVolumeCommand({ VolumeId: root })))).name).toBe('VolumeInUse');
    await env.ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
    env.clock.advance(t.terminateMs);
    await env.ec2.send(new DeleteVolumeCommand({ VolumeId: loose }));
    expect(await volumes()).toEqual([]);
    expect((await failure(env.ec2.send(new DeleteVolumeCommand({ VolumeId: loose })))).name).toBe('InvalidVolume.NotFound');
  });

  it("returns the SDK's own error shapes", async () => {
    const env = await setup();
    const notFound = await failure(env.ec2.send(new DescribeImagesCommand({ ImageIds: ['ami-0123456789abcdef0'] })));
    expect(notFound).toBeInstanceOf(EC2ServiceException);
    expect(notFound.name).toBe('InvalidAMIID.NotFound');
    expect(notFound.$fault).toBe('client');
    expect(notFound.$metadata.httpStatusCode).toBe(400);
    expect(notFound.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);

    expect((await failure(env.ec2.send(new DescribeImagesCommand({ ImageIds: ['ami-nope'] })))).name).toBe('InvalidAMIID.Malformed');
    expect((await failure(env.ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })))).name).toBe('InvalidInstanceID.NotFound');
    expect((await failure(env.ec2.send(new RunInstancesCommand(builder('ami-0123456789abcdef0'))))).name).toBe('InvalidAMIID.NotFound');
    expect((await failure(env.ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'nmae', Values: ['x'] }] })))).name).toBe('InvalidParameterValue');
    const largeUserData = Buffer.from('#'.repeat(16 * 1024 + 1)).toString('base64');
    expect((await failure(env.ec2.send(new RunInstancesCommand(builder(await baseImage(env.ssm), 'demo', { UserData: largeUserData })))))).toMatchObject({ name: 'InvalidParameterValue', message: 'User data is limited to 16384 bytes' });

    const unsupported = await failure(env.ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' })));
    expect(unsupported).toBeInstanceOf(EC2ServiceException);
    expect(unsupported.name).toBe('UnsupportedOperation');
    expect(unsupported.message).toContain('CreateVpc');

    const missing = await failure(env.ssm.send(new GetParameterCommand({ Name: '/bakery/nope' })));
    expect(missing).toBeInstanceOf(ParameterNotFound);
    expect(missing.$metadata.httpStatusCode).toBe(400);
    await env.ssm.send(new PutParameterCommand({ Name: '/bakery/x', Value: '1', Type: 'String' }));
    expect(await failure(env.ssm.send(new PutParameterCommand({ Name: '/bakery/x', Value: '2', Type: 'String' })))).toBeInstanceOf(ParameterAlreadyExists);
    const put = await env.ssm.send(new PutParameterCommand({ Name: '/bakery/x', Value: '2', Type: 'String', Overwrite: true }));
    expect(put.Version).toBe(2);
  });

  it("lets the SDK's own retry absorb throttling, counting every attempt", { timeout: 30_000 }, async () => {
    const env = await setup();
    const imageId = await baseImage(env.ssm);
    env.sim.inject({ kind: 'throttle', command: 'RunInstances', times: 2 });
    const result = await env.ec2.send(new RunInstancesCommand(builder(imageId)));
    expect(result.$metadata.attempts).toBe(3);
    expect(env.sim.calls().filter((call) => call.command === 'RunInstances')).toHaveLength(3);
    expect(env.sim.snapshot().instances).toHaveLength(1);

    env.sim.inject({ kind: 'throttle', command: 'GetParameter', times: 1 });
    expect(await baseImage(env.ssm)).toBe(imageId);
    expect(env.sim.calls().filter((call) => call.command === 'GetParameter')).toHaveLength(3);

    // Without retries left, the throttling error itself, as EC2 sends it.
    const impatient = new EC2Client({ region, maxAttempts: 1, credentials: { accessKeyId: 'SIMULATED', secretAccessKey: 'SIMULATED' } });
    env.sim.attach(impatient, region, 'ec2');
    env.sim.inject({ kind: 'throttle', times: 1 });
    const throttled = await failure(impatient.send(new DescribeImagesCommand({ Owners: ['self'] })));
    expect(throttled.name).toBe('RequestLimitExceeded');
    expect(throttled.$metadata.httpStatusCode).toBe(503);
  });

  it('fails a chosen call with an API error before it changes anything', async () => {
    const env = await setup();
    const instanceId = await launch(env);
    env.clock.advance(t.bootMs);
    env.sim.inject({ kind: 'api-error', command: 'CreateImage', code: 'InvalidParameterValue', message: 'boom' });
    const error = await failure(env.ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: 'demo-v1' })));
    expect(error).toMatchObject({ name: 'InvalidParameterValue', message: 'boom' });
    expect(env.sim.snapshot().images.filter((image) => image.ownerId === '123456789012')).toEqual([]);
    await env.ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: 'demo-v1' }));
    expect(env.sim.snapshot().images.filter((image) => image.name === 'demo-v1')).toHaveLength(1);
  });

  it('persists the world to its data file: a restarted simulator finds it as it was, with time moved on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bakery-sim-'));
    try {
      const dataFile = join(dir, 'nested', 'aws.json');
      const clock = new VirtualClock();
      const first = await setup({ dataFile, clock });
      const instanceId = await launch(first);
      first.sim.inject({ kind: 'image-stuck', app: 'other' });
      expect(await stateOf(first.ec2, instanceId)).toBe('pending');

      clock.advance(t.bootMs - t.newIdInvisibleMs);
      const second = await setup({ dataFile, clock });
      expect(await stateOf(second.ec2, instanceId)).toBe('running');
      expect(second.sim.snapshot().instances[0]).toMatchObject({ instanceId, artifactUrl: 'https://example.com/demo-v1.tgz' });
      // Ids go on from where the first process left them, and the base image is not seeded twice.
      const another = await launch(second);
      expect(another).not.toBe(instanceId);
      expect(second.sim.snapshot().images).toHaveLength(2);
      // Faults survive too: 'other' images get stuck.
      const stuck = await launch(second, 'other');
      clock.advance(t.bootMs);
      const { ImageId } = await second.ec2.send(new CreateImageCommand({ InstanceId: stuck, Name: 'other-v1' }));
      clock.advance(10 * t.imageMs);
      expect(await imageStateOf(second.ec2, ImageId!)).toBe('pending');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('the builder console', () => {
    it('prints the protocol of a successful bake, each line on the latest console as it is printed', async () => {
      const env = await setup();
      const instanceId = await launch(env);
      expect(await consoleOf(env.ec2, instanceId)).toEqual([]);
      env.clock.advance(t.bootMs - t.newIdInvisibleMs);
      expect((await consoleOf(env.ec2, instanceId)).at(-1)).toBe(said('download started'));
      env.clock.advance(t.provisionMs);
      const lines = await consoleOf(env.ec2, instanceId);
      const protocol = lines.filter((line) => line.startsWith(`bakery:${K} `) || line.startsWith('BAKERY_RESULT=')).filter((line) => !line.includes('sha256'));
      expect(protocol).toEqual([
        said('download started'),
        said('download done'),
        said('provision started'),
        said('provision done'),
        said('smoke started'),
        said('smoke done'),
        said('scrub started'),
        said('scrub done'),
        result('success'),
      ]);
      expect(lines.length).toBeGreaterThan(protocol.length);
    });

    it('without Latest, shows only what EC2 buffered at the last start, stop or terminate', async () => {
      const env = await setup();
      const instanceId = await launch(env);
      env.clock.advance(t.bootMs + t.consoleDelayMs);
      expect((await consoleOf(env.ec2, instanceId, false)).at(-1)).toBe(said('download started'));
      env.clock.advance(t.provisionMs);
      expect(await consoleOf(env.ec2, instanceId, false)).not.toContain(said('provision started'));
      expect((await consoleOf(env.ec2, instanceId)).at(-1)).toBe(result('success'));
      await env.ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
      expect(await consoleOf(env.ec2, instanceId, false)).not.toContain(result('success'));
      env.clock.advance(t.consoleDelayMs);
      expect((await consoleOf(env.ec2, instanceId, false)).at(-1)).toBe(result('success'));
    });

    it('refuses the latest console on a Xen instance type, as EC2 does', async () => {
      const env = await setup();
      const { Instances } = await env.ec2.send(new RunInstancesCommand(builder(await baseImage(env.ssm), 'demo', { InstanceType: 't2.micro' })));
      const instanceId = Instances![0]!.InstanceId!;
      env.clock.advance(wholeScript);
      const error = await failure(consoleOf(env.ec2, instanceId));
      expect(error.name).toBe('UnsupportedOperation');
      expect(error.message).toContain('latest console output is not supported');
      expect((await consoleOf(env.ec2, instanceId, false)).at(-1)).toBe(said('download started'));
    });

    const failures: [Fault['kind'], string, string][] = [
      ['download-fails', result('failure phase=download'), '| curl: (22) The requested URL returned error: 404'],
      ['provision-fails', result('failure phase=provision'), '| Error: Unable to find a match: libapp-missing'],
      ['smoke-fails', result('failure phase=smoke'), said('smoke started')],
    ];
    for (const [kind, expected, before] of failures) {
      it(`reports ${kind} with the failing phase after its error lines`, async () => {
        const env = await setup();
        env.sim.inject({ kind, app: 'demo' } as Fault);
        const failing = await launch(env, 'demo');
        const healthy = await launch(env, 'other');
        env.clock.advance(wholeScript);
        const lines = await consoleOf(env.ec2, failing);
        expect(lines.at(-1)).toBe(expected);
        expect(lines).toContain(before);
        expect(lines).toContain(said(`${expected.split('phase=')[1]} failed`));
        expect((await consoleOf(env.ec2, healthy)).at(-1)).toBe(result('success'));
      });
    }

    it('shows a hung builder stopping after "provision started", forever', async () => {
      const env = await setup();
      env.sim.inject({ kind: 'builder-hangs' });
      const instanceId = await launch(env);
      env.clock.advance(10 * wholeScript);
      expect(await stateOf(env.ec2, instanceId)).toBe('running');
      expect((await consoleOf(env.ec2, instanceId)).at(-1)).toBe(said('provision started'));
    });

    it("reads the artifact URL and the digests to check from Bakery's own user data", async () => {
      const env = await setup();
      const config = { ...demoApp, artifactUrl: 'https://releases.example.com/demo/{version}.tgz', artifactDigest: 'published' as const };
      const userData = builderUserData({ app: 'demo', config, version: 'v1', operationId: 'op-abc-12345678', resultKey: K, artifactSha256: 'ab'.repeat(32) });
      await env.ec2.send(new RunInstancesCommand(builder(await baseImage(env.ssm), 'demo', { UserData: userData })));
      expect(env.sim.snapshot().instances[0]).toMatchObject({
        artifactUrl: 'https://releases.example.com/demo/v1.tgz',
        expectedSha256: 'ab'.repeat(32),
        digestUrl: 'https://releases.example.com/demo/v1.tgz.sha256',
      });
    });

    it('stops printing once the instance is terminated', async () => {
      const env = await setup();
      const instanceId = await launch(env);
      env.clock.advance(t.bootMs + 1);
      await env.ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
      env.clock.advance(wholeScript);
      expect(await consoleOf(env.ec2, instanceId)).not.toContain(result('success'));
    });
  });
});

describe('an image’s last launch (lastLaunchedTime)', () => {
  it('is empty until a launch, reported a day after it, by this account or one the image is shared with', async () => {
    const { clock, sim, ec2 } = await setup();
    const [own] = sim.seedImages(region, [{ name: 'demo-v1', tags: {}, createdAt: clock.now() - 3_600_000 }]);
    const lastLaunch = async () => (await ec2.send(new DescribeImageAttributeCommand({ ImageId: own, Attribute: 'lastLaunchedTime' }))).LastLaunchedTime;
    expect(await lastLaunch()).toEqual({});

    const launchedAt = clock.now();
    await ec2.send(new RunInstancesCommand({ ImageId: own, InstanceType: 't3.small', MinCount: 1, MaxCount: 1 }));
    clock.advance(23 * 3_600_000);
    expect(await lastLaunch()).toEqual({});
    clock.advance(3_600_000);
    expect(await lastLaunch()).toEqual({ Value: new Date(launchedAt).toISOString().replace(/\.\d{3}Z$/, 'Z') });
    const { Images = [] } = await ec2.send(new DescribeImagesCommand({ ImageIds: [own!] }));
    expect(Images[0]?.LastLaunchedTime).toBe((await lastLaunch())?.Value);

    // Another account may launch it only once it is shared with it; the owner sees that launch too.
    expect(() => sim.launchInAccount(own!, '210987654321')).toThrow(/not shared/);
    await ec2.send(new ModifyImageAttributeCommand({ ImageId: own, LaunchPermission: { Add: [{ UserId: '210987654321' }] } }));
    const elsewhereAt = clock.now();
    sim.launchInAccount(own!, '210987654321');
    clock.advance(24 * 3_600_000);
    expect(await lastLaunch()).toEqual({ Value: new Date(elsewhereAt).toISOString().replace(/\.\d{3}Z$/, 'Z') });
  });
});
