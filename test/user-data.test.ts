import { describe, expect, it } from 'vitest';
import { builderUserData, readBuilderReport } from '../src/pipelines/bake/user-data.js';
import { imageName, imageTags, tagValue } from '../src/aws/provenance.js';
import { demoApp } from './support/world.js';

describe('the builder’s user data', () => {
  const script = Buffer.from(builderUserData('demo', { ...demoApp, provision: "echo 'EOF' $(whoami)\nexit 0" }, 'v1.2', 'op-abc-12345678'), 'base64').toString('utf8');

  it('downloads the artifact, provisions, smoke tests and reports on the console', () => {
    expect(script).toMatch(/download started[\s\S]*provision started[\s\S]*smoke started[\s\S]*report success/);
  });

  it('carries every outside value base64-encoded, so none can end a quote or run a command', () => {
    expect(script).not.toContain('whoami');
    expect(script).not.toContain('artifacts.example.com');
    expect(script).toContain(Buffer.from("echo 'EOF' $(whoami)\nexit 0").toString('base64'));
  });
});

describe('reading the builder’s console', () => {
  it('tells which phase failed and keeps the tail of the log', () => {
    const report = readBuilderReport('boot\nbakery: provision started\nnpm ERR! missing script\nbakery: provision failed\nBAKERY_RESULT=failure phase=provision\n');
    expect(report).toMatchObject({ state: 'failed', phase: 'provision' });
    if (report.state === 'failed') expect(report.logTail).toContain('npm ERR! missing script');
  });

  it('knows a builder still at work and a builder that succeeded', () => {
    expect(readBuilderReport('bakery: smoke started\nchecking')).toMatchObject({ state: 'working', phase: 'smoke', lastLine: 'checking' });
    expect(readBuilderReport('bakery: smoke done\nBAKERY_RESULT=success')).toEqual({ state: 'succeeded' });
  });
});

describe('names and tags', () => {
  const provenance = { app: 'demo', version: 'v1', baseAmi: 'ami-0123456789abcdef0', baseAmiName: 'al2023 <x>', requestedBy: '@bob "the builder"', operationId: 'op-abc-12345678' };

  it('gives each bake a unique, valid AMI name', () => {
    expect(imageName(provenance, Date.parse('2026-11-23T12:03:04Z'))).toBe('demo-v1-20261123-120304-345678');
  });

  it('keeps tag values to the characters EC2 allows', () => {
    expect(tagValue('@bob "the builder"')).toBe('@bob _the builder_');
    expect(imageTags(provenance).find((tag) => tag.Key === 'bakery:base-ami-name')?.Value).toBe('al2023 _x_');
  });
});
