import type { AwsClients } from '../../aws/clients.js';
import { describeAwsError } from '../../aws/errors.js';
import { describeGroup } from '../../aws/fleet.js';
import { deleteUnneededTemplateVersions } from '../../aws/template-versions.js';
import type { Operation } from '../../store/items.js';
import type { Store } from '../../store/store.js';
import { regionOf } from './operation.js';
import type { CanaryState } from './state.js';

/**
 * After a canary, whatever its end: the versions Bakery made on the app's launch template that are
 * neither live nor a rollback target go. Kept: the live release's and its rollback target's
 * versions, the one the fleet ran when the canary began, those the live and standby groups launch
 * from, the default and the latest. A failure here fails nothing (the versions are only clutter); it
 * is said in the thread.
 */
export async function dropUnneededTemplateVersions(deps: { aws: AwsClients; store: Store }, operation: Operation, state: CanaryState): Promise<string[]> {
  const live = state.live;
  if (!live) return [];
  const region = regionOf(operation);
  try {
    const record = await deps.store.getLive(operation.app, operation.environment);
    const keep = [live.launchTemplateVersion, record?.live.launchTemplateVersion, record?.previous?.launchTemplateVersion];
    for (const name of new Set([live.name, record?.live.group, record?.standby?.group])) {
      const group = name ? await describeGroup(deps.aws, region, name) : undefined;
      keep.push((group?.LaunchTemplate ?? group?.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification)?.Version);
    }
    const done = await deleteUnneededTemplateVersions(deps.aws, region, {
      templateId: live.launchTemplateId,
      app: operation.app,
      keep: keep.filter((version): version is string => version !== undefined),
    });
    return [
      ...(done.deleted.length ? [`deleted ${live.launchTemplateName} versions ${done.deleted.join(', ')}, no longer live nor a rollback target`] : []),
      ...done.refused.map(({ version, why }) => `EC2 kept ${live.launchTemplateName} version ${version} (${why})`),
    ];
  } catch (error) {
    return [`kept the old versions of ${live.launchTemplateName}: ${describeAwsError(error)}`];
  }
}
