import type { AwsClients } from './clients.js';

/*
 * Every canary (and every rollback to an image no version still names) adds a version to the app's
 * launch template, and EC2 keeps them all: a template has at most 10,000. These are the versions
 * Bakery made for one app that nothing needs any more, and their deletion.
 */

/** A version Bakery made for `app` says so in its description (see createTemplateVersion's callers). */
export function madeByBakeryFor(app: string, description: string | undefined): boolean {
  return description?.startsWith(`Bakery: ${app} `) === true || description?.startsWith(`Bakery rollback: ${app} `) === true;
}

export interface TemplateVersionsDeleted {
  deleted: string[];
  /** Versions EC2 would not delete, each with its reason (DeleteLaunchTemplateVersions answers per version). */
  refused: { version: string; why: string }[];
}

/**
 * Deletes the versions Bakery made for `app` on this template except those still needed: `keep`
 * (the live release's, its rollback target's, those groups launch from), the default version and the
 * latest. The template's other versions are the platform team's and are never touched.
 */
export async function deleteUnneededTemplateVersions(
  aws: AwsClients,
  region: string,
  input: { templateId: string; app: string; keep: Iterable<string> },
): Promise<TemplateVersionsDeleted> {
  const ec2 = await aws.ec2(region);
  const versions: { number: string; isDefault: boolean; description?: string }[] = [];
  for await (const page of ec2.paginateDescribeLaunchTemplateVersions({ LaunchTemplateId: input.templateId }, { pageSize: 200 })) {
    for (const version of page.LaunchTemplateVersions ?? []) {
      if (version.VersionNumber !== undefined) versions.push({ number: String(version.VersionNumber), isDefault: version.DefaultVersion === true, description: version.VersionDescription });
    }
  }
  const latest = String(Math.max(...versions.map((version) => Number(version.number))));
  const keep = new Set(input.keep);
  const unneeded = versions
    .filter((version) => madeByBakeryFor(input.app, version.description) && !version.isDefault && version.number !== latest && !keep.has(version.number))
    .map((version) => version.number);
  const done: TemplateVersionsDeleted = { deleted: [], refused: [] };
  for (let start = 0; start < unneeded.length; start += 200) {
    const result = await ec2.deleteLaunchTemplateVersions({ LaunchTemplateId: input.templateId, Versions: unneeded.slice(start, start + 200) });
    for (const item of result.SuccessfullyDeletedLaunchTemplateVersions ?? []) if (item.VersionNumber !== undefined) done.deleted.push(String(item.VersionNumber));
    for (const item of result.UnsuccessfullyDeletedLaunchTemplateVersions ?? []) {
      done.refused.push({ version: String(item.VersionNumber ?? '?'), why: `${item.ResponseError?.Code ?? 'unexpectedError'}: ${item.ResponseError?.Message ?? 'no reason given'}` });
    }
  }
  return done;
}
