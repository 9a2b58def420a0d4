import { z } from 'zod';
import { authorize } from '../src/access/access.js';
import { amiLink, mention } from '../src/message.js';
import type { ButtonPress } from '../src/chat/surface.js';
import type { ChatMessage, ChatUser } from '../src/message.js';
import { appName, awsRegion, version } from '../src/config/names.js';
import type { Core } from '../src/core.js';
import { retryRegionAction } from '../src/pipelines/bake/messages.js';
import type { BakeParams, BakeState } from '../src/pipelines/bake/state.js';
import type { AppAtVersion } from '../src/store/store.js';
import { busy } from './busy.js';
import { launchBake } from './launch-bake.js';

/*
 * `/bake <app> <version> --retry-region <region>` and a bake summary's Retry <region> button: the
 * copy and share of a baked version's image to one region, without baking again, under the app's
 * bake lock. A retried request is dropped by its request mark, a second press finds the lock (or,
 * later, the region done), and the copy's client token is the retry's own: it never copies twice.
 */

/** The button's value: `app:version:region`. */
export const retryTarget = z
  .string()
  .regex(/^[^:]+:[^:]+:[^:]+$/, 'a retry target is app:version:region')
  .transform((text) => {
    const [app, ver, region] = text.split(':');
    return { app: app!, version: ver!, region: region! };
  })
  .pipe(z.object({ app: appName, version, region: awsRegion }));

/** Starts the retry, or says why not: the version is not baked, the region is not one the app copies to, or it has a good copy. */
export async function startRegionRetry(
  core: Core,
  input: { app: string; version: string; region: string; user: ChatUser; channel: string; requestId: string; known: AppAtVersion },
): Promise<ChatMessage | undefined> {
  const { app, version: ver, region, user, requestId } = input;
  const { config, lock, release } = input.known;
  if (!config) return { text: `Unknown app "${app}".`, tone: 'failed' };
  if (!release || release.status === 'retired') {
    return { text: `*${app} ${ver}* is ${release ? 'retired, its images deleted' : 'not baked'}, so there is no image to copy to ${region}.`, lines: [`Bake it: \`/bake ${app} ${ver}\``], tone: 'failed' };
  }
  if (!config.copyTo.includes(region)) {
    return {
      text: `${region} is not a region ${app} copies to (copyTo: ${config.copyTo.join(', ') || 'none'}).`,
      lines: [region === config.region ? `${region} is the app’s home region, where the image was baked.` : 'Add it to the app’s `copyTo` in the apps file and restart Bakery, then retry.'],
      tone: 'failed',
    };
  }
  const good = release.amis[region];
  if (good) return { text: `*${app} ${ver}* already has a good copy in ${region}: ${amiLink(region, good)}. Nothing to retry.`, tone: 'info' };
  const home = release.amis[config.region];
  if (!home) return { text: `*${app} ${ver}* has no image recorded in ${config.region}, the app’s home region, to copy from.`, tone: 'failed' };
  if (lock) return lock.requestId === requestId ? undefined : busy(lock, core.clock.now());
  const params: BakeParams = { config, commit: release.commit, force: false, retryRegion: region, requestedByName: mention(user.id) };
  // What the bake learned, as its release recorded it: the copy is of that image, tagged as that bake's.
  const state: BakeState = {
    imageId: home,
    imageName: release.amiName,
    baseAmi: release.baseAmi,
    baseAmiName: release.baseAmiName,
    baseAmiCreatedAt: release.baseAmiCreatedAt,
    recipeHash: release.recipeHash,
    artifactSha256: release.artifactSha256,
    bakeOperationId: release.operationId,
  };
  return launchBake(core, { app, version: ver, user, channel: input.channel, requestId, params, state, audit: 'region retry requested', detail: `${ver} ${region}` });
}

export const retryRegionButtons: Record<string, (core: Core, press: ButtonPress) => Promise<ChatMessage | undefined>> = {
  async [retryRegionAction](core, press) {
    const target = retryTarget.safeParse(press.value);
    if (!target.success) return { text: 'That button is not one Bakery made.', tone: 'failed' };
    const { app, version: ver, region } = target.data;
    const known = await core.store.getAppAtVersion(app, ver);
    if (!known.config) return { text: `${app} is no longer configured.`, tone: 'failed' };
    // Whoever may bake the app may retry its copies: the same check as /bake.
    const refused = await authorize(core, press, { app, config: known.config, action: 'bake' });
    if (refused) return refused;
    const answer = await startRegionRetry(core, { app, version: ver, region, user: press.user, channel: press.channel || known.config.channel, requestId: press.requestId, known });
    return answer ?? { text: `Copying ${app} ${ver} to ${region} again, from the baked image; a new thread here shows how it goes.`, tone: 'info' };
  },
};
