import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';

/**
 * The one way Bakery talks to AWS: SDK v3 clients, one per service and region. Whether their
 * commands reach AWS or the in-process simulator is decided once, where the app is put together.
 */
export interface AwsClients {
  ec2(region: string): EC2Client;
  ssm(region: string): SSMClient;
}

/** Real AWS: the default credential chain, the SDK's own retry for throttling. */
export function realAwsClients(): AwsClients {
  const ec2 = new Map<string, EC2Client>();
  const ssm = new Map<string, SSMClient>();
  return {
    ec2: (region) => cached(ec2, region, () => new EC2Client({ region, maxAttempts: 8 })),
    ssm: (region) => cached(ssm, region, () => new SSMClient({ region, maxAttempts: 8 })),
  };
}

export function cached<T>(clients: Map<string, T>, region: string, create: () => T): T {
  let client = clients.get(region);
  if (!client) {
    client = create();
    clients.set(region, client);
  }
  return client;
}
