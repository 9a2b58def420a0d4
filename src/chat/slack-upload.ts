/*
 * A file into a Slack thread with Slack's external upload flow: files.getUploadURLExternal gives
 * an upload URL and a file id, the bytes are POSTed to that URL, and files.completeUploadExternal
 * shares the file in the thread. Both methods go through the Web API client (its SLACK_API_URL,
 * retries and rate-limit handling); the upload URL is used exactly as Slack returned it.
 */
import type { webApi } from '@slack/bolt';
import { z } from 'zod';
import { slackErrorCode } from './slack-error.js';
import type { ChatFile, MessageRef } from '../message.js';

type WebClient = InstanceType<typeof webApi.WebClient>;

/** Slack's limit on an image's alt text: longer is refused (alt_txt_too_large), so it is cut. */
const altTextLimit = 1000;
const uploadTimeoutMs = 60_000;

const uploadTicket = z.object({ upload_url: z.url({ protocol: /^https?$/ }), file_id: z.string().min(1) });

export async function uploadToThread(client: WebClient, thread: MessageRef, file: ChatFile): Promise<void> {
  // apiCall rather than client.files.getUploadURLExternal: the method's argument is alt_txt (as
  // Slack documents it), which the client's typed wrapper spells alt_text.
  const ticket = uploadTicket.safeParse(
    await slackStep('files.getUploadURLExternal', () =>
      client.apiCall('files.getUploadURLExternal', { filename: file.filename, length: file.png.length, alt_txt: file.altText.slice(0, altTextLimit) }),
    ),
  );
  if (!ticket.success) throw new Error('files.getUploadURLExternal answered without a usable upload_url and file_id');

  // No token: the upload URL is already authorised, and the bot token goes only to the Web API.
  let uploaded: Response;
  try {
    uploaded = await fetch(ticket.data.upload_url, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(file.png),
      redirect: 'error',
      signal: AbortSignal.timeout(uploadTimeoutMs),
    });
  } catch (error) {
    throw new Error(`the upload of ${file.filename} did not reach Slack (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!uploaded.ok) throw new Error(`Slack refused the bytes of ${file.filename} (HTTP ${uploaded.status})`);

  await slackStep('files.completeUploadExternal', () =>
    client.files.completeUploadExternal({ files: [{ id: ticket.data.file_id, title: file.title }], channel_id: thread.channel, thread_ts: thread.ts }),
  );
}

/** A Web API failure as "method: error_code". */
async function slackStep<T>(method: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new Error(`${method}: ${slackErrorCode(error)}`);
  }
}
