import { createHash } from 'node:crypto';
import type { Clock } from '../../clock.js';
import { assumedRoleCredentials, awsClients, type AwsClients, type AwsService } from '../clients.js';
import { autoScalingHandlers } from './autoscaling.js';
import { cloudWatchHandlers } from './cloudwatch.js';
import type { Caller, HandlerContext, Handler } from './context.js';
import { ec2Handlers } from './ec2.js';
import { seedImage } from './ec2-images.js';
import { recordLaunch } from './image-launches.js';
import { createCustomerKey } from './kms.js';
import { elbv2Handlers } from './elbv2.js';
import { SimulatedError, serviceError, throttlingError, type Service } from './errors.js';
import { Faults, type Fault } from './faults.js';
import { settleFleet, wakeAll } from './fleet.js';
import { SEED_BACKDATE_MS, seedFleet, type FleetSeedOptions, type SeededFleet } from './fleet-seed.js';
import { attachMiddleware, simulatorMiddleware, simulatorPlugin, type Dispatch } from './middleware.js';
import { putParameter, ssmHandlers } from './ssm.js';
import { callerOf, createRole, iamOf, stsHandlers } from './sts.js';
import { realisticTimings, type SimulatorTimings } from './timings.js';
import {
  emptyWorld,
  imageState,
  instanceState,
  loadWorld,
  nextId,
  regionState,
  saveWorld,
  settleShutdowns,
  snapshotState,
  type ImageRecord,
  type InstanceRecord,
  type SnapshotRecord,
  type WorldData,
} from './world.js';

export { fastTimings, realisticTimings, type SimulatorTimings } from './timings.js';
export type { Fault } from './faults.js';
export { fleetSeedable, SEED_DEREGISTRATION_DELAY_SECONDS, type FleetSeedOptions, type SeededFleet } from './fleet-seed.js';

const handlers: Record<Service, Record<string, Handler>> = {
  ec2: ec2Handlers,
  ssm: ssmHandlers,
  autoscaling: autoScalingHandlers,
  elbv2: elbv2Handlers,
  cloudwatch: cloudWatchHandlers,
  sts: stsHandlers,
};

/** The simulator's name of each service, as AWS spells it in its errors and endpoints. */
const simulated: Record<AwsService, Service> = { ec2: 'ec2', ssm: 'ssm', autoScaling: 'autoscaling', elbv2: 'elbv2', cloudWatch: 'cloudwatch' };

export type SimInstance = InstanceRecord & { state: ReturnType<typeof instanceState> };
export type SimImage = ImageRecord & { state: ReturnType<typeof imageState> };
export type SimSnapshot = SnapshotRecord & { state: ReturnType<typeof snapshotState> };

export const DEFAULT_ACCOUNT_ID = '123456789012';
export const AL2023_PARAMETER = '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64';
export const AL2023_IMAGE_NAME = 'al2023-ami-2023.6.20260101.0-kernel-6.1-x86_64';
const SEEDED_REGIONS = ['us-east-1', 'eu-west-1'];
const CREDENTIALS = { accessKeyId: 'SIMULATED', secretAccessKey: 'SIMULATED' };

/**
 * A simulated AWS account answering real SDK v3 clients in-process (see middleware.ts): EC2
 * instances, images, snapshots and launch templates, SSM parameters, Auto Scaling groups, load
 * balancers and CloudWatch metrics, on an injectable clock, with injectable faults, optionally
 * persisted to a JSON file so local mode survives a restart.
 */
export class AwsSimulator {
  private readonly clock: Clock;
  private readonly timings: SimulatorTimings;
  private readonly dataFile: string | undefined;
  private world: WorldData;
  private readonly faults: Faults;
  private readonly callLog: { command: string; region: string; at: number; account: string }[] = [];
  private requests = 0;
  private cpuMicros = 0;
  private readonly wired: AwsClients;

