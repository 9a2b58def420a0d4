import type { AutoScaling } from '@aws-sdk/client-auto-scaling';
import type { CloudWatch } from '@aws-sdk/client-cloudwatch';
import type { EC2 } from '@aws-sdk/client-ec2';
import type { ElasticLoadBalancingV2 } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { SSM } from '@aws-sdk/client-ssm';

/** The SDK v3 client of each service Bakery uses (the form with a method per command). */
interface ServiceClients {
  ec2: EC2;
  ssm: SSM;
  autoScaling: AutoScaling;
  elbv2: ElasticLoadBalancingV2;
  cloudWatch: CloudWatch;
}

export type AwsService = keyof ServiceClients;

/**
 * The one way Bakery talks to AWS: SDK v3 clients, one per service and region. Each service's SDK
 * module is loaded at its first client, not at start: EC2's alone holds about 70 MB resident
 * (bench/README.md, idle memory). Whether their commands reach AWS or the in-process simulator is
 * decided once, where the app is put together.
 */
export type AwsClients = { [S in AwsService]: (region: string) => Promise<ServiceClients[S]> };

/** Every client class AwsClients hands out, for code that treats them alike (metering, the simulator). */
export type AnyAwsClient = ServiceClients[AwsService];

type ClientClass<C> = new (config: { region: string; maxAttempts: number }) => C;

/** Where each service's client class comes from; only here does src/ import an SDK client module's code. */
const clientClasses: { [S in AwsService]: () => Promise<ClientClass<ServiceClients[S]>> } = {
  ec2: async () => (await import('@aws-sdk/client-ec2')).EC2,
  ssm: async () => (await import('@aws-sdk/client-ssm')).SSM,
  autoScaling: async () => (await import('@aws-sdk/client-auto-scaling')).AutoScaling,
  elbv2: async () => (await import('@aws-sdk/client-elastic-load-balancing-v2')).ElasticLoadBalancingV2,
  cloudWatch: async () => (await import('@aws-sdk/client-cloudwatch')).CloudWatch,
};

/** Real AWS: the default credential chain, the SDK's own retry for throttling. */
export function realAwsClients(): AwsClients {
  return awsClients((Client, region) => new Client({ region, maxAttempts: 8 }));
}

/** One cached client per service and region, each made by `make` (real AWS, or wired to the simulator). */
export function awsClients(make: <C extends AnyAwsClient>(Client: ClientClass<C>, region: string, service: AwsService) => C): AwsClients {
  // Promises, so that calls racing to a service's first client share the one module load and client.
  const clients = new Map<string, Promise<AnyAwsClient>>();
  const client =
    <S extends AwsService>(service: S) =>
    (region: string): Promise<ServiceClients[S]> => {
      const key = `${service} ${region}`;
      let made = clients.get(key);
      if (!made) {
        made = clientClasses[service]().then((Client) => make(Client, region, service));
        clients.set(key, made);
      }
      return made as Promise<ServiceClients[S]>;
    };
  return { ec2: client('ec2'), ssm: client('ssm'), autoScaling: client('autoScaling'), elbv2: client('elbv2'), cloudWatch: client('cloudWatch') };
}
