import { z } from 'zod';
import { amiLink, mention } from '../src/message.js';
import { cancelAction } from '../src/pipelines/bake/messages.js';
import { authorize } from '../src/access/access.js';
import { chooseBase } from '../src/pipelines/bake/base.js';
import { recipeHash } from '../src/pipelines/bake/recipe.js';
import { bakeParams, type BakeParams } from '../src/pipelines/bake/state.js';
import { retryCommand } from '../src/pipelines/bake/messages.js';
import type { SlashCommand } from '../src/chat/surface.js';
import type { ChatMessage, ChatUser } from '../src/message.js';
import type { AppAtVersion } from '../src/store/store.js';
import { amiId, appName, awsRegion, commitSha, ssmParameterName, version } from '../src/config/names.js';
import type { Core } from '../src/core.js';
import { formatTime } from '../src/operations/format.js';
import { unknownApp } from './apps.js';
import { busy } from './busy.js';
import { launchBake } from './launch-bake.js';
import { retryRegionButtons, startRegionRetry } from './retry-region.js';
import type { Command } from './command.js';
import { firstIssue, splitWords, usageError, type Parsed } from './grammar.js';

export const usage = '/bake <app> <version> [--base <ami-id>|ssm:<parameter-name>] [--commit <sha>] [--sha256 <hex>] [--force] | --retry-region <region>';

export const help: ChatMessage = {
  text: '*/bake* — bake a tested, tagged machine image of one version of an app',
  lines: [
    `Usage: \`${usage}\``,
    '`--base ami-0123…` or `--base ssm:/aws/service/…` bakes on that base instead of the app’s configured one (only images of owners the app trusts; only parameters under its prefixes)',
    '`--commit <sha>` records the commit the version was built from (tagged on the image)',
    '`--sha256 <hex>` is the artifact’s digest as your CI printed it: the builder checks the download against it before provision runs',
    '`--force` bakes a version that is already baked again, also on another base; the release keeps its history',
    '`--retry-region eu-west-1` copies a baked version to one region whose copy failed (or was added to the app’s copyTo since), from the image already baked: no new bake',
    'The bake posts a thread here with every step and its timing; its *Cancel* button stops it and cleans up.',
  ],
  tone: 'info',
};

export const bakeRequest = z.object({
  app: appName,
  version,
  base: z
    .string()
    .refine((base) => amiId.safeParse(base).success || (base.startsWith('ssm:') && ssmParameterName.safeParse(base.slice(4)).success), 'the base is an AMI id (ami-0123…) or ssm:<parameter-name>')
    .optional(),
  commit: commitSha.optional(),
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'a sha256 is 64 hex digits, as sha256sum prints it')
    .transform((hex) => hex.toLowerCase())
    .optional(),
  force: z.boolean(),
  retryRegion: awsRegion.optional(),
}).refine((request) => !request.retryRegion || (!request.base && !request.commit && !request.sha256 && !request.force), '--retry-region copies the image already baked, so it takes no --base, --commit, --sha256 or --force');
export type BakeRequest = z.infer<typeof bakeRequest>;

/** `/bake help`, or a bake request. */
export function parseBake(text: string): Parsed<BakeRequest | 'help'> {
  if (/^\s*(help)?\s*$/i.test(text)) return { ok: true, value: 'help' };
  const words = splitWords(text, ['base', 'commit', 'sha256', 'retry-region'], ['force']);
  if (!words.ok) return words;
  const { positional, flags } = words.value;
  if (positional.length > 2) return { ok: false, error: `unexpected "${positional[2]!.slice(0, 40)}": give one app and one version` };
  const input = { app: positional[0], version: positional[1], base: flags.base, commit: flags.commit, sha256: flags.sha256, force: flags.force === true, retryRegion: flags['retry-region'] };
  const parsed = bakeRequest.safeParse(input);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, error: firstIssue(parsed.error, input) };
}

/**
 * Starts a bake as `user` asked it, with the bake's lock and request mark: the one way a bake starts,
 * from /bake or a Rebake button. The caller has authorized it (src/access); `known` is what it read of the app.
 */
export async function startBake(
  core: Core,
  input: { request: BakeRequest; user: ChatUser; channel: string; requestId: string; known?: AppAtVersion; audit?: string; why?: string },
): Promise<ChatMessage | undefined> {
  const { request, user, channel, requestId } = input;
  const { config, lock } = input.known ?? (await core.store.getAppAtVersion(request.app, request.version));
  if (!config) return { text: `Unknown app "${request.app}".`, tone: 'failed' };
  if (lock) return lock.requestId === requestId ? undefined : busy(lock, core.clock.now());
  const params: BakeParams = { config, base: request.base, commit: request.commit, artifactSha256: request.sha256, force: request.force, why: input.why, requestedByName: mention(user.id) };
  return launchBake(core, { app: request.app, version: request.version, user, channel, requestId, params, audit: input.audit ?? 'bake requested', detail: `${request.version}${request.force ? ' --force' : ''}` });
}

