import type { ChatSurface } from '../chat/surface.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { Retirement } from '../retire/retire.js';
import type { StaleSurvey } from '../stale/survey.js';
import { isFresh } from '../stale/survey.js';
import type { Store } from '../store/store.js';
import { digestMessage, type RetirementMove } from './digest-message.js';
import { slotOf, takeSlot } from './schedule.js';

export interface DigestDependencies {
  store: Store;
  survey: StaleSurvey;
  chat: ChatSurface;
  clock: Clock;
  log: Logger;
  /** This replica's name, kept on the slot it takes. */
  owner: string;
  /** Retirements in stages move on at each slot too (src/retire/README.md). */
  retirement: Retirement;
}

/**
 * Posts the digest: one message per channel that has a stale app (a channel whose apps are all
 * fresh is left in peace). A scheduled slot is posted only by the replica that takes its mark.
 */
export class DigestJob {
  constructor(private readonly deps: DigestDependencies) {}

  /** Takes the slot and posts; false when another replica (or an earlier run of this one) already has it. */
  async postSlot(slotMs: number): Promise<boolean> {
    if (!(await takeSlot(this.deps.store, 'digest', slotMs, this.deps.owner, this.deps.log))) return false;
    const moves = await this.advanceRetirements();
    const channels = await this.postAll(moves);
    this.deps.log.info({ slot: slotOf(slotMs), channels }, 'digest posted');
    return true;
  }

  /**
   * Moves on the retirements approvers started, so a stage comes due between prunes too; one app's
   * failure stops no other. Returns what moved, for the digest to say.
   */
  async advanceRetirements(): Promise<RetirementMove[]> {
    const moves: RetirementMove[] = [];
    for (const [app, config] of Object.entries(await this.deps.store.listAppConfigs())) {
      if (!config.retire) continue;
      try {
        const done = await this.deps.retirement.advance(app, config);
        if (done.length) this.deps.log.info({ app, done: done.map((outcome) => `${outcome.bake.version ?? outcome.bake.operationId} ${outcome.did}`) }, 'retirement moved on');
        moves.push(...done.map((outcome) => ({ app, version: outcome.bake.version ?? outcome.bake.operationId, did: outcome.did, images: outcome.images, snapshots: outcome.snapshots })));
      } catch (error) {
        this.deps.log.warn({ err: error, app }, 'could not move a retirement on');
      }
    }
    return moves;
  }

  /**
   * Posts every channel's digest now: a channel with an app stale or not checked, or whose retirements moved on;
   * returns the channels posted to. A channel that cannot be posted to does not stop the others.
   */
  async postAll(moves: RetirementMove[] = []): Promise<string[]> {
    const { survey, chat, clock, log } = this.deps;
    const [pictures, sweep] = await Promise.all([survey.survey(), this.deps.store.getLastSweep()]);
    const byChannel = new Map<string, typeof pictures>();
    for (const picture of pictures) byChannel.set(picture.config.channel, [...(byChannel.get(picture.config.channel) ?? []), picture]);
    const posted: string[] = [];
    for (const [channel, apps] of byChannel) {
      const retired = moves.filter((move) => apps.some((picture) => picture.app === move.app));
      if (apps.every(isFresh) && retired.length === 0) continue;
      try {
        await chat.post(channel, digestMessage(apps, clock.now(), { sweep, retired }));
        posted.push(channel);
      } catch (error) {
        log.warn({ err: error, channel }, 'could not post the digest to a channel');
      }
    }
    return posted;
  }
}
