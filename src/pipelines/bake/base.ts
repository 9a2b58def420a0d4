import type { BaseImage } from '../../aws/images.js';
import type { AppConfig, BaseImageSource } from '../../config/apps.js';

export type BaseChoice = { ok: true; source: BaseImageSource } | { ok: false; error: string };

/**
 * Where a bake's base comes from: `--base` (an AMI id, or ssm:<name> under one of the app's
 * prefixes) or the app's configured source. /bake refuses a bad choice before anything starts; the
 * bake's first step asks again, so a resumed bake is held to the same rule.
 */
export function chooseBase(requested: string | undefined, config: AppConfig): BaseChoice {
  if (!requested) return { ok: true, source: config.baseImage };
  if (!requested.startsWith('ssm:')) return { ok: true, source: { id: requested } };
  const name = requested.slice('ssm:'.length);
  if (!config.baseParameterPrefixes.some((prefix) => name.startsWith(prefix))) {
    return { ok: false, error: `--base ssm: reads only parameters under ${config.baseParameterPrefixes.join(', ')} for this app, and ${name} is not` };
  }
  return { ok: true, source: { ssm: name } };
}

/**
 * Why a base may not be used by `app`, if it may not: an image Bakery baked for another app is that
 * app's (its id is on its releases, and a bake shares its result with this app's accounts), so it is
 * a base only for the apps that name it in `baseImageApps`. The owner check does not catch it: it is `self`.
 */
export function otherAppsImage(base: BaseImage, app: string, config: AppConfig): string | undefined {
  const owner = base.bakedFor?.app;
  if (!owner || owner === app || config.baseImageApps.includes(owner)) return undefined;
  const named = config.baseImageApps.length > 0 ? `names only ${config.baseImageApps.join(', ')}` : 'names none';
  return `base AMI ${base.id} is ${owner}'s image (${owner}${base.bakedFor?.version ? ` ${base.bakedFor.version}` : ''}), and ${app} bakes on another app's images only when its baseImageApps names that app (it ${named})`;
}
