import type { Principal } from '../config/access.js';
import type { AppConfig } from '../config/apps.js';
import type { ChatSurface } from '../chat/surface.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { mention, type ChatMessage, type ChatUser, type MessageRef } from '../message.js';
import type { Store } from '../store/store.js';
import type { ChannelIds } from './channel-presence.js';
import { approversOf, fleetOf } from '../config/environments.js';

/*
 * One authorization model for every command and button (see README.md here): the workspace, then
 * where (the app's channel; for a button, the message of the operation it names), then who.
 * Every refusal is ephemeral, says why, and is audited.
 */

/** What deciding needs of Bakery: the settings, the people in channels and groups, the audit trail, and the apps. */
export interface AccessContext {
  access: AccessSettings;
  chat: Pick<ChatSurface, 'members'>;
  store: Pick<Store, 'appendAudit' | 'listAppConfigs'>;
  clock: Clock;
  log: Logger;
}

/**
 * `pin` and `prune` (pin, unpin, and a real prune) are the approvers'; `advance` (the button that takes
 * a soaked release to the next environment) is that environment's approvers'.
 */
export type Action = 'bake' | 'cancel' | 'canary' | 'advance' | 'promote' | 'rollback' | 'pin' | 'prune';

export interface AccessSettings {
  /** The installing workspace's team id: a request from any other is refused. */
  workspace: string;
  /** 'app': an app's commands only in its channel. 'any': the local terminal, one person in one channel. */
  channels: 'app' | 'any';
  /** Each app channel configured by `#name`, resolved to its id at start: requests are matched by id only. */
  channelIds?: ChannelIds;
}

/** Who asks, and from where: a slash command, or a button press with the message it is on. */
export interface Asker {
  user: ChatUser;
  team: string;
  channel: string;
  channelName?: string;
  message?: MessageRef & { ephemeral: boolean };
}

export interface Request {
  app: string;
  config: AppConfig;
  action: Action;
  /**
   * Who started what is acted on: they may cancel their bake, stop their canary, or return their live
   * release to the one it replaced (the caller names them only then); four eyes keeps them from approving it.
   */
  startedBy?: string;
  operationId?: string;
  /** The environment a deploy action is of, for a refusal to name. */
  environment?: string;
  /** For a button: the messages of the operation it may be on, and whether an ephemeral copy (shown only to its reader) counts. */
  messages?: { on: MessageRef[]; ephemeralCopies: boolean };
}

function principalMention(principal: Principal, config: AppConfig): string {
  return principal === 'channel' ? `members of ${channelMention(config.channel)}` : mention(principal);
}

export function channelMention(channel: string): string {
  return channel.startsWith('#') ? channel : `<#${channel}>`;
}

/** Why the request is refused, or undefined when it may go ahead. */
export async function refusalOf(core: AccessContext, asker: Asker, request: Request): Promise<string | undefined> {
  if (asker.team !== core.access.workspace) return 'Bakery takes requests only from the workspace it is installed in';
  const where = whereRefusal(core, asker, request);
  if (where) return where;
  try {
    return await whoRefusal(core, asker, request);
  } catch (error) {
    if (error instanceof UnknownMembership) return error.message;
    throw error;
  }
}

/** Refuses (audited, ephemeral, saying why) or returns undefined: what commands and buttons call. */
export async function authorize(core: AccessContext, asker: Asker, request: Request): Promise<ChatMessage | undefined> {
  const reason = await refusalOf(core, asker, request);
  return reason === undefined ? undefined : refuse(core, asker, request, reason);
}

/** Audits a refusal and says why, to the asker only. */
export async function refuse(core: AccessContext, asker: Asker, request: Pick<Request, 'app' | 'action' | 'operationId'>, reason: string): Promise<ChatMessage> {
  await core.store.appendAudit({ app: request.app, at: core.clock.now(), actor: asker.user.id, action: `${request.action} refused`, operationId: request.operationId, detail: reason });
  return { text: `Not done: ${reason}.`, tone: 'failed' };
}

/**
 * Whether the asker approves some app (deploy.approvers: people or user groups), as an action that
 * reaches every app's resources (a real sweep) requires. People are matched before any group is asked.
 */