  constructor(options: { clock: Clock; timings?: SimulatorTimings; dataFile?: string; accountId?: string }) {
    this.clock = options.clock;
    this.timings = options.timings ?? realisticTimings;
    this.dataFile = options.dataFile;
    const loaded = this.dataFile ? loadWorld(this.dataFile) : undefined;
    this.world = loaded ?? emptyWorld(options.accountId ?? DEFAULT_ACCOUNT_ID);
    this.faults = new Faults(this.world.faults);
    this.wired = awsClients((Client, region, service, role) => {
      // A role's credentials come from STS as in AWS: the provider's own STS client is answered here too.
      const sts = { masterCredentials: CREDENTIALS, clientPlugins: [simulatorPlugin(simulatorMiddleware('sts', region, this.dispatch, () => this.nextRequestId()))] };
      const credentials = role ? assumedRoleCredentials(role, region, sts) : CREDENTIALS;
      const client = new Client({ region, credentials, maxAttempts: 8 } as never);
      this.attach(client, region, service);
      return client;
    });
    if (!loaded) {
      for (const region of SEEDED_REGIONS) {
        this.seedBaseImage({ region, name: AL2023_IMAGE_NAME, ownerAlias: 'amazon', ssmParameter: AL2023_PARAMETER });
      }
    }
  }

  /** Clients wired to this simulator, one per service and region, as realAwsClients() makes them. */
  clients(): AwsClients {
    return this.wired;
  }

  /** Makes a client of the service answer from this simulator (tests, bench). */
  attach(client: { middlewareStack: unknown }, region: string, service: AwsService): void {
    attachMiddleware(client, simulatorMiddleware(simulated[service], region, this.dispatch, () => this.nextRequestId()));
  }

  /**
   * An app's live fleet (see fleet-seed.ts), laid down before now so that it is InService, healthy
   * and serving traffic at once, in this world's account or `account`. Idempotent: a fleet already in the world is returned as it is.
   */
  seedFleet(options: FleetSeedOptions & { account?: string }): SeededFleet {
    const seeded = seedFleet({ ...this.context(options.region, options.account), now: this.clock.now() - SEED_BACKDATE_MS }, options);
    settleFleet(this.context(options.region, options.account));
    this.save();
    return seeded;
  }

  inject(fault: Fault): void {
    this.faults.inject(fault);
    this.save();
  }

  clearFaults(): void {
    this.faults.clear();
    this.save();
  }

  /**
   * Amazon publishes a newer Amazon Linux 2023 and points the public parameter at it, in every seeded
   * region; each call a newer build of the day (local mode's `/sim publish-base`). The image is
   * registered before the parameter moves, as Amazon does, so whoever reads the parameter can see it.
   */
  publishNewerAmazonLinux(): { name: string; parameter: string; images: Record<string, string> } {
    const now = this.clock.now();
    const day = new Date(now).toISOString().slice(0, 10).replace(/-/g, '');
    const prefix = `al2023-ami-2023.7.${day}.`;
    const builds = this.world.regions[SEEDED_REGIONS[0]!]?.images.filter((image) => image.name.startsWith(prefix)).length ?? 0;
    const name = `${prefix}${builds}-kernel-6.1-x86_64`;
    const createdAt = now - this.faults.invisibleMs(this.timings.newIdInvisibleMs);
    const images = Object.fromEntries(
      SEEDED_REGIONS.map((region) => [region, this.seedBaseImage({ region, name, ownerAlias: 'amazon', ssmParameter: AL2023_PARAMETER, createdAt })]),
    );
    return { name, parameter: AL2023_PARAMETER, images };
  }

  /**
   * Adds an available base image (and its snapshot) in a region, owned by this account, Amazon, or
   * (ownerId) a stranger who made it public; with ssmParameter, points that parameter at it.
   */
  seedBaseImage(input: { region: string; name: string; ownerAlias?: 'amazon'; ownerId?: string; ssmParameter?: string; createdAt?: number; kmsKeyId?: string; tags?: Record<string, string> }): string {
    const ctx = this.context(input.region);
    const release = /^al2023-ami-([\d.]+)-kernel/.exec(input.name)?.[1];
    const description = input.ownerAlias === 'amazon' && release ? `Amazon Linux 2023 AMI ${release} x86_64 HVM kernel-6.1` : undefined;
    const { imageId } = seedImage(ctx, { name: input.name, ownerAlias: input.ownerAlias, ownerId: input.ownerId, description, createdAt: input.createdAt, kmsKeyId: input.kmsKeyId, tags: input.tags });
    if (input.ssmParameter) {
      putParameter(ctx, { Name: input.ssmParameter, Value: imageId, Type: 'String', DataType: 'aws:ec2:image', Overwrite: true });
    }
    this.save();
    return imageId;
  }

  /** A customer managed KMS key in `region`, as a platform team creates one for sharing encrypted images; returns its ARN. */
  createKmsKey(region: string, alias?: string): string {
    const key = createCustomerKey(this.world, region, alias);
    this.save();
    return key.arn;
  }

