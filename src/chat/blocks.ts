/*
 * Renders a neutral ChatMessage as a Slack message, in top-level Block Kit only: the headline once,
 * as the first section (top-level `text` is the notification fallback Slack shows where blocks
 * cannot be), the lines in sections, the small print and the tone in one context block, then the
 * buttons. No legacy attachment: a tone shows as a coloured emoji and a word, the colour Block Kit
 * allows. Everything is kept within Slack's size limits, since an over-long field makes Slack
 * reject the whole message.
 */
import type { Button, ChatMessage, HomeView, Tone } from '../message.js';

/** Slack's limits (https://docs.slack.dev/reference/block-kit). */
export const limits = {
  sectionText: 3000,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  actionsElements: 25,
  /** Slack truncates notification text anyway; a sane bound keeps payloads small. */
  fallbackText: 3000,
  headerText: 150,
  /** Blocks in one message. */
  messageBlocks: 50,
  /** Elements in one context block. */
  contextElements: 10,
  /** Blocks in a Home tab view (views.publish). */
  viewBlocks: 100,
  /** Sections a message's lines may fill (Slack allows 50 blocks; a longer message is not read anyway). */
  lineSections: 10,
} as const;

/** A tone at a glance, where a legacy attachment had its colour bar. */
export const toneMarks: Record<Tone, string | undefined> = {
  info: undefined,
  running: '🔵 Running',
  succeeded: '🟢 Succeeded',
  failed: '🔴 Failed',
  cancelled: '⚪ Cancelled',
};

// Block Kit shapes, only as much as we emit (the SDK's own types are a union too wide to build by hand).
export interface TextObject {
  type: 'mrkdwn' | 'plain_text';
  text: string;
  emoji?: boolean;
}
export type Block =
  | { type: 'section'; text: TextObject }
  | { type: 'actions'; elements: ButtonElement[] }
  | { type: 'context'; elements: TextObject[] }
  | { type: 'header'; text: TextObject }
  | { type: 'divider' };
export interface ButtonElement {
  type: 'button';
  action_id: string;
  text: TextObject;
  value: string;
  style?: 'primary' | 'danger';
  confirm?: { title: TextObject; text: TextObject; confirm: TextObject; deny: TextObject; style?: 'primary' | 'danger' };
}
export interface SlackMessage {
  /** The notification fallback: Slack shows the blocks, and this only where blocks cannot be shown. */
  text: string;
  blocks: Block[];
}

export function renderMessage(message: ChatMessage): SlackMessage {
  const headline = truncateMrkdwn(escapeStrayAngles(message.text.trim()) || ' ', limits.sectionText);
  const blocks: Block[] = [{ type: 'section', text: { type: 'mrkdwn', text: headline } }];
  const lines = (message.lines ?? []).filter((line) => line.length > 0);
  for (const section of lineSections(lines.map(escapeStrayAngles))) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: section } });
  const context = [message.tone === undefined ? undefined : toneMarks[message.tone], ...(message.context ?? [])].filter((item): item is string => item !== undefined && item.trim() !== '');
  if (context.length > 0) blocks.push({ type: 'context', elements: contextElements(context) });
  const buttons = (message.buttons ?? []).slice(0, limits.actionsElements).map(renderButton);
  if (buttons.length > 0) blocks.push({ type: 'actions', elements: buttons });
  return { text: truncateMrkdwn(escapeStrayAngles(message.text.trim()) || ' ', limits.fallbackText), blocks };
}

/** At most Slack's 10 elements: the items past the ninth share the last one. */
function contextElements(items: string[]): TextObject[] {
  const kept = items.length <= limits.contextElements ? items : [...items.slice(0, limits.contextElements - 1), items.slice(limits.contextElements - 1).join(' · ')];
  return kept.map((item) => ({ type: 'mrkdwn', text: truncateMrkdwn(escapeStrayAngles(item), limits.sectionText) }));
}

/**
 * A Home tab view: the title as a header, each section's blocks after a divider, and no more than Slack's 100 blocks: the sections that do
 * not fit are counted in a last line.
 */
