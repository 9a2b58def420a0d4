import { randomBytes } from 'node:crypto';
import type { AccessSettings } from './access/access.js';
import type { ChatSurface } from './chat/surface.js';
import type { Clock } from './clock.js';
import type { Logger } from './log.js';
import type { OperationRunner } from './operations/runner.js';
import type { Retirement } from './retire/retire.js';
import type { SweepJob } from './jobs/sweep.js';
import type { HomeTab } from './stale/home.js';
import type { StaleSurvey } from './stale/survey.js';
import type { Store } from './store/store.js';

/** What commands may use of Bakery's core: the store, the operation runner, the chat, the clock, the logger, the access settings, the stale survey. */
export interface Core {
  store: Store;
  runner: OperationRunner;
  /** For what a person asks to share in the channel (`/releases --share`); progress goes through the runner. */
  chat: ChatSurface;
  clock: Clock;
  log: Logger;
  /** The workspace Bakery serves, and whether an app's commands are held to its channel. */
  access: AccessSettings;
  /** What each app's live image is made of, and why it is stale (the digest, `/bakery stale`, the App Home). */
  survey: StaleSurvey;
  /** People's App Home, kept current. */
  home: HomeTab;
  /** Retiring an app's old images (`/bakery prune`). */
  retirement: Retirement;
  /** Removing what ended operations left behind (`/bakery sweep`; main.ts also schedules it). */
  sweep: SweepJob;
}

/** Operation ids sort by creation time and are safe in tags, client tokens and AMI names. */
export function newOperationId(clock: Clock): string {
  return `op-${clock.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}