export async function approvesSomeApp(core: AccessContext, asker: Asker, configs: AppConfig[]): Promise<boolean> {
  const approvers = configs.map((config) => ({ config, principals: approversOf(config).filter((p) => p !== 'channel') }));
  if (approvers.some(({ principals }) => principals.includes(asker.user.id))) return true;
  for (const { config, principals } of approvers) {
    try {
      if (await isAmong(core, asker, principals, config.channel)) return true;
    } catch (error) {
      if (!(error instanceof UnknownMembership)) throw error;
    }
  }
  return false;
}

/**
 * A request from another workspace, refused before anything else is read (even which apps exist).
 * Logged for the operator; audited under the app when `app` is one.
 */
export async function foreignRefusal(core: AccessContext, asker: Asker, app: string | undefined, action: string): Promise<ChatMessage | undefined> {
  if (asker.team === core.access.workspace) return undefined;
  core.log.warn({ user: asker.user.id, team: asker.team, action }, 'refused a request from another workspace');
  const configs = await core.store.listAppConfigs();
  const reason = 'Bakery takes requests only from the workspace it is installed in';
  if (app && configs[app]) {
    await core.store.appendAudit({ app, at: core.clock.now(), actor: asker.user.id, action: `${action} refused`, detail: `${reason} (team ${asker.team})` });
  }
  return { text: `Not done: ${reason}.`, tone: 'failed' };
}

/**
 * A press in the App Home (channel ''), which is in no channel: the channel rule cannot apply, so
 * only who may act counts, and "members of the app's channel" is asked of the chat (see isAmong).
 */
function fromHome(asker: Asker): boolean {
  return asker.channel === '';
}

function whereRefusal(core: AccessContext, asker: Asker, request: Request): string | undefined {
  const { config, app } = request;
  if (core.access.channels === 'app' && !fromHome(asker) && !inChannel(config.channel, asker, core.access.channelIds)) {
    const id = channelId(config.channel, core.access.channelIds);
    if (!id) return `${app} takes requests only in ${channelMention(config.channel)}, and no channel had that name when Bakery started; check the apps file and restart Bakery`;
    if (asker.channelName && `#${asker.channelName}` === config.channel) return `${app} takes requests only in ${config.channel} (${id}), and this is another channel of that name (${asker.channel})`;
    return `${app} takes requests only in ${channelMention(config.channel)}, and this was posted in ${asker.channelName ? `#${asker.channelName}` : `<#${asker.channel}>`}`;
  }
  if (request.messages) {
    const on = asker.message;
    const fits = on !== undefined && (request.messages.on.some((ref) => ref.channel === on.channel && ref.ts === on.ts) || (request.messages.ephemeralCopies && on.ephemeral));
    if (!fits) return 'that button is not on the message of the operation it names';
  }
  return undefined;
}

/**
 * A config names a channel by id (C0123) or by #name, resolved to an id at start. Only the id is
 * compared: a name can pass to another channel (a rename, a new channel given the old name).
 */
export function inChannel(configured: string, asker: Pick<Asker, 'channel'>, ids: ChannelIds | undefined): boolean {
  const id = channelId(configured, ids);
  return id !== undefined && asker.channel === id;
}

/** The id an app's configured channel stands for: itself, or what its #name resolved to at start. */
export function channelId(configured: string, ids: ChannelIds | undefined): string | undefined {
  return configured.startsWith('#') ? ids?.[configured] : configured;
}

