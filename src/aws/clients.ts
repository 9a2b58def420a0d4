import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { fromTemporaryCredentials, type FromTemporaryCredentialsOptions } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { describeAwsError, errorCode } from './errors.js';

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
  /** The same services in the role's account, with credentials from STS AssumeRole of it: fresh clients, for one operation. */
  assuming(role: AssumedRole): AwsClients;
}

/** The role Bakery assumes for an environment in another account; the session's name says what for (CloudTrail shows it). */
export interface AssumedRole {
  roleArn: string;
  externalId?: string;
  sessionName: string;
}

/** Every client class AwsClients hands out, for code that treats them alike (metering, the simulator). */
export type AnyAwsClient = EC2Client | SSMClient | AutoScalingClient | ElasticLoadBalancingV2Client | CloudWatchClient;

/** Real AWS: the default credential chain (or a role assumed with it), the SDK's own retry for throttling. */
export function realAwsClients(): AwsClients {
  return awsClients((Client, region, role) => new Client({ region, maxAttempts: 8, ...(role && { credentials: assumedRoleCredentials(role, region) }) }));
}

type ClientClass<C> = new (config: { region: string; maxAttempts: number; credentials?: AwsCredentialIdentityProvider }) => C;

/**
 * One cached client per service and region, each made by `make` (real AWS, or wired to the simulator), with
 * Bakery's own credentials or, for `role`, the role's.
 */
export function awsClients(make: <C extends AnyAwsClient>(Client: ClientClass<C>, region: string, role?: AssumedRole) => C, role?: AssumedRole): AwsClients {
  const caches = new Map<unknown, Map<string, AnyAwsClient>>();
  const client = <C extends AnyAwsClient>(Client: ClientClass<C>) => (region: string): C => {
    let cache = caches.get(Client);
    if (!cache) {
      cache = new Map();
      caches.set(Client, cache);
    }
    return cached(cache as Map<string, C>, region, () => make(Client, region, role));
  };
  return {
    ec2: client(EC2Client),
    ssm: client(SSMClient),
    autoScaling: client(AutoScalingClient),
    elbv2: client(ElasticLoadBalancingV2Client),
    cloudWatch: client(CloudWatchClient),
    assuming: (assumed) => awsClients(make, assumed),
  };
}

/**
 * The role's credentials from STS AssumeRole, by the SDK's own provider (each client caches them and refreshes
 * them before they expire). A refusal names the role: STS's own message is about who asked. `sts` is for the
 * simulator: the credentials to ask with and the plugin that answers.
 */
export function assumedRoleCredentials(role: AssumedRole, region: string, sts: Pick<FromTemporaryCredentialsOptions, 'masterCredentials' | 'clientPlugins'> = {}): AwsCredentialIdentityProvider {
  const provider = fromTemporaryCredentials({
    params: { RoleArn: role.roleArn, RoleSessionName: role.sessionName, ...(role.externalId !== undefined && { ExternalId: role.externalId }) },
    clientConfig: { region, maxAttempts: 8 },
    ...sts,
  });
  return async (properties) => {
    try {
      return await provider(properties);
    } catch (error) {
      const hint = errorCode(error) === 'AccessDenied' ? ` (its trust policy must let Bakery's account assume it${role.externalId ? ', with the external id configured' : ''})` : '';
      throw new Error(`Bakery could not assume the role ${role.roleArn}: ${describeAwsError(error)}${hint}`, { cause: error });
    }
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
