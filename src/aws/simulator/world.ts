import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BuilderOutcome, Fault, ReleaseTraits } from './faults.js';

/**
 * The simulated AWS account's state. Every record keeps absolute epoch-ms timestamps from the clock,
 * and states ('pending', 'running'…) are derived from them at each call, so a world saved to disk
 * and loaded by a restarted process is exactly as it was left, with time having moved on.
 */

export type Tags = Record<string, string>;

export type InstanceStateName = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';
export const instanceStateCodes: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export interface InstanceRecord {
  instanceId: string;
  reservationId: string;
  region: string;
  imageId: string;
  instanceType: string;
  subnetId?: string;
  securityGroupIds: string[];
  iamInstanceProfileArn?: string;
  /** Base64, as sent. */
  userData?: string;
  /** The artifact URL found in the user data. */
  artifactUrl?: string;
  /** The sha256 the user data checks the artifact against (`/bake --sha256`), and where it fetches the published one. */
  expectedSha256?: string;
  digestUrl?: string;
  /** The artifact host serves other bytes than the CI published (fault 'artifact-tampered'), decided at launch. */
  artifactTampered?: boolean;
  shutdownBehavior: 'stop' | 'terminate';
  /** As RunInstances was given them (IMDSv2 required, the PUT response hop limit). */
  metadataOptions?: { httpTokens?: string; httpPutResponseHopLimit?: number };
  clientToken?: string;
  tags: Tags;
  volumeId: string;
  volumeTags: Tags;
  privateIp: string;
  launchedAt: number;
  runningAt: number;
  /** When StopInstances was called, and when the instance is stopped. */
  stopRequestedAt?: number;
  stoppedAt?: number;
  /** When TerminateInstances was called, and when the instance is terminated. */
  terminateRequestedAt?: number;
  terminatedAt?: number;
  /** The KMS key (ARN) its root volume is encrypted with: its base's, else the region's default when encryption by default is on. */
  kmsKeyId?: string;
  /**
   * A shutdown its user data armed, this long after the script starts (runningAt); a reboot (CreateImage
   * without NoReboot) clears it, as a reboot clears a scheduled shutdown.
   */
  shutdownAfterMs?: number;
  /** Set when the instance shut itself down: EC2's reason then is Client.InstanceInitiatedShutdown. */
  shutdownByItself?: boolean;
  /** How the builder's user data ends, decided at launch from the faults then in force. */
  outcome: BuilderOutcome;
  /** The script runs from runningAt for this long. */
  scriptMs: number;
  /** Set when an Auto Scaling group launched it. */
  autoScaling?: GroupMembership;
  /** What its image was baked with (faults 'bad-release', 'unhealthy-release'), copied at launch. */
  release?: ReleaseTraits;
}

export interface GroupMembership {
  group: string;
  /** The group's ARN holds a per-creation id, so a group re-created under the same name is another group. */
  groupArn: string;
  launchTemplateId: string;
  launchTemplateName: string;
  version: number;
  /** Pending → InService (and registered in the group's target groups). */
  inServiceAt: number;
  registered?: boolean;
  /** When the group marked it Unhealthy. */
  unhealthyAt?: number;
  /** When the group started terminating it (scale-in, replacement, refresh). */
  leftAt?: number;
  /** The instance refresh that launched it. */
  refreshId?: string;
}

export interface ImageRecord {
  imageId: string;
  region: string;
  name: string;
  description?: string;
  ownerId: string;
  ownerAlias?: 'amazon';
  createdAt: number;
  /** When it becomes 'available'; null = never ('image-stuck', or a copy that fails). */
  availableAt: number | null;
  /** When a copy that cannot finish turns 'failed' (a 'copy-fails' fault, a KMS key it cannot use), and why. */
  failedAt?: number;
  stateReason?: { code: string; message: string };
  snapshotId: string;
  tags: Tags;
  launchPermissions: string[];
  public: boolean;
  sourceInstanceId?: string;
  sourceImageId?: string;
  sourceRegion?: string;
  /** The `bakery:app` of the builder it came from, so app-scoped faults follow it. */
  app?: string;
  release?: ReleaseTraits;
  /** EnableImageDeprecation's time (ms): from then on, describes leave it out unless asked by id or IncludeDeprecated. */
  deprecateAt?: number;
  /** DisableImage: state 'disabled', left out of describes unless IncludeDisabled, cannot be launched. */
  disabled?: boolean;
  /** When instances were launched from it, by any account: the newest reported one and those not reported yet (image-launches.ts). */
  launches?: number[];
}

