import { randomBytes } from 'node:crypto';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { AppConfig } from '../config/apps.js';
import {
  appLock,
  auditEntry,
  jobSlot as jobSlotSchema,
  laneOf,
  liveRelease,
  operation as operationSchema,
  operationSignals,
  operationStanding,
  release as releaseSchema,
  retirement as retirementSchema,
  supersededBake,
  type SupersededBake,
  storedAppConfig,
  type AppLock,
  type AuditEntry,
  type JobSlot,
  type SlotJob,
  sweepSummary as sweepSummarySchema,
  type SweepSummary,
  type LiveRelease,
  type LockLane,
  type Operation,
  type OperationSignals,
  type OperationStanding,
  type Release,
  type ReleaseEvent,
  type ReleasePin,
  type ReleaseStatus,
  type Retirement,
} from './items.js';
import { expiresAt, releaseEnds } from './retention.js';
import { activeIndex } from './table.js';

/*
 * The one store: every item Bakery keeps, in one DynamoDB table (see README.md here for the design).
 * Every item read back is parsed with its zod schema from items.ts; one that does not parse is a CorruptItemError.
 */

type Item = Record<string, unknown>;

/** An item in the table does not match its schema: hand-edited, or written by an incompatible version. */
export class CorruptItemError extends Error {
  override name = 'CorruptItemError';
  constructor(
    readonly pk: string,
    readonly sk: string,
    readonly problems: { field: string; message: string }[],
  ) {
    super(
      `item ${pk}/${sk}: ${problems.map((problem) => (problem.field ? `field "${problem.field}": ${problem.message}` : problem.message)).join('; ')}`,
    );
  }
}

/** saveOperation's condition failed: someone else wrote the operation since this copy was read (lost lease or a race). */
export class StaleOperationError extends Error {
  override name = 'StaleOperationError';
  constructor(
    readonly operationId: string,
    readonly revision: number,
  ) {
    super(`operation ${operationId} was changed by someone else since revision ${revision} (lease lost or a concurrent write)`);
  }
}

export type StartOperationResult =
  | { outcome: 'started'; operation: Operation }
  | { outcome: 'busy'; lock: AppLock }
  | { outcome: 'duplicate-request'; operationId: string };

/** An app's config, lock (of one lane), release of one version and live release, read together. */
export interface AppAtVersion {
  config?: AppConfig;
  lock?: AppLock;
  release?: Release;
  live?: LiveRelease;
}

/** Key layout, in one place. */
/**
 * A release record with its count of writes (every write of one adds to it), which only the store reads: a
 * rebake's read-merge-write is conditional on it, so a status a canary wrote meanwhile is not lost.
 */
const releaseWrites = releaseSchema.extend({ changes: z.number().int().nonnegative().optional() });

