import type { AutoScaling } from '@aws-sdk/client-auto-scaling';
import type { CloudWatch } from '@aws-sdk/client-cloudwatch';
import type { EC2 } from '@aws-sdk/client-ec2';
import type { ElasticLoadBalancingV2 } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { SSM } from '@aws-sdk/client-ssm';
import type { FromTemporaryCredentialsOptions } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { describeAwsError, errorCode } from './errors.js';

/** The SDK v3 client of each service Bakery uses (the form with a method per command). */
interface ServiceClients {
  ec2: EC2;
  ssm: SSM;
  autoScaling: AutoScaling;
  elbv2: ElasticLoadBalancingV2;
  cloudWatch: CloudWatch;
}

export type AwsService = keyof ServiceClients;

/** The role Bakery assumes for an environment in another account; the session's name says what for (CloudTrail shows it). */
export interface AssumedRole {
  roleArn: string;
  externalId?: string;
  sessionName: string;
}

/**
 * The one way Bakery talks to AWS: SDK v3 clients, one per service and region. Each service's SDK
 * module is loaded at its first client, not at start: EC2's alone holds about 70 MB resident
 * (bench/README.md, idle memory). Whether their commands reach AWS or the in-process simulator is
 * decided once, where the app is put together.
 */
export type AwsClients = { [S in AwsService]: (region: string) => Promise<ServiceClients[S]> } & {
  /** The same services in the role's account, with credentials from STS AssumeRole of it: fresh clients, for one operation. */
  assuming(role: AssumedRole): AwsClients;
};

/**
 * The clients for an environment's fleet: Bakery's own, or for one in another account the role's, in a session
 * whose name says what Bakery does there ("bakery-survey", "bakery-canary-op-…", as CloudTrail shows it).
 */
export function clientsInAccount(aws: AwsClients, account: { role: string; externalId?: string } | undefined, sessionName: string): AwsClients {
  if (!account) return aws;
  // STS takes 2-64 characters of [\w+=,.@-].
  const session = sessionName.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
  return aws.assuming({ roleArn: account.role, sessionName: session, ...(account.externalId !== undefined && { externalId: account.externalId }) });
}

/** Every client class AwsClients hands out, for code that treats them alike (metering, the simulator). */
export type AnyAwsClient = ServiceClients[AwsService];

type ClientClass<C> = new (config: { region: string; maxAttempts: number; credentials?: AwsCredentialIdentityProvider }) => C;

/** Where each service's client class comes from; only here does src/ import an SDK client module's code. */
const clientClasses: { [S in AwsService]: () => Promise<ClientClass<ServiceClients[S]>> } = {
  ec2: async () => (await import('@aws-sdk/client-ec2')).EC2,
  ssm: async () => (await import('@aws-sdk/client-ssm')).SSM,
  autoScaling: async () => (await import('@aws-sdk/client-auto-scaling')).AutoScaling,
  elbv2: async () => (await import('@aws-sdk/client-elastic-load-balancing-v2')).ElasticLoadBalancingV2,
  cloudWatch: async () => (await import('@aws-sdk/client-cloudwatch')).CloudWatch,
};

/** Real AWS: the default credential chain (or a role assumed with it), the SDK's own retry for throttling. */
export function realAwsClients(): AwsClients {
  return awsClients((Client, region, _service, role) => new Client({ region, maxAttempts: 8, ...(role && { credentials: assumedRoleCredentials(role, region) }) }));
}

/**
 * One cached client per service and region, each made by `make` (real AWS, or wired to the simulator), with
 * Bakery's own credentials or, for `role`, the role's.
 */
export function awsClients(make: <C extends AnyAwsClient>(Client: ClientClass<C>, region: string, service: AwsService, role?: AssumedRole) => C, role?: AssumedRole): AwsClients {
  // Promises, so that calls racing to a service's first client share the one module load and client.
  const clients = new Map<string, Promise<AnyAwsClient>>();
  const client =
    <S extends AwsService>(service: S) =>
    (region: string): Promise<ServiceClients[S]> => {
      const key = `${service} ${region}`;
      let made = clients.get(key);
      if (!made) {
        made = clientClasses[service]().then((Client) => make(Client, region, service, role));
        clients.set(key, made);
      }
      return made as Promise<ServiceClients[S]>;
    };
  return {
    ec2: client('ec2'),
    ssm: client('ssm'),
    autoScaling: client('autoScaling'),
    elbv2: client('elbv2'),
    cloudWatch: client('cloudWatch'),
    assuming: (assumed) => awsClients(make, assumed),
  };
}

/**
 * The role's credentials from STS AssumeRole, by the SDK's own provider (each client caches them and refreshes
 * them before they expire), loaded at the first role assumed as the services' modules are. A refusal names the
 * role: STS's own message is about who asked. `sts` is for the simulator: the credentials to ask with and the
 * plugin that answers.
 */
export function assumedRoleCredentials(role: AssumedRole, region: string, sts: Partial<Pick<FromTemporaryCredentialsOptions, 'masterCredentials' | 'clientPlugins'>> = {}): AwsCredentialIdentityProvider {
  let provider: AwsCredentialIdentityProvider | undefined;
  return async (properties) => {
    try {
      provider ??= (await import('@aws-sdk/credential-providers')).fromTemporaryCredentials({
        params: { RoleArn: role.roleArn, RoleSessionName: role.sessionName, ...(role.externalId !== undefined && { ExternalId: role.externalId }) },
        clientConfig: { region, maxAttempts: 8 },
        ...sts,
      });
      return await provider(properties);
    } catch (error) {
      const hint = errorCode(error) === 'AccessDenied' ? ` (its trust policy must let Bakery's account assume it${role.externalId ? ', with the external id configured' : ''})` : '';
      throw new Error(`Bakery could not assume the role ${role.roleArn}: ${describeAwsError(error)}${hint}`, { cause: error });
    }
  };
}
