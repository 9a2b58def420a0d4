import type {
  CreateLaunchTemplateCommandInput,
  CreateLaunchTemplateVersionCommandInput,
  DeleteLaunchTemplateCommandInput,
  DeleteLaunchTemplateVersionsCommandInput,
  DeleteLaunchTemplateVersionsResponseErrorItem,
  DeleteLaunchTemplateVersionsResponseSuccessItem,
  DescribeLaunchTemplatesCommandInput,
  DescribeLaunchTemplateVersionsCommandInput,
  LaunchTemplate,
  LaunchTemplateVersion,
  ModifyLaunchTemplateCommandInput,
} from '@aws-sdk/client-ec2';
import { idempotent, required, state, type HandlerContext } from './context.js';
import { fail } from './errors.js';
import { applyFilters, tagList, tagsFromSpecifications } from './filters.js';
import { nextId, type LaunchTemplateRecord, type LaunchTemplateVersionRecord } from './world.js';

/** Launch templates and their numbered versions: what an Auto Scaling group launches from. */

const NAME = /^[a-zA-Z0-9().\-/_]{3,128}$/;
const IMAGE_ID = /^ami-[0-9a-f]{8}([0-9a-f]{9})?$/;

function createdBy(ctx: HandlerContext): string {
  return `arn:aws:iam::${ctx.world.accountId}:root`;
}

function describeTemplate(ctx: HandlerContext, template: LaunchTemplateRecord): LaunchTemplate {
  return {
    LaunchTemplateId: template.launchTemplateId,
    LaunchTemplateName: template.name,
    CreateTime: new Date(template.createdAt),
    CreatedBy: createdBy(ctx),
    DefaultVersionNumber: template.defaultVersion,
    LatestVersionNumber: latestNumber(template),
    Tags: tagList(template.tags),
  };
}

function describeVersion(ctx: HandlerContext, template: LaunchTemplateRecord, version: LaunchTemplateVersionRecord): LaunchTemplateVersion {
  return {
    LaunchTemplateId: template.launchTemplateId,
    LaunchTemplateName: template.name,
    VersionNumber: version.number,
    VersionDescription: version.description,
    CreateTime: new Date(version.createdAt),
    CreatedBy: createdBy(ctx),
    DefaultVersion: version.number === template.defaultVersion,
    LaunchTemplateData: structuredClone(version.data) as LaunchTemplateVersion['LaunchTemplateData'],
  };
}

/** The template named by id or name, as EC2 looks it up; each way has its own NotFound code. */
export function findLaunchTemplate(ctx: HandlerContext, ref: { LaunchTemplateId?: string; LaunchTemplateName?: string }): LaunchTemplateRecord {
  const templates = state(ctx).launchTemplates;
  if (ref.LaunchTemplateId) {
    const found = templates.find((t) => t.launchTemplateId === ref.LaunchTemplateId);
    if (!found) fail('InvalidLaunchTemplateId.NotFound', `The specified launch template, with template ID ${ref.LaunchTemplateId}, does not exist.`);
    return found;
  }
  if (ref.LaunchTemplateName) {
    const found = templates.find((t) => t.name === ref.LaunchTemplateName);
    if (!found) fail('InvalidLaunchTemplateName.NotFoundException', `The specified launch template, with template name ${ref.LaunchTemplateName}, does not exist.`);
    return found;
  }
  return fail('MissingParameter', 'The request must contain the parameter LaunchTemplateName or LaunchTemplateId');
}

/**
 * The highest version still there. `latestVersion` counts every version ever made, so numbers are
 * never reused; once the latest is deleted, $Latest is the newest one left.
 */
function latestNumber(template: LaunchTemplateRecord): number {
  return Math.max(...template.versions.map((v) => v.number));
}

/** A version by number string, '$Latest' or '$Default'; undefined when there is no such version. */
export function resolveVersion(template: LaunchTemplateRecord, version: string | undefined): LaunchTemplateVersionRecord | undefined {
  const number = version === undefined || version === '$Default' ? template.defaultVersion : version === '$Latest' ? latestNumber(template) : Number(version);
  return template.versions.find((v) => v.number === number);
}

function versionNotFound(template: LaunchTemplateRecord, version: string): never {
  return fail('InvalidLaunchTemplateId.VersionNotFound', `Could not find launch template version ${version} for launch template ${template.launchTemplateId}.`);
}

