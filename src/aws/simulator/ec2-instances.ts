import type {
  DescribeInstancesCommandInput,
  GetConsoleOutputCommandInput,
  HttpTokensState,
  Instance,
  RunInstancesCommandInput,
  StopInstancesCommandInput,
  TerminateInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { supportsLatestConsole } from '../instance-types.js';
import { artifactUrlOf, consoleLines, digestUrlOf, expectedSha256Of, shutdownDelayOf } from './builder.js';
import { instanceSettled, requireSettledInstances } from './ec2-visibility.js';
import { findImage, findInstances, idempotent, required, state, type HandlerContext } from './context.js';
import { defaultVolumeKey } from './kms.js';
import { fail } from './errors.js';
import { applyFilters, tagList, tagsFromSpecifications } from './filters.js';
import { recordLaunch } from './image-launches.js';
import { page } from './pagination.js';
import { imageState, instanceState, instanceStateCodes, instanceVisible, nextId, type InstanceRecord } from './world.js';

function describe(ctx: HandlerContext, instance: InstanceRecord): Instance {
  const name = instanceState(instance, ctx.now);
  return {
    InstanceId: instance.instanceId,
    ImageId: instance.imageId,
    InstanceType: instance.instanceType as Instance['InstanceType'],
    State: { Code: instanceStateCodes[name], Name: name },
    StateTransitionReason: instance.shutdownByItself ? 'Client.InstanceInitiatedShutdown: Instance initiated shutdown' : instance.terminateRequestedAt !== undefined ? 'User initiated' : '',
    LaunchTime: new Date(instance.launchedAt),
    Placement: { AvailabilityZone: `${instance.region}a`, Tenancy: 'default' },
    PrivateIpAddress: name === 'terminated' ? undefined : instance.privateIp,
    SubnetId: name === 'terminated' ? undefined : instance.subnetId,
    SecurityGroups: instance.securityGroupIds.map((GroupId) => ({ GroupId, GroupName: GroupId })),
    IamInstanceProfile: instance.iamInstanceProfileArn ? { Arn: instance.iamInstanceProfileArn, Id: 'AIPAVSIMULATED' } : undefined,
    ClientToken: instance.clientToken,
    MetadataOptions: {
      State: 'applied',
      HttpTokens: instance.metadataOptions?.httpTokens as HttpTokensState | undefined,
      HttpPutResponseHopLimit: instance.metadataOptions?.httpPutResponseHopLimit,
      HttpEndpoint: 'enabled',
    },
    Tags: tagList(instance.tags),
    Architecture: 'x86_64',
    RootDeviceType: 'ebs',
    RootDeviceName: '/dev/xvda',
    VirtualizationType: 'hvm',
    Hypervisor: 'xen',
    EnaSupport: true,
    BlockDeviceMappings:
      name === 'terminated'
        ? []
        : [{ DeviceName: '/dev/xvda', Ebs: { VolumeId: instance.volumeId, Status: 'attached', DeleteOnTermination: true, AttachTime: new Date(instance.launchedAt) } }],
  };
}

/** A new instance launched at ctx.now: ids, volume and private IP assigned, running after boot. */
export function addInstance(
  ctx: HandlerContext,
  fields: Omit<InstanceRecord, 'instanceId' | 'region' | 'volumeId' | 'privateIp' | 'launchedAt' | 'runningAt'>,
): InstanceRecord {
  const counter = (ctx.world.counters.i ?? 0) + 1;
  const instance: InstanceRecord = {
    ...fields,
    instanceId: nextId(ctx.world, 'i'),
    region: ctx.region,
    volumeId: nextId(ctx.world, 'vol'),
    privateIp: `10.0.${Math.floor(counter / 250) % 250}.${(counter % 250) + 4}`,
    launchedAt: ctx.now,
    runningAt: ctx.now + ctx.timings.bootMs,
  };
  state(ctx).instances.push(instance);
  return instance;
}

function runInstances(ctx: HandlerContext, input: RunInstancesCommandInput) {
  const min = required(input.MinCount, 'MinCount');
  const max = required(input.MaxCount, 'MaxCount');
  if (min < 1 || max < min) fail('InvalidParameterValue', `Invalid MinCount ${min} / MaxCount ${max}`);
  const image = findImage(ctx, required(input.ImageId, 'ImageId'));
  if (imageState(image, ctx.now) !== 'available') {
    fail('InvalidAMIID.NotFound', `The image id '[${image.imageId}]' does not exist or is not available`);
  }
  // The limit counts the user data before base64 encoding, as EC2's does.
  if (input.UserData && Buffer.from(input.UserData, 'base64').length > 16 * 1024) fail('InvalidParameterValue', 'User data is limited to 16384 bytes');
  const tags = tagsFromSpecifications(input.TagSpecifications, ['instance', 'volume']);
  const region = state(ctx);
  const { id: reservationId } = idempotent(ctx, 'RunInstances', input.ClientToken, input, () => {
    const reservationId = nextId(ctx.world, 'r');
    recordLaunch(image, ctx.now);
    const instanceTags = tags.instance ?? {};
    const profile = input.IamInstanceProfile;
    for (let n = 0; n < max; n++) {
      addInstance(ctx, {
        reservationId,
        imageId: image.imageId,
        instanceType: input.InstanceType ?? 'm1.small',
        subnetId: input.SubnetId,
        securityGroupIds: input.SecurityGroupIds ?? [],
        iamInstanceProfileArn: profile?.Arn ?? (profile?.Name ? `arn:aws:iam::${ctx.world.accountId}:instance-profile/${profile.Name}` : undefined),
        userData: input.UserData,
        artifactUrl: artifactUrlOf(input.UserData),
        expectedSha256: expectedSha256Of(input.UserData),
        digestUrl: digestUrlOf(input.UserData),
        artifactTampered: ctx.faults.artifactTampered(instanceTags['bakery:app']),
        shutdownAfterMs: shutdownDelayOf(input.UserData),
        shutdownBehavior: input.InstanceInitiatedShutdownBehavior ?? 'stop',
        // Without options, what an AL2023 image asks for: IMDSv2 with a hop limit of 2 (for containers).
        metadataOptions: { httpTokens: input.MetadataOptions?.HttpTokens ?? 'required', httpPutResponseHopLimit: input.MetadataOptions?.HttpPutResponseHopLimit ?? 2 },
        clientToken: input.ClientToken,
        tags: instanceTags,
        volumeTags: tags.volume ?? {},
        outcome: ctx.faults.builderOutcome(instanceTags['bakery:app']),
        scriptMs: ctx.timings.provisionMs,
        release: image.release,
        // The root volume is encrypted as the base's snapshot is, else as the region encrypts new volumes.
        kmsKeyId: state(ctx).snapshots.find((snapshot) => snapshot.snapshotId === image.snapshotId)?.kmsKeyId ?? defaultVolumeKey(ctx),
      });
    }
    return reservationId;
  });
  const instances = region.instances.filter((instance) => instance.reservationId === reservationId);
  return {
    ReservationId: reservationId,
    OwnerId: ctx.world.accountId,
    Groups: [],
    Instances: instances.map((instance) => describe(ctx, instance)),
  };
}

function describeInstances(ctx: HandlerContext, input: DescribeInstancesCommandInput) {
  if (input.InstanceIds?.length && input.MaxResults !== undefined) {
    fail('InvalidParameterCombination', 'The parameter instancesSet cannot be used with the parameter maxResults');
  }
  const byId = input.InstanceIds?.length ? findInstances(ctx, input.InstanceIds) : undefined;
  if (byId) requireSettledInstances(ctx, byId);
  const candidates = byId ?? state(ctx).instances.filter((instance) => instanceVisible(instance, ctx.now) && instanceSettled(ctx, instance));
  const matching = applyFilters(
    candidates,
    input.Filters,
    {
      'instance-state-name': (i) => instanceState(i, ctx.now),
      'instance-state-code': (i) => String(instanceStateCodes[instanceState(i, ctx.now)]),
      'instance-id': (i) => i.instanceId,
      'image-id': (i) => i.imageId,
      'client-token': (i) => i.clientToken,
      'reservation-id': (i) => i.reservationId,
      'instance-type': (i) => i.instanceType,
      'subnet-id': (i) => i.subnetId,
    },
    (i) => i.tags,
  );
  const shown = page(matching, input, { command: 'DescribeInstances', min: 5, max: 1000 });
  const reservations = new Map<string, InstanceRecord[]>();
  for (const instance of shown.items) {
    reservations.set(instance.reservationId, [...(reservations.get(instance.reservationId) ?? []), instance]);
  }
  return {
    Reservations: [...reservations].map(([ReservationId, instances]) => ({
      ReservationId,
      OwnerId: ctx.world.accountId,
      Groups: [],
      Instances: instances.map((instance) => describe(ctx, instance)),
    })),
    ...(shown.NextToken ? { NextToken: shown.NextToken } : {}),
  };
}

function stateChange(ctx: HandlerContext, instance: InstanceRecord, change: () => void) {
  const before = instanceState(instance, ctx.now);
  change();
  const after = instanceState(instance, ctx.now);
  return {
    InstanceId: instance.instanceId,
    PreviousState: { Code: instanceStateCodes[before], Name: before },
    CurrentState: { Code: instanceStateCodes[after], Name: after },
  };
}

function terminateInstances(ctx: HandlerContext, input: TerminateInstancesCommandInput) {
  const instances = findInstances(ctx, required(input.InstanceIds, 'InstanceIds'));
  return {
    TerminatingInstances: instances.map((instance) =>
      stateChange(ctx, instance, () => {
        // Idempotent: terminating again changes nothing, as in EC2.
        if (instance.terminatedAt !== undefined) return;
        instance.terminateRequestedAt = ctx.now;
        instance.terminatedAt = ctx.now + ctx.timings.terminateMs;
      }),
    ),
  };
}

function stopInstances(ctx: HandlerContext, input: StopInstancesCommandInput) {
  const instances = findInstances(ctx, required(input.InstanceIds, 'InstanceIds'));
  const gone = instances.find((instance) => instance.terminatedAt !== undefined);
  if (gone) fail('IncorrectInstanceState', `This instance '${gone.instanceId}' is not in a state from which it can be stopped.`);
  return {
    StoppingInstances: instances.map((instance) =>
      stateChange(ctx, instance, () => {
        if (instance.stoppedAt !== undefined) return;
        instance.stopRequestedAt = ctx.now;
        instance.stoppedAt = ctx.now + ctx.timings.terminateMs;
      }),
    ),
  };
}

/** EC2 keeps only the most recent 64 KB of a console. */
const CONSOLE_BYTES = 64 * 1024;

function getConsoleOutput(ctx: HandlerContext, input: GetConsoleOutputCommandInput) {
  const [instance] = findInstances(ctx, [required(input.InstanceId, 'InstanceId')]);
  requireSettledInstances(ctx, [instance!]);
  if (input.Latest && !supportsLatestConsole(instance!.instanceType)) {
    fail('UnsupportedOperation', `The latest console output is not supported for instance type ${instance!.instanceType}.`);
  }
  const lines = consoleLines(instance!, ctx.now, ctx.timings.consoleDelayMs, input.Latest === true);
  const text = Buffer.from(lines.map((line) => line.text).join('\n') + '\n');
  return {
    InstanceId: instance!.instanceId,
    // Like EC2, no Output at all until something has been written.
    Output: lines.length ? text.subarray(-CONSOLE_BYTES).toString('base64') : undefined,
    Timestamp: new Date(lines.at(-1)?.at ?? ctx.now),
  };
}

export const instanceHandlers = {
  RunInstances: runInstances,
  DescribeInstances: describeInstances,
  TerminateInstances: terminateInstances,
  StopInstances: stopInstances,
  GetConsoleOutput: getConsoleOutput,
};
