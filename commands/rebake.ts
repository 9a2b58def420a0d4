import { approvesSomeApp, authorize } from '../src/access/access.js';
import type { ButtonPress } from '../src/chat/surface.js';
import type { ChatMessage } from '../src/message.js';
import type { Core } from '../src/core.js';
import { rebakeAction, rebakeAllAction, rebakeTarget, rebakeTargets, type RebakeTarget } from '../src/jobs/digest-message.js';
import { startBake } from './bake.js';

/*
 * The digest's and the App Home's Rebake buttons: a bake of the live version on the newest base, as
 * the person who pressed, through /bake's own access check and start (its lock, its request mark).
 */

/** Starts one rebake; undefined when it started (its thread says the rest), else what stopped it. */
async function rebake(core: Core, target: RebakeTarget, press: ButtonPress, requestId: string): Promise<ChatMessage | undefined> {
  const known = await core.store.getAppAtVersion(target.app, target.version);
  if (!known.config) return { text: `${target.app} is no longer configured.`, tone: 'failed' };
  // The same access check as /bake; a Home press is judged without the channel rule (src/access).
  const refused = await authorize(core, press, { app: target.app, config: known.config, action: 'bake' });
  if (refused) return refused;
  // A press from the App Home has no channel: the bake goes to the app's own.
  const channel = press.channel || known.config.channel;
  return startBake(core, {
    request: { app: target.app, version: target.version, force: target.force, commit: known.release?.commit },
    user: press.user,
    channel,
    requestId,
    known,
    audit: 'rebake requested',
    why: 'rebaked with the Rebake button: the image was stale',
  });
}

export const rebakeButtons: Record<string, (core: Core, press: ButtonPress) => Promise<ChatMessage | undefined>> = {
  async [rebakeAction](core, press) {
    const target = rebakeTarget.safeParse(press.value);
    if (!target.success) return { text: 'That button is not one Bakery made.', tone: 'failed' };
    return rebake(core, target.data, press, press.requestId);
  },

  /** Only an app's approvers (people or user groups) may rebake it from here; each app is its own bake with its own request mark. */
  async [rebakeAllAction](core, press) {
    const targets = rebakeTargets.safeParse(press.value);
    if (!targets.success) return { text: 'That button is not one Bakery made.', tone: 'failed' };
    const started: string[] = [];
    const notApprover: string[] = [];
    const stopped: string[] = [];
    for (const target of targets.data) {
      const config = await core.store.getAppConfig(target.app);
      if (!config || !(await approvesSomeApp(core, press, [config]))) {
        notApprover.push(target.app);
        continue;
      }
      const answer = await rebake(core, target, press, `${press.requestId}#${target.app}`);
      if (answer) stopped.push(`${target.app}: ${answer.text}`);
      else started.push(`${target.app} ${target.version}`);
    }
    return {
      text: started.length ? `Rebaking ${started.join(', ')}; each bake posts its own thread.` : 'Nothing was rebaked.',
      lines: [...stopped, ...(notApprover.length ? [`Not rebaked, you are not an approver of: ${notApprover.join(', ')}`] : [])],
      tone: started.length ? 'info' : 'failed',
    };
  },
};
