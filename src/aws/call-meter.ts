import { AsyncLocalStorage } from 'node:async_hooks';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { AnyAwsClient, AwsClients } from './clients.js';

/*
 * Counts the AWS calls a piece of work makes, and how many of them the SDK had to retry, so a bake's
 * thread can say what it cost. The count follows the async context, so concurrent bakes on one set
 * of clients each see only their own calls.
 */

interface Tally {
  calls: number;
  retries: number;
}

const current = new AsyncLocalStorage<Tally>();
const metered = new WeakSet<object>();

function attempts(result: unknown): number {
  const metadata = (result as { $metadata?: { attempts?: number } } | undefined)?.$metadata;
  return metadata?.attempts ?? 1;
}

function meter<C extends AnyAwsClient>(client: C): C {
  if (metered.has(client)) return client;
  metered.add(client);
  // Outside the SDK's retry (step 'initialize'), so one command is one call however often it was retried.
  // Every SDK client has the same middleware stack; its type differs only in the service's shapes.
  (client as EC2Client).middlewareStack.add(
    (next) => async (args) => {
      const tally = current.getStore();
      try {
        const result = await next(args);
        if (tally) {
          tally.calls++;
          tally.retries += attempts(result.output) - 1;
        }
        return result;
      } catch (error) {
        if (tally) {
          tally.calls++;
          tally.retries += attempts(error) - 1;
        }
        throw error;
      }
    },
    { step: 'initialize', name: 'bakeryCallMeter' },
  );
  return client;
}

/** The same clients, counting their calls for whoever runs work through `measureAwsCalls`. */
export function meterAwsCalls(clients: AwsClients): AwsClients {
  return {
    ec2: async (region) => meter(await clients.ec2(region)),
    ssm: async (region) => meter(await clients.ssm(region)),
    autoScaling: async (region) => meter(await clients.autoScaling(region)),
    elbv2: async (region) => meter(await clients.elbv2(region)),
    cloudWatch: async (region) => meter(await clients.cloudWatch(region)),
    assuming: (role) => meterAwsCalls(clients.assuming(role)),
  };
}

/** Runs the work and says how many AWS calls it made, and how many of those were retried. */
export async function measureAwsCalls<T>(work: () => Promise<T>): Promise<{ value: T } & Tally> {
  const tally: Tally = { calls: 0, retries: 0 };
  const value = await current.run(tally, work);
  return { value, ...tally };
}
