import type { Clock } from '../clock.js';
import type { AppConfig } from '../config/apps.js';
import { environmentOf, environmentsOf } from '../config/environments.js';
import type { Logger } from '../log.js';
import type { OperationRunner } from '../operations/runner.js';
import { soakedAnnouncement, soakedMessage, soakGate } from '../pipelines/canary/soak.js';
import type { Store } from '../store/store.js';

export interface SoakedDependencies {
  store: Store;
  runner: Pick<OperationRunner, 'announceAfter'>;
  clock: Clock;
  log: Logger;
}

/**
 * Says in a release's thread when its soak has ended: for each environment that names another in
 * `after`, the release live there for the soak (the gate /canary applies, passed) gets one message
 * with the button that takes it on. The message goes into the outbox of the release's bake, whose
 * thread is the release's, keyed by the operation that made it live there: one key is one post across
 * replicas and restarts, and a release rolled back or passed over there is not live, so not announced
 * (live again later, it soaks again and is announced again).
 */
export class SoakedJob {
  constructor(private readonly deps: SoakedDependencies) {}

  /** Announces every soak that has ended and was not announced yet; how many it announced. */
  async announce(): Promise<number> {
    const { store, log } = this.deps;
    let announced = 0;
    for (const [app, config] of Object.entries(await store.listAppConfigs())) {
      // One app's failed read leaves the others' soaks to be said; its own are looked at again next minute.
      announced += await this.announceFor(app, config).catch((error: unknown) => {
        log.warn({ err: error, app }, 'could not look at an app’s soaks');
        return 0;
      });
    }
    return announced;
  }

  /** The app's soaks that ended, each said once; how many this look said. */
  private async announceFor(app: string, config: AppConfig): Promise<number> {
    const { store, runner, clock, log } = this.deps;
    let announced = 0;
    for (const to of environmentsOf(config)) {
      const after = to.after === undefined ? undefined : environmentOf(config, to.after);
      if (!to.name || !after?.name) continue;
      const afterLive = await store.getLive(app, after.name);
      const version = afterLive?.live.version;
      if (!afterLive || !version || clock.now() - afterLive.since < to.soakMs) continue;
      const release = await store.getRelease(app, version);
      if (!release?.thread || release.status === 'rejected' || release.status === 'retired') continue;
      if (!soakGate({ release, to, after, afterLive, now: clock.now() }).ok) continue;
      // Taken there already (by hand, before this look): nothing to say.
      if ((await store.getLive(app, to.name))?.live.ami === afterLive.live.ami) continue;
      const message = soakedMessage({ app, version, to, after, liveOperationId: afterLive.operationId });
      // A reply, not the bake's own message: later operations drew the thread's root, and it stays theirs.
      const item = { key: soakedAnnouncement(to.name, afterLive.operationId), reply: { thread: release.thread, message } };
      if (await runner.announceAfter(release.operationId, item)) {
        announced += 1;
        log.info({ app, version, after: after.name, to: to.name }, 'announced the end of a soak');
      }
    }
    return announced;
  }
}
