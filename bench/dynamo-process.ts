/*
 * The embedded DynamoDB in a process of its own, for benches: like the real service it must not
 * share the bot's event loop or CPU, or the bot's figures would include the database's work.
 */
import { fork } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startEmbeddedDynamo } from '../src/store/embedded.js';

export async function startDynamoProcess(): Promise<{ endpoint: string; stop(): void }> {
  // fork() reuses this process's execArgv, so under tsx the child runs this file as TypeScript.
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('message', (message) => resolve(String(message)));
  });
  return { endpoint, stop: () => child.kill() };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv.includes('--serve')) {
  const dynamo = await startEmbeddedDynamo();
  process.send?.(dynamo.endpoint);
}
