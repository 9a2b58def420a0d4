import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { AutoScaling } from '@aws-sdk/client-auto-scaling';
import { CloudWatch } from '@aws-sdk/client-cloudwatch';
import { EC2 } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2 } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SSM } from '@aws-sdk/client-ssm';
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

/** The IAM prefix of each client accessor of src/aws/clients.ts (`(await aws.ec2(region)).describeImages(…)`). */
const iamPrefixOfAccessor: Record<string, string> = { ec2: 'ec2', ssm: 'ssm', autoScaling: 'autoscaling', elbv2: 'elasticloadbalancing', cloudWatch: 'cloudwatch' };

/** The SDK's method-per-command client of each accessor, whose methods are the commands it can send. */
const clientOfAccessor: Record<string, object> = { ec2: EC2.prototype, ssm: SSM.prototype, autoScaling: AutoScaling.prototype, elbv2: ElasticLoadBalancingV2.prototype, cloudWatch: CloudWatch.prototype };

/** "describeImages" or "paginateDescribeImages" → "DescribeImages": the command a client method sends. */
const commandOfMethod = (method: string): string => {
  const name = method.replace(/^paginate/, '');
  return name[0]!.toUpperCase() + name.slice(1);
};

/** The .ts files under a folder, the simulator's left out. */
const sourceFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? (entry.name === 'simulator' ? [] : sourceFiles(join(dir, entry.name))) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );

/** The code that runs in production (not the simulator, not table setup: npm run create-table is an administrator's one-off). */
const productionFiles = (): string[] => [...sourceFiles('src'), ...sourceFiles('commands')].filter((file) => !file.endsWith(join('store', 'table.ts')));

/**
 * The code that runs in an environment's account, as the role it assumes there: the canary, promote and
 * rollback pipelines (their clients come from `clientsIn`, src/pipelines/canary/operation.ts), and the
 * src/aws helpers they import, followed import by import within src/aws. src/aws/clients.ts is left out:
 * it assumes the role, as Bakery itself.
 */
function fleetFiles(): string[] {
  const pipelines = ['canary', 'promote', 'rollback'].flatMap((name) => sourceFiles(join('src', 'pipelines', name)));
  const reached = new Set(pipelines);
  const queue = [...pipelines];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const [, specifier = ''] of readFileSync(file, 'utf8').matchAll(/from\s*['"](\.[^'"]+)\.js['"]/g)) {
      const imported = join(dirname(file), `${specifier}.ts`);
      if (imported.startsWith(join('src', 'aws') + sep) && imported !== join('src', 'aws', 'clients.ts') && !reached.has(imported)) {
        reached.add(imported);
        queue.push(imported);
      }
    }
  }
  return [...reached];
}

/**
 * The IAM actions of every AWS call in these files: a method of a client from src/aws/clients.ts, called
 * on the accessor's result or on a name bound to it, and every `new XCommand(` sent (the document client's).
 */
