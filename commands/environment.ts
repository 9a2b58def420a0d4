import type { AppConfig } from '../src/config/apps.js';
import { environmentNames } from '../src/config/environments.js';

/** Why `name` (given with `flag`, or not) picks none of the app's environments, said with the ones there are. */
export function noSuchEnvironment(app: string, config: AppConfig, name: string | undefined, flag: '--to' | '--env'): string {
  const names = environmentNames(config);
  if (names.length === 0) return `${app} deploys to one fleet and has no environments; leave out ${flag}`;
  if (name === undefined) return `${app} has environments (${names.join(', ')}); name one with ${flag}`;
  return `${app} has no environment "${name}"; its environments: ${names.join(', ')}`;
}
