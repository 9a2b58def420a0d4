import type { ChannelPresence, ChatSurface } from '../chat/surface.js';
import type { Logger } from '../log.js';

/**
 * Whether Bakery is in each app's channel: it posts progress, approval requests and rollbacks
 * there, and without chat:write.public it cannot post where it was not invited.
 */
export async function presenceInAppChannels(chat: ChatSurface, configs: Record<string, { channel: string }>): Promise<Record<string, ChannelPresence>> {
  const channels = [...new Set(Object.values(configs).map((config) => config.channel))];
  try {
    return await chat.presenceIn(channels);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return Object.fromEntries(channels.map((channel) => [channel, { is: 'unknown' as const, why }]));
  }
}

/** What to tell a person about Bakery's place in `channel`, or undefined when it is there. */
export function presenceProblem(channel: string, presence: ChannelPresence | undefined): string | undefined {
  switch (presence?.is) {
    case 'member':
      return undefined;
    case 'outside':
      return `Bakery is not in ${channel}, so it cannot post there: type \`/invite @Bakery\` in that channel`;
    case 'unseen':
      return `Bakery cannot see a channel ${channel}: check the name in the apps file, or invite Bakery if it is private`;
    case 'unknown':
      return `could not tell whether Bakery is in ${channel} (${presence.why})`;
    default:
      return `could not tell whether Bakery is in ${channel}`;
  }
}

/** Each app channel the apps file names by `#name`, and the id of the channel that had the name at start. */
export type ChannelIds = Record<string, string>;

/**
 * At start: each `#name` resolved to its channel's id, once. Requests are matched to an app by that
 * id from then on, so a renamed channel keeps its app, and a new channel given the old name gets
 * none of its rights. Warns once per app channel Bakery is not in, naming the apps that post there.
 */
export async function resolveAppChannels(chat: ChatSurface, configs: Record<string, { channel: string }>, log: Logger): Promise<ChannelIds> {
  const presence = await presenceInAppChannels(chat, configs);
  const ids: ChannelIds = {};
  for (const [channel, where] of Object.entries(presence)) {
    if (channel.startsWith('#') && 'id' in where && where.id) ids[channel] = where.id;
    const problem = presenceProblem(channel, where);
    if (!problem) continue;
    const apps = Object.keys(configs).filter((app) => configs[app]!.channel === channel).sort();
    log.warn({ channel, apps }, `${problem} (apps ${apps.join(', ')})`);
  }
  log.info({ channels: ids }, 'app channels resolved to their ids');
  return ids;
}

/** How `/bakery apps` shows an app's channel: a name with the id it stands for since the start. */
export function channelShown(channel: string, ids: ChannelIds | undefined): string {
  if (!channel.startsWith('#')) return `<#${channel}>`;
  const id = ids?.[channel];
  return id ? `${channel} (${id})` : `${channel} (no channel had this name at start, so none stands for it)`;
}