export interface SnapshotRecord {
  snapshotId: string;
  region: string;
  volumeId: string;
  ownerId: string;
  ownerAlias?: 'amazon';
  description: string;
  startedAt: number;
  /** When it becomes 'completed'; null = never. */
  completedAt: number | null;
  tags: Tags;
  createVolumePermissions: string[];
  volumeSize: number;
  /** The KMS key (ARN) it is encrypted with; unencrypted without one. */
  kmsKeyId?: string;
}

/**
 * A volume on its own (detached, 'available'). A builder's root volume is not one of these: it is
 * the instance's (InstanceRecord.volumeId, volumeTags) and goes with it on termination.
 */
export interface VolumeRecord {
  volumeId: string;
  region: string;
  createdAt: number;
  size: number;
  snapshotId?: string;
  tags: Tags;
}

export interface ParameterRecord {
  name: string;
  type: 'String' | 'StringList' | 'SecureString';
  value: string;
  version: number;
  dataType: string;
  lastModifiedAt: number;
}

/** What a client token was used for: the same request again returns the same result. */
export interface ClientTokenRecord {
  command: string;
  request: string;
  resultId: string;
}

export interface RegionState {
  instances: InstanceRecord[];
  images: ImageRecord[];
  snapshots: SnapshotRecord[];
  volumes: VolumeRecord[];
  parameters: ParameterRecord[];
  clientTokens: Record<string, ClientTokenRecord>;
  launchTemplates: LaunchTemplateRecord[];
  groups: GroupRecord[];
  loadBalancers: LoadBalancerRecord[];
  listeners: ListenerRecord[];
  targetGroups: TargetGroupRecord[];
  alarms: AlarmRecord[];
  /** EBS encryption by default (EnableEbsEncryptionByDefault), with its key: the AWS managed one unless another is set. */
  ebsEncryptionByDefault?: { kmsKeyId?: string };
}

export interface LaunchTemplateVersionRecord {
  number: number;
  createdAt: number;
  description?: string;
  /** RequestLaunchTemplateData as given (merged with its source version). */
  data: Record<string, unknown>;
}

export interface LaunchTemplateRecord {
  launchTemplateId: string;
  name: string;
  createdAt: number;
  defaultVersion: number;
  latestVersion: number;
  versions: LaunchTemplateVersionRecord[];
  tags: Tags;
}

/** A group's launch template as configured: Version is a number string, '$Latest' or '$Default'. */
export interface LaunchTemplateSpec {
  launchTemplateId: string;
  launchTemplateName: string;
  version: string;
}

export interface GroupRecord {
  name: string;
  arn: string;
  createdAt: number;
  launchTemplate: LaunchTemplateSpec;
  minSize: number;
  maxSize: number;
  desired: number;
  /** Capacity changes are acted on a moment later (timings.scalingDelayMs), as AWS does. */
  capacityChangedAt: number;
  subnets: string[];
  targetGroupArns: string[];
  healthCheckType: 'EC2' | 'ELB';
  graceSeconds: number;
  tags: { key: string; value: string; propagate: boolean }[];
  deleteRequestedAt?: number;
  /** Settings AWS keeps as given and does not act on here (absent in a world saved before them: AWS's defaults). */
  settings?: GroupSettingsRecord;
  /** What belongs to the group and is deleted with it (scaling.ts): AWS's describes list them, nothing here acts on them. */
  scaling?: GroupScalingRecord;
  launches: number;
  activities: ActivityRecord[];
  refreshes: RefreshRecord[];
  /** When the fleet engine must look at the group again (see fleet.ts). */
  wakeAt?: number;
}

