import type { CreateTagsCommandInput, DeleteTagsCommandInput } from '@aws-sdk/client-ec2';
import { findImage, findInstances, findSnapshot, required, state, type HandlerContext } from './context.js';
import { fail } from './errors.js';
import { requireSettledImages, requireSettledInstances } from './ec2-visibility.js';
import { validateTags } from './filters.js';
import { instanceState, type Tags } from './world.js';

/** The tags of any taggable resource, by its id's prefix; an unknown id fails with that resource's NotFound code. */
function tagsOf(ctx: HandlerContext, id: string): Tags {
  if (id.startsWith('i-')) {
    const instances = findInstances(ctx, [id]);
    requireSettledInstances(ctx, instances);
    return instances[0]!.tags;
  }
  if (id.startsWith('ami-')) {
    const image = findImage(ctx, id);
    requireSettledImages(ctx, [image]);
    return image.tags;
  }
  if (id.startsWith('snap-')) return findSnapshot(ctx, id).tags;
  if (id.startsWith('vol-')) {
    // A volume on its own, or an instance's root volume (its tags are kept with the instance).
    const volume = state(ctx).volumes.find((candidate) => candidate.volumeId === id);
    if (volume) return volume.tags;
    const instance = state(ctx).instances.find((candidate) => candidate.volumeId === id && instanceState(candidate, ctx.now) !== 'terminated');
    if (instance) return instance.volumeTags;
    return fail('InvalidVolume.NotFound', `The volume '${id}' does not exist.`);
  }
  return fail('InvalidID', `The ID '${id}' is not valid`);
}

function createTags(ctx: HandlerContext, input: CreateTagsCommandInput) {
  const tags = validateTags(required(input.Tags, 'Tags'));
  // Resolve every resource first, so one unknown id leaves all of them untouched.
  const targets = required(input.Resources, 'Resources').map((id) => tagsOf(ctx, id));
  for (const target of targets) Object.assign(target, tags);
  return {};
}

function deleteTags(ctx: HandlerContext, input: DeleteTagsCommandInput) {
  const targets = required(input.Resources, 'Resources').map((id) => tagsOf(ctx, id));
  for (const target of targets) {
    for (const key of Object.keys(target)) {
      const selected = input.Tags === undefined || input.Tags.some((tag) => tag.Key === key && (tag.Value === undefined || tag.Value === target[key]));
      if (selected) delete target[key];
    }
  }
  return {};
}

export const tagHandlers = { CreateTags: createTags, DeleteTags: deleteTags };
