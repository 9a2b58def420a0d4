import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BuilderOutcome, Fault } from './faults.js';

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
  /** The BAKERY_ARTIFACT_URL found in the user data, for tests. */
  artifactUrl?: string;
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
  /** How the builder's user data ends, decided at launch from the faults then in force. */
  outcome: BuilderOutcome;
  /** The script runs from runningAt for this long. */
  scriptMs: number;
}

export interface ImageRecord {
  imageId: string;
  region: string;
  name: string;
  description?: string;
  ownerId: string;
  ownerAlias?: 'amazon';
  createdAt: number;
  /** When it becomes 'available'; null = never ('image-stuck'). */
  availableAt: number | null;
  snapshotId: string;
  tags: Tags;
  launchPermissions: string[];
  public: boolean;
  sourceInstanceId?: string;
  sourceImageId?: string;
  sourceRegion?: string;
  /** The `bakery:app` of the builder it came from, so app-scoped faults follow it. */
  app?: string;
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
  parameters: ParameterRecord[];
  clientTokens: Record<string, ClientTokenRecord>;
}

export interface WorldData {
  version: 1;
  accountId: string;
  counters: Record<string, number>;
  regions: Record<string, RegionState>;
  faults: Fault[];
}

export function emptyWorld(accountId: string): WorldData {
  return { version: 1, accountId, counters: {}, regions: {}, faults: [] };
}

export function regionState(world: WorldData, region: string): RegionState {
  let state = world.regions[region];
  if (!state) {
    state = { instances: [], images: [], snapshots: [], parameters: [], clientTokens: {} };
    world.regions[region] = state;
  }
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

export function instanceState(instance: InstanceRecord, now: number): InstanceStateName {
  if (instance.terminatedAt !== undefined) return now < instance.terminatedAt ? 'shutting-down' : 'terminated';
  if (instance.stoppedAt !== undefined) return now < instance.stoppedAt ? 'stopping' : 'stopped';
  return now < instance.runningAt ? 'pending' : 'running';
}

export function imageState(image: ImageRecord, now: number): 'pending' | 'available' {
  return image.availableAt !== null && now >= image.availableAt ? 'available' : 'pending';
}

export function snapshotState(snapshot: SnapshotRecord, now: number): 'pending' | 'completed' {
  return snapshot.completedAt !== null && now >= snapshot.completedAt ? 'completed' : 'pending';
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
  return { version: 1, accountId: data.accountId, counters: data.counters ?? {}, regions: data.regions ?? {}, faults: data.faults ?? [] };
}

/** Write to a temp file then rename, so a process killed mid-write never leaves a torn file. */
export function saveWorld(file: string, world: WorldData): void {
  mkdirSync(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(world));
  renameSync(temp, file);
}
