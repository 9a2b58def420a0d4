import { ChannelMembers } from '../access/visibility.js';
import type { AccessSettings } from '../access/access.js';
import type { ChatSurface } from '../chat/surface.js';
import type { ChatUser } from '../message.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { homeView } from './home-view.js';
import type { AppPicture, StaleSurvey } from './survey.js';

/** How many people's Homes this replica keeps current; the least recently opened are let go first. */
const MAX_VIEWERS = 200;

/**
 * Publishes people's Homes: when they open it, and again for everyone who opened it here when an
 * operation ends, so it stays current. One survey serves everyone; each person sees only the apps
 * whose channel they are in (src/access/visibility.ts), each channel's members asked once per refresh.
 */
export class HomeTab {
  private readonly viewers = new Map<string, ChatUser>();

  constructor(private readonly deps: { survey: StaleSurvey; chat: ChatSurface; clock: Clock; log: Logger; access: AccessSettings }) {}

  async show(user: ChatUser): Promise<void> {
    this.viewers.delete(user.id);
    this.viewers.set(user.id, user);
    for (const id of [...this.viewers.keys()].slice(0, Math.max(0, this.viewers.size - MAX_VIEWERS))) this.viewers.delete(id);
    await this.deps.chat.publishHome(user, await this.viewOf(user, await this.deps.survey.survey(), new ChannelMembers(this.deps)));
  }

  /** The Home of one person: the pictures of the apps whose channel they are in. A Home is in no channel. */
  private async viewOf(user: ChatUser, pictures: AppPicture[], members: ChannelMembers) {
    const seen = new Set(await members.appsSeenBy({ user, channel: '' }, Object.fromEntries(pictures.map((picture) => [picture.app, picture.config]))));
    const theirs = pictures.filter((picture) => seen.has(picture.app));
    return homeView(theirs, this.deps.clock.now(), (ref, label) => this.deps.chat.linkTo(ref, label), theirs.length < pictures.length);
  }

  async refresh(): Promise<void> {
    if (this.viewers.size === 0) return;
    const pictures = await this.deps.survey.survey();
    const members = new ChannelMembers(this.deps);
    for (const user of this.viewers.values()) {
      await this.viewOf(user, pictures, members)
        .then((view) => this.deps.chat.publishHome(user, view))
        .catch((error: unknown) => this.deps.log.warn({ err: error, user: user.id }, 'could not refresh a Home'));
    }
  }
}
