/*
 * The message model every part of Bakery speaks (pipelines, jobs, commands), and the few ways it writes
 * Slack mrkdwn: mentions, links, text it did not write. Each chat surface (src/chat/) renders these its
 * own way, so nothing outside src/chat/ needs to know which chat it talks to.
 */
import { redactSecrets } from './log.js';

export type Tone = 'info' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface Button {
  /** Routes the press, e.g. "bake.cancel". */
  actionId: string;
  label: string;
  /** Opaque to the surface; parsed with zod by the command that owns the action. */
  value: string;
  style?: 'primary' | 'danger';
  /** A dialog the person must confirm before the press counts (Slack's confirm object). */
  confirm?: { title: string; text: string; confirm: string; deny: string };
}

export interface ChatMessage {
  /** The headline; also the notification text. Slack mrkdwn (*bold*, `code`, <url|label>). */
  text: string;
  /** Further lines shown under the headline. */
  lines?: string[];
  /**
   * Small print under the lines: who asked, the operation's id, timings. Slack's context block;
   * a few short items, each mrkdwn.
   */
  context?: string[];
  tone?: Tone;
  buttons?: Button[];
  /** A thread reply that is also shown in the channel (failures, approval requests, rollbacks). */
  broadcast?: boolean;
  /**
   * Which announcement of an operation's outbox this is, and its attempt: Slack carries it as the
   * message's metadata, so a copy posted again after a crash can be told from the first.
   */
  origin?: { operation: string; key: string; attempt: number };
}

export interface MessageRef {
  channel: string;
  ts: string;
}

/** A picture for a thread (a canary window's chart), with what to show where pictures cannot be. */
export interface ChatFile {
  /** e.g. "canary-demo-v42.png"; a surface that stores it makes the name safe itself. */
  filename: string;
  title: string;
  /** Read aloud by screen readers (Slack's alt text). */
  altText: string;
  png: Buffer;
  /** Text lines (sparklines, say) that a surface without images shows instead. */
  fallback: string[];
}

/** A person's view of Bakery in its own place (Slack's App Home tab): a title and sections, each with its buttons. */
export interface HomeView {
  title: string;
  sections: ChatMessage[];
}

export interface ChatUser {
  id: string;
  name: string;
}

/** `<@U…>` for people, `<!subteam^S…>` for user groups: Slack's mentions. */
export function mention(id: string): string {
  return id.startsWith('S') ? `<!subteam^${id}>` : `<@${id}>`;
}

/** A link to an AMI in the EC2 console, as Slack mrkdwn: people click through from the thread. */
export function amiLink(region: string, imageId: string): string {
  return `<https://${region}.console.aws.amazon.com/ec2/home?region=${region}#ImageDetails:imageId=${imageId}|${imageId}>`;
}

/**
 * Text Bakery did not write (a builder's console), made harmless to post as Slack mrkdwn: secrets
 * redacted; & < > escaped as Slack asks, so `<!channel>` and `<https://evil|your bank>` show as
 * text; backticks replaced by a look-alike, so the text cannot close the code span or block it is
 * shown in and format what follows.
 */
export function untrustedText(text: string): string {
  return redactSecrets(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/`/g, 'ˋ');
}
