import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SSMClient } from '@aws-sdk/client-ssm';

/**
 * The one way Bakery talks to AWS: SDK v3 clients, one per service and region. Whether their
 * commands reach AWS or the in-process simulator is decided once, where the app is put together.
 */
export interface AwsClients {
  ec2(region: string): EC2Client;
  ssm(region: string): SSMClient;
  autoScaling(region: string): AutoScalingClient;
  elbv2(region: string): ElasticLoadBalancingV2Client;
  cloudWatch(region: string): CloudWatchClient;
}

/** Every client class AwsClients hands out, for code that treats them alike (metering, the simulator). */
export type AnyAwsClient = EC2Client | SSMClient | AutoScalingClient | ElasticLoadBalancingV2Client | CloudWatchClient;

/** Real AWS: the default credential chain, the SDK's own retry for throttling. */
export function realAwsClients(): AwsClients {
  return awsClients((Client, region) => new Client({ region, maxAttempts: 8 }));
}

type ClientClass<C> = new (config: { region: string; maxAttempts: number }) => C;

/** One cached client per service and region, each made by `make` (real AWS, or wired to the simulator). */
export function awsClients(make: <C extends AnyAwsClient>(Client: ClientClass<C>, region: string) => C): AwsClients {
  const caches = new Map<unknown, Map<string, AnyAwsClient>>();
  const client = <C extends AnyAwsClient>(Client: ClientClass<C>) => (region: string): C => {
    let cache = caches.get(Client);
    if (!cache) {
      cache = new Map();
      caches.set(Client, cache);
    }
    return cached(cache as Map<string, C>, region, () => make(Client, region));
  };
  return {
    ec2: client(EC2Client),
    ssm: client(SSMClient),
    autoScaling: client(AutoScalingClient),
    elbv2: client(ElasticLoadBalancingV2Client),
    cloudWatch: client(CloudWatchClient),
  };
}

function cached<T>(clients: Map<string, T>, region: string, create: () => T): T {
  let client = clients.get(region);
  if (!client) {
    client = create();
    clients.set(region, client);
  }
  return client;
}
