/*
 * The one place that decides how Bakery names and tags what it creates. Provenance is an output
 * of every bake: from any image, a person can tell which app, version, base and commit it holds,
 * who asked for it and which operation made it.
 */
import type { Tag } from '@aws-sdk/client-ec2';

export const tagKeys = {
  app: 'bakery:app',
  version: 'bakery:version',
  baseAmi: 'bakery:base-ami',
  baseAmiName: 'bakery:base-ami-name',
  baseAmiCreated: 'bakery:base-ami-created',
  recipe: 'bakery:recipe',
  commit: 'bakery:commit',
  artifactSha256: 'bakery:artifact-sha256',
  requestedBy: 'bakery:requested-by',
  operation: 'bakery:operation',
  role: 'bakery:role',
  createdBy: 'bakery:created-by',
} as const;

export interface Provenance {
  app: string;
  version: string;
  baseAmi: string;
  baseAmiName: string;
  /** When the base image was made (ms), as EC2 reported it. */
  baseAmiCreatedAt?: number;
  /** recipeHash of the app's config as the bake was asked. */
  recipeHash?: string;
  commit?: string;
  /** Known once the builder has downloaded the artifact. */
  artifactSha256?: string;
  requestedBy: string;
  operationId: string;
}

/** EC2 tag values allow letters, digits, spaces and _ . : / = + - @; anything else becomes _. */
export function tagValue(text: string): string {
  return text.replace(/[^\p{L}\p{N} _.:/=+\-@]/gu, '_').slice(0, 256);
}

export function imageTags(p: Provenance): Tag[] {
  return [
    { Key: 'Name', Value: tagValue(`${p.app}-${p.version}`) },
    { Key: tagKeys.app, Value: p.app },
    { Key: tagKeys.version, Value: p.version },
    { Key: tagKeys.baseAmi, Value: p.baseAmi },
    { Key: tagKeys.baseAmiName, Value: tagValue(p.baseAmiName) },
    ...(p.baseAmiCreatedAt !== undefined ? [{ Key: tagKeys.baseAmiCreated, Value: new Date(p.baseAmiCreatedAt).toISOString() }] : []),
    ...(p.recipeHash ? [{ Key: tagKeys.recipe, Value: p.recipeHash }] : []),
    ...(p.commit ? [{ Key: tagKeys.commit, Value: p.commit }] : []),
    ...(p.artifactSha256 ? [{ Key: tagKeys.artifactSha256, Value: p.artifactSha256 }] : []),
    { Key: tagKeys.requestedBy, Value: tagValue(p.requestedBy) },
    { Key: tagKeys.operation, Value: p.operationId },
    { Key: tagKeys.createdBy, Value: 'bakery' },
  ];
}

export function builderTags(p: Provenance): Tag[] {
  return [
    { Key: 'Name', Value: tagValue(`bakery-builder-${p.app}-${p.version}`) },
    { Key: tagKeys.app, Value: p.app },
    { Key: tagKeys.version, Value: p.version },
    { Key: tagKeys.operation, Value: p.operationId },
    { Key: tagKeys.role, Value: 'builder' },
    { Key: tagKeys.createdBy, Value: 'bakery' },
  ];
}

/**
 * A unique, deterministic AMI name: a repeated create-image step asks for the same name, so EC2
 * refuses a second image instead of making one.
 */
export function imageName(p: Provenance, createdAt: number): string {
  const stamp = new Date(createdAt).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${p.app}-${p.version}-${stamp}-${p.operationId.slice(-6)}`;
}

/** EC2 client tokens are at most 64 ASCII characters. */
export function clientToken(operationId: string, purpose: string): string {
  return `${operationId}-${purpose}`.slice(0, 64);
}
