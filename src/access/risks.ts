import type { AppConfig } from '../config/apps.js';
import { environmentsOf } from '../config/environments.js';
import { mention } from '../message.js';
import { fourEyes, type AccessSettings } from './access.js';

/*
 * What in an app's access config is weaker than it reads, said in `/bakery apps`. Slack's usergroup
 * object (usergroups.list) tells who created and last updated a group, never who may edit it: that is
 * a workspace setting ("Create and edit user groups") no bot can read. So every user group that
 * approves or rolls back is named as a risk, whatever that setting is.
 */
export function accessRisks(config: AppConfig, access: AccessSettings): string[] {
  const environments = environmentsOf(config);
  if (environments.length === 0) return [];
  const roles = new Map<string, string[]>();
  const add = (ids: readonly string[], role: string) => {
    for (const id of ids.filter((principal) => principal.startsWith('S'))) roles.set(id, [...(roles.get(id) ?? []), role]);
  };
  for (const environment of environments) add(environment.deploy.approvers, `approves releases${environment.name ? ` in ${environment.name}` : ''}`);
  if (config.access.rollback) add(config.access.rollback, 'may roll back');
  const risks = [...roles].map(
    ([group, what]) =>
      `${mention(group)} ${what.join(' and ')}: its members can edit who is in it (and so add anyone) unless the workspace settings keep editing user groups to admins, which Slack does not tell Bakery; name people instead, or check that setting`,
  );
  for (const { name, deploy } of environments) {
    if (!deploy.fourEyes && fourEyes(access, deploy)) risks.push(`\`fourEyes: false\`${name ? ` (${name})` : ''} is ignored in Slack: whoever asks for a canary never approves it`);
  }
  return risks;
}