export function renderHome(view: HomeView): { type: 'home'; blocks: Block[] } {
  const blocks: Block[] = [{ type: 'header', text: { type: 'plain_text', text: truncatePlain(view.title, limits.headerText), emoji: true } }];
  const room = limits.viewBlocks - 1;
  for (const [index, section] of view.sections.entries()) {
    const own = [{ type: 'divider' } as const, ...renderMessage(section).blocks];
    const left = view.sections.length - index - 1;
    if (blocks.length + own.length > room - (left > 0 ? 1 : 0)) {
      blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${view.sections.length - index} more: \`/bakery stale\` lists them all.` }] });
      break;
    }
    blocks.push(...own);
  }
  return { type: 'home', blocks };
}

function renderButton(button: Button): ButtonElement {
  return {
    type: 'button',
    action_id: button.actionId.slice(0, limits.actionId),
    // plain_text: labels are shown verbatim, never parsed as mrkdwn.
    text: { type: 'plain_text', text: truncatePlain(button.label || '…', limits.buttonText), emoji: true },
    // A truncated value would be parsed wrongly by its command; the command must keep values short.
    value: button.value.slice(0, limits.buttonValue),
    ...(button.style ? { style: button.style } : {}),
    ...(button.confirm
      ? {
          confirm: {
            title: { type: 'plain_text', text: truncatePlain(button.confirm.title, 100) },
            text: { type: 'plain_text', text: truncatePlain(button.confirm.text, 300) },
            confirm: { type: 'plain_text', text: truncatePlain(button.confirm.confirm, 30) },
            deny: { type: 'plain_text', text: truncatePlain(button.confirm.deny, 30) },
            ...(button.style ? { style: button.style } : {}),
          },
        }
      : {}),
  };
}

/** A `<…>` Slack reads as a link, mention or special (@here). */
export const slackLinkPattern = /<((?:https?:\/\/|mailto:|[@#!])[^<>\s][^<>]*)>/;

/**
 * Usage texts say `/bake <app> <version>`: Slack would read `<app>` as a link and show garbage.
 * Angle brackets that are not a link, mention or special are escaped as Slack asks (&lt; &gt;).
 */
export function escapeStrayAngles(text: string): string {
  return text.replace(new RegExp(`${slackLinkPattern.source}|[<>]`, 'g'), (match, link: string | undefined) =>
    link !== undefined ? match : match === '<' ? '&lt;' : '&gt;',
  );
}

const ellipsis = '…';

/** Cuts to at most `max` UTF-16 units without splitting a surrogate pair. */
export function truncatePlain(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = max - ellipsis.length;
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1; // a high surrogate whose low half would be cut off
  return text.slice(0, cut) + ellipsis;
}

/**
 * Truncates mrkdwn so that what is left still renders: no half link/mention (`<https://…|la`),
 * no unclosed code block (which would swallow the rest of the message into monospace).
 */
/**
 * A message's lines in as many sections as they need, each within Slack's limit and broken between
 * lines (a code block left open is closed and opened again), up to `limits.lineSections`; what does
 * not fit is cut as one over-long section would be.
 */
function lineSections(lines: string[]): string[] {
  const fence = '```';
  const sections: string[] = [];
  let current = '';
  for (const line of lines) {
    const joined = current === '' ? line : `${current}\n${line}`;
    if (joined.length <= limits.sectionText || current === '' || sections.length === limits.lineSections - 1) {
      current = joined;
      continue;
    }
    const open = (current.split(fence).length - 1) % 2 === 1;
    sections.push(open ? `${current}\n${fence}` : current);
    current = open ? `${fence}\n${line}` : line;
  }
  if (current !== '') sections.push(current);
  return sections.map((section) => truncateMrkdwn(section, limits.sectionText));
}

export function truncateMrkdwn(text: string, max: number): string {
  if (text.length <= max) return text;
  const fence = '\n```';
  let cut = truncatePlain(text, max - fence.length).slice(0, -ellipsis.length);
  const open = cut.lastIndexOf('<');
  if (open > cut.lastIndexOf('>')) cut = cut.slice(0, open);
  const fences = cut.split('```').length - 1;
  return cut + ellipsis + (fences % 2 === 1 ? fence : '');
}
