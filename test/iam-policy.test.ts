import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Every `new XCommand(` in the code that runs in production (not the simulator, not table setup). */
function commandsCalled(): Set<string> {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? (entry.name === 'simulator' ? [] : files(join(dir, entry.name))) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
    );
  const names = new Set<string>();
  for (const file of [...files('src'), ...files('commands')]) {
    if (file.endsWith(join('store', 'table.ts'))) continue; // npm run create-table: an administrator's one-off
    for (const match of readFileSync(file, 'utf8').matchAll(/new ([A-Z][A-Za-z]+)Command\(/g)) names.add(match[1]!);
  }
  return names;
}

/** The document client's commands are the DynamoDB actions below them; a transaction needs the writes it makes. */
const documentClientActions: Record<string, string[]> = {
  Get: ['dynamodb:GetItem'],
  BatchGet: ['dynamodb:BatchGetItem'],
  Put: ['dynamodb:PutItem'],
  Update: ['dynamodb:UpdateItem'],
  Delete: ['dynamodb:DeleteItem'],
  Query: ['dynamodb:Query'],
  Scan: ['dynamodb:Scan'],
  TransactWrite: ['dynamodb:PutItem'],
};
const ssmCommands = new Set(['GetParameter']);

describe('the README’s IAM policy', () => {
  const readme = readFileSync('README.md', 'utf8');
  const policyText = /### Least-privilege IAM policy[\s\S]*?```json\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const policy = JSON.parse(policyText) as { Statement: { Action: string | string[] }[] };
  const allowed = new Set(policy.Statement.flatMap((statement) => [statement.Action].flat()));

  it('allows every AWS action Bakery calls', () => {
    const needed = [...commandsCalled()].flatMap((name) => documentClientActions[name] ?? [ssmCommands.has(name) ? `ssm:${name}` : `ec2:${name}`]);
    expect(needed.filter((action) => !allowed.has(action))).toEqual([]);
  });

  it('allows nothing Bakery does not call (but passing the builder its role)', () => {
    const called = new Set([...commandsCalled()].flatMap((name) => documentClientActions[name] ?? [ssmCommands.has(name) ? `ssm:${name}` : `ec2:${name}`]));
    expect([...allowed].filter((action) => !called.has(action) && action !== 'iam:PassRole')).toEqual([]);
  });
});
