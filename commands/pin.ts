import { z } from 'zod';
import { authorize } from '../src/access/access.js';
import { mention } from '../src/message.js';
import type { SlashCommand } from '../src/chat/surface.js';
import type { ChatMessage } from '../src/message.js';
import { appName, version } from '../src/config/names.js';
import type { Core } from '../src/core.js';
import { formatTime } from '../src/operations/format.js';
import { firstIssue, splitWords, usageError } from './grammar.js';

/*
 * `/bakery pin <app> <version>` keeps a release's images from every prune and retirement until
 * `/bakery unpin`; the app's approvers only, audited. The pin lives on the release record.
 */

const pinRequest = z.object({ app: appName, version });

export async function pinCommand(core: Core, command: SlashCommand, verb: 'pin' | 'unpin', args: string[]): Promise<ChatMessage> {
  const usage = `/bakery ${verb} <app> <version>`;
  const words = splitWords(args.join(' '), [], []);
  if (!words.ok) return usageError(words.error, usage);
  const [app, ver, extra] = words.value.positional;
  if (extra !== undefined) return usageError(`unexpected "${extra.slice(0, 40)}": give an app and a version`, usage);
  const input = { app, version: ver };
  const parsed = pinRequest.safeParse(input);
  if (!parsed.success) return usageError(firstIssue(parsed.error, input), usage);
  const request = parsed.data;
  const known = await core.store.getAppAtVersion(request.app, request.version);
  if (!known.config) return usageError(`unknown app "${request.app}"`, usage);
  const refused = await authorize(core, command, { app: request.app, config: known.config, action: 'pin' });
  if (refused) return refused;
  const release = known.release;
  if (!release) return { text: `${request.app} has no release ${request.version}.`, tone: 'failed' };
  const now = core.clock.now();
  const images = Object.entries(release.amis).map(([region, ami]) => `\`${ami}\` ${region}`).join(', ');

  if (verb === 'pin') {
    if (release.pin) return { text: `${request.app} ${request.version} is already pinned, by ${mention(release.pin.by)} ${formatTime(release.pin.at, now)}.`, tone: 'info' };
    await core.store.setPin(request.app, request.version, { by: command.user.id, at: now });
  } else {
    if (!release.pin) return { text: `${request.app} ${request.version} is not pinned.`, tone: 'info' };
    await core.store.setPin(request.app, request.version, undefined);
  }
  await core.store.appendAudit({ app: request.app, at: now, actor: command.user.id, action: verb === 'pin' ? 'release pinned' : 'release unpinned', detail: `${request.version}: ${Object.values(release.amis).join(', ')}` });
  // A release in retirement is made usable again now, not at the next prune.
  const inRetirement = verb === 'pin' && (await core.store.listRetirements(request.app)).some((record) => record.bake === release.operationId);
  const restored = inRetirement && (await core.retirement.advance(request.app, known.config)).some((done) => done.did === 'restored');
  return verb === 'pin'
    ? { text: `Pinned *${request.app} ${request.version}*: no prune removes or retires its images (${images}) until someone unpins it.${restored ? ' Its retirement is undone: the images are enabled and no longer deprecated.' : ''}`, tone: 'succeeded' }
    : { text: `Unpinned *${request.app} ${request.version}*: a prune may retire its images (${images}) again when nothing else uses them.`, tone: 'succeeded' };
}
