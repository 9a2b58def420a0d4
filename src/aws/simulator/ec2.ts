import type { Handler } from './context.js';
import { imageHandlers } from './ec2-images.js';
import { instanceHandlers } from './ec2-instances.js';
import { launchTemplateHandlers } from './ec2-launch-templates.js';
import { snapshotHandlers } from './ec2-snapshots.js';
import { tagHandlers } from './ec2-tags.js';
import { volumeHandlers } from './ec2-volumes.js';

/** Every EC2 command the simulator answers, by name without the 'Command' suffix. */
export const ec2Handlers: Record<string, Handler> = {
  ...instanceHandlers,
  ...imageHandlers,
  ...snapshotHandlers,
  ...volumeHandlers,
  ...launchTemplateHandlers,
  ...tagHandlers,
};