function checkData(data: Record<string, unknown> | undefined): Record<string, unknown> {
  const value = required(data, 'LaunchTemplateData');
  const imageId = value.ImageId;
  if (imageId !== undefined && (typeof imageId !== 'string' || !IMAGE_ID.test(imageId))) {
    fail('InvalidAMIID.Malformed', `Invalid id: "${String(imageId)}" (expecting "ami-...")`);
  }
  return structuredClone(value);
}

function createLaunchTemplate(ctx: HandlerContext, input: CreateLaunchTemplateCommandInput) {
  const name = required(input.LaunchTemplateName, 'LaunchTemplateName');
  if (!NAME.test(name)) {
    fail('InvalidLaunchTemplateName.MalformedException', 'A launch template name must be between 3 and 128 characters, and may contain letters, numbers, and the following characters: - ( ) . / _.');
  }
  const data = checkData(input.LaunchTemplateData as Record<string, unknown> | undefined);
  const tags = tagsFromSpecifications(input.TagSpecifications, ['launch-template']);
  const { id } = idempotent(ctx, 'CreateLaunchTemplate', input.ClientToken, input, () => {
    if (state(ctx).launchTemplates.some((t) => t.name === name)) {
      fail('InvalidLaunchTemplateName.AlreadyExistsException', `Launch template name already in use.`);
    }
    const template: LaunchTemplateRecord = {
      launchTemplateId: nextId(ctx.world, 'lt'),
      name,
      createdAt: ctx.now,
      defaultVersion: 1,
      latestVersion: 1,
      versions: [{ number: 1, createdAt: ctx.now, description: input.VersionDescription, data }],
      tags: tags['launch-template'] ?? {},
    };
    state(ctx).launchTemplates.push(template);
    return template.launchTemplateId;
  });
  return { LaunchTemplate: describeTemplate(ctx, findLaunchTemplate(ctx, { LaunchTemplateId: id })) };
}

function createLaunchTemplateVersion(ctx: HandlerContext, input: CreateLaunchTemplateVersionCommandInput) {
  const template = findLaunchTemplate(ctx, input);
  const given = checkData(input.LaunchTemplateData as Record<string, unknown> | undefined);
  const { id } = idempotent(ctx, 'CreateLaunchTemplateVersion', input.ClientToken, input, () => {
    // Like EC2, a version made from a source version inherits its data; what the caller gives overrides it.
    let data = given;
    if (input.SourceVersion !== undefined) {
      const source = resolveVersion(template, input.SourceVersion) ?? versionNotFound(template, input.SourceVersion);
      data = { ...structuredClone(source.data), ...given };
    }
    const number = template.latestVersion + 1;
    template.versions.push({ number, createdAt: ctx.now, description: input.VersionDescription, data });
    template.latestVersion = number;
    return `${template.launchTemplateId}:${number}`;
  });
  const number = Number(id.split(':')[1]);
  const version = template.versions.find((v) => v.number === number) ?? versionNotFound(template, String(number));
  return { LaunchTemplateVersion: describeVersion(ctx, template, version) };
}

function describeLaunchTemplates(ctx: HandlerContext, input: DescribeLaunchTemplatesCommandInput) {
  const all = state(ctx).launchTemplates;
  const ids = input.LaunchTemplateIds ?? [];
  const names = input.LaunchTemplateNames ?? [];
  if (ids.some((id) => !all.some((t) => t.launchTemplateId === id))) {
    fail('InvalidLaunchTemplateId.NotFound', 'At least one of the launch templates specified in the request does not exist.');
  }
  if (names.some((name) => !all.some((t) => t.name === name))) {
    fail('InvalidLaunchTemplateName.NotFoundException', 'At least one of the launch templates specified in the request does not exist.');
  }
  const selected = ids.length || names.length ? all.filter((t) => ids.includes(t.launchTemplateId) || names.includes(t.name)) : all;
  const matching = applyFilters(
    selected,
    input.Filters,
    { 'launch-template-name': (t) => t.name, 'create-time': (t) => new Date(t.createdAt).toISOString() },
    (t) => t.tags,
  );
  return { LaunchTemplates: matching.map((t) => describeTemplate(ctx, t)) };
}

function describeLaunchTemplateVersions(ctx: HandlerContext, input: DescribeLaunchTemplateVersionsCommandInput) {
  const template = findLaunchTemplate(ctx, input);
  let versions: LaunchTemplateVersionRecord[];
  if (input.Versions?.length) {
    versions = input.Versions.map((v) => resolveVersion(template, v) ?? versionNotFound(template, v));
  } else {
    const min = input.MinVersion === undefined ? 1 : Number(input.MinVersion);
    const max = input.MaxVersion === undefined ? Infinity : Number(input.MaxVersion);
    versions = template.versions.filter((v) => v.number >= min && v.number <= max);
  }
  return { LaunchTemplateVersions: versions.map((v) => describeVersion(ctx, template, v)) };
}

