import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface DocumentClientOptions {
  /** An explicit endpoint. Without it the SDK's own resolution applies, which honours AWS_ENDPOINT_URL_DYNAMODB. */
  endpoint?: string;
  region?: string;
  /** The embedded DynamoDB: needs `endpoint`, and uses fake static credentials instead of the credential chain. */
  local?: boolean;
}

/** The one DynamoDB document client: the real service with the default credential chain, or the embedded one. */
export function createDocumentClient(options: DocumentClientOptions = {}): DynamoDBDocumentClient {
  const config: DynamoDBClientConfig = {};
  if (options.local) {
    if (!options.endpoint) throw new Error('the embedded DynamoDB needs its endpoint (start it with startEmbeddedDynamo)');
    config.endpoint = options.endpoint;
    config.region = options.region ?? 'us-east-1';
    config.credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  } else {
    if (options.endpoint) config.endpoint = options.endpoint;
    if (options.region) config.region = options.region;
  }
  return DynamoDBDocumentClient.from(new DynamoDBClient(config), {
    marshallOptions: { removeUndefinedValues: true },
  });
}
