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