function actionsCalled(files: string[]): { actions: Set<string>; unknown: string[] } {
  const actions = new Set<string>();
  const unknown: string[] = [];
  for (const file of files) {
    const source = readFileSync(file, 'utf8');
    const imports = sdkImports(source);
    const called = (accessor: string, method: string): void => {
      const client = clientOfAccessor[accessor];
      if (client && typeof (client as Record<string, unknown>)[method] === 'function') actions.add(`${iamPrefixOfAccessor[accessor]}:${commandOfMethod(method)}`);
      else unknown.push(`${file}: ${accessor}.${method} (not a method of that AWS SDK client)`);
    };
    // An environment in another account: its clients' credentials come from STS AssumeRole of its role.
    if (/credentials: assumedRoleCredentials\(/.test(source)) actions.add('sts:AssumeRole');
    // `(await aws.ec2(region)).describeImages(` (or on `ownAws`, Bakery's own account's clients)
    for (const [, accessor = '', method = ''] of source.matchAll(/\b\w*[aA]ws\.(\w+)\([^()]*\)\)\s*\.(\w+)\(/g)) called(accessor, method);
    // `const ec2 = await aws.ec2(region);` … `ec2.createTags(`
    for (const [, name = '', accessor = ''] of source.matchAll(/\bconst (\w+) = await (?:\w+\.)*\w*[aA]ws\.(\w+)\(/g)) {
      for (const [, method = ''] of source.matchAll(new RegExp(`\\b${name}\\s*\\.(\\w+)\\(`, 'g'))) called(accessor, method);
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

/** The tag the platform team puts on each live group, launch template and listener Bakery may change (deploy/README.md). */
const managed = { 'aws:ResourceTag/bakery:managed': 'true' };
/** What Bakery made itself carries this tag from its creation. */
const own = { 'aws:ResourceTag/bakery:created-by': 'bakery' };
const createdAsOwn = { 'aws:RequestTag/bakery:created-by': 'bakery' };

/** Actions that change an existing group, launch template or listener: each needs one of the scopes above. */
const changesFleet = (action: string): boolean =>
  (action.startsWith('autoscaling:') && !/^autoscaling:(Describe|Get|Create)/.test(action)) ||
  ['ec2:CreateLaunchTemplateVersion', 'ec2:DeleteLaunchTemplateVersions', 'elasticloadbalancing:ModifyListener'].includes(action);

/**
 * The condition keys each conditioned action supports, from the Service Authorization Reference
 * ("Actions, resources, and condition keys for" Amazon EC2, Amazon EC2 Auto Scaling, Elastic Load
 * Balancing V2, AWS KMS, IAM). A tag key is listed by its prefix (aws:ResourceTag/ for any tag).
 */
const resourceTags = ['aws:ResourceTag/'];
const supportedKeys: Record<string, string[]> = {
  'ec2:CreateTags': ['ec2:CreateAction', 'aws:RequestTag/', 'aws:TagKeys', ...resourceTags],
  'ec2:CreateImage': resourceTags,
  'ec2:CopyImage': ['aws:RequestTag/', 'aws:TagKeys', ...resourceTags],
  'ec2:ModifyImageAttribute': resourceTags,
  'ec2:ModifySnapshotAttribute': resourceTags,
  'ec2:TerminateInstances': resourceTags,
  'ec2:DeregisterImage': resourceTags,
  'ec2:DeleteSnapshot': resourceTags,
  'ec2:DeleteVolume': resourceTags,
  'ec2:EnableImageDeprecation': resourceTags,
  'ec2:DisableImageDeprecation': resourceTags,
  'ec2:DisableImage': resourceTags,
  'ec2:EnableImage': resourceTags,
  'ec2:CreateLaunchTemplateVersion': resourceTags,
  'ec2:DeleteLaunchTemplateVersions': resourceTags,
  'autoscaling:CreateAutoScalingGroup': ['aws:RequestTag/', 'aws:TagKeys'],
  'autoscaling:CreateOrUpdateTags': ['aws:RequestTag/', 'aws:TagKeys', ...resourceTags],
  'autoscaling:UpdateAutoScalingGroup': resourceTags,
  'autoscaling:AttachLoadBalancerTargetGroups': resourceTags,
  'autoscaling:DetachLoadBalancerTargetGroups': resourceTags,
  'autoscaling:StartInstanceRefresh': resourceTags,
  'autoscaling:CancelInstanceRefresh': resourceTags,
  'autoscaling:RollbackInstanceRefresh': resourceTags,
  'autoscaling:DeleteAutoScalingGroup': resourceTags,
  'autoscaling:PutScalingPolicy': resourceTags,
  'autoscaling:PutScheduledUpdateGroupAction': resourceTags,
  'autoscaling:PutLifecycleHook': resourceTags,
  'autoscaling:PutWarmPool': resourceTags,
  'autoscaling:SuspendProcesses': resourceTags,
  'autoscaling:ResumeProcesses': resourceTags,
  'autoscaling:EnableMetricsCollection': resourceTags,
  'autoscaling:PutNotificationConfiguration': resourceTags,
  'elasticloadbalancing:CreateTargetGroup': ['aws:RequestTag/', 'aws:TagKeys'],
  'elasticloadbalancing:AddTags': ['elasticloadbalancing:CreateAction', 'aws:RequestTag/', 'aws:TagKeys', ...resourceTags],
  'elasticloadbalancing:ModifyListener': resourceTags,
  'elasticloadbalancing:DeleteTargetGroup': resourceTags,
  'elasticloadbalancing:ModifyTargetGroupAttributes': resourceTags,
  'kms:CreateGrant': ['kms:ViaService'],
  'kms:Decrypt': ['kms:ViaService'],
  'kms:DescribeKey': ['kms:ViaService'],
  'kms:GenerateDataKeyWithoutPlaintext': ['kms:ViaService'],
  'kms:ReEncryptFrom': ['kms:ViaService'],
  'kms:ReEncryptTo': ['kms:ViaService'],
  'iam:PassRole': ['iam:PassedToService'],
};

const conditionKeys = (statement: Statement): string[] => Object.values(statement.Condition ?? {}).flatMap((block) => Object.keys(block));

/** The actions a policy allows, by name. */
const allowedBy = (policy: { Statement: Statement[] }): Set<string> => new Set(policy.Statement.flatMap((statement) => [statement.Action].flat()));

/** Each "Sid: action" that tags, shares or deletes beyond what Bakery made. */
const overOthers = (policy: { Statement: Statement[] }): string[] =>
  policy.Statement.flatMap((statement) =>
    [statement.Action].flat().filter((action) => (overOwnOnly.includes(action) || action.endsWith(':*')) && !onlyBakerysOwn(statement)).map((action) => `${statement.Sid}: ${action}`),
  );

/** Each "Sid: action" that changes a group, launch template or listener without asking for the managed tag or Bakery's own. */
const unscopedFleetChanges = (policy: { Statement: Statement[] }): string[] =>
  policy.Statement.flatMap((statement) => {
    const equals = statement.Condition?.StringEquals ?? {};
    const scoped = Object.keys(statement.Condition ?? {}).length === 1 && (JSON.stringify(equals) === JSON.stringify(managed) || JSON.stringify(equals) === JSON.stringify(own));
    return [statement.Action].flat().filter((action) => changesFleet(action) && !scoped).map((action) => `${statement.Sid}: ${action}`);
  });

/** Each "Sid: action with key" whose condition key the action does not support. */
const unsupportedKeys = (policy: { Statement: Statement[] }): string[] =>
  policy.Statement.flatMap((statement) =>
    [statement.Action].flat().flatMap((action) =>
      conditionKeys(statement)
        .filter((key) => !(supportedKeys[action] ?? []).some((supported) => (supported.endsWith('/') ? key.startsWith(supported) : key === supported)))
        .map((key) => `${statement.Sid}: ${action} with ${key}`),
    ),
  );

/** The conditions of the statements allowing any of these actions, in the policy's order. */
const conditionsOf = (policy: { Statement: Statement[] }, actions: string[]): Statement['Condition'][] =>
  policy.Statement.filter((statement) => [statement.Action].flat().some((action) => actions.includes(action))).map((statement) => statement.Condition);

describe('the IAM policy (deploy/iam-policy.json)', () => {
  const policy = JSON.parse(readFileSync('deploy/iam-policy.json', 'utf8')) as { Statement: Statement[] };
  const allowed = allowedBy(policy);
  const called = actionsCalled(productionFiles());

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
    expect(overOthers(policy)).toEqual([]);
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
    const tagging = policy.Statement.flatMap((statement) => [statement.Action].flat().filter((action) => /:(?!Describe)\w*Tags$/.test(action) && !overOwnOnly.includes(action)));
    expect(tagging).toEqual(knownGaps);
  });

  it('changes a group, launch template or listener only when the platform team tagged it bakery:managed, or Bakery made it', () => {
    expect(unscopedFleetChanges(policy)).toEqual([]);
  });

  it('creates groups and target groups only tagged as Bakery’s, and never tags a group as managed', () => {
    expect(conditionsOf(policy, ['autoscaling:CreateAutoScalingGroup', 'elasticloadbalancing:CreateTargetGroup'])).toEqual([{ StringEquals: createdAsOwn }, { StringEquals: createdAsOwn }]);
    expect(conditionsOf(policy, ['autoscaling:CreateOrUpdateTags'])).toEqual([{ 'ForAllValues:StringNotEquals': { 'aws:TagKeys': ['bakery:managed'] } }]);
  });

  it('copies only Bakery’s own images, and each copy is Bakery’s from its creation', () => {
    const copying = policy.Statement.filter((statement) => [statement.Action].flat().includes('ec2:CopyImage'));
    expect(copying.map((statement) => [[statement.Action].flat(), statement.Condition])).toEqual([
      [['ec2:CopyImage'], { StringEquals: own }],
      [['ec2:CopyImage'], { StringEquals: createdAsOwn }],
    ]);
  });

  it('uses only condition keys that each of its actions supports', () => {
    expect(unsupportedKeys(policy)).toEqual([]);
  });

  it('names the managed tag in the deploy README, and the CDK example sets it', () => {
    const readme = readFileSync('deploy/README.md', 'utf8');
    expect(readme).toContain('`bakery:managed=true`');
    expect(readFileSync('deploy/example-fleet.ts', 'utf8')).toContain('letBakeryManage');
  });

  it('is the policy the README links to', () => {
    expect(readFileSync('README.md', 'utf8')).toContain('(deploy/iam-policy.json)');
  });
});

describe('the deployer role’s policy in an environment’s account (deploy/iam-deployer-policy.json)', () => {
  const policy = JSON.parse(readFileSync('deploy/iam-deployer-policy.json', 'utf8')) as { Statement: Statement[] };
  const mainPolicy = JSON.parse(readFileSync('deploy/iam-policy.json', 'utf8')) as { Statement: Statement[] };
  const allowed = allowedBy(policy);
  const fleet = actionsCalled(fleetFiles());

  /**
   * A group launching from a launch template is checked as the caller's own launch (ec2:RunInstances, and
   * ec2:CreateTags for the template's tags) when it is created or updated (Amazon EC2 Auto Scaling API permissions).
   */
  const checkedAlongsideGroups = ['ec2:RunInstances', 'ec2:CreateTags'];
  /** What the digest's survey (src/stale/survey.ts) and a prune (src/retire/retire.ts fleetUses) read there: the instances and images a fleet runs. */
  const surveyAndPruneReads = ['ec2:DescribeInstances', 'ec2:DescribeImages'];
  const needed = new Set([...fleet.actions].flatMap((action) => [action, ...(authorizedAlongside[action] ?? [])]).concat(checkedAlongsideGroups, surveyAndPruneReads));

  it('knows the AWS service of every command the canary, promote and rollback send', () => {
    expect(fleet.unknown).toEqual([]);
  });

  it('allows every AWS action the canary, promote and rollback call', () => {
    expect([...fleet.actions].filter((action) => !allowed.has(action))).toEqual([]);
  });

  it('allows nothing they do not call (but what AWS checks for tags given at creation and for a group’s launches)', () => {
    expect([...allowed].filter((action) => !needed.has(action))).toEqual([]);
  });

  it('allows nothing only the bake needs: no images made, copied or shared, no base parameters, no table, no role passed', () => {
    const bakesOnly = [...actionsCalled(productionFiles()).actions].filter((action) => !needed.has(action));
    expect(bakesOnly).toEqual(expect.arrayContaining(['ec2:CreateImage', 'ec2:CopyImage', 'ssm:GetParameter', 'dynamodb:PutItem']));
    expect([...allowed].filter((action) => bakesOnly.includes(action) || action === 'iam:PassRole')).toEqual([]);
  });

  it('grants each fleet action as the main policy does, in the statements copied from it', () => {
    const mainBySid = new Map(mainPolicy.Statement.map((statement) => [statement.Sid, statement]));
    const copied = policy.Statement.filter((statement) => mainBySid.has(statement.Sid));
    expect(copied.map((statement) => mainBySid.get(statement.Sid))).toEqual(copied);
    // Its own are the survey's and prune's reads, and the launch checks above: untouched by the main policy's scoping of the bake's launches and tags.
    expect(policy.Statement.filter((statement) => !mainBySid.has(statement.Sid)).map((statement) => [statement.Action, statement.Condition])).toEqual([
      [surveyAndPruneReads, undefined],
      ['ec2:RunInstances', undefined],
      ['ec2:CreateTags', { StringEquals: { 'ec2:CreateAction': ['RunInstances'] } }],
    ]);
  });

  it('lets the bot tag or delete only what it created', () => {
    expect(overOthers(policy)).toEqual([]);
  });

  it('changes a group, launch template or listener only when the platform team tagged it bakery:managed, or Bakery made it', () => {
    expect(unscopedFleetChanges(policy)).toEqual([]);
  });

  it('creates groups and target groups only tagged as Bakery’s, and never tags a group as managed', () => {
    expect(conditionsOf(policy, ['autoscaling:CreateAutoScalingGroup', 'elasticloadbalancing:CreateTargetGroup'])).toEqual([{ StringEquals: createdAsOwn }, { StringEquals: createdAsOwn }]);
    expect(conditionsOf(policy, ['autoscaling:CreateOrUpdateTags'])).toEqual([{ 'ForAllValues:StringNotEquals': { 'aws:TagKeys': ['bakery:managed'] } }]);
  });

  it('uses only condition keys that each of its actions supports', () => {
    expect(unsupportedKeys(policy)).toEqual([]);
  });
});
