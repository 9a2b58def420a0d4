import type { Instance, RunInstancesCommandInput } from '@aws-sdk/client-ec2';
import type { AppConfig } from '../config/apps.js';
import type { AwsClients } from './clients.js';
import { errorCode } from './errors.js';
import { builderTags, clientToken, tagKeys, type Provenance } from './provenance.js';

/**
 * Launches the builder. The client token is fixed per operation, so a repeated launch (after a
 * crash, a retry) returns the same instance instead of starting a second one.
 */
export async function launchBuilder(aws: AwsClients, config: AppConfig, baseAmi: string, userData: string, p: Provenance): Promise<string> {
  const tags = builderTags(p);
  const { Instances = [] } = await (await aws.ec2(config.region)).runInstances({
    ImageId: baseAmi,
    InstanceType: config.instanceType as RunInstancesCommandInput['InstanceType'],
    MinCount: 1,
    MaxCount: 1,
    SubnetId: config.subnetId,
    SecurityGroupIds: config.securityGroupIds.length > 0 ? config.securityGroupIds : undefined,
    IamInstanceProfile: config.instanceProfile ? { Name: config.instanceProfile } : undefined,
    UserData: userData,
    // A builder that shuts itself down must not linger as a stopped instance.
    InstanceInitiatedShutdownBehavior: 'terminate',
    // IMDSv2 only, and its token reaches no further than the builder itself: not a container on it.
    MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1 },
    ClientToken: clientToken(p.operationId, 'builder'),
    TagSpecifications: [
      { ResourceType: 'instance', Tags: tags },
      { ResourceType: 'volume', Tags: tags },
    ],
  });
  const id = Instances[0]?.InstanceId;
  if (!id) throw new Error('RunInstances returned no instance');
  return id;
}

export async function describeInstance(aws: AwsClients, region: string, instanceId: string): Promise<Instance | undefined> {
  try {
    const { Reservations = [] } = await (await aws.ec2(region)).describeInstances({ InstanceIds: [instanceId] });
    return Reservations[0]?.Instances?.[0];
  } catch (error) {
    if (errorCode(error) === 'InvalidInstanceID.NotFound') return undefined;
    throw error;
  }
}

/** Builders of an operation that are not yet terminated, found by tag: nothing can hide from cleanup. */
export async function findLiveBuilders(aws: AwsClients, region: string, operationId: string): Promise<string[]> {
  const { Reservations = [] } = await (await aws.ec2(region)).describeInstances({
    Filters: [
      { Name: `tag:${tagKeys.operation}`, Values: [operationId] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
    ],
  });
  return Reservations.flatMap((r) => r.Instances ?? []).flatMap((i) => (i.InstanceId ? [i.InstanceId] : []));
}

/**
 * The builder's live console. Without `Latest`, EC2 returns only what it buffered at the last start,
 * stop or reboot, so a bake would see neither its phases nor its result (Nitro types only; see config).
 */
export async function builderConsole(aws: AwsClients, region: string, instanceId: string): Promise<string> {
  const { Output } = await (await aws.ec2(region)).getConsoleOutput({ InstanceId: instanceId, Latest: true });
  return Output ? Buffer.from(Output, 'base64').toString('utf8') : '';
}

export async function terminateInstances(aws: AwsClients, region: string, instanceIds: string[]): Promise<void> {
  if (instanceIds.length === 0) return;
  await (await aws.ec2(region)).terminateInstances({ InstanceIds: instanceIds });
}
