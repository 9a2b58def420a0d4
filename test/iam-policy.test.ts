import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The IAM prefix of each AWS SDK v3 package Bakery may import commands from. */
const iamPrefixOfPackage: Record<string, string> = {
  '@aws-sdk/client-ec2': 'ec2',
  '@aws-sdk/client-ssm': 'ssm',
  '@aws-sdk/client-dynamodb': 'dynamodb',
  '@aws-sdk/client-auto-scaling': 'autoscaling',
  '@aws-sdk/client-elastic-load-balancing-v2': 'elasticloadbalancing',
  '@aws-sdk/client-cloudwatch': 'cloudwatch',
};

/** The document client's commands are the DynamoDB actions below them; a transaction needs the writes it makes. */
const documentClientActions: Record<string, string[]> = {
  GetCommand: ['dynamodb:GetItem'],
  BatchGetCommand: ['dynamodb:BatchGetItem'],
  PutCommand: ['dynamodb:PutItem'],
  UpdateCommand: ['dynamodb:UpdateItem'],
  DeleteCommand: ['dynamodb:DeleteItem'],
  QueryCommand: ['dynamodb:Query'],
  ScanCommand: ['dynamodb:Scan'],
  TransactWriteCommand: ['dynamodb:PutItem'],
};

/**
 * Which SDK package each name imported in a source file comes from (aliases resolved to the
 * exported name); a namespace import (`import * as ec2 from …`) is kept as `ec2.*`.
 */
function sdkImports(source: string): Map<string, { pkg: string; exported: string }> {
  const imports = new Map<string, { pkg: string; exported: string }>();
  for (const [, namespace = '', pkg = ''] of source.matchAll(/import\s+\*\s+as\s+(\w+)\s+from\s*['"](@aws-sdk\/[^'"]+)['"]/g)) {
    imports.set(`${namespace}.*`, { pkg, exported: '*' });
  }
  for (const [, names = '', pkg = ''] of source.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*['"](@aws-sdk\/[^'"]+)['"]/g)) {
    for (const item of names.split(',').map((name) => name.trim().replace(/^type\s+/, '')).filter(Boolean)) {
      const [exported = '', local = exported] = item.split(/\s+as\s+/);
      imports.set(local, { pkg, exported });
    }
  }
  return imports;
}

