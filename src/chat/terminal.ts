/*
 * The local terminal chat, as Hubot's shell: the same ChatSurface as Slack, printed as text.
 * Messages get short ids (#3), replies show under their root (#3 ↳), and buttons are numbered across
 * the session: typing `1` presses [1]. An updated message shows in full, as chat.update replaces it
 * in Slack: redrawn in place while it is on screen (a TTY), printed again (#3 updated: …) otherwise.
 * A picture (a canary's chart) is saved in the data folder; its text fallback and its path are printed.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { slackLinkPattern } from './blocks.js';
import { saveChartFile } from './saved-file.js';
import type { ChatHandlers, ChatSurface } from './surface.js';
import type { Button, ChatMessage, ChatUser, MessageRef, Tone } from '../message.js';

export interface TerminalOptions {
  handlers: ChatHandlers;
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  user: ChatUser;
  /** The workspace the terminal stands for, e.g. 'local'. */
  team: string;
  /** The channel commands are typed in, e.g. 'local'; its only member is the user. */
  channel: string;
  banner: string[];
  /** Where pictures (a canary's chart) are saved, as the terminal cannot show them. */
  dataDir: string;
  /**
   * Prefixes this run's request ids. Random by default: the store keeps request marks across runs
   * (dynalite has no TTL), so ids counted from 1 again would make a restart's first command look
   * like a retry of the last run's.
   */
  session?: string;
}

interface ShownButton {
  button: Button;
  channel: string;
  messageId: number;
  /** False once its message was updated without it: pressing a stale button would act on old state. */
  live: boolean;
}

const icons: Record<Tone, string> = { info: 'ℹ', running: '⏳', succeeded: '✓', failed: '✗', cancelled: '⊘' };
const hint = 'Type a slash command (/bake help, /bakery help), a button number (1 or press 1), or quit.';

