import { mention } from '../message.js';
import type { ChatSurface } from '../chat/surface.js';
import type { Button, ChatMessage, HomeView } from '../message.js';
import { ageOf, appsIn, environmentLine, freshLine, rebakeButton, rebakedNote } from '../jobs/digest-message.js';
import { formatTime, lockActivity } from '../operations/format.js';
import { describeReason } from './reasons.js';
import { isFresh, isStale, type AppPicture } from './survey.js';


/**
 * Bakery's App Home, from the same pictures as the digest: per app the live release and its age,
* what is running with where its thread is, and why it is stale with a Rebake button. `pictures` are
 * the viewer's apps (those of the channels they are in; `othersHidden` when there are others); a press
 * is checked as /bake is (src/access). Fresh apps with nothing running share one line at the end.
 */
export function homeView(pictures: AppPicture[], now: number, linkTo: ChatSurface['linkTo'], othersHidden = false): HomeView {
  const shown = pictures.filter((picture) => !isFresh(picture) || picture.running.length > 0);
  // A bake is the app's (shown with its first environment): no environment of it offers a Rebake meanwhile, nor two the same one.
  const baking = new Set(pictures.filter((picture) => picture.running.some(({ lock }) => lock.kind === 'bake')).map((picture) => picture.app));
  const offered = new Set<string>();
  const sections: ChatMessage[] = shown.map((picture) => {
    const button = baking.has(picture.app) ? undefined : rebakeButton(picture);
    const fresh = button && !offered.has(button.value) ? button : undefined;
    if (button) offered.add(button.value);
    return appSection(picture, now, linkTo, fresh);
  });
  const quiet = freshLine(pictures.filter((picture) => picture.running.length === 0), now);
  if (quiet) sections.push({ text: quiet });
  if (pictures.length === 0) sections.push({ text: othersHidden ? 'None of the apps is in a channel you are in: Bakery shows each app only to the members of its channel.' : 'No apps are configured.' });
  return { title: `Bakery · ${appsIn(pictures.filter(isStale))} of ${appsIn(pictures)} apps stale`, sections };
}

function appSection(picture: AppPicture, now: number, linkTo: ChatSurface['linkTo'], button: Button | undefined): ChatMessage {
  // With none of Bakery's images live (a rollback to the image before it), the newest release says where it stands.
  const live = environmentLine(picture) ?? (picture.live ? `${picture.live.release.version}${picture.live.recorded === 'live' ? ' live' : ` (${picture.live.recorded})`}` : picture.latest ? `${picture.latest.version} ${picture.latest.status}` : 'nothing baked yet');
  const running = picture.running.map(({ lock, operation }) => {
    const where = operation?.thread ? ` · ${linkTo(operation.thread, 'its thread')}` : '';
    const activity = lockActivity(lock);
    return `${activity[0]!.toUpperCase()}${activity.slice(1)} since ${formatTime(lock.since, now)}, asked by ${mention(lock.requestedBy)}${where}`;
  });
  return {
    text: `*${picture.app}* · ${live} · ${ageOf(picture, now)}`,
    lines: [...running, ...picture.reasons.map((reason) => `• ${describeReason(reason)}`), ...(isFresh(picture) ? ['Fresh.'] : []), ...[rebakedNote(picture) ?? []].flat()],
    buttons: button ? [button] : [],
  };
}