export interface GroupSettingsRecord {
  terminationPolicies: string[];
  maxInstanceLifetime?: number;
  capacityRebalance: boolean;
  defaultInstanceWarmup?: number;
  instanceMaintenancePolicy?: { minHealthyPercentage?: number; maxHealthyPercentage?: number };
  defaultCooldown: number;
  newInstancesProtectedFromScaleIn: boolean;
}

export interface ScalingPolicyRecord {
  name: string;
  arn: string;
  type: string;
  /** The PutScalingPolicy request's own fields, as AWS describes them back. */
  fields: Record<string, unknown>;
}

export interface ScheduledActionRecord {
  name: string;
  arn: string;
  startTime?: number;
  endTime?: number;
  recurrence?: string;
  timeZone?: string;
  minSize?: number;
  maxSize?: number;
  desiredCapacity?: number;
}

export interface LifecycleHookRecord {
  name: string;
  transition: string;
  notificationTargetArn?: string;
  roleArn?: string;
  notificationMetadata?: string;
  heartbeatTimeout: number;
  defaultResult: string;
}

export interface GroupScalingRecord {
  policies: ScalingPolicyRecord[];
  scheduledActions: ScheduledActionRecord[];
  lifecycleHooks: LifecycleHookRecord[];
  warmPool?: { maxGroupPreparedCapacity?: number; minSize: number; poolState: string; reuseOnScaleIn?: boolean };
  suspendedProcesses: string[];
  enabledMetrics: { metrics: string[]; granularity: string };
  notifications: { topicArn: string; types: string[] }[];
}

export interface ActivityRecord {
  id: string;
  description: string;
  cause: string;
  startedAt: number;
  endedAt: number;
  status: 'Successful' | 'Failed' | 'InProgress';
}

export type RefreshStatus =
  | 'Pending'
  | 'InProgress'
  | 'Successful'
  | 'Failed'
  | 'Cancelling'
  | 'Cancelled'
  | 'RollbackInProgress'
  | 'RollbackSuccessful'
  | 'RollbackFailed'
  | 'Baking';

export interface RefreshPreferencesRecord {
  minHealthy: number;
  /** Undefined: terminate and launch at the same time; set: launch first when the bounds allow. */
  maxHealthy?: number;
  warmupSeconds: number;
  checkpoints: number[];
  checkpointDelaySeconds: number;
  skipMatching: boolean;
  autoRollback: boolean;
  alarms: string[];
  bakeSeconds: number;
}

export interface RefreshRecord {
  id: string;
  startedAt: number;
  endedAt?: number;
  status: RefreshStatus;
  statusReason?: string;
  /** The DesiredConfiguration as given, if any. */
  desired?: LaunchTemplateSpec;
  preferences: RefreshPreferencesRecord;
  /** What instances are replaced with now: the desired version, or on rollback the group's own. */
  target: { launchTemplateId: string; launchTemplateName: string; version: number };
  /** The group's launch template when the refresh started, resolved: where a rollback returns. */
  original: { launchTemplateId: string; launchTemplateName: string; version: number };
  toUpdate: number;
  done: number;
  /** `retire` instances replaced by `replacements` launches (fewer when it takes out launches above the desired capacity). */
  batch?: { launched: string[]; surge: number; retire: number; replacements: number; startedAt: number };
  waitUntil?: number;
  failedReplacements: number;
  rollback?: { reason: string; startedAt: number; toUpdate: number; done: number };
  cancelRequestedAt?: number;
}

export interface LoadBalancerRecord {
  arn: string;
  name: string;
  dnsName: string;
  vpcId: string;
  subnets: string[];
  createdAt: number;
  /** The traffic it receives, before the slow wave and noise (metrics.ts). */
  requestsPerMinute: number;
}

export interface ForwardTarget {
  targetGroupArn: string;
  weight: number;
}

export interface ListenerRecord {
  arn: string;
  loadBalancerArn: string;
  port: number;
  protocol: string;
  /** Every forward configuration it has had, oldest first, so past periods' traffic stays as it was. */
  forwards: { from: number; targetGroups: ForwardTarget[] }[];
}