  /**
   * Turns on EBS encryption by default in `region` (EnableEbsEncryptionByDefault), with the AWS
   * managed key unless `kmsKeyArn` is set as the default (ModifyEbsDefaultKmsKeyId): builders
   * launched there get encrypted volumes, and so their images encrypted snapshots.
   */
  encryptVolumesByDefault(region: string, kmsKeyArn?: string): void {
    regionState(this.world, region).ebsEncryptionByDefault = kmsKeyArn ? { kmsKeyId: kmsKeyArn } : {};
    this.save();
  }

  /**
   * Many available images of this account at once, each with its snapshot, both tagged as given (as
   * Bakery's CreateImage tags both): an account's history of bakes, for the bench. Returns their ids.
   */
  seedImages(region: string, images: { name: string; tags: Record<string, string>; createdAt: number }[]): string[] {
    const ctx = this.context(region);
    const ids = images.map((image) => seedImage(ctx, image).imageId);
    this.save();
    return ids;
  }

  /**
   * Another account launches an instance of this account's image, as one it is shared with may (its
   * own instance is not in this world): the image's lastLaunchedTime says so a day later. Refused, as
   * EC2 would, when the image is not shared with that account, not available, or disabled.
   */
  launchInAccount(imageId: string, accountId: string): void {
    const image = Object.values(this.world.regions).flatMap((region) => region.images).find((candidate) => candidate.imageId === imageId);
    if (!image) throw new Error(`no image ${imageId} in the simulated world`);
    const now = this.clock.now();
    if (!image.public && !image.launchPermissions.includes(accountId)) throw new Error(`image ${imageId} is not shared with ${accountId}`);
    if (image.disabled || imageState(image, now) !== 'available') throw new Error(`image ${imageId} cannot be launched (${imageState(image, now)})`);
    recordLaunch(image, now);
    this.save();
  }

  /** The image's owner (Amazon, for a base) deprecates it from `at` on, as EnableImageDeprecation does. */
  deprecateImage(imageId: string, at = this.clock.now()): void {
    const image = Object.values(this.world.regions).flatMap((region) => region.images).find((candidate) => candidate.imageId === imageId);
    if (!image) throw new Error(`no image ${imageId} in the simulated world`);
    image.deprecateAt = at - (at % 60_000);
    this.save();
  }

  /**
   * A volume on its own, tagged as given, as a builder launched without DeleteOnTermination leaves
   * when it is terminated (tests of the sweep). Returns its id.
   */
  seedVolume(input: { region: string; tags: Record<string, string>; createdAt?: number }): string {
    const world = this.world;
    const volumeId = nextId(world, 'vol');
    regionState(world, input.region).volumes.push({ volumeId, region: input.region, createdAt: input.createdAt ?? this.clock.now(), size: 8, tags: { ...input.tags } });
    this.save();
    return volumeId;
  }

  /** CPU (µs, user + system) this process spent answering calls: a bench subtracts it from the bot's. */
  handlerCpuMicros(): number {
    return this.cpuMicros;
  }

  /** Every call received, including throttled and failed attempts, in order, with the account its credentials are of. */
  calls(): { command: string; region: string; at: number; account: string }[] {
    return this.callLog.map((call) => ({ ...call }));
  }

  /**
   * A role in another account, as its platform team creates it for Bakery: its trust policy names this world's
   * account (or `trusts`), with an sts:ExternalId condition when `externalId` is given. Returns its ARN.
   */
  createRole(input: { arn: string; trusts?: string[]; externalId?: string; maxSessionSeconds?: number }): string {
    const role = createRole(this.world, input);
    this.save();
    return role.arn;
  }

  /** The sessions STS issued (AssumeRole that succeeded), in order. */
  roleSessions(): { roleArn: string; sessionName: string; externalId?: string; account: string; durationSeconds: number; issuedAt: number }[] {
    return iamOf(this.world).sessions.map(({ accessKeyId: _key, ...session }) => ({ ...session }));
  }

  /** All instances (ever), images and snapshots in every region, with their state at clock.now(). */
  snapshot(): { instances: SimInstance[]; images: SimImage[]; snapshots: SimSnapshot[] } {
    const now = this.clock.now();
    if (settleShutdowns(this.world, now, this.timings.terminateMs)) this.save();
    const regions = Object.values(this.world.regions);
    const copy = <T>(value: T): T => structuredClone(value);
    return {
      instances: regions.flatMap((r) => r.instances.map((i) => ({ ...copy(i), state: instanceState(i, now) }))),
      images: regions.flatMap((r) => r.images.map((i) => ({ ...copy(i), state: imageState(i, now) }))),
      snapshots: regions.flatMap((r) => r.snapshots.map((s) => ({ ...copy(s), state: snapshotState(s, now) }))),
    };
  }

