import { clientsInAccount, type AwsClients } from '../../aws/clients.js';
import type { EnvironmentAccount } from '../../config/environments.js';
import type { Clock } from '../../clock.js';
import type { DeployConfig } from '../../config/deploy.js';
import { momentText, positionText } from '../../judge/explain.js';
import { StepFailure } from '../../operations/pipeline.js';
import type { Operation } from '../../store/items.js';
import type { Store } from '../../store/store.js';
import { canaryParams } from './state.js';

/** What the canary's steps, its promotion and its removal work with. */
export interface CanaryDependencies {
  aws: AwsClients;
  /**
   * Bakery's own account's clients, when `aws` are an environment's in another account: the image is Bakery's,
   * and a tag put on a shared image is seen only in the account that put it.
   */
  ownAws?: AwsClients;
  store: Store;
  clock: Clock;
  pollIntervalMs: number;
}

/** What every canary step reads from its operation: the deploy config as it was when asked, and the region. */
export const deployOf = (operation: Operation): DeployConfig => {
  const deploy = canaryParams.parse(operation.params).config.deploy;
  if (!deploy) throw new StepFailure(`${operation.app} has no deploy section in its config`);
  return deploy;
};
/** " in staging": where a deploy of an app of several environments goes, for its messages; nothing for an app of one fleet. */
export const inEnvironment = (operation: Operation): string => (operation.environment ? ` in ${operation.environment}` : '');
export const regionOf = (operation: Operation): string => canaryParams.parse(operation.params).config.region;

/**
 * Who the operation's calls are made as: Bakery itself, or for an environment in another account the role it
 * assumes there, in a session named for the operation ("bakery-canary-op-…", as CloudTrail shows it).
 */
export function clientsIn(aws: AwsClients, operation: Operation, account: EnvironmentAccount | undefined): AwsClients {
  return clientsInAccount(aws, account, `bakery-${operation.kind}-${operation.id}`);
}

/** The canary's dependencies with the clients of its environment's account. */
export const dependenciesFor = <D extends { aws: AwsClients }>(deps: D, operation: Operation): D & { ownAws: AwsClients } => ({
  ...deps,
  aws: clientsIn(deps.aws, operation, canaryParams.parse(operation.params).config.account),
  ownAws: deps.aws,
});

/**
 * The canary group's name shows app and version, and ends with the operation's own random suffix: a
 * group's name stays taken while it is being deleted (minutes, as its instances drain), so a canary
 * started again soon after one was removed must not want the same name.
 */
export const canaryGroupName = (operation: Operation): string => `${operation.app}-canary-${operation.version}-${operationSuffix(operation)}`;

/** A fresh baseline's group: the version it is the baseline for, beside that version's canary. */
export const baselineGroupName = (operation: Operation): string => `${operation.app}-baseline-${operation.version}-${operationSuffix(operation)}`;

const operationSuffix = (operation: Operation): string => operation.id.slice(-8);

/** Target group names are at most 32 characters: app and version cut short, and the operation's own suffix. */
export const canaryTargetGroupName = (operation: Operation): string =>
  `${operation.app.slice(0, 12)}-${operation.version.replace(/[^A-Za-z0-9]/g, '').slice(0, 8)}-${operation.id.slice(-8)}`.replace(/-+/g, '-');

/** A point in the canary's window as its verdict lines say it: "minute 12", or "1 min 20 s" with 10-second intervals. */
export const windowMoment = (minutes: number, intervalMs: number): string => momentText(minutes, intervalMs / 60_000);

/** Where a look is in the window: "minute 12 of 30", or "1 min 20 s of 3 minutes". */
export const windowPosition = (minutes: number, durationMs: number, deploy: DeployConfig): string =>
  positionText(minutes, durationMs / 60_000, deploy.canary.interval / 60_000);

export function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new StepFailure(`the ${what} is not known yet; an earlier step did not record it`);
  return value;
}