async function whoRefusal(core: AccessContext, asker: Asker, request: Request): Promise<string | undefined> {
  const { config, app, action, startedBy } = request;
  const user = asker.user.id;
  if (action === 'promote') {
    // A promotion is of one environment's canary: its config is narrowed to that fleet (environments.ts configIn).
    const deploy = fleetOf(config);
    if (!deploy) return `${app} has no deploy config`;
    if (!(await isAmong(core, asker, deploy.approvers, config.channel))) return `only the approvers of ${app} may promote it (${deploy.approvers.map(mention).join(', ')})`;
    if (fourEyes(core.access, deploy) && user === startedBy) {
      const others = deploy.approvers.filter((id) => id !== user).map(mention);
      return `you started this canary, so someone else must approve it (four eyes); ask ${others.join(', ') || 'another approver'}`;
    }
    return undefined;
  }
  if (action === 'advance') {
    // Of the environment it goes to: the config is narrowed to that fleet, as for a promotion.
    const deploy = fleetOf(config);
    if (!deploy) return `${app} has no deploy config`;
    if (!(await isAmong(core, asker, deploy.approvers, config.channel))) return `only the approvers of ${app} in ${request.environment ?? 'that environment'} may canary it there (${deploy.approvers.map(mention).join(', ')})`;
    return undefined;
  }
  if ((action === 'cancel' || action === 'rollback') && user === startedBy) return undefined;
  const allowed = principalsFor(config, action);
  if (allowed.length === 0) return action === 'pin' || action === 'prune' ? `${app} has no approvers (deploy.approvers)` : `${app} has no deploy config`;
  if (await isAmong(core, asker, allowed, config.channel)) return undefined;
  const who = allowed.map((principal) => principalMention(principal, config)).join(', ');
  if (action === 'rollback') return `only ${who} may roll back ${app}; whoever asked for a release may stop it or return it to the one it replaced`;
  return `only ${who}${action === 'cancel' ? ' and whoever started it' : ''} may ${verbs[action]} ${app}`;
}

/**
 * Four eyes: whoever asked for a canary never approves it, on any path (the button, /promote's copy,
 * a user group they are in). `fourEyes: false` counts only on the local terminal, where one person
 * plays every part; in Slack it is ignored (and `/bakery apps` says so).
 */
export function fourEyes(access: AccessSettings, deploy: { fourEyes: boolean }): boolean {
  return deploy.fourEyes || access.channels === 'app';
}

const verbs: Record<Exclude<Action, 'promote' | 'advance'>, string> = { bake: 'bake', cancel: 'cancel a bake of', canary: 'canary', rollback: 'roll back', pin: 'pin or unpin images of', prune: 'prune images of' };

function principalsFor(config: AppConfig, action: Exclude<Action, 'promote' | 'advance'>): Principal[] {
  const { access } = config;
  switch (action) {
    case 'bake':
      return access.bake;
    case 'cancel':
      return access.cancel ?? access.bake;
    case 'canary':
      return access.canary;
    case 'rollback':
      return access.rollback ?? approversOf(config);
    case 'pin':
    case 'prune':
      return approversOf(config);
  }
}

/** A membership the chat could not tell (a missing scope, a channel the bot cannot see): the press is refused, saying so. */
class UnknownMembership extends Error {}

/**
 * Whether the asker is one of `principals`. A command typed in the app's channel is proof of
 * membership (Slack lets only members post there); a button is pressed by whoever sees the message,
 * so membership is asked of the chat. User groups are asked of the chat, and only when needed.
 * A Home press is in no channel, so the app's channel (`appChannel`) is asked instead.
 */
async function isAmong(core: AccessContext, asker: Asker, principals: Principal[], appChannel: string): Promise<boolean> {
  const user = asker.user.id;
  if (principals.includes(user)) return true;
  if (principals.includes('channel')) {
    if (fromHome(asker)) {
      // conversations.members takes an id: a #name is asked by the id it had at start.
      const id = channelId(appChannel, core.access.channelIds);
      if (!id) throw new UnknownMembership(`Bakery could not check who is in ${appChannel} from the Home (no channel had that name when it started); press it in ${appChannel} instead`);
      if ((await membersOf(core, { channel: id })).includes(user)) return true;
    } else {
      if (!asker.message) return true;
      if ((await membersOf(core, { channel: asker.channel })).includes(user)) return true;
    }
  }
  for (const group of principals.filter((principal) => principal.startsWith('S'))) {
    if ((await membersOf(core, { userGroup: group })).includes(user)) return true;
  }
  return false;
}

async function membersOf(core: AccessContext, of: { channel: string } | { userGroup: string }): Promise<string[]> {
  try {
    return await core.chat.members(of);
  } catch (error) {
    const what = 'channel' in of ? `who is in <#${of.channel}>` : `who is in ${mention(of.userGroup)}`;
    core.log.warn({ ...of, reason: error instanceof Error ? error.message : String(error) }, 'could not read a membership');
    throw new UnknownMembership(`Bakery could not check ${what} (${error instanceof Error ? error.message : String(error)})`);
  }
}
