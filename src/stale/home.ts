import type { ChatSurface, ChatUser } from '../chat/surface.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { homeView } from './home-view.js';
import type { StaleSurvey } from './survey.js';

/** How many people's Homes this replica keeps current; the least recently opened are let go first. */
const MAX_VIEWERS = 200;

/**
 * Publishes people's Homes: when they open it, and again for everyone who opened it here when an
 * operation ends, so it stays current. One survey serves everyone (a Home shows every app).
 */
export class HomeTab {
  private readonly viewers = new Map<string, ChatUser>();

  constructor(private readonly deps: { survey: StaleSurvey; chat: ChatSurface; clock: Clock; log: Logger }) {}

  async show(user: ChatUser): Promise<void> {
    this.viewers.delete(user.id);
    this.viewers.set(user.id, user);
    for (const id of [...this.viewers.keys()].slice(0, Math.max(0, this.viewers.size - MAX_VIEWERS))) this.viewers.delete(id);
    await this.deps.chat.publishHome(user, await this.view());
  }

  private async view() {
    return homeView(await this.deps.survey.survey(), this.deps.clock.now(), (ref, label) => this.deps.chat.linkTo(ref, label));
  }

  async refresh(): Promise<void> {
    if (this.viewers.size === 0) return;
    const view = await this.view();
    for (const user of this.viewers.values()) {
      await this.deps.chat.publishHome(user, view).catch((error: unknown) => this.deps.log.warn({ err: error, user: user.id }, 'could not refresh a Home'));
    }
  }
}