  private readonly dispatch: Dispatch = ({ service, region, command, input, requestId, accessKeyId }) => {
    const caller = callerOf(this.world, accessKeyId, CREDENTIALS.accessKeyId);
    this.callLog.push({ command, region, at: this.clock.now(), account: caller?.account ?? 'unknown' });
    const cpuBefore = process.cpuUsage();
    try {
      if (!caller) {
        throw service === 'ec2'
          ? new SimulatedError('AuthFailure', 'AWS was not able to validate the provided access credentials', 401)
          : new SimulatedError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
      }
      // API faults come first, so a failed call changes nothing.
      const fault = this.faults.takeApiFault(command, region);
      if (fault) {
        this.save();
        throw fault.kind === 'throttle' ? throttlingError(service) : new SimulatedError(fault.code, fault.message, fault.status);
      }
      const handler: Handler | undefined = handlers[service][command];
      if (!handler) {
        throw new SimulatedError(
          'UnsupportedOperation',
          `The simulated AWS does not implement ${service.toUpperCase()} ${command}; add a handler in src/aws/simulator/`,
        );
      }
      if ((input as { DryRun?: boolean }).DryRun) {
        throw new SimulatedError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
      }
      return this.run(handler, region, command, input, caller);
    } catch (error) {
      if (error instanceof SimulatedError) throw serviceError(service, error.code, error.message, requestId, error.status);
      throw error;
    } finally {
      const spent = process.cpuUsage(cpuBefore);
      this.cpuMicros += spent.user + spent.system;
    }
  };

  /**
   * Runs a handler on a world whose fleet has been brought up to now; a mutating one is
   * all-or-nothing, lets every group react at once, and is saved after.
   */
  private run(handler: Handler, region: string, command: string, input: object, caller: Caller): object {
    // Builders that shut themselves down did so on the simulator's clock, whoever was watching.
    const shutDown = settleShutdowns(this.world, this.clock.now(), this.timings.terminateMs);
    const settled = settleFleet(this.context(region, caller.account)) || shutDown;
    const mutating = !/^(Describe|Get)/.test(command);
    if (!mutating) {
      if (settled) this.save();
      return handler({ ...this.context(region, caller.account), caller }, input);
    }
    const before = structuredClone(this.world);
    try {
      const result = handler({ ...this.context(region, caller.account), caller }, input);
      wakeAll(this.context(region, caller.account));
      settleFleet(this.context(region, caller.account));
      this.save();
      return result;
    } catch (error) {
      this.world = before;
      throw error;
    }
  }

  /** A call's context in `account`: this world's own, or another account's resources (the images shared with it beside them). */
  private context(region: string, account = this.world.accountId): HandlerContext {
    const sharedImages = (at: string) =>
      this.accountWorlds()
        .filter((world) => world.accountId !== account)
        .flatMap((world) => regionState(world, at).images.filter((image) => image.ownerId !== account && (image.public || image.launchPermissions.includes(account))));
    return { world: this.accountWorld(account), region, now: this.clock.now(), timings: this.timings, faults: this.faults, sharedImages };
  }

  /**
   * The world as `account` sees it: for another account, its own regions, counters and keys in the world's
   * `accounts` (so saved, and restored with it when a call fails), with the world's roles and faults.
   */
  private accountWorld(account: string): WorldData {
    if (account === this.world.accountId) return this.world;
    const own = ((this.world.accounts ??= {})[account] ??= { counters: {}, regions: {} });
    return { version: 1, accountId: account, counters: own.counters, regions: own.regions, faults: this.world.faults, kmsKeys: (own.kmsKeys ??= []), iam: iamOf(this.world) };
  }

  private accountWorlds(): WorldData[] {
    return [this.world, ...Object.keys(this.world.accounts ?? {}).map((account) => this.accountWorld(account))];
  }

  private nextRequestId(): string {
    const hex = createHash('sha256').update(`request:${++this.requests}`).digest('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  }

  private save(): void {
    if (!this.dataFile) return;
    this.world.faults = this.faults.all();
    saveWorld(this.dataFile, this.world);
  }
}