export function startTerminal(options: TerminalOptions): { surface: ChatSurface; done: Promise<void> } {
  const { handlers, input, output, user, team, channel } = options;
  const tty = Boolean((output as { isTTY?: boolean }).isTTY);
  const rl = createInterface({ input, ...(tty ? { output, terminal: true } : { terminal: false }) });
  rl.setPrompt('> ');

  /**
   * By ts. A message shown in chat keeps how it was last printed (`head`, `indent`, `body`) to be
   * redrawn or told from a repeat, and `again`, the head it is printed again with once updated.
   */
  const messages = new Map<string, { id: number; buttons: number[]; ephemeral?: boolean; shown?: { head: string; again: string; indent: string; body: string } }>();
  const buttons = new Map<number, ShownButton>();
  let lastMessageId = 0;
  let lastButtonId = 0;
  let lastRequestId = 0;
  const requestPrefix = `terminal-${options.session ?? randomUUID()}`;
  const nextRequestId = (): string => `${requestPrefix}-${++lastRequestId}`;
  // What a handler showed while it ran (a post, a reply, an update), to tell "answered" from "silently dropped".
  const showing = new AsyncLocalStorage<{ shown: boolean }>();
  const markShown = (): void => {
    const request = showing.getStore();
    if (request) request.shown = true;
  };
  let closed = false;
  // A prefix unique to this session, so a ts never collides with one from an earlier run.
  const session = Math.floor(Date.now() / 1000);

  /** What was printed last, oldest first, as long as it fits on a TTY's screen: a message among it can be redrawn. */
  const screen: { text: string; ts?: string }[] = [];
  const screenRows = (): number => (output as { rows?: number }).rows ?? 24;
  const rowsOf = (text: string): number => rowsOnScreen(text, (output as { columns?: number }).columns ?? 80);

  /** Prints a block of lines; `ts` names the message it shows, so that an update can redraw it. */
  function print(text: string, ts?: string): void {
    if (tty && !closed) output.write('\r\x1b[K'); // clear the prompt line, then redraw it below
    output.write(`${text}\n`);
    if (tty && !closed) rl.prompt(true);
    onScreen(text, ts);
  }

  /** Remembers a block the TTY shows, to know where each message is from the bottom. */
  function onScreen(text: string, ts?: string): void {
    if (!tty) return;
    screen.push({ text, ...(ts !== undefined ? { ts } : {}) });
    fitScreen();
  }

  /** Forgets what scrolled away: the blocks and the prompt's row must fit. */
  function fitScreen(): void {
    let rows = screen.reduce((sum, block) => sum + rowsOf(block.text), 0);
    while (screen.length > 0 && rows >= screenRows()) rows -= rowsOf(screen.shift()!.text);
  }

  /**
   * Rewrites the message in place and prints again what came after it, when it is still on screen
   * (`screen` forgets what scrolled away: the cursor cannot reach those rows).
   */
  function redraw(ts: string, text: string): boolean {
    if (!tty || closed) return false;
    const at = screen.findLastIndex((block) => block.ts === ts);
    if (at < 0) return false;
    const tail = screen.slice(at + 1);
    const up = screen.slice(at).reduce((sum, block) => sum + rowsOf(block.text), 0);
    screen[at] = { text, ts };
    output.write(`\r\x1b[K\x1b[${up}A\x1b[J${[text, ...tail.map((block) => block.text)].join('\n')}\n`);
    rl.prompt(true);
    fitScreen();
    return true;
  }

  // The person at the terminal has one name here, however a message mentions them (<@U0LOCAL>).
  const fmt = (text: string): string => mrkdwnToText(text, tty, { [user.id]: user.name });

  /** The message as indented text lines; its buttons get the next numbers. */
  function render(head: string, indent: string, message: ChatMessage, messageId: number | undefined, where: string): string {
    return head + body(indent, message, messageId, where);
  }

  /** The message as text lines after its head, the first one included. */
  function body(indent: string, message: ChatMessage, messageId: number | undefined, where: string): string {
    const icon = message.tone ? `${icons[message.tone]} ` : '';
    const [first = '', ...rest] = fmt(message.text).split('\n');
    const out = [`${icon}${first}`, ...rest.map((l) => indent + l)];
    for (const line of message.lines ?? []) out.push(...fmt(line).split('\n').map((l) => indent + l));
    if (message.context?.length) out.push(indent + fmt(message.context.join(' · ')));
    const labels = buttonLabels(message, messageId, where);
    if (labels) out.push(`${indent}${labels}`);
    return out.join('\n');
  }

  /** Numbers the message's buttons; a button the message already showed keeps its number. */
  function buttonLabels(message: ChatMessage, messageId: number | undefined, where: string): string {
    if (messageId === undefined || !message.buttons?.length) return '';
    const shown = messages.get(idToTs(messageId));
    return message.buttons
      .map((button) => {
        const kept = [...buttons].find(([, b]) => b.messageId === messageId && !b.live && b.button.actionId === button.actionId && b.button.value === button.value);
        const id = kept?.[0] ?? ++lastButtonId;
        buttons.set(id, { button, channel: where, messageId, live: true });
        shown?.buttons.push(id);
        return `[${id}] ${sanitize(button.label)}`;
      })
      .join('  ');
  }

  /** Prints a message new in chat, remembering how, so that its updates can redraw it. */
  function show(ref: MessageRef, how: { head: string; again: string; indent: string }, message: ChatMessage): void {
    const shown = messages.get(ref.ts);
    const text = body(how.indent, message, shown?.id, ref.channel);
    if (shown) shown.shown = { ...how, body: text };
    print(how.head + text, ref.ts);
  }

  const tsById = new Map<number, string>();
  const idToTs = (id: number): string => tsById.get(id) ?? '';
  const label = (ts: string): string => (messages.has(ts) ? `#${messages.get(ts)?.id}` : `#${ts}`);
  const inChannel = (where: string): string => (where === channel ? '' : `[${where}] `);

  function newMessage(where: string, ts = `${session}.${String(lastMessageId + 1).padStart(6, '0')}`): MessageRef {
    const id = ++lastMessageId;
    messages.set(ts, { id, buttons: [] });
    tsById.set(id, ts);
    return { channel: where, ts };
  }

  const surface: ChatSurface = {
    async post(where, message) {
      markShown();
      const ref = newMessage(where);
      show(ref, { head: `${label(ref.ts)} ${inChannel(where)}`, again: `${label(ref.ts)} updated: `, indent: '    ' }, message);
      return ref;
    },
    async reply(thread, message) {
      markShown();
      if (!messages.has(thread.ts)) newMessage(thread.channel, thread.ts);
      const ref = newMessage(thread.channel);
      show(ref, { head: `  ${label(thread.ts)} ↳ `, again: `  ${label(thread.ts)} ↳ updated: `, indent: '        ' }, message);
      return ref;
    },
    async update(ref, message) {
      markShown();
      // A message posted before a restart (a resumed bake's root) gets a short id now, and its buttons work again.
      if (!messages.has(ref.ts)) newMessage(ref.channel, ref.ts);
      const shown = messages.get(ref.ts)!;
      // The old state's buttons go away with it.
      for (const id of shown.buttons) {
        const button = buttons.get(id);
        if (button) button.live = false;
      }
      shown.buttons = [];
      const { again, indent } = shown.shown ?? { again: `${label(ref.ts)} updated: `, indent: '    ' };
      const now = body(indent, message, shown.id, ref.channel);
      // The same content again (a repeated progress note) shows nothing new.
      if (shown.shown && now === shown.shown.body) return;
      if (shown.shown && redraw(ref.ts, shown.shown.head + now)) {
        shown.shown.body = now;
        return;
      }
      // Scrolled away, or not a TTY: the message again, in full, as it is now.
      shown.shown = { head: again, again, indent, body: now };
      print(again + now, ref.ts);
    },
    async upload(thread, file) {
      const path = await saveChartFile(options.dataDir, file.filename, file.png);
      if (!messages.has(thread.ts)) newMessage(thread.channel, thread.ts);
      // The fallback (sparklines) is shown as it is, not read as mrkdwn.
      const lines = [...file.fallback, `Chart saved: ${path}`].map((line) => `        ${sanitize(line)}`);
      print([render(`  ${label(thread.ts)} ↳ `, '        ', { text: `*${file.title}*` }, undefined, thread.channel), ...lines].join('\n'));
    },
    linkTo: (ref, label) => `${label} ${messages.has(ref.ts) ? `#${messages.get(ref.ts)?.id}` : `in ${ref.channel}`}`,
    async publishHome(_user, view) {
      markShown();
      // The Home is printed as one message per section; their buttons press like any other (from no channel, as Slack's Home).
      print(`── ${sanitize(view.title)} ──`);
      for (const section of view.sections) {
        const ref = newMessage('');
        print(render('  ', '    ', section, messages.get(ref.ts)?.id, ''));
      }
    },
    // One person at a terminal: the only member of its channel, and of no user group.
    async members(of) {
      return 'channel' in of ? [user.id] : [];
    },
    // The terminal is every channel at once, and Bakery is in it: its one channel stands for every name.
    async presenceIn(channels) {
      return Object.fromEntries(channels.map((name) => [name, { is: 'member' as const, ...(name.startsWith('#') ? { id: channel } : {}) }]));
    },
  };

  /** Only the person who asked sees it; its buttons (a confirm, an approval request again) work like any other. */
  function ephemeral(message: ChatMessage): void {
    const shown = message.buttons?.length ? messages.get(newMessage(channel).ts) : undefined;
    if (shown) shown.ephemeral = true;
    print(render('(only you) ', '           ', message, shown?.id, channel));
  }

  /** Runs a handler; one that neither answers nor shows anything is said so, never left silent. */
  async function answer(what: string, run: () => Promise<ChatMessage | undefined>): Promise<void> {
    try {
      const request = { shown: false };
      const reply = await showing.run(request, run);
      if (reply) ephemeral(reply);
      else if (!request.shown) ephemeral({ text: `Nothing was done for ${what}: Bakery took it for a repeat of a request it had already handled.`, tone: 'info' });
    } catch (error) {
      // Locally the user is the operator: the reason is more useful than a bare apology.
      ephemeral({ text: `Something went wrong: ${error instanceof Error ? error.message : String(error)}`, tone: 'failed' });
    }
  }

  /** A button with a confirm dialog waits for `y`, as Slack's dialog waits for its confirm button. */
  let confirming: number | undefined;

  function press(id: number, confirmed = false): Promise<void> | void {
    const shown = buttons.get(id);
    if (!shown) return ephemeral({ text: `There is no button [${id}].` });
    if (!shown.live) return ephemeral({ text: `Button [${id}] is no longer available: message #${shown.messageId} has changed since.` });
    const { button } = shown;
    if (button.confirm && !confirmed) {
      confirming = id;
      return ephemeral({ text: `*${button.confirm.title}* ${button.confirm.text}`, lines: [`Type y to ${button.confirm.confirm.toLowerCase()}; anything else answers “${button.confirm.deny}”.`] });
    }
    return answer(`[${id}] ${sanitize(button.label)}`, () =>
      handlers.onButton({
        actionId: button.actionId,
        value: button.value,
        user,
        team,
        channel: shown.channel,
        message: { channel: shown.channel, ts: idToTs(shown.messageId), ephemeral: messages.get(idToTs(shown.messageId))?.ephemeral === true },
        requestId: nextRequestId(),
      }),
    );
  }

  function handle(raw: string): Promise<void> | void {
    const line = raw.trim();
    const pending = confirming;
    confirming = undefined;
    if (pending !== undefined && /^y(es)?$/i.test(line)) return press(pending, true);
    if (line === '') return;
    if (line === 'quit' || line === 'exit') return void rl.close();
    const slash = /^(\/\S+)\s*(.*)$/s.exec(line);
    if (slash) {
      const [, command = '', text = ''] = slash;
      return answer(sanitize(`${command} ${text.trim()}`.trim()), () => handlers.onCommand({ command, text: text.trim(), user, team, channel, requestId: nextRequestId() }));
    }
    const number = /^(?:press\s+)?(\d+)$/i.exec(line);
    if (number) return press(Number(number[1]));
    if (line !== 'help') print(`Unknown input: ${sanitize(line)}`);
    print(hint);
  }

  const done = new Promise<void>((resolve) => {
    rl.on('close', () => {
      closed = true;
      resolve();
    });
  });
  rl.on('line', (line) => {
    // Readline left the typed line on screen, above what it prints.
    onScreen(`> ${line}`);
    // Lines are handled concurrently, like Slack requests: a slow handler does not block typing.
    void handle(line);
    if (tty && !closed) rl.prompt();
  });

  for (const line of options.banner) print(fmt(line));
  if (tty) rl.prompt();
  return { surface, done };
}

