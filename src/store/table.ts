import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** The sparse index of running operations: only they carry gsi1pk = 'ACTIVE'. */
export const activeIndex = 'active';

/** What ensureTable did: `ttl` is false where the service has no TTL (dynalite), or when the table already existed. */
export interface EnsureTableResult {
  created: boolean;
  ttl: boolean;
}

/**
 * Creates Bakery's table if it is missing and waits until it is ACTIVE: on-demand billing, keys pk/sk,
 * the `active` GSI on gsi1pk/gsi1sk, and TTL on `expiresAt` (skipped where the service has no TTL, e.g. dynalite).
 * An existing table is left as it is.
 */
export async function ensureTable(
  client: DynamoDBClient | DynamoDBDocumentClient,
  tableName: string,
  options: { maxWaitSeconds?: number } = {},
): Promise<EnsureTableResult> {
  // A document client shares its DynamoDBClient's config and middleware, so it sends the table commands as well.
  const dynamo = client as DynamoDBClient;
  try {
    await dynamo.send(new DescribeTableCommand({ TableName: tableName }));
    return { created: false, ttl: false };
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }

  try {
    await dynamo.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
          { AttributeName: 'gsi1pk', AttributeType: 'S' },
          { AttributeName: 'gsi1sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: activeIndex,
            KeySchema: [
              { AttributeName: 'gsi1pk', KeyType: 'HASH' },
              { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      }),
    );
  } catch (error) {
    // Another replica created it first: fine, wait for it like for our own.
    if (!(error instanceof Error && error.name === 'ResourceInUseException')) throw error;
  }

  await waitUntilTableExists({ client: dynamo, maxWaitTime: options.maxWaitSeconds ?? 300, minDelay: 1, maxDelay: 10 }, { TableName: tableName });

  try {
    await dynamo.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      }),
    );
  } catch (error) {
    if (!isUnsupported(error)) throw error;
    return { created: true, ttl: false };
  }
  return { created: true, ttl: true };
}

/** dynalite (and some other local DynamoDBs) answer UpdateTimeToLive with UnknownOperationException. */
function isUnsupported(error: unknown): boolean {
  return error instanceof Error && /UnknownOperation|not supported|NotImplemented/i.test(`${error.name} ${error.message}`);
}