export const keys = {
  appConfig: (app: string) => ({ pk: `APP#${app}`, sk: 'CONFIG' }),
  release: (app: string, version: string) => ({ pk: `APP#${app}`, sk: `RELEASE#${version}` }),
  /** The bake lane, and the deploy lane of an app of one fleet, keep the keys they always had; each environment has a deploy lane of its own. */
  lock: (app: string, lane: LockLane = 'bake', environment?: string) => ({ pk: `APP#${app}`, sk: lane === 'bake' ? 'LOCK' : `LOCK#${lane}${environment ? `#${environment}` : ''}` }),
  /** What an environment's fleet runs; an app of one fleet keeps the key it always had. */
  live: (app: string, environment?: string) => ({ pk: `APP#${app}`, sk: environment ? `LIVE#${environment}` : 'LIVE' }),
  operation: (id: string) => ({ pk: `OP#${id}`, sk: 'OP' }),
  request: (requestId: string) => ({ pk: `REQUEST#${requestId}`, sk: 'REQUEST' }),
  auditPk: (app: string) => `AUDIT#${app}`,
  retirement: (app: string, bake: string) => ({ pk: `APP#${app}`, sk: `RETIRE#${bake}` }),
  /** The digest keeps the key it always had: `DIGEST#<minute>`; the sweep's is `SWEEP#<minute>`. */
  jobSlot: (job: SlotJob, slot: string) => ({ pk: `${job.toUpperCase()}#${slot}`, sk: 'SLOT' }),
  lastSweep: () => ({ pk: 'SWEEP', sk: 'LAST' }),
  handOvers: () => ({ pk: 'REPLICAS', sk: 'HANDOVERS' }),
};

/** The value of gsi1pk on a running operation; the `active` index holds only those. */
const ACTIVE = 'ACTIVE';
/** The value of gsi1pk on a finished operation whose outbox still holds an announcement to post. */
const UNANNOUNCED = 'UNANNOUNCED';
const DEFAULT_AUDIT_LIMIT = 50;
/** Attributes that are the table's plumbing, not part of an item's schema. */
const PLUMBING = new Set(['pk', 'sk', 'gsi1pk', 'gsi1sk', 'type']);

const requestMark = z.object({ requestId: z.string(), operationId: z.string(), createdAt: z.number(), expiresAt: z.number() });

/** Zero-padded so that string order is time order (13 digits today; 15 leaves room). */
const timeKey = (ms: number): string => String(Math.max(0, Math.trunc(ms))).padStart(15, '0');

/** Operation fields saveOperation writes: everything but cancelRequested (owned by requestCancel) and the bookkeeping. */
const savedFields = [
  'kind', 'app', 'version', 'environment', 'requestedBy', 'channel', 'params', 'state', 'steps', 'status',
  'thread', 'error', 'ending', 'lease', 'outbox', 'announcing', 'createdAt', 'finishedAt',
] as const satisfies readonly Exclude<keyof Operation, 'id' | 'cancelRequested' | 'revision' | 'updatedAt'>[];

export class Store {
  /**
   * The configured apps, read once and then kept: they change only when a replica starts and applies
   * its apps file (through putAppConfig), so an unknown app is answered without a read.
   */
  private appConfigs?: Promise<Map<string, AppConfig>>;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    private readonly clock: Clock,
  ) {}

  // ---- app configs ----

  async putAppConfig(app: string, config: AppConfig): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...keys.appConfig(app), type: 'appConfig', app, config, appliedAt: this.clock.now() },
      }),
    );
    if (this.appConfigs) (await this.appConfigs).set(app, config);
  }

  async getAppConfig(app: string): Promise<AppConfig | undefined> {
    return (await this.get(keys.appConfig(app), storedAppConfig))?.config;
  }

  /**
   * Every configured app: one Scan the first time (the configs are few), from memory after that, so
   * a flood of commands for unknown apps costs no reads. Apps another replica configures later are
   * seen after a restart.
   */
  async listAppConfigs(): Promise<Record<string, AppConfig>> {
    this.appConfigs ??= this.scanAppConfigs().catch((error: unknown) => {
      this.appConfigs = undefined;
      throw error;
    });
    return Object.fromEntries(await this.appConfigs);
  }

  private async scanAppConfigs(): Promise<Map<string, AppConfig>> {
    const items = await this.scanAll('sk = :config AND begins_with(pk, :app)', { ':config': 'CONFIG', ':app': 'APP#' });
    return new Map(items.map((item) => parseItem(item, storedAppConfig)).map((stored) => [stored.app, stored.config]));
  }

  // ---- releases ----

  async getRelease(app: string, version: string): Promise<Release | undefined> {
    return this.get(keys.release(app, version), releaseSchema);
  }

  /**
   * One item per app and version: a re-bake (--force, a Rebake) replaces its current image but never
   * its history, and the bake it replaced is kept in `superseded` (its images stay until pruned).
   */
  async putRelease(release: Release): Promise<void> {
    // Read, merge, write if nothing wrote the record meanwhile (a canary of the version setting its status); else read again.
    for (let attempt = 1; ; attempt++) {
      const previous = await this.get(keys.release(release.app, release.version), releaseWrites);
      const kept = previous?.history ?? [];
      // A record step run again after a restart brings the same events: they are in the history once.
      const history = [...kept, ...release.history.filter((event) => !kept.some((old) => old.status === event.status && old.operationId !== undefined && old.operationId === event.operationId))];
      // A pin stays through a re-bake: it protects the version, whichever image it has now.
      const pin = release.pin ?? previous?.pin;
      const superseded = [...(previous?.superseded ?? []), ...(previous && replacedBy(previous, release.operationId) ? [supersededOf(previous, this.clock.now())] : [])];
      const changes = previous?.changes;
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...keys.release(release.app, release.version), type: 'release', ...release, history, ...(superseded.length > 0 ? { superseded } : {}), ...(pin ? { pin } : {}), changes: (changes ?? 0) + 1 },
            ConditionExpression: !previous ? 'attribute_not_exists(pk)' : changes === undefined ? 'attribute_not_exists(#changes)' : '#changes = :changes',
            ...(previous ? { ExpressionAttributeNames: { '#changes': 'changes' } } : {}),
            ...(changes !== undefined ? { ExpressionAttributeValues: { ':changes': changes } } : {}),
          }),
        );
        return;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException) || attempt === 5) throw error;
      }
    }
  }

  /** Forgets an earlier bake of a release once its images are pruned; a release or bake that is not there is left alone. */
  async dropSupersededBake(app: string, version: string, operationId: string): Promise<void> {
    const release = await this.getRelease(app, version);
    const index = release?.superseded?.findIndex((bake) => bake.operationId === operationId) ?? -1;
    if (index < 0) return;
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.release(app, version),
          UpdateExpression: `REMOVE #superseded[${index}] ADD #changes :one`,
          // The list as read: a rebake meanwhile moves the indexes.
          ConditionExpression: '#superseded[' + index + '].#operationId = :id',
          ExpressionAttributeNames: { '#superseded': 'superseded', '#operationId': 'operationId', '#changes': 'changes' },
          ExpressionAttributeValues: { ':id': operationId, ':one': 1 },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /** Pins a release (or, with undefined, unpins it); false when there is no such release. */
  async setPin(app: string, version: string, pin: ReleasePin | undefined): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.release(app, version),
          UpdateExpression: `${pin ? 'SET #pin = :pin' : 'REMOVE #pin'} ADD #changes :one`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#pin': 'pin', '#changes': 'changes' },
          ExpressionAttributeValues: { ':one': 1, ...(pin ? { ':pin': pin } : {}) },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * Adds a region's good copy to a release, and forgets that region's failure: an update of those two
   * fields only, so a status written meanwhile (a canary, a promotion) stays.
   */
  async addReleaseRegion(release: Pick<Release, 'app' | 'version' | 'failedRegions'>, region: string, ami: string): Promise<void> {
    const failed = release.failedRegions?.[region] !== undefined;
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.release(release.app, release.version),
        UpdateExpression: `SET #amis.#region = :ami${failed ? ' REMOVE #failed.#region' : ''} ADD #changes :one`,
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#amis': 'amis', '#region': region, '#changes': 'changes', ...(failed ? { '#failed': 'failedRegions' } : {}) },
        ExpressionAttributeValues: { ':ami': ami, ':one': 1 },
      }),
    );
  }

  /**
   * Moves a release to `status`, appending to its history; a release that is not there is left alone.
   * A rejected or retired release expires after its retention (retention.ts); any other status keeps it.
   */
  async setReleaseStatus(app: string, version: string, status: ReleaseStatus, event: Omit<ReleaseEvent, 'status'>): Promise<void> {
    const ends = releaseEnds.includes(status);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.release(app, version),
          UpdateExpression: `SET #status = :status, #history = list_append(if_not_exists(#history, :none), :event)${ends ? ', #expiresAt = :expiresAt' : ' REMOVE #expiresAt'} ADD #changes :one`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#status': 'status', '#history': 'history', '#expiresAt': 'expiresAt', '#changes': 'changes' },
          ExpressionAttributeValues: { ':status': status, ':none': [], ':event': [{ ...event, status }], ':one': 1, ...(ends ? { ':expiresAt': expiresAt('release', event.at) } : {}) },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  // ---- the live release ----

  async getLive(app: string, environment?: string): Promise<LiveRelease | undefined> {
    return this.get(keys.live(app, environment), liveRelease);
  }

  async putLive(live: LiveRelease): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { ...keys.live(live.app, live.environment), type: 'live', ...live } }));
  }

  /** What every environment of the app runs (one record for an app of one fleet). */
  async listLive(app: string): Promise<LiveRelease[]> {
    const items = await this.queryAll({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :live)',
      ExpressionAttributeValues: { ':pk': `APP#${app}`, ':live': keys.live(app).sk },
      ConsistentRead: true,
    });
    return items.map((item) => parseItem(item, liveRelease));
  }

  /** Newest bakedAt first. */
  async listReleases(app: string): Promise<Release[]> {
    const items = await this.queryAll({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :release)',
      ExpressionAttributeValues: { ':pk': `APP#${app}`, ':release': 'RELEASE#' },
      ConsistentRead: true,
    });
    return items.map((item) => parseItem(item, releaseSchema)).sort((a, b) => b.bakedAt - a.bakedAt);
  }

  /** An app's live release, releases (newest bakedAt first) and locks in one Query of its partition. */
  async getAppRecords(app: string): Promise<AppRecords> {
    const items = await this.queryAll({
      // CONFIG sorts before LIVE, LOCK and RELEASE#: the config (long scripts) is not read again.
      KeyConditionExpression: 'pk = :pk AND sk > :config',
      ExpressionAttributeValues: { ':pk': `APP#${app}`, ':config': keys.appConfig(app).sk },
      ConsistentRead: true,
    });
    return appRecordsOf(app, items);
  }

  /**
   * Every app's records (as getAppRecords) in one paginated Scan: for the digest's survey of hundreds
   * of apps, a few 1 MB pages instead of one Query per app (for the bench's 500 apps, a third of the bot CPU).
   */
  async scanAppRecords(): Promise<Map<string, AppRecords>> {
    const byApp = new Map<string, Item[]>();
    for (const item of await this.scanAll('begins_with(pk, :app) AND sk <> :config', { ':app': 'APP#', ':config': 'CONFIG' })) {
      const app = String(item.pk).slice('APP#'.length);
      byApp.set(app, [...(byApp.get(app) ?? []), item]);
    }
    return new Map([...byApp].map(([app, items]) => [app, appRecordsOf(app, items)]));
  }

  // ---- operations ----

  /**
   * Creates the operation, takes the app's lock and remembers the Slack request id, all in one transaction.
   * A retried request (same requestId) is 'duplicate-request' even if the app is also locked (by that very request).
   */
  async startOperation(input: { operation: Operation; lock: AppLock; requestId: string }): Promise<StartOperationResult> {
    return this.tryStart(input, true);
  }

  private async tryStart(
    input: { operation: Operation; lock: AppLock; requestId: string },
    mayRetry: boolean,
  ): Promise<StartOperationResult> {
    const { operation, lock, requestId } = input;
    if (lock.app !== operation.app || lock.operationId !== operation.id || lock.environment !== operation.environment) {
      throw new Error(`the lock (${lock.app}, ${lock.operationId}) is not for operation ${operation.id} of ${operation.app}`);
    }
    const now = this.clock.now();
    const notThere = 'attribute_not_exists(pk)';
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: { ...keys.operation(operation.id), type: 'operation', ...operation, ...activeKeys(operation) },
                ConditionExpression: notThere,
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: { ...keys.lock(lock.app, laneOf(lock.kind), lock.environment), type: 'lock', ...lock },
                ConditionExpression: notThere,
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: {
                  ...keys.request(requestId),
                  type: 'request',
                  requestId,
                  operationId: operation.id,
                  createdAt: now,
                  expiresAt: expiresAt('request', now),
                },
                ConditionExpression: notThere,
              },
            },
          ],
        }),
      );
      return { outcome: 'started', operation };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const [opReason, lockReason, requestReason] = error.CancellationReasons ?? [];
      const failed = (reason: typeof opReason): boolean => reason?.Code === 'ConditionalCheckFailed';

      if (failed(requestReason)) {
        const mark = await this.get(keys.request(requestId), requestMark);
        if (mark) return { outcome: 'duplicate-request', operationId: mark.operationId };
      } else if (failed(lockReason)) {
        const held = await this.getLock(lock.app, laneOf(lock.kind), lock.environment);
        if (held) return { outcome: 'busy', lock: held };
      } else if (failed(opReason)) {
        throw new Error(`operation ${operation.id} already exists: operation ids must be unique`, { cause: error });
      } else {
        throw error;
      }
      // The item that stopped us went away between the transaction and the read: try once more.
      if (mayRetry) return this.tryStart(input, false);
      throw error;
    }
  }

  async getOperation(id: string): Promise<Operation | undefined> {
    return this.get(keys.operation(id), operationSchema);
  }

  /**
   * Writes the caller's copy iff the stored revision is still operation.revision; the saved copy has
   * revision + 1 and updatedAt = now. Every field is written except cancelRequested, which belongs to
   * requestCancel: a cancel request therefore needs no revision bump and is never clobbered by the owner's
   * next save, and the returned copy carries it so the owner sees it. A running operation is in the `active`
   * index; any other status takes it out.
   */
  async saveOperation(operation: Operation): Promise<Operation> {
    const names: Record<string, string> = { '#revision': 'revision', '#updatedAt': 'updatedAt', '#gsi1pk': 'gsi1pk', '#gsi1sk': 'gsi1sk' };
    const values: Record<string, unknown> = {
      ':expected': operation.revision,
      ':next': operation.revision + 1,
      ':now': this.clock.now(),
    };
    const set = ['#revision = :next', '#updatedAt = :now'];
    const remove: string[] = [];
    for (const field of savedFields) {
      names[`#${field}`] = field;
      const value = operation[field];
      if (value === undefined) {
        remove.push(`#${field}`);
      } else {
        values[`:${field}`] = value;
        set.push(`#${field} = :${field}`);
      }
    }
    names['#expiresAt'] = 'expiresAt';
    if (operation.status === 'running') {
      const active = activeKeys(operation);
      values[':gsi1pk'] = active.gsi1pk;
      values[':gsi1sk'] = active.gsi1sk;
      set.push('#gsi1pk = :gsi1pk', '#gsi1sk = :gsi1sk');
      remove.push('#expiresAt');
    } else {
      // A finished operation is kept for its retention, then DynamoDB's TTL removes it.
      values[':expiresAt'] = expiresAt('operation', operation.finishedAt ?? this.clock.now());
      set.push('#expiresAt = :expiresAt');
      const unannounced = activeKeys(operation);
      if (unannounced.gsi1pk) {
        values[':gsi1pk'] = unannounced.gsi1pk;
        values[':gsi1sk'] = unannounced.gsi1sk;
        set.push('#gsi1pk = :gsi1pk', '#gsi1sk = :gsi1sk');
      } else {
        remove.push('#gsi1pk', '#gsi1sk');
      }
    }
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.operation(operation.id),
          UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
          ConditionExpression: 'attribute_exists(pk) AND #revision = :expected',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return parseItem(result.Attributes ?? {}, operationSchema, keys.operation(operation.id));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new StaleOperationError(operation.id, operation.revision);
      throw error;
    }
  }

  /**
   * Takes or renews the operation's lease for `owner` until now + leaseMs, iff it is running and the lease is
   * free, expired (until < now) or already ours. Bumps the revision (so a replica that lost the lease gets
   * StaleOperationError on its next save); updatedAt is left alone, it tells of progress. Returns the claimed
   * operation, or undefined when another replica holds a live lease, the operation is finished, or missing.
   */
  async claimOperation(id: string, owner: string, leaseMs: number): Promise<Operation | undefined> {
    const now = this.clock.now();
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.operation(id),
          UpdateExpression: 'SET #lease = :lease, #revision = #revision + :one',
          ConditionExpression:
            '#status = :running AND (attribute_not_exists(#lease) OR #lease.#until < :now OR #lease.#owner = :owner)',
          ExpressionAttributeNames: { '#lease': 'lease', '#revision': 'revision', '#status': 'status', '#until': 'until', '#owner': 'owner' },
          ExpressionAttributeValues: { ':lease': { owner, until: now + leaseMs }, ':one': 1, ':running': 'running', ':now': now, ':owner': owner },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return parseItem(result.Attributes ?? {}, operationSchema, keys.operation(id));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /** Running operations, oldest first, from the sparse `active` index (eventually consistent). */
  /**
   * Running operations, oldest first. An item that does not parse throws, unless `onUnreadable` is
   * given: then it is reported there and skipped, so one bad item cannot hold up every other resume.
   */
  async listActiveOperations(onUnreadable?: (error: CorruptItemError) => void): Promise<Operation[]> {
    const items = await this.queryAll({
      IndexName: activeIndex,
      KeyConditionExpression: 'gsi1pk = :active',
      ExpressionAttributeValues: { ':active': ACTIVE },
    });
    return items
      .flatMap((item) => {
        try {
          return [parseItem(item, operationSchema)];
        } catch (error) {
          if (!onUnreadable || !(error instanceof CorruptItemError)) throw error;
          onUnreadable(error);
          return [];
        }
      })
      .filter((op) => op.status === 'running');
  }

  /**
   * A running operation's cancel and decision, and its status, as its owner looks every second for
   * what another replica delivered. Eventually consistent (half the price of a consistent read): a
   * cancel or a decision, once written, is never taken back while the operation runs, so a look that
   * misses one sees it the next second. DynamoDB bills the whole item, however little is projected.
   */
  async getOperationSignals(id: string): Promise<OperationSignals | undefined> {
    const result = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keys.operation(id),
        ProjectionExpression: '#status, #cancel, #approval',
        ExpressionAttributeNames: { '#status': 'status', '#cancel': 'cancelRequested', '#approval': 'approval' },
      }),
    );
    return result.Item ? parseItem(result.Item, operationSignals, keys.operation(id)) : undefined;
  }

  /** Counts one replica's hand-over (a SIGTERM that gave its leases up): the others watch the count to take the work at once. */
  async countHandOver(): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.handOvers(),
        UpdateExpression: 'SET #type = :type ADD #count :one',
        ExpressionAttributeNames: { '#type': 'type', '#count': 'count' },
        ExpressionAttributeValues: { ':type': 'handOvers', ':one': 1 },
      }),
    );
  }

  /** How many hand-overs there have been; eventually consistent (it only rises; one item, half a read unit). */
  async handOverCount(): Promise<number> {
    const result = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: keys.handOvers() }));
    return result.Item ? parseItem(result.Item, z.object({ count: z.number().int().nonnegative() }), keys.handOvers()).count : 0;
  }

  /** Finished operations with an announcement still to post, oldest first (the same sparse index, under its own key). */
  async listUnannounced(): Promise<Operation[]> {
    const items = await this.queryAll({
      IndexName: activeIndex,
      KeyConditionExpression: 'gsi1pk = :unannounced',
      ExpressionAttributeValues: { ':unannounced': UNANNOUNCED },
    });
    return items.map((item) => parseItem(item, operationSchema)).filter((op) => op.status !== 'running');
  }

  /**
   * Marks a running operation for cancellation ({ by, at: now }); the first request wins, a repeat changes
   * nothing. Does not bump the revision (see saveOperation). Returns the operation, or undefined when it is
   * missing or no longer running.
   */
  async requestCancel(id: string, by: string, options: { rollback?: boolean } = {}): Promise<Operation | undefined> {
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.operation(id),
          UpdateExpression: 'SET #cancel = if_not_exists(#cancel, :cancel)',
          ConditionExpression: '#status = :running',
          ExpressionAttributeNames: { '#cancel': 'cancelRequested', '#status': 'status' },
          ExpressionAttributeValues: { ':cancel': { by, at: this.clock.now(), ...(options.rollback ? { rollback: true } : {}) }, ':running': 'running' },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return parseItem(result.Attributes ?? {}, operationSchema, keys.operation(id));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /**
   * Delivers an approver's decision to the operation waiting for it: only once, only for the request
   * still open (the one the button was posted with) and only before it expires. Returns the operation
   * as it now is and whether this decision was the one taken; undefined when the operation is missing.
   */
  async decideApproval(id: string, approval: NonNullable<Operation['approval']>): Promise<{ taken: boolean; operation?: Operation }> {
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.operation(id),
          UpdateExpression: 'SET #approval = :approval',
          ConditionExpression:
            '#status = :running AND attribute_not_exists(#approval) AND #state.#request.#key = :key AND #state.#request.#expiresAt > :now',
          ExpressionAttributeNames: { '#approval': 'approval', '#status': 'status', '#state': 'state', '#request': 'approvalRequest', '#key': 'key', '#expiresAt': 'expiresAt' },
          ExpressionAttributeValues: { ':approval': approval, ':running': 'running', ':key': approval.request, ':now': approval.at },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { taken: true, operation: parseItem(result.Attributes ?? {}, operationSchema, keys.operation(id)) };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return { taken: false, operation: await this.getOperation(id) };
    }
  }

  // ---- locks ----

  /**
   * What /bake and /canary read before they start, in one round trip: the app's config, its lock (of
   * the lane, and the environment's), its release of this version and what the environment runs. Keys
   * DynamoDB leaves unprocessed (it may, under load) are read one by one.
   */
  async getAppAtVersion(app: string, version: string, lane: LockLane = 'bake', environment?: string): Promise<AppAtVersion> {
    const wanted = [keys.appConfig(app), keys.lock(app, lane, environment), keys.release(app, version), keys.live(app, environment)];
    const result = await this.doc.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: wanted, ConsistentRead: true } } }));
    const found = [...(result.Responses?.[this.tableName] ?? [])];
    for (const key of result.UnprocessedKeys?.[this.tableName]?.Keys ?? []) {
      const item = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
      if (item.Item) found.push(item.Item);
    }
    const item = (key: { pk: string; sk: string }): Item | undefined => found.find((i) => i.pk === key.pk && i.sk === key.sk);
    const [configItem, lockItem, releaseItem, liveItem] = wanted.map(item);
    return {
      config: configItem ? parseItem(configItem, storedAppConfig).config : undefined,
      lock: lockItem ? parseItem(lockItem, appLock) : undefined,
      release: releaseItem ? parseItem(releaseItem, releaseSchema) : undefined,
      live: liveItem ? parseItem(liveItem, liveRelease) : undefined,
    };
  }

  async getLock(app: string, lane: LockLane = 'bake', environment?: string): Promise<AppLock | undefined> {
    return this.get(keys.lock(app, lane, environment), appLock);
  }

  /** Deletes the app's lock iff it belongs to operationId; a lock that is gone or held by another is left alone. */
  async releaseLock(app: string, operationId: string, lane: LockLane = 'bake', environment?: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: keys.lock(app, lane, environment),
          ConditionExpression: 'operationId = :id',
          ExpressionAttributeValues: { ':id': operationId },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  // ---- audit ----

  async appendAudit(entry: AuditEntry): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: keys.auditPk(entry.app), sk: `${timeKey(entry.at)}#${randomBytes(6).toString('hex')}`, type: 'audit', ...entry, expiresAt: expiresAt('audit', entry.at) },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  /** Newest first; at most `limit` entries (default 50). */
  async listAudit(app: string, limit = DEFAULT_AUDIT_LIMIT): Promise<AuditEntry[]> {
    if (limit <= 0) return [];
    const items = await this.queryAll(
      {
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': keys.auditPk(app) },
        ScanIndexForward: false,
        ConsistentRead: true,
      },
      limit,
    );
    return items.map((item) => parseItem(item, auditEntry));
  }

  // ---- scheduled jobs: slots, and what the sweep did ----

  /**
   * Takes a job's slot (its minute, an ISO time) for `owner`; true for exactly one caller per job and
   * slot, however many replicas ask and however often they restart.
   */
  async claimJobSlot(job: SlotJob, slot: string, owner: string): Promise<boolean> {
    const now = this.clock.now();
    const mark: JobSlot = { slot, owner, claimedAt: now, expiresAt: expiresAt('jobSlot', now) };
    try {
      await this.doc.send(
        new PutCommand({ TableName: this.tableName, Item: { ...keys.jobSlot(job, slot), type: `${job}Slot`, ...mark }, ConditionExpression: 'attribute_not_exists(pk)' }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async getJobSlot(job: SlotJob, slot: string): Promise<JobSlot | undefined> {
    return this.get(keys.jobSlot(job, slot), jobSlotSchema);
  }

  /** The last real sweep, kept whole (one item, overwritten by the next sweep). */
  async putLastSweep(summary: SweepSummary): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { ...keys.lastSweep(), type: 'sweep', ...summary } }));
  }

  async getLastSweep(): Promise<SweepSummary | undefined> {
    return this.get(keys.lastSweep(), sweepSummarySchema);
  }

  /**
   * Where operations stand, by id, 100 to a BatchGet (DynamoDB's limit); an id not in the table is left
   * out. Only the standing is read, and of the state only its `leftovers`: an operation's params and
   * state (its app's config, scripts) are most of its size, and the sweep meets thousands.
   */
  async getOperationStandings(ids: string[]): Promise<Map<string, OperationStanding>> {
    const found = new Map<string, OperationStanding>();
    const unique = [...new Set(ids)];
    const projection = {
      // The ids an operation recorded of what it made; its regions' other fields (reasons, times) come along, small.
      ProjectionExpression: '#id, #kind, #status, #lease, #updatedAt, #state.#builderId, #state.#builderVolumes, #state.#imageId, #state.#snapshotIds, #state.#regions, #state.#leftovers',
      ExpressionAttributeNames: {
        '#id': 'id', '#kind': 'kind', '#status': 'status', '#lease': 'lease', '#updatedAt': 'updatedAt', '#state': 'state',
        '#builderId': 'builderId', '#builderVolumes': 'builderVolumes', '#imageId': 'imageId', '#snapshotIds': 'snapshotIds', '#regions': 'regions', '#leftovers': 'leftovers',
      },
    };
    for (let start = 0; start < unique.length; start += 100) {
      const wanted = unique.slice(start, start + 100).map((id) => keys.operation(id));
      const result = await this.doc.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: wanted, ConsistentRead: true, ...projection } } }));
      const items = [...(result.Responses?.[this.tableName] ?? [])];
      // Keys DynamoDB left unprocessed (under load) are read one by one, as getAppAtVersion does.
      for (const key of result.UnprocessedKeys?.[this.tableName]?.Keys ?? []) {
        const item = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true, ...projection }));
        if (item.Item) items.push(item.Item);
      }
      for (const item of items) {
        const standing = parseItem(item, operationStanding);
        found.set(standing.id, standing);
      }
    }
    return found;
  }

  // ---- retirements ----

  async listRetirements(app: string): Promise<Retirement[]> {
    const items = await this.queryAll({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :retire)',
      ExpressionAttributeValues: { ':pk': `APP#${app}`, ':retire': 'RETIRE#' },
      ConsistentRead: true,
    });
    return items.map((item) => parseItem(item, retirementSchema));
  }

  /**
   * Writes a bake's next stage only if the record is still the one read (`from`; none for a first
   * stage); true for exactly one writer. The returned record is the one written.
   */
  async advanceRetirement(next: Omit<Retirement, 'revision'>, from?: Retirement): Promise<Retirement | undefined> {
    const written: Retirement = { ...next, revision: from ? from.revision + 1 : 0 };
    const done = next.stage === 'deregistered' ? { expiresAt: expiresAt('retirement', next.since) } : {};
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...keys.retirement(next.app, next.bake), type: 'retirement', ...written, ...done },
          ...(from
            ? { ConditionExpression: 'revision = :revision', ExpressionAttributeValues: { ':revision': from.revision } }
            : { ConditionExpression: 'attribute_not_exists(pk)' }),
        }),
      );
      return written;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /** Forgets a retirement (its images were restored) if it is still the one read; true for exactly one caller. */
  async endRetirement(record: Retirement): Promise<boolean> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: keys.retirement(record.app, record.bake),
          ConditionExpression: 'revision = :revision',
          ExpressionAttributeValues: { ':revision': record.revision },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  // ---- helpers ----

  private async get<T>(key: { pk: string; sk: string }, schema: z.ZodType<T>): Promise<T | undefined> {
    const result = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    return result.Item ? parseItem(result.Item, schema) : undefined;
  }

  /** Every page of a consistent Scan of the table, filtered. */
  private async scanAll(filter: string, values: Record<string, unknown>): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.doc.send(
        new ScanCommand({ TableName: this.tableName, FilterExpression: filter, ExpressionAttributeValues: values, ConsistentRead: true, ExclusiveStartKey: startKey }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }

  /** Every page of a query, or the first `limit` items. */
  private async queryAll(
    input: Omit<ConstructorParameters<typeof QueryCommand>[0], 'TableName' | 'ExclusiveStartKey' | 'Limit'>,
    limit?: number,
  ): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          ...input,
          TableName: this.tableName,
          ExclusiveStartKey: startKey,
          ...(limit !== undefined ? { Limit: limit - items.length } : {}),
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey && (limit === undefined || items.length < limit));
    return items;
  }
}

