import type { ChatMessage } from '../src/message.js';
import type { Core } from '../src/core.js';
import { usageError } from './grammar.js';

/** Refuses an app that is not configured, from the configs kept in memory: a flood of bad commands costs no reads. */
export async function unknownApp(core: Core, app: string, usage: string): Promise<ChatMessage | undefined> {
  const configs = await core.store.listAppConfigs();
  if (configs[app]) return undefined;
  return usageError(`unknown app "${app}"; configured apps: ${Object.keys(configs).sort().join(', ') || 'none'}`, usage);
}