export interface HealthCheckRecord {
  protocol: string;
  port: string;
  path: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  matcher: string;
}

export interface TargetRecord {
  id: string;
  port: number;
  registeredAt: number;
  deregisteredAt?: number;
}

export interface TargetGroupRecord {
  arn: string;
  name: string;
  protocol: string;
  port: number;
  vpcId: string;
  createdAt: number;
  healthCheck: HealthCheckRecord;
  /** Registrations, past ones included (metrics of past periods need them). */
  targets: TargetRecord[];
  tags: Tags;
  /** Attribute deregistration_delay.timeout_seconds; absent: ELB's default, 300. */
  deregistrationDelaySeconds?: number;
}

export interface AlarmRecord {
  name: string;
  arn: string;
  namespace: string;
  metricName: string;
  dimensions: { name: string; value: string }[];
  statistic: string;
  periodSeconds: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  threshold: number;
  comparison: 'GreaterThanThreshold' | 'GreaterThanOrEqualToThreshold' | 'LessThanThreshold' | 'LessThanOrEqualToThreshold';
  treatMissingData: 'missing' | 'notBreaching' | 'breaching' | 'ignore';
  description?: string;
  createdAt: number;
}

export interface WorldData {
  version: 1;
  accountId: string;
  counters: Record<string, number>;
  regions: Record<string, RegionState>;
  faults: Fault[];
  /** KMS keys of the account, in every region (kms.ts). */
  kmsKeys?: KmsKeyRecord[];
  /** IAM roles of other accounts Bakery may assume, and the sessions STS issued for them (sts.ts). */
  iam?: { roles: RoleRecord[]; sessions: RoleSessionRecord[] };
  /** Other accounts' own resources, by account id: what a call with a role's credentials works on. */
  accounts?: Record<string, AccountState>;
}

/** One other account's resources, kept apart from this world's account's as AWS keeps accounts apart. */
export interface AccountState {
  counters: Record<string, number>;
  regions: Record<string, RegionState>;
  kmsKeys?: KmsKeyRecord[];
}

/** A role in an account, with what its trust policy allows: who may assume it, with which external id. */
export interface RoleRecord {
  arn: string;
  account: string;
  /** Accounts whose principals the trust policy names. */
  trusts: string[];
  /** The trust policy's sts:ExternalId condition, when it has one. */
  externalId?: string;
  maxSessionSeconds: number;
}

/** Temporary credentials STS issued: a call signed with the access key id is made as the role, in its account. */
export interface RoleSessionRecord {
  accessKeyId: string;
  roleArn: string;
  account: string;
  sessionName: string;
  externalId?: string;
  durationSeconds: number;
  issuedAt: number;
}

export interface KmsKeyRecord {
  keyId: string;
  arn: string;
  region: string;
  aliases: string[];
  /** AWS: the AWS managed key for EBS (alias/aws/ebs), which EC2 will not let an image be shared with. */
  manager: 'AWS' | 'CUSTOMER';
  enabled: boolean;
}

export function emptyWorld(accountId: string): WorldData {
  return { version: 1, accountId, counters: {}, regions: {}, faults: [] };
}

export function regionState(world: WorldData, region: string): RegionState {
  const state = (world.regions[region] ??= {} as RegionState);
  // A world saved before the fleet existed lacks its lists; they start empty.
  state.instances ??= [];
  state.images ??= [];
  state.snapshots ??= [];
  state.volumes ??= [];
  state.parameters ??= [];
  state.clientTokens ??= {};
  state.launchTemplates ??= [];
  state.groups ??= [];
  state.loadBalancers ??= [];
  state.listeners ??= [];
  state.targetGroups ??= [];
  state.alarms ??= [];
  return state;
}

/**
 * A real-looking id (`i-0` + 16 hex = 17 hex) that is a pure function of a per-prefix counter,
 * so a test run always produces the same ids.
 */
export function nextId(world: WorldData, prefix: string): string {
  const n = (world.counters[prefix] ?? 0) + 1;
  world.counters[prefix] = n;
  const hex = createHash('sha256').update(`${world.accountId}:${prefix}:${n}`).digest('hex');
  return `${prefix}-0${hex.slice(0, 16)}`;
}