/** An app's records, from the items of its partition (its config left out). */
export interface AppRecords {
  /** The live record of an app of one fleet. */
  live?: LiveRelease;
  /** Every environment's live record (for an app of one fleet, its one). */
  lives: LiveRelease[];
  releases: Release[];
  locks: AppLock[];
}

function appRecordsOf(app: string, items: Item[]): AppRecords {
  const of = (sk: string) => items.filter((item) => String(item.sk).startsWith(sk));
  const lives = items.filter((item) => item.sk === keys.live(app).sk || String(item.sk).startsWith(`${keys.live(app).sk}#`)).map((item) => parseItem(item, liveRelease));
  return {
    live: lives.find((live) => live.environment === undefined),
    lives,
    releases: of('RELEASE#').map((item) => parseItem(item, releaseSchema)).sort((a, b) => b.bakedAt - a.bakedAt),
    locks: of('LOCK').map((item) => parseItem(item, appLock)),
  };
}

/** Whether a bake by `operationId` replaces the release's current one (not the same bake's record step run again, nor a pruned bake's, whose images are gone). */
function replacedBy(previous: Release, operationId: string): boolean {
  return previous.operationId !== operationId && previous.status !== 'retired';
}

function supersededOf(release: Release, at: number): SupersededBake {
  const { amis, amiName, baseAmi, baseAmiName, baseAmiCreatedAt, artifactSha256, recipeHash, commit, bakedBy, bakedAt, operationId, thread } = release;
  return supersededBake.parse({ amis, amiName, baseAmi, baseAmiName, baseAmiCreatedAt, artifactSha256, recipeHash, commit, bakedBy, bakedAt, operationId, thread, supersededAt: at });
}

function activeKeys(operation: Operation): { gsi1pk?: string; gsi1sk?: string } {
  if (operation.status === 'running') return { gsi1pk: ACTIVE, gsi1sk: timeKey(operation.createdAt) };
  const unannounced = operation.outbox?.some((entry) => !entry.posted && !entry.abandoned);
  return unannounced ? { gsi1pk: UNANNOUNCED, gsi1sk: timeKey(operation.createdAt) } : {};
}

/** Parses a raw item with its schema, without the table's plumbing attributes; a mismatch is a CorruptItemError. */
export function parseItem<T>(item: Item, schema: z.ZodType<T>, key?: { pk: string; sk: string }): T {
  const data: Item = {};
  for (const [name, value] of Object.entries(item)) if (!PLUMBING.has(name)) data[name] = value;
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data;
  throw new CorruptItemError(
    String(item.pk ?? key?.pk ?? '?'),
    String(item.sk ?? key?.sk ?? '?'),
    parsed.error.issues.map((issue) => ({ field: issue.path.map(String).join('.'), message: issue.message })),
  );
}
