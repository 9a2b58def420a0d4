/*
 * Creates Bakery's DynamoDB table in a new account: `npm run create-table`.
 * The table is BAKERY_TABLE (default "bakery"); the account, region and credentials are the SDK's defaults
 * (AWS_PROFILE, AWS_REGION, ...), and AWS_ENDPOINT_URL_DYNAMODB points it at another endpoint (e.g. DynamoDB Local).
 * Safe to run again: an existing table is left as it is.
 */
import { createDocumentClient } from '../src/store/dynamo.js';
import { ensureTable } from '../src/store/table.js';

const tableName = process.env.BAKERY_TABLE || 'bakery';
const doc = createDocumentClient({});
try {
  const region = await doc.config.region();
  const where = `${process.env.AWS_ENDPOINT_URL_DYNAMODB ? `endpoint ${process.env.AWS_ENDPOINT_URL_DYNAMODB}, ` : ''}region ${region}`;
  console.log(`Ensuring DynamoDB table "${tableName}" (${where})...`);
  const result = await ensureTable(doc, tableName);
  console.log(
    result.created
      ? `Created table "${tableName}": on-demand billing, keys pk (S) / sk (S), GSI "active" on gsi1pk/gsi1sk, ` +
          `${result.ttl ? 'TTL on expiresAt' : 'no TTL (this endpoint does not support it)'}. It is ACTIVE.`
      : `Table "${tableName}" already exists; left unchanged.`,
  );
} catch (error) {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  console.error(`Could not create table "${tableName}": ${message}`);
  process.exitCode = 1;
} finally {
  doc.destroy();
}
