import type { AppConfig } from '../config/apps.js';
import type { Logger } from '../log.js';
import type { ChatSurface } from '../chat/surface.js';
import type { ChatMessage } from '../message.js';
import { channelId, channelMention, inChannel, type AccessSettings, type Asker } from './access.js';

/*
 * Who sees which apps (README.md here): a person sees an app only when they are in its channel, and a
 * post goes only where every reader may see it. In a Slack Connect channel people of other
 * organisations read what is posted, so nothing of an app is posted outside its own channel.
 */

/** Who looks, and from where: a slash command typed in a channel proves its author a member of it. */
export type Viewer = Pick<Asker, 'user' | 'channel' | 'channelName' | 'message'>;

export interface VisibilityDependencies {
  chat: ChatSurface;
  access: AccessSettings;
  log: Logger;
}

/** Whether the request was typed (not pressed) in `configured`, an app's channel by id or by #name. */
export function typedIn(configured: string, viewer: Viewer, access: Pick<AccessSettings, 'channelIds'>): boolean {
  return !viewer.message && viewer.channel !== '' && inChannel(configured, viewer, access.channelIds);
}

/** The answer to someone asking about an app whose channel they are not in. */
export function notSeen(app: string, config: AppConfig): ChatMessage {
  return { text: `Not shown: ${app} is shown only to the members of ${channelMention(config.channel)}.`, tone: 'failed' };
}

/**
 * Who is in each app channel, asked of the chat once per channel for as long as this lives (one
 * answer, one Home refresh): the Home of fifty people costs one `conversations.members` per channel.
 * A channel the chat cannot tell about counts as one the person is not in.
 */
export class ChannelMembers {
  private readonly asked = new Map<string, Promise<Set<string> | undefined>>();

  constructor(private readonly deps: VisibilityDependencies) {}

  /** Which of `configs` the viewer may see: the apps whose channel they are in (every app locally). */
  async appsSeenBy(viewer: Viewer, configs: Record<string, AppConfig>): Promise<string[]> {
    const names = Object.keys(configs).sort();
    if (this.deps.access.channels === 'any') return names;
    const seen: string[] = [];
    for (const name of names) if (await this.isIn(viewer, configs[name]!.channel)) seen.push(name);
    return seen;
  }

  async sees(viewer: Viewer, config: AppConfig): Promise<boolean> {
    return this.deps.access.channels === 'any' || (await this.isIn(viewer, config.channel));
  }

  private async isIn(viewer: Viewer, channel: string): Promise<boolean> {
    if (typedIn(channel, viewer, this.deps.access)) return true;
    // conversations.members takes an id: a #name is asked by the id it had at start.
    const id = channelId(channel, this.deps.access.channelIds);
    if (!id) return false;
    if (!this.asked.has(id)) this.asked.set(id, this.members(id));
    return (await this.asked.get(id))?.has(viewer.user.id) ?? false;
  }

  private async members(channel: string): Promise<Set<string> | undefined> {
    try {
      return new Set(await this.deps.chat.members({ channel }));
    } catch (error) {
      this.deps.log.warn({ channel, reason: error instanceof Error ? error.message : String(error) }, 'could not read who is in an app channel; its apps are shown to nobody there');
      return undefined;
    }
  }
}