function modifyLaunchTemplate(ctx: HandlerContext, input: ModifyLaunchTemplateCommandInput) {
  const template = findLaunchTemplate(ctx, input);
  if (input.DefaultVersion !== undefined) {
    const version = resolveVersion(template, input.DefaultVersion) ?? versionNotFound(template, input.DefaultVersion);
    template.defaultVersion = version.number;
  }
  return { LaunchTemplate: describeTemplate(ctx, template) };
}

/**
 * DeleteLaunchTemplateVersions, as the EC2 API reference describes it: at most 200 versions a
 * request; each version succeeds or fails on its own (UnsuccessfullyDeletedLaunchTemplateVersions,
 * with a ResponseError code), and the call itself succeeds. The default version cannot be deleted
 * (make another the default first); a group launching from a deleted version is not checked by EC2.
 */
function deleteLaunchTemplateVersions(ctx: HandlerContext, input: DeleteLaunchTemplateVersionsCommandInput) {
  const versions = required(input.Versions, 'Versions');
  if (versions.length === 0 || versions.length > 200) fail('InvalidParameterValue', 'You can delete 1 to 200 launch template versions in a single request.');
  if (input.LaunchTemplateId && input.LaunchTemplateName) fail('InvalidParameterCombination', 'Specify either the launch template ID or the launch template name, but not both.');
  const templates = state(ctx).launchTemplates;
  const template = input.LaunchTemplateId ? templates.find((t) => t.launchTemplateId === input.LaunchTemplateId) : templates.find((t) => t.name === input.LaunchTemplateName);
  const deleted: DeleteLaunchTemplateVersionsResponseSuccessItem[] = [];
  const refused: DeleteLaunchTemplateVersionsResponseErrorItem[] = [];
  const refuse = (version: string, Code: string, Message: string) =>
    refused.push({
      LaunchTemplateId: template?.launchTemplateId ?? input.LaunchTemplateId,
      LaunchTemplateName: template?.name ?? input.LaunchTemplateName,
      ...(/^\d+$/.test(version) ? { VersionNumber: Number(version) } : {}),
      ResponseError: { Code: Code as never, Message },
    });
  for (const version of versions) {
    if (!template) {
      if (input.LaunchTemplateId) refuse(version, 'launchTemplateIdDoesNotExist', `The launch template ID '${input.LaunchTemplateId}' does not exist`);
      else refuse(version, 'launchTemplateNameDoesNotExist', `The launch template name '${input.LaunchTemplateName ?? ''}' does not exist`);
      continue;
    }
    const found = /^\d+$/.test(version) ? template.versions.find((v) => v.number === Number(version)) : undefined;
    if (!found) {
      refuse(version, 'launchTemplateVersionDoesNotExist', `The launch template version ${version} does not exist`);
    } else if (found.number === template.defaultVersion) {
      refuse(version, 'unexpectedError', `The default version of a launch template cannot be deleted; make another version the default first`);
    } else {
      template.versions = template.versions.filter((v) => v !== found);
      deleted.push({ LaunchTemplateId: template.launchTemplateId, LaunchTemplateName: template.name, VersionNumber: found.number });
    }
  }
  return { SuccessfullyDeletedLaunchTemplateVersions: deleted, UnsuccessfullyDeletedLaunchTemplateVersions: refused };
}

function deleteLaunchTemplate(ctx: HandlerContext, input: DeleteLaunchTemplateCommandInput) {
  const template = findLaunchTemplate(ctx, input);
  state(ctx).launchTemplates = state(ctx).launchTemplates.filter((t) => t !== template);
  return { LaunchTemplate: describeTemplate(ctx, template) };
}

export const launchTemplateHandlers = {
  CreateLaunchTemplate: createLaunchTemplate,
  CreateLaunchTemplateVersion: createLaunchTemplateVersion,
  DescribeLaunchTemplates: describeLaunchTemplates,
  DescribeLaunchTemplateVersions: describeLaunchTemplateVersions,
  ModifyLaunchTemplate: modifyLaunchTemplate,
  DeleteLaunchTemplate: deleteLaunchTemplate,
  DeleteLaunchTemplateVersions: deleteLaunchTemplateVersions,
};
