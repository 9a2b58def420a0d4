import type { HandlerContext } from './context.js';
import { nextUuid, regionState, type KmsKeyRecord, type WorldData } from './world.js';

/*
 * The account's KMS keys, as EC2 sees them when it encrypts a volume, a snapshot or a copy. Keys are
 * regional: a key of one region cannot encrypt anything in another. Each region has an AWS managed
 * key for EBS (alias/aws/ebs), made on first use as AWS does; images whose snapshots it encrypts
 * cannot be shared with another account.
 */

function keysOf(world: WorldData): KmsKeyRecord[] {
  return (world.kmsKeys ??= []);
}

function addKey(world: WorldData, region: string, manager: KmsKeyRecord['manager'], aliases: string[]): KmsKeyRecord {
  const keyId = nextUuid(world, 'kms-key');
  const key: KmsKeyRecord = { keyId, arn: `arn:aws:kms:${region}:${world.accountId}:key/${keyId}`, region, aliases, manager, enabled: true };
  keysOf(world).push(key);
  return key;
}

/** A customer managed key in `region` (what a platform team makes for sharing encrypted images). */
export function createCustomerKey(world: WorldData, region: string, alias?: string): KmsKeyRecord {
  return addKey(world, region, 'CUSTOMER', alias ? [`alias/${alias}`] : []);
}

export function awsManagedEbsKey(world: WorldData, region: string): KmsKeyRecord {
  return keysOf(world).find((key) => key.region === region && key.manager === 'AWS') ?? addKey(world, region, 'AWS', ['alias/aws/ebs']);
}

/**
 * The key `id` names in `region` as EC2 resolves a KmsKeyId: a key id, key ARN, alias name or alias
 * ARN. Undefined when the region has no such enabled key (an ARN of another region names none).
 */
export function resolveKey(world: WorldData, region: string, id: string): KmsKeyRecord | undefined {
  if (id === 'alias/aws/ebs' || id === `arn:aws:kms:${region}:${world.accountId}:alias/aws/ebs`) return awsManagedEbsKey(world, region);
  const key = keysOf(world).find(
    (candidate) =>
      candidate.region === region &&
      (candidate.keyId === id ||
        candidate.arn === id ||
        candidate.aliases.includes(id) ||
        candidate.aliases.some((alias) => `arn:aws:kms:${region}:${world.accountId}:${alias}` === id)),
  );
  return key?.enabled ? key : undefined;
}

export function isAwsManaged(world: WorldData, keyArn: string | undefined): boolean {
  return keyArn !== undefined && keysOf(world).some((key) => key.arn === keyArn && key.manager === 'AWS');
}

/** The key a new volume in this region is encrypted with when nothing else decides: the default, if encryption by default is on. */
export function defaultVolumeKey(ctx: HandlerContext, region = ctx.region): string | undefined {
  return regionState(ctx.world, region).ebsEncryptionByDefault ? defaultEbsKey(ctx, region) : undefined;
}

/** The default key for EBS in the region: the one set for encryption by default, else the AWS managed one. */
export function defaultEbsKey(ctx: HandlerContext, region = ctx.region): string {
  return regionState(ctx.world, region).ebsEncryptionByDefault?.kmsKeyId ?? awsManagedEbsKey(ctx.world, region).arn;
}
