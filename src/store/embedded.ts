import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';
import dynalite from 'dynalite';

/*
 * The embedded DynamoDB for local mode and tests: dynalite on 127.0.0.1, in memory or in a LevelDB folder.
 *
 * dynalite speaks the DynamoDB wire protocol but has no TransactWriteItems, which the store needs to take an
 * app's lock, record a Slack request and create an operation at once. So the endpoint handed out is a small
 * proxy in front of dynalite that passes every request through, one at a time, and answers TransactWriteItems
 * itself: each item is written with its own condition (ReturnValues ALL_OLD), and if any condition fails every
 * write is undone and the SDK gets DynamoDB's own TransactionCanceledException with CancellationReasons.
 * Because the proxy runs one request at a time, no other client ever sees a half-applied transaction.
 * Not emulated: ClientRequestToken idempotency, and atomicity across a crash of this process mid-transaction
 * (local mode only; the real service is atomic).
 */

export interface EmbeddedDynamo {
  /** http://127.0.0.1:<port>, for createDocumentClient({ endpoint, local: true }). */
  endpoint: string;
  /** Stops the server and closes the LevelDB folder; safe to call more than once. */
  close(): Promise<void>;
}

export async function startEmbeddedDynamo(options: { dataDir?: string } = {}): Promise<EmbeddedDynamo> {
  if (options.dataDir !== undefined) {
    await mkdir(options.dataDir, { recursive: true });
    await checkFolderIsFree(options.dataDir);
  }
  const backend = dynalite({
    ...(options.dataDir !== undefined ? { path: options.dataDir } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  const backendPort = await listen(backend);
  const agent = new Agent({ keepAlive: true });
  const upstream = (target: string, body: string): Promise<UpstreamResponse> =>
    callUpstream(agent, backendPort, target, body);

  let tail: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T>(work: () => Promise<T>): Promise<T> => {
    const run = tail.then(work);
    tail = run.catch(() => undefined);
    return run;
  };

  const front = createServer((req, res) => {
    void readBody(req)
      .then((body) =>
        oneAtATime(async () => {
          const target = String(req.headers['x-amz-target'] ?? '');
          if (target.endsWith('.TransactWriteItems')) {
            const reply = await transactWriteItems(body.toString('utf8'), upstream);
            sendJson(res, reply.status, reply.body);
          } else {
            await forward(agent, backendPort, req, body, res);
          }
        }),
      )
      .catch((error: unknown) => {
        if (!res.headersSent) sendJson(res, 500, JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: String(error) }));
        else res.destroy();
      });
  });
  let frontPort: number;
  try {
    frontPort = await listen(front);
    // Opening a LevelDB folder fails lazily (e.g. another process holds it): find out now, not on the first write.
    const probe = await upstream('ListTables', '{}');
    if (probe.status !== 200) throw new Error(`the embedded DynamoDB did not start: ${probe.body}`);
  } catch (error) {
    await closeServers(front, backend, agent).catch(() => undefined);
    const where = options.dataDir !== undefined ? ` (data folder ${options.dataDir})` : '';
    throw new Error(`cannot start the embedded DynamoDB${where}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }

  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${frontPort}`,
    close: () => (closing ??= closeServers(front, backend, agent, () => tail)),
  };
}

/**
 * dynalite opens its LevelDB folder lazily and, if another process holds it, crashes with an unhandled error.
 * So open the folder once first, with dynalite's own LevelDB package, and fail with a message instead.
 */
async function checkFolderIsFree(dataDir: string): Promise<void> {
  const fromDynalite = createRequire(createRequire(import.meta.url).resolve('dynalite'));
  const { Level } = fromDynalite('level') as {
    Level: new (path: string) => { open(): Promise<void>; close(): Promise<void> };
  };
  const db = new Level(dataDir);
  try {
    await db.open();
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    throw new Error(
      code === 'LEVEL_LOCKED'
        ? `the data folder ${dataDir} is in use by another process (is Bakery already running?)`
        : `cannot open the data folder ${dataDir}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  await db.close();
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Stops taking requests, lets the one already passed to dynalite finish (its LevelDB write would
 * otherwise land on a closed database and throw out of dynalite), then closes dynalite.
 */
async function closeServers(front: Server, backend: Server, agent: Agent, inFlight: () => Promise<unknown> = async () => undefined): Promise<void> {
  await new Promise<void>((resolve) => {
    front.close(() => resolve());
    front.closeAllConnections();
  });
  await inFlight();
  agent.destroy();
  await new Promise<void>((resolve, reject) => {
    backend.close((error?: Error) => (error ? reject(error) : resolve()));
    backend.closeAllConnections();
  });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function forward(agent: Agent, port: number, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = httpRequest({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 500, answer.headers);
      answer.pipe(res);
      answer.on('end', resolve);
      answer.on('error', reject);
    });
    out.on('error', reject);
    out.end(body);
  });
}

function sendJson(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'Content-Type': 'application/x-amz-json-1.0',
    'Content-Length': Buffer.byteLength(body),
    'x-amz-crc32': String(crc32(body)),
    'x-amzn-RequestId': `embedded-${Date.now().toString(36)}`,
  });
  res.end(body);
}

interface UpstreamResponse {
  status: number;
  body: string;
}

function callUpstream(agent: Agent, port: number, operation: string, body: string): Promise<UpstreamResponse> {
  const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
  return new Promise((resolve, reject) => {
    const out = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        agent,
        headers: {
          'Content-Type': 'application/x-amz-json-1.0',
          'X-Amz-Target': `DynamoDB_20120810.${operation}`,
          'X-Amz-Date': amzDate,
          // dynalite checks that a signature is present, not that it is right.
          Authorization: `AWS4-HMAC-SHA256 Credential=local/${amzDate.slice(0, 8)}/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0`,
          'Content-Length': Buffer.byteLength(body),
        },
      },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => resolve({ status: answer.statusCode ?? 500, body: Buffer.concat(chunks).toString('utf8') }));
        answer.on('error', reject);
      },
    );
    out.on('error', reject);
    out.end(body);
  });
}

// ---- TransactWriteItems, on top of single-item conditional writes ----

type Json = Record<string, unknown>;
type Upstream = (operation: string, body: string) => Promise<UpstreamResponse>;

const errorType = (body: string): string => {
  try {
    const type = (JSON.parse(body) as { __type?: unknown }).__type;
    return typeof type === 'string' ? (type.split('#').pop() ?? type) : '';
  } catch {
    return '';
  }
};

const validation = (message: string): { status: number; body: string } => ({
  status: 400,
  body: JSON.stringify({ __type: 'com.amazon.coral.validate#ValidationException', message }),
});

async function transactWriteItems(requestBody: string, call: Upstream): Promise<UpstreamResponse> {
  const request = JSON.parse(requestBody) as { TransactItems?: Json[] };
  const items = request.TransactItems ?? [];
  if (items.length === 0 || items.length > 100) {
    return validation('TransactItems must have between 1 and 100 items');
  }

  const keyNames = new Map<string, string[]>();
  const keyOf = async (table: string, item: Json): Promise<Json | undefined> => {
    let names = keyNames.get(table);
    if (!names) {
      const described = await call('DescribeTable', JSON.stringify({ TableName: table }));
      if (described.status !== 200) return undefined;
      const schema = (JSON.parse(described.body) as { Table: { KeySchema: { AttributeName: string }[] } }).Table.KeySchema;
      names = schema.map((key) => key.AttributeName);
      keyNames.set(table, names);
    }
    return Object.fromEntries(names.map((name) => [name, item[name]]));
  };

  // Plan every item first, so a malformed request changes nothing.
  const plans: { kind: string; table: string; key: Json; spec: Json }[] = [];
  const seen = new Set<string>();
  for (const entry of items) {
    const [kind, spec] = Object.entries(entry)[0] ?? [];
    if (!kind || !spec || !['Put', 'Update', 'Delete', 'ConditionCheck'].includes(kind)) {
      return validation('each TransactItem must have exactly one of Put, Update, Delete, ConditionCheck');
    }
    const body = spec as Json;
    const table = String(body.TableName);
    const key = await keyOf(table, (kind === 'Put' ? body.Item : body.Key) as Json);
    if (!key) {
      return { status: 400, body: JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException', message: `Requested resource not found: Table: ${table} not found` }) };
    }
    const id = `${table}|${JSON.stringify(key)}`;
    if (seen.has(id)) return validation('Transaction request cannot include multiple operations on one item');
    seen.add(id);
    plans.push({ kind, table, key, spec: body });
  }

  const undo: { operation: string; body: Json }[] = [];
  const restore = (table: string, key: Json, old: Json | undefined): void => {
    undo.push(old ? { operation: 'PutItem', body: { TableName: table, Item: old } } : { operation: 'DeleteItem', body: { TableName: table, Key: key } });
  };
  const rollback = async (): Promise<void> => {
    for (const step of undo.reverse()) await call(step.operation, JSON.stringify(step.body));
  };

  const reasons: Json[] = [];
  for (const plan of plans) {
    const { ReturnValuesOnConditionCheckFailure: returnOnFailure, ...spec } = plan.spec;
    let operation: string;
    let body: Json;
    let old: Json | undefined;
    if (plan.kind === 'ConditionCheck') {
      // Check the condition by writing the item back unchanged (or creating it and deleting it again).
      const current = await call('GetItem', JSON.stringify({ TableName: plan.table, Key: plan.key, ConsistentRead: true }));
      if (current.status !== 200) {
        await rollback();
        return current;
      }
      old = (JSON.parse(current.body) as { Item?: Json }).Item;
      const { Key: _key, ...check } = spec;
      operation = 'PutItem';
      body = { ...check, Item: old ?? plan.key };
    } else {
      operation = `${plan.kind}Item`;
      body = { ...spec, ReturnValues: 'ALL_OLD' };
    }
    const answer = await call(operation, JSON.stringify(body));
    if (answer.status === 200) {
      if (plan.kind !== 'ConditionCheck') old = (JSON.parse(answer.body) as { Attributes?: Json }).Attributes;
      if (plan.kind !== 'Delete' || old) restore(plan.table, plan.key, old);
      reasons.push({ Code: 'None' });
    } else if (errorType(answer.body) === 'ConditionalCheckFailedException') {
      const reason: Json = { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' };
      if (returnOnFailure === 'ALL_OLD') {
        const current = await call('GetItem', JSON.stringify({ TableName: plan.table, Key: plan.key, ConsistentRead: true }));
        const item = current.status === 200 ? (JSON.parse(current.body) as { Item?: Json }).Item : undefined;
        if (item) reason.Item = item;
      }
      reasons.push(reason);
    } else {
      await rollback();
      return answer;
    }
  }

  if (reasons.every((reason) => reason.Code === 'None')) return { status: 200, body: '{}' };
  await rollback();
  return {
    status: 400,
    body: JSON.stringify({
      __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
      message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((reason) => String(reason.Code)).join(', ')}]`,
      CancellationReasons: reasons,
    }),
  };
}