/** The IAM actions of every `new XCommand(` in the code that runs in production (not the simulator, not table setup). */
function actionsCalled(): { actions: Set<string>; unknown: string[] } {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? (entry.name === 'simulator' ? [] : files(join(dir, entry.name))) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
    );
  const actions = new Set<string>();
  const unknown: string[] = [];
  for (const file of [...files('src'), ...files('commands')]) {
    if (file.endsWith(join('store', 'table.ts'))) continue; // npm run create-table: an administrator's one-off
    const source = readFileSync(file, 'utf8');
    const imports = sdkImports(source);
    // A paginator (paginateDescribeVolumes) sends its describe's command.
    for (const [, local = ''] of source.matchAll(/\b(paginate[A-Z][A-Za-z0-9]+)\(/g)) {
      const origin = imports.get(local);
      const prefix = origin && iamPrefixOfPackage[origin.pkg];
      if (prefix) actions.add(`${prefix}:${origin.exported.replace(/^paginate/, '')}`);
      else unknown.push(`${file}: ${local} (not imported from an AWS SDK package)`);
    }
    for (const [, namespace, local = ''] of source.matchAll(/new (?:(\w+)\.)?([A-Z][A-Za-z0-9]+Command)\(/g)) {
      const origin = namespace ? { pkg: imports.get(`${namespace}.*`)?.pkg ?? '', exported: local } : imports.get(local);
      const prefix = origin && iamPrefixOfPackage[origin.pkg];
      if (origin?.pkg === '@aws-sdk/lib-dynamodb' && documentClientActions[origin.exported]) {
        for (const action of documentClientActions[origin.exported]!) actions.add(action);
      } else if (origin && prefix) {
        actions.add(`${prefix}:${origin.exported.replace(/Command$/, '')}`);
      } else {
        unknown.push(`${file}: ${local} (${origin?.pkg ? `from ${origin.pkg}, whose IAM prefix this test does not know` : 'not imported from an AWS SDK package'})`);
      }
    }
  }
  return { actions, unknown };
}

/**
 * Tags passed to a create call are authorized as a tagging action of their own; an encrypted copy
 * (CopyImage with the app's KMS key) as the caller's use of the source's and the copy's keys, which
 * EC2 makes on Bakery's behalf.
 */
const authorizedAlongside: Record<string, string[]> = {
  'ec2:CopyImage': ['kms:CreateGrant', 'kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncryptFrom', 'kms:ReEncryptTo'],
  'autoscaling:CreateAutoScalingGroup': ['autoscaling:CreateOrUpdateTags'],
  'elasticloadbalancing:CreateTargetGroup': ['elasticloadbalancing:AddTags'],
};

interface Statement {
  Sid: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** Actions that tag, share or delete a resource: each may reach only what Bakery made. */
const overOwnOnly = [
  'ec2:CreateTags', 'ec2:ModifyImageAttribute', 'ec2:ModifySnapshotAttribute',
  'ec2:TerminateInstances', 'ec2:DeregisterImage', 'ec2:DeleteSnapshot', 'ec2:DeleteVolume',
  'elasticloadbalancing:AddTags', 'elasticloadbalancing:DeleteTargetGroup', 'autoscaling:DeleteAutoScalingGroup',
];

/**
 * Auto Scaling has no condition that tells tags given at CreateAutoScalingGroup from tags put on an
 * existing group, so the canary's group cannot be tagged at creation without this.
 */
const knownGaps = ['autoscaling:CreateOrUpdateTags'];

/** A statement reaches only Bakery's own resources when it asks for Bakery's tag, or allows tagging only at creation. */
function onlyBakerysOwn(statement: Statement): boolean {
  const equals = statement.Condition?.StringEquals ?? {};
  if (equals['aws:ResourceTag/bakery:created-by'] === 'bakery') return true;
  return 'ec2:CreateAction' in equals || 'elasticloadbalancing:CreateAction' in equals;
}

describe('the IAM policy (deploy/iam-policy.json)', () => {
  const policy = JSON.parse(readFileSync('deploy/iam-policy.json', 'utf8')) as { Statement: Statement[] };
  const allowed = new Set(policy.Statement.flatMap((statement) => [statement.Action].flat()));
  const called = actionsCalled();

  it('knows the AWS service of every command Bakery sends', () => {
    expect(called.unknown).toEqual([]);
  });

  it('allows every AWS action Bakery calls', () => {
    expect([...called.actions].filter((action) => !allowed.has(action))).toEqual([]);
  });

  it('allows nothing Bakery does not call (but passing the builder its role, and what AWS checks for tags given at creation and for an encrypted copy’s keys)', () => {
    const needed = new Set([...called.actions].flatMap((action) => [action, ...(authorizedAlongside[action] ?? [])]));
    expect([...allowed].filter((action) => !needed.has(action) && action !== 'iam:PassRole')).toEqual([]);
  });

  it('lets the bot tag, share or delete only what it created', () => {
    const overOthers = policy.Statement.flatMap((statement) =>
      [statement.Action].flat().filter((action) => (overOwnOnly.includes(action) || action.endsWith(':*')) && !onlyBakerysOwn(statement)).map((action) => `${statement.Sid}: ${action}`),
    );
    expect(overOthers).toEqual([]);
  });

  it('tags an existing image only to mark Bakery’s own rejected', () => {
    const retagging = policy.Statement.filter((statement) => [statement.Action].flat().includes('ec2:CreateTags') && !statement.Condition?.StringEquals?.['ec2:CreateAction']);
    expect(retagging.map((statement) => statement.Condition)).toEqual([
      { StringEquals: { 'aws:ResourceTag/bakery:created-by': 'bakery' }, 'ForAllValues:StringEquals': { 'aws:TagKeys': ['bakery:status'] } },
    ]);
  });

  it('uses KMS keys only through EC2, and only the account’s own', () => {
    const kms = policy.Statement.filter((statement) => [statement.Action].flat().some((action) => action.startsWith('kms:')));
    expect(kms.map((statement) => [statement.Resource, statement.Condition])).toEqual([
      ['arn:aws:kms:*:${AWS::AccountId}:key/*', { StringLike: { 'kms:ViaService': 'ec2.*.amazonaws.com' } }],
    ]);
  });

  it('makes images only of Bakery’s builders', () => {
    const onInstances = policy.Statement.filter((statement) => [statement.Action].flat().includes('ec2:CreateImage') && [statement.Resource].flat().some((resource) => resource === '*' || resource.includes(':instance/')));
    expect(onInstances.map((statement) => statement.Condition)).toEqual([{ StringEquals: { 'aws:ResourceTag/bakery:created-by': 'bakery' } }]);
  });

  it('names every tagging action it allows beyond those as a known gap, with its reason', () => {
    const tagging = policy.Statement.flatMap((statement) => [statement.Action].flat().filter((action) => /Tags$/.test(action) && !overOwnOnly.includes(action)));
    expect(tagging).toEqual(knownGaps);
  });

  it('is the policy the README links to', () => {
    expect(readFileSync('README.md', 'utf8')).toContain('(deploy/iam-policy.json)');
  });
});
