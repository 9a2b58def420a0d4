import type { EC2Client } from '@aws-sdk/client-ec2';
import type { DeserializeMiddleware, MetadataBearer, Pluggable } from '@smithy/types';
import type { Service } from './errors.js';

/** Answers one call: the command's output, or throws the service's error. */
export type Dispatch = (call: { service: Service; region: string; command: string; input: object; requestId: string; accessKeyId: string | undefined }) => object;

/**
 * The one seam between the real SDK clients and the simulator. It sits at step 'deserialize',
 * priority 'high': after the SDK has serialized and signed the request (so production code pays the
 * same CPU and sees the same validation), BELOW the SDK's retry middleware (step 'finalizeRequest'),
 * which therefore retries simulated throttling by itself, and before the SDK's deserializer and the
 * HTTP handler, which it never calls, so no network is touched.
 */
export function simulatorMiddleware(service: Service, region: string, dispatch: Dispatch, nextRequestId: () => string): DeserializeMiddleware<object, MetadataBearer> {
  return (_next, context) => async (args) => {
    // The SDK names every command in the context, e.g. 'RunInstancesCommand'.
    const command = (context.commandName ?? 'UnknownCommand').replace(/Command$/, '');
    const requestId = nextRequestId();
    const input = (args.input ?? {}) as object;
    // As AWS does, the account is told by the key the request was signed with (SigV4's Credential=<key>/…).
    const authorization = (args.request as { headers?: Record<string, string> } | undefined)?.headers?.authorization;
    const accessKeyId = /Credential=([^/]+)\//.exec(authorization ?? '')?.[1];
    const result = dispatch({ service, region, command, input, requestId, accessKeyId });
    const headers = { 'x-amzn-requestid': requestId, 'content-type': 'text/xml;charset=UTF-8' };
    return {
      output: { ...result, $metadata: { httpStatusCode: 200, requestId } },
      response: { statusCode: 200, reason: 'OK', headers, body: undefined },
    };
  };
}

export function attachMiddleware(client: { middlewareStack: unknown }, middleware: DeserializeMiddleware<object, MetadataBearer>): void {
  // The clients' stacks have different type parameters; the middleware fits them all.
  (client.middlewareStack as EC2Client['middlewareStack']).use(simulatorPlugin(middleware) as never);
}

/** The middleware as a plugin, for a client made out of reach (the STS client of a credential provider). */
export function simulatorPlugin(middleware: DeserializeMiddleware<object, MetadataBearer>): Pluggable<object, MetadataBearer> {
  const options = { step: 'deserialize' as const, priority: 'high' as const, name: 'awsSimulator', override: true };
  return { applyToStack: (stack) => stack.add(middleware, options) };
}