/** A deterministic hex string of `length` digits from a per-kind counter (ARN suffixes). */
export function nextHex(world: WorldData, kind: string, length = 16): string {
  const n = (world.counters[kind] ?? 0) + 1;
  world.counters[kind] = n;
  return createHash('sha256').update(`${world.accountId}:${kind}:${n}`).digest('hex').slice(0, length);
}

/** A deterministic UUID (instance refresh and activity ids, group ARNs). */
export function nextUuid(world: WorldData, kind: string): string {
  const hex = nextHex(world, kind, 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The state at `now`, which may lie before a stop or termination was asked for (metrics of past periods). */
export function instanceState(instance: InstanceRecord, now: number): InstanceStateName {
  if (instance.terminatedAt !== undefined && now >= (instance.terminateRequestedAt ?? -Infinity)) {
    return now < instance.terminatedAt ? 'shutting-down' : 'terminated';
  }
  if (instance.stoppedAt !== undefined && now >= (instance.stopRequestedAt ?? -Infinity)) return now < instance.stoppedAt ? 'stopping' : 'stopped';
  return now < instance.runningAt ? 'pending' : 'running';
}

export function imageState(image: ImageRecord, now: number): 'pending' | 'available' | 'disabled' | 'failed' {
  if (image.failedAt !== undefined && now >= image.failedAt) return 'failed';
  if (image.disabled) return 'disabled';
  return image.availableAt !== null && now >= image.availableAt ? 'available' : 'pending';
}

export function snapshotState(snapshot: SnapshotRecord, now: number): 'pending' | 'completed' {
  return snapshot.completedAt !== null && now >= snapshot.completedAt ? 'completed' : 'pending';
}

/**
 * Carries out every shutdown an instance armed for itself that is due by `now`: with shutdown
 * behaviour 'terminate' it terminates, else it stops, as EC2 does for a shutdown from inside.
 * Returns whether anything changed.
 */
export function settleShutdowns(world: WorldData, now: number, transitionMs: number): boolean {
  let changed = false;
  for (const region of Object.values(world.regions)) {
    for (const instance of region.instances ?? []) {
      if (instance.shutdownAfterMs === undefined) continue;
      const at = instance.runningAt + instance.shutdownAfterMs;
      if (at > now) continue;
      delete instance.shutdownAfterMs;
      const state = instanceState(instance, at);
      if (state !== 'running') continue;
      instance.shutdownByItself = true;
      if (instance.shutdownBehavior === 'terminate') {
        instance.terminateRequestedAt = at;
        instance.terminatedAt = at + transitionMs;
      } else {
        instance.stopRequestedAt = at;
        instance.stoppedAt = at + transitionMs;
      }
      changed = true;
    }
  }
  return changed;
}

/** EC2 keeps terminated instances visible for about an hour. */
export const TERMINATED_VISIBLE_MS = 60 * 60_000;

export function instanceVisible(instance: InstanceRecord, now: number): boolean {
  return instance.terminatedAt === undefined || now < instance.terminatedAt + TERMINATED_VISIBLE_MS;
}

export function loadWorld(file: string): WorldData | undefined {
  if (!existsSync(file)) return undefined;
  const data = JSON.parse(readFileSync(file, 'utf8')) as Partial<WorldData>;
  if (data.version !== 1 || typeof data.accountId !== 'string' || typeof data.regions !== 'object') {
    throw new Error(`${file} is not a simulated-AWS data file (version 1); move it away to start a fresh world`);
  }
  return { version: 1, accountId: data.accountId, counters: data.counters ?? {}, regions: data.regions ?? {}, faults: data.faults ?? [], ...(data.iam && { iam: data.iam }), ...(data.accounts && { accounts: data.accounts }) };
}

/** Write to a temp file then rename, so a process killed mid-write never leaves a torn file. */
export function saveWorld(file: string, world: WorldData): void {
  mkdirSync(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(world));
  renameSync(temp, file);
}
