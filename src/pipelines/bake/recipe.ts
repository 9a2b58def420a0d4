import { createHash } from 'node:crypto';
import type { AppConfig } from '../../config/apps.js';

/**
 * A hash of how an app's image is made: the provision script, the smoke test, the instance type and
 * the builder's settings. Two bakes of one version on one base with the same artifact and recipe make
 * the same image, so the second reuses the first; a changed recipe makes the live image stale.
 * Timeouts, sharing and copies are left out: they do not change what is inside the image.
 */
export function recipeHash(config: AppConfig): string {
  const recipe = {
    provision: config.provision,
    smokeTest: config.smokeTest,
    instanceType: config.instanceType,
    subnetId: config.subnetId ?? null,
    securityGroupIds: [...config.securityGroupIds].sort(),
    instanceProfile: config.instanceProfile ?? null,
    artifactUrl: config.artifactUrl,
  };
  return createHash('sha256').update(JSON.stringify(recipe)).digest('hex');
}

/** The first 12 hex digits, as people compare them. */
export const shortHash = (hash: string): string => hash.slice(0, 12);
