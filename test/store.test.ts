import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../src/clock.js';
import { appConfig, type AppConfig } from '../src/config/apps.js';
import { createDocumentClient } from '../src/store/dynamo.js';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../src/store/embedded.js';
import type { AppLock, Operation, Release } from '../src/store/items.js';
import { CorruptItemError, StaleOperationError, Store, keys } from '../src/store/store.js';
import { ensureTable } from '../src/store/table.js';

const demoConfig: AppConfig = appConfig.parse({
  channel: '#deploys',
  region: 'us-east-1',
  baseImage: { ssm: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64' },
  instanceType: 't3.small',
  artifactUrl: 'https://artifacts.example.com/demo/{version}.tar.gz',
  provision: './install.sh',
  smokeTest: 'curl -fsS localhost:8080/health',
  copyTo: ['eu-west-1'],
});

let tableCount = 0;
let dynamo: EmbeddedDynamo;
let doc: DynamoDBDocumentClient;
let clock: VirtualClock;
let store: Store;
let tableName: string;

beforeAll(async () => {
  dynamo = await startEmbeddedDynamo({});
  doc = createDocumentClient({ endpoint: dynamo.endpoint, local: true });
});

afterAll(async () => {
  doc.destroy();
  await dynamo.close();
  await dynamo.close(); // idempotent
});

beforeEach(async () => {
  // A fresh table per test, so tests do not see each other's items.
  tableName = `bakery-test-${++tableCount}`;
  await ensureTable(doc, tableName);
  clock = new VirtualClock();
  store = new Store(doc, tableName, clock);
});

function bake(id: string, overrides: Partial<Operation> = {}): Operation {
  const now = clock.now();
  return {
    id,
    kind: 'bake',
    app: 'demo',
    version: 'v1',
    requestedBy: 'U123',
    channel: 'C123',
    params: { force: false },
    state: {},
    steps: [],
    status: 'running',
    createdAt: now,
    updatedAt: now,
    revision: 0,
    ...overrides,
  };
}

function lockFor(operation: Operation): AppLock {
  return {
    app: operation.app,
    operationId: operation.id,
    kind: operation.kind,
    version: operation.version,
    requestedBy: operation.requestedBy,
    since: operation.createdAt,
  };
}

async function start(operation: Operation, requestId = `req-${operation.id}`) {
  return store.startOperation({ operation, lock: lockFor(operation), requestId });
}

function release(version: string, bakedAt: number): Release {
  return {
    app: 'demo',
    version,
    amis: { 'us-east-1': 'ami-0123456789abcdef0', 'eu-west-1': 'ami-0fedcba9876543210' },
    amiName: `demo-${version}-${bakedAt}`,
    baseAmi: 'ami-00000000aaaaaaaa1',
    baseAmiName: 'al2023-ami-2023.6',
    status: 'baked',
    bakedBy: 'U123',
    bakedAt,
    operationId: `op-${version}`,
    history: [],
  };
}

describe('store', () => {
  it('keeps app configs as they were applied', async () => {
    expect(await store.getAppConfig('demo')).toBeUndefined();
    await store.putAppConfig('demo', demoConfig);
    await store.putAppConfig('other', { ...demoConfig, channel: '#other' });
    expect(await store.getAppConfig('demo')).toEqual(demoConfig);
    expect(await store.listAppConfigs()).toEqual({ demo: demoConfig, other: { ...demoConfig, channel: '#other' } });
  });

  it('lists releases newest first', async () => {
    await store.putRelease(release('v1', 1_000));
    await store.putRelease(release('v3', 3_000));
    await store.putRelease(release('v2', 2_000));
    expect(await store.getRelease('demo', 'v2')).toEqual(release('v2', 2_000));
    expect(await store.getRelease('demo', 'v9')).toBeUndefined();
    expect((await store.listReleases('demo')).map((r) => r.version)).toEqual(['v3', 'v2', 'v1']);
    expect(await store.listReleases('nothing')).toEqual([]);
  });

  it('keeps a status a canary wrote while a rebake was recording the same version', async () => {
    await store.putRelease(release('v1', 1_000));
    // A second client whose first read of the release lets a canary's status change in before the rebake writes.
    const racing = createDocumentClient({ endpoint: dynamo.endpoint, local: true });
    let raced = false;
    racing.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        const input = args.input as { Key?: { sk?: string } };
        if (!raced && input.Key?.sk === 'RELEASE#v1') {
          raced = true;
          await store.setReleaseStatus('demo', 'v1', 'canary', { at: 2_000, by: 'U0ALICE', operationId: 'op-canary' });
        }
        return result;
      },
      { step: 'initialize' },
    );
    try {
      await new Store(racing, tableName, clock).putRelease({ ...release('v1', 3_000), operationId: 'op-rebake', history: [{ status: 'baked', at: 3_000, by: 'U123', operationId: 'op-rebake' }] });
    } finally {
      racing.destroy();
    }
    const after = await store.getRelease('demo', 'v1');
    expect(raced).toBe(true);
    expect(after?.history.map((event) => event.operationId)).toEqual(['op-canary', 'op-rebake']);
    expect(after?.superseded?.map((bake) => bake.operationId)).toEqual(['op-v1']);
  });

  it('starts one operation per app, and a retried request only once', async () => {
    const first = bake('op-1');
    expect(await start(first, 'req-1')).toEqual({ outcome: 'started', operation: first });
    expect(await store.getOperation('op-1')).toEqual(first);
    expect(await store.getLock('demo')).toEqual(lockFor(first));

    // A second bake of the same app while the first runs: busy, with who holds the lock.
    const second = bake('op-2', { version: 'v2' });
    expect(await start(second, 'req-2')).toEqual({ outcome: 'busy', lock: lockFor(first) });
    expect(await store.getOperation('op-2')).toBeUndefined();

    // Slack retries the first request: the same request id is recognised, even though the app is locked too.
    expect(await start(bake('op-3'), 'req-1')).toEqual({ outcome: 'duplicate-request', operationId: 'op-1' });
    expect(await store.getOperation('op-3')).toBeUndefined();

    // Another app is free.
    const other = bake('op-4', { app: 'other' });
    expect((await start(other, 'req-4')).outcome).toBe('started');

    // Once the lock is released the app can bake again, but the old request id is still remembered.
    await store.releaseLock('demo', 'op-1');
    expect(await start(bake('op-5'), 'req-1')).toEqual({ outcome: 'duplicate-request', operationId: 'op-1' });
    expect(await store.getLock('demo')).toBeUndefined();
    expect((await start(bake('op-6'), 'req-6')).outcome).toBe('started');
  });

  it('refuses a save from a stale copy', async () => {
    const op = bake('op-1');
    await start(op);
    const saved = await store.saveOperation({ ...op, steps: [{ name: 'resolve-base', status: 'running', startedAt: clock.now() }] });
    expect(saved.revision).toBe(1);

    clock.advance(5_000);
    const next = await store.saveOperation({ ...saved, state: { baseAmi: 'ami-00000000aaaaaaaa1' } });
    expect(next).toMatchObject({ revision: 2, updatedAt: clock.now(), state: { baseAmi: 'ami-00000000aaaaaaaa1' } });

    // A writer still holding revision 1 lost the race.
    await expect(store.saveOperation({ ...saved, state: { other: true } })).rejects.toBeInstanceOf(StaleOperationError);
    expect((await store.getOperation('op-1'))?.state).toEqual({ baseAmi: 'ami-00000000aaaaaaaa1' });

    // Saving an operation that does not exist is stale too, not a silent create.
    await expect(store.saveOperation(bake('op-missing'))).rejects.toBeInstanceOf(StaleOperationError);
  });

  it('lets exactly one of two racing replicas claim an operation, and the other take over once the lease expires', async () => {
    await start(bake('op-1'));
    const [a, b] = await Promise.all([
      store.claimOperation('op-1', 'replica-a', 30_000),
      store.claimOperation('op-1', 'replica-b', 30_000),
    ]);
    const winners = [a, b].filter((op) => op !== undefined);
    expect(winners).toHaveLength(1);
    const winner = winners[0]!;
    const loser = winner.lease?.owner === 'replica-a' ? 'replica-b' : 'replica-a';
    expect(winner.lease).toEqual({ owner: winner.lease?.owner, until: clock.now() + 30_000 });

    // The owner renews its own lease; the other still cannot take it.
    clock.advance(20_000);
    const renewed = await store.claimOperation('op-1', winner.lease!.owner, 30_000);
    expect(renewed?.lease?.until).toBe(clock.now() + 30_000);
    expect(await store.claimOperation('op-1', loser, 30_000)).toBeUndefined();

    // The owner dies: once its lease has run out, the other replica takes over...
    clock.advance(30_001);
    const taken = await store.claimOperation('op-1', loser, 30_000);
    expect(taken?.lease?.owner).toBe(loser);
    // ...and the old owner's next save is refused.
    await expect(store.saveOperation({ ...renewed!, state: { late: true } })).rejects.toBeInstanceOf(StaleOperationError);

    // A finished operation cannot be claimed.
    await store.saveOperation({ ...taken!, status: 'succeeded', finishedAt: clock.now() });
    expect(await store.claimOperation('op-1', loser, 30_000)).toBeUndefined();
    expect(await store.claimOperation('op-missing', loser, 30_000)).toBeUndefined();
  });

  it('lists only running operations as active', async () => {
    const one = bake('op-1');
    await start(one);
    clock.advance(1_000);
    await start(bake('op-2', { app: 'other' }));
    clock.advance(1_000);
    const three = bake('op-3', { app: 'third' });
    await start(three);
    expect((await store.listActiveOperations()).map((op) => op.id)).toEqual(['op-1', 'op-2', 'op-3']);

    await store.saveOperation({ ...one, status: 'succeeded', finishedAt: clock.now() });
    await store.saveOperation({ ...three, status: 'failed', error: { step: 'create-image', message: 'boom' } });
    const active = await store.listActiveOperations();
    expect(active.map((op) => op.id)).toEqual(['op-2']);
    expect(active[0]).not.toHaveProperty('gsi1pk');
  });

  it('keeps a cancel request through the owner\'s next save', async () => {
    const op = bake('op-1');
    await start(op);
    const owned = await store.claimOperation('op-1', 'replica-a', 60_000);

    clock.advance(1_000);
    const cancelled = await store.requestCancel('op-1', 'U999');
    expect(cancelled?.cancelRequested).toEqual({ by: 'U999', at: clock.now() });
    // A second press does not move the first request.
    clock.advance(1_000);
    expect((await store.requestCancel('op-1', 'U777'))?.cancelRequested).toEqual({ by: 'U999', at: clock.now() - 1_000 });

    // The owner saves the copy it had before the cancel: the save goes through and carries the cancel back.
    const saved = await store.saveOperation({ ...owned!, state: { instanceId: 'i-0abc' } });
    expect(saved.cancelRequested).toEqual({ by: 'U999', at: clock.now() - 1_000 });
    expect(saved.state).toEqual({ instanceId: 'i-0abc' });

    // A finished operation cannot be cancelled.
    await store.saveOperation({ ...saved, status: 'cancelled', finishedAt: clock.now() });
    expect(await store.requestCancel('op-1', 'U999')).toBeUndefined();
    expect(await store.requestCancel('op-missing', 'U999')).toBeUndefined();
  });

  it('releases a lock only for the operation that holds it', async () => {
    await start(bake('op-1'));
    await store.releaseLock('demo', 'op-other');
    expect((await store.getLock('demo'))?.operationId).toBe('op-1');
    await store.releaseLock('demo', 'op-1');
    expect(await store.getLock('demo')).toBeUndefined();
    await store.releaseLock('demo', 'op-1'); // already gone: no error
  });

  it('keeps finished operations 90 days, audit entries 400 days and request marks a day, then lets TTL remove them', async () => {
    const day = 24 * 3_600_000;
    const ttlOf = async (key: { pk: string; sk: string }) => (await doc.send(new GetCommand({ TableName: tableName, Key: key }))).Item?.expiresAt as number | undefined;
    const started = await start(bake('op-1'), 'req-1');
    expect(started.outcome).toBe('started');
    expect(await ttlOf(keys.operation('op-1'))).toBeUndefined();
    expect(await ttlOf(keys.request('req-1'))).toBe(Math.floor((clock.now() + day) / 1000));

    const running = (await store.getOperation('op-1'))!;
    const finishedAt = clock.now();
    await store.saveOperation({ ...running, status: 'succeeded', finishedAt });
    expect(await ttlOf(keys.operation('op-1'))).toBe(Math.floor((finishedAt + 90 * day) / 1000));

    await store.appendAudit({ app: 'demo', at: 7_000, actor: 'U123', action: 'bake requested' });
    const [entry] = (await doc.send(new QueryCommand({ TableName: tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': keys.auditPk('demo') } }))).Items ?? [];
    expect(entry?.expiresAt).toBe(Math.floor((7_000 + 400 * day) / 1000));
    expect(await store.listAudit('demo')).toEqual([{ app: 'demo', at: 7_000, actor: 'U123', action: 'bake requested' }]);
  });

  it('lets a rejected or retired release expire after 400 days, and keeps one that can still be rolled back to', async () => {
    const day = 24 * 3_600_000;
    const ttlOf = async (version: string) => (await doc.send(new GetCommand({ TableName: tableName, Key: keys.release('demo', version) }))).Item?.expiresAt as number | undefined;
    for (const version of ['v1', 'v2', 'v3']) await store.putRelease(release(version, 1_000));
    await store.setReleaseStatus('demo', 'v1', 'rejected', { at: 5_000, by: 'U123' });
    await store.setReleaseStatus('demo', 'v2', 'retired', { at: 6_000, by: 'U123' });
    await store.setReleaseStatus('demo', 'v3', 'rolled-back', { at: 7_000, by: 'U123' });
    expect([await ttlOf('v1'), await ttlOf('v2'), await ttlOf('v3')]).toEqual([Math.floor((5_000 + 400 * day) / 1000), Math.floor((6_000 + 400 * day) / 1000), undefined]);
    // Baked again (a forced re-bake), it is history worth keeping once more.
    await store.setReleaseStatus('demo', 'v1', 'baked', { at: 8_000, by: 'U123' });
    expect(await ttlOf('v1')).toBeUndefined();
    expect((await store.getRelease('demo', 'v1'))?.status).toBe('baked');
  });

  it('lists the audit trail newest first', async () => {
    for (const [at, action] of [[1_000, 'bake'], [3_000, 'cancel'], [2_000, 'bake'], [3_000, 'retry']] as const) {
      await store.appendAudit({ app: 'demo', at, actor: 'U123', action, operationId: 'op-1' });
    }
    await store.appendAudit({ app: 'other', at: 5_000, actor: 'U123', action: 'bake' });
    const trail = await store.listAudit('demo');
    expect(trail.map((entry) => entry.at)).toEqual([3_000, 3_000, 2_000, 1_000]);
    expect(trail.map((entry) => entry.action).slice(2)).toEqual(['bake', 'bake']);
    expect((await store.listAudit('demo', 2)).map((entry) => entry.at)).toEqual([3_000, 3_000]);
  });

  it('reports a corrupt item by its keys and field', async () => {
    await doc.send(
      new PutCommand({
        TableName: tableName,
        Item: { pk: 'APP#demo', sk: 'RELEASE#v1', ...release('v1', 1_000), amis: { 'us-east-1': 'not-an-ami' } },
      }),
    );
    const error = await store.getRelease('demo', 'v1').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CorruptItemError);
    expect((error as Error).message).toMatch(/^item APP#demo\/RELEASE#v1: field "amis\.us-east-1": an AMI id looks like/);
    await expect(store.listReleases('demo')).rejects.toBeInstanceOf(CorruptItemError);
  });

  it('keeps its data in a folder across a restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'bakery-store-'));
    try {
      const first = await startEmbeddedDynamo({ dataDir });
      const firstDoc = createDocumentClient({ endpoint: first.endpoint, local: true });
      await ensureTable(firstDoc, 'bakery');
      await new Store(firstDoc, 'bakery', clock).putRelease(release('v1', 1_000));
      firstDoc.destroy();
      await first.close();

      const second = await startEmbeddedDynamo({ dataDir });
      const secondDoc = createDocumentClient({ endpoint: second.endpoint, local: true });
      try {
        expect(await ensureTable(secondDoc, 'bakery')).toEqual({ created: false, ttl: false });
        expect(await new Store(secondDoc, 'bakery', clock).getRelease('demo', 'v1')).toEqual(release('v1', 1_000));
      } finally {
        secondDoc.destroy();
        await second.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
