import { createHash } from 'node:crypto';
import type { Caller, Handler, HandlerContext } from './context.js';
import { fail } from './errors.js';
import type { RoleRecord, RoleSessionRecord, WorldData } from './world.js';

/*
 * STS AssumeRole, as its API reference gives it: the parameters' constraints (ValidationError), the trust
 * policy (AccessDenied, 403, for an unknown role, an untrusted caller or a wrong external id alike: STS does not
 * say which), the role's maximum session duration, and Credentials with an Expiration.
 */

const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;

export function iamOf(world: WorldData): NonNullable<WorldData['iam']> {
  return (world.iam ??= { roles: [], sessions: [] });
}

/** The account and principal an access key id stands for; undefined for a key this world never issued. */
export function callerOf(world: WorldData, accessKeyId: string | undefined, ownKey: string): Caller | undefined {
  if (accessKeyId === ownKey) return { account: world.accountId, arn: `arn:aws:iam::${world.accountId}:user/bakery` };
  const session = iamOf(world).sessions.find((candidate) => candidate.accessKeyId === accessKeyId);
  return session && { account: session.account, arn: assumedRoleArn(session.roleArn, session.sessionName) };
}

function assumedRoleArn(roleArn: string, sessionName: string): string {
  const [, account, name] = ROLE_ARN.exec(roleArn)!;
  return `arn:aws:sts::${account}:assumed-role/${name}/${sessionName}`;
}

function validation(value: unknown, member: string, constraint: string): never {
  fail('ValidationError', `1 validation error detected: Value '${String(value)}' at '${member}' failed to satisfy constraint: ${constraint}`);
}

function checkLength(value: string, member: string, min: number, max: number): void {
  if (value.length < min) validation(value, member, `Member must have length greater than or equal to ${min}`);
  if (value.length > max) validation(value, member, `Member must have length less than or equal to ${max}`);
}

function assumeRole(ctx: HandlerContext, input: { RoleArn?: string; RoleSessionName?: string; DurationSeconds?: number; ExternalId?: string }): object {
  const { RoleArn: roleArn, RoleSessionName: sessionName, DurationSeconds: durationSeconds = 3600, ExternalId: externalId } = input;
  if (!roleArn) fail('MissingParameter', 'The request must contain the parameter RoleArn');
  if (!sessionName) fail('MissingParameter', 'The request must contain the parameter RoleSessionName');
  checkLength(roleArn, 'roleArn', 20, 2048);
  checkLength(sessionName, 'roleSessionName', 2, 64);
  if (!/^[\w+=,.@-]*$/.test(sessionName)) validation(sessionName, 'roleSessionName', 'Member must satisfy regular expression pattern: [\\w+=,.@-]*');
  if (durationSeconds < 900) validation(durationSeconds, 'durationSeconds', 'Member must have value greater than or equal to 900');
  if (durationSeconds > 43200) validation(durationSeconds, 'durationSeconds', 'Member must have value less than or equal to 43200');
  if (externalId !== undefined) {
    checkLength(externalId, 'externalId', 2, 1224);
    if (!/^[\w+=,.@:/-]*$/.test(externalId)) validation(externalId, 'externalId', 'Member must satisfy regular expression pattern: [\\w+=,.@:/-]*');
  }
  const caller = ctx.caller ?? { account: ctx.world.accountId, arn: `arn:aws:iam::${ctx.world.accountId}:user/bakery` };
  const role = iamOf(ctx.world).roles.find((candidate) => candidate.arn === roleArn);
  if (!role || !role.trusts.includes(caller.account) || (role.externalId !== undefined && role.externalId !== externalId)) {
    fail('AccessDenied', `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, 403);
  }
  if (durationSeconds > role.maxSessionSeconds) {
    fail('ValidationError', 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
  }
  const session = issue(ctx, role, { sessionName, durationSeconds, ...(externalId !== undefined && { externalId }) });
  const roleId = `AROA${hash(`role:${role.arn}`, 17)}`;
  return {
    Credentials: {
      AccessKeyId: session.accessKeyId,
      SecretAccessKey: hash(`secret:${session.accessKeyId}`, 40),
      SessionToken: `IQoJb3JpZ2luX2Vj${hash(`token:${session.accessKeyId}`, 64)}`,
      Expiration: new Date(session.issuedAt + durationSeconds * 1000),
    },
    AssumedRoleUser: { AssumedRoleId: `${roleId}:${sessionName}`, Arn: assumedRoleArn(role.arn, sessionName) },
    PackedPolicySize: 0,
  };
}

function issue(ctx: HandlerContext, role: RoleRecord, session: Pick<RoleSessionRecord, 'sessionName' | 'durationSeconds' | 'externalId'>): RoleSessionRecord {
  const n = (ctx.world.counters.stsSession ?? 0) + 1;
  ctx.world.counters.stsSession = n;
  const record: RoleSessionRecord = { accessKeyId: `ASIA${hash(`${ctx.world.accountId}:session:${n}`, 16)}`, roleArn: role.arn, account: role.account, issuedAt: ctx.now, ...session };
  iamOf(ctx.world).sessions.push(record);
  return record;
}

/** Uppercase characters, as AWS's key ids are, from a seed: the same run issues the same keys. */
function hash(seed: string, length: number): string {
  return createHash('sha256').update(seed).digest('hex').toUpperCase().slice(0, length);
}

/** A role in another account that trusts `trusts` (this world's account by default), as a platform team creates one. */
export function createRole(world: WorldData, input: { arn: string; trusts?: string[]; externalId?: string; maxSessionSeconds?: number }): RoleRecord {
  const match = ROLE_ARN.exec(input.arn);
  if (!match) throw new Error(`${input.arn} is not an IAM role ARN`);
  const role: RoleRecord = {
    arn: input.arn,
    account: match[1]!,
    trusts: input.trusts ?? [world.accountId],
    maxSessionSeconds: input.maxSessionSeconds ?? 3600,
    ...(input.externalId !== undefined && { externalId: input.externalId }),
  };
  const iam = iamOf(world);
  iam.roles = [...iam.roles.filter((existing) => existing.arn !== role.arn), role];
  return role;
}

export const stsHandlers: Record<string, Handler> = {
  AssumeRole: assumeRole,
};