const cancelValue = z.string().regex(/^op-[a-z0-9]+-[0-9a-f]{8}$/);

export const bake: Command = {
  name: '/bake',
  summary: 'Bake a tested, tagged AMI of an app version',
  usage,

  answerAtOnce(text) {
    const parsed = parseBake(text);
    if (!parsed.ok) return usageError(parsed.error, usage);
    return parsed.value === 'help' ? help : undefined;
  },

  async handle(core: Core, command: SlashCommand) {
    const parsed = parseBake(command.text);
    if (!parsed.ok) return usageError(parsed.error, usage);
    if (parsed.value === 'help') return help;
    const request = parsed.value;

    const unknown = await unknownApp(core, request.app, usage);
    if (unknown) return unknown;
    // One read answers the common cases before anything is written: already baked, busy.
    const known = await core.store.getAppAtVersion(request.app, request.version);
    const { config, lock } = known;
    if (!config) return usageError(`app "${request.app}" is not configured in the table; restart Bakery to apply its apps file`, usage);
    const refused = await authorize(core, command, { app: request.app, config, action: 'bake' });
    if (refused) return refused;
    if (request.retryRegion) return startRegionRetry(core, { app: request.app, version: request.version, region: request.retryRegion, user: command.user, channel: command.channel, requestId: command.requestId, known });
    if (lock) return lock.requestId === command.requestId ? undefined : busy(lock, core.clock.now());
    const base = chooseBase(request.base, config);
    if (!base.ok) return { text: `Not baked: ${base.error}.`, tone: 'failed' };
    // A retired release's images are gone: its version bakes afresh.
    const release = known.release?.status === 'retired' ? undefined : known.release;
    if (release && !request.force && request.base && request.base !== release.baseAmi) {
      return {
        text: `*${release.app} ${release.version}* is already baked, on base \`${release.baseAmi}\`; a bake on another base would replace its image.`,
        lines: ['Add `--force` to bake it again on this base; the release’s history keeps what it replaced.'],
        tone: 'failed',
      };
    }
    // Already baked by this very recipe: say so without starting anything. A changed recipe bakes again.
    const sameRecipe = release?.recipeHash === undefined || release.recipeHash === recipeHash(config);
    if (release && sameRecipe && !request.force) {
      return {
        text: `*${release.app} ${release.version}* is already baked: ${Object.entries(release.amis).map(([region, id]) => amiLink(region, id)).join(', ')} (${release.amiName})`,
        lines: [
          `Base \`${release.baseAmi}\` ${release.baseAmiName}, by ${mention(release.bakedBy)}, ${formatTime(release.bakedAt, core.clock.now())}.`,
          // A region without a copy needs only its copy, not a new bake.
          ...config.copyTo.filter((region) => !release.amis[region]).map((region) => `No copy in ${region}: \`${retryCommand(release, region)}\` copies it from this image.`),
          'Add `--force` to bake it again.',
        ],
        tone: 'info',
      };
    }
    return startBake(core, { request, user: command.user, channel: command.channel, requestId: command.requestId, known });
  },

  buttons: {
    ...retryRegionButtons,
    async [cancelAction](core, press) {
      const id = cancelValue.safeParse(press.value);
      if (!id.success) return { text: 'That button is not one Bakery made.', tone: 'failed' };
      const named = await core.store.getOperation(id.data);
      if (!named || named.kind !== 'bake') return { text: 'No such bake.', tone: 'failed' };
      // Checked against the config the bake started with, on the bake's own root message.
      const refused = await authorize(core, press, {
        app: named.app,
        config: bakeParams.parse(named.params).config,
        action: 'cancel',
        startedBy: named.requestedBy,
        operationId: named.id,
        messages: { on: named.thread ? [named.thread] : [], ephemeralCopies: false },
      });
      if (refused) return refused;
      const operation = await core.runner.cancel(id.data, mention(press.user.id));
      if (!operation) return { text: 'No such bake.', tone: 'failed' };
      if (operation.status !== 'running') return { text: `That bake already ${operation.status === 'succeeded' ? 'finished' : operation.status}.`, tone: 'info' };
      await core.store.appendAudit({ app: operation.app, at: core.clock.now(), actor: press.user.id, action: 'bake cancel requested', operationId: operation.id, detail: operation.version });
      return { text: `Cancelling the bake of ${operation.app} ${operation.version}; the builder is being cleaned up.`, tone: 'info' };
    },
  },
};
