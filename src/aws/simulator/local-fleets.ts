import type { AppConfig } from '../../config/apps.js';
import { environmentsOf } from '../../config/environments.js';
import { fleetSeedable, type SeededFleet } from './fleet-seed.js';
import type { AwsSimulator } from './index.js';

/*
 * The fleets local mode deploys to: one per environment of each app (an app of a plain `deploy`
 * section has one), named after the environment's launch template, so its group `<template>-live`,
 * alarm and load balancer are the ones the example config names.
 */

/** A fleet local mode could not seed, and why. */
export interface UnseededFleet {
  app: string;
  environment?: string;
  reason: string;
}

export function seedLocalFleets(simulator: AwsSimulator, apps: Record<string, AppConfig>): { seeded: SeededFleet[]; unseeded: UnseededFleet[] } {
  const seeded: SeededFleet[] = [];
  const unseeded: UnseededFleet[] = [];
  for (const [app, config] of Object.entries(apps)) {
    for (const { name: environment, region, deploy, account } of environmentsOf(config)) {
      const fleet = deploy.launchTemplate;
      if (!fleetSeedable(fleet)) {
        unseeded.push({ app, ...(environment && { environment }), reason: `its launch template's name is too long for the load balancer names "${fleet}-live"` });
        continue;
      }
      if (deploy.group !== `${fleet}-live`) {
        unseeded.push({ app, ...(environment && { environment }), reason: `its group is "${deploy.group}", where the fleet seeded for launch template "${fleet}" is "${fleet}-live"` });
        continue;
      }
      // Another account's environment gets the role its config names, so Bakery may assume it there.
      if (account) simulator.createRole({ arn: account.role, ...(account.externalId !== undefined && { externalId: account.externalId }) });
      // A 10-second alarm period (Demo/App is high-resolution) lets a bad release's rollback show within a minute;
      // scaling as a real fleet has it, so a red-black promotion shows it carried over.
      seeded.push(simulator.seedFleet({ region, app: fleet, alarmPeriodSeconds: 10, scaling: true, ...(account && { account: account.id }) }));
    }
  }
  return { seeded, unseeded };
}
