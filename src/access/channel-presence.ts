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

/** At start: one warning per app channel Bakery is not in, naming the apps that post there. */
export async function warnOfMissingChannels(chat: ChatSurface, configs: Record<string, { channel: string }>, log: Logger): Promise<void> {
  const presence = await presenceInAppChannels(chat, configs);
  for (const [channel, where] of Object.entries(presence)) {
    const problem = presenceProblem(channel, where);
    if (!problem) continue;
    const apps = Object.keys(configs).filter((app) => configs[app]!.channel === channel).sort();
    log.warn({ channel, apps }, `${problem} (apps ${apps.join(', ')})`);
  }
}
