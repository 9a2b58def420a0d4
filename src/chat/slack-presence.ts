/*
 * Whether the bot is in the channels apps are configured for. An id is asked with conversations.info
 * (its is_member); names are matched in one paged conversations.list, public and private channels,
 * which lists a private channel only to its members, so a private channel Bakery is not in is 'unseen'.
 */
import type { webApi } from '@slack/bolt';
import { z } from 'zod';
import { slackErrorCode } from './slack-error.js';
import type { ChannelPresence } from './surface.js';

type WebClient = InstanceType<typeof webApi.WebClient>;

const channelInfo = z.object({ id: z.string(), name: z.string().optional(), is_member: z.boolean().optional() });
const listPage = z.object({ channels: z.array(channelInfo).default([]), response_metadata: z.object({ next_cursor: z.string().optional() }).optional() });

// The ids are asked all at once: the Web API client queues the calls and waits out a rate limit itself.
export async function presenceIn(client: WebClient, channels: string[]): Promise<Record<string, ChannelPresence>> {
  const names = channels.filter((channel) => channel.startsWith('#'));
  const ids = channels.filter((channel) => !channel.startsWith('#'));
  const [byId, byName] = await Promise.all([
    Promise.all(ids.map(async (id) => [id, await presenceById(client, id)] as const)),
    names.length > 0 ? presenceByName(client, names) : {},
  ]);
  return { ...Object.fromEntries(byId), ...byName };
}

async function presenceById(client: WebClient, id: string): Promise<ChannelPresence> {
  try {
    const info = channelInfo.safeParse((await client.conversations.info({ channel: id })).channel);
    return info.success ? { is: info.data.is_member ? 'member' : 'outside' } : { is: 'unknown', why: 'conversations.info answered without a channel' };
  } catch (error) {
    const code = slackErrorCode(error);
    return code === 'channel_not_found' ? { is: 'unseen' } : { is: 'unknown', why: code };
  }
}

async function presenceByName(client: WebClient, names: string[]): Promise<Record<string, ChannelPresence>> {
  const wanted = new Map(names.map((name) => [name.slice(1).toLowerCase(), name]));
  const answer: Record<string, ChannelPresence> = Object.fromEntries(names.map((name) => [name, { is: 'unseen' as const }]));
  let cursor: string | undefined;
  try {
    do {
      const page = listPage.parse(
        await client.conversations.list({ types: 'public_channel,private_channel', exclude_archived: true, limit: 1000, ...(cursor ? { cursor } : {}) }),
      );
      for (const channel of page.channels) {
        const name = channel.name !== undefined ? wanted.get(channel.name.toLowerCase()) : undefined;
        if (name) answer[name] = { is: channel.is_member ? 'member' : 'outside', id: channel.id };
      }
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor);
  } catch (error) {
    const why = error instanceof z.ZodError ? 'conversations.list answered in an unexpected shape' : slackErrorCode(error);
    return Object.fromEntries(names.map((name) => [name, { is: 'unknown' as const, why }]));
  }
  return answer;
}