/** Control characters (escape sequences in a build log, say) must not drive the user's terminal. */
function sanitize(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '');
}

/** How many rows the lines take on a terminal `columns` wide: long ones wrap, an emoji (⏳) is two columns. */
function rowsOnScreen(text: string, columns: number): number {
  return text.split('\n').reduce((rows, line) => rows + Math.max(1, Math.ceil(widthOf(line) / Math.max(1, columns))), 0);
}

function widthOf(line: string): number {
  // eslint-disable-next-line no-control-regex
  const visible = line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
  let width = 0;
  for (const char of visible) width += /[\p{M}\u200d\ufe0e\ufe0f]/u.test(char) ? 0 : /[\p{Emoji_Presentation}\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\uff00-\uff60]/u.test(char) ? 2 : 1;
  return width;
}

/** Slack mrkdwn → readable text: links as `label (url)`, mentions as @name (@id for people not in `names`), *bold* in ANSI bold on a TTY. */
export function mrkdwnToText(text: string, tty: boolean, names: Record<string, string> = {}): string {
  return sanitize(text)
    .replace(new RegExp(slackLinkPattern.source, 'g'), (_, inner: string) => {
      const bar = inner.indexOf('|');
      const known = inner.startsWith('@') ? names[inner.slice(1)] : undefined;
      if (known !== undefined && bar < 0) return `@${known}`;
      return bar < 0 ? link(inner, undefined) : link(inner.slice(0, bar), inner.slice(bar + 1));
    })
    .replace(/\*([^*\n]+)\*/g, (_, bold: string) => (tty ? `\x1b[1m${bold}\x1b[22m` : bold))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function link(target: string, name: string | undefined): string {
  if (target.startsWith('@') || target.startsWith('#')) return name ? `${target[0]}${name}` : target;
  if (target.startsWith('!')) return `@${name ?? target.slice(1)}`;
  return name && name !== target ? `${name} (${target})` : target;
}
