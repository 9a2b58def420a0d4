import { createRequire } from 'node:module';
import type * as AutoScalingSdk from '@aws-sdk/client-auto-scaling';
import type * as CloudWatchSdk from '@aws-sdk/client-cloudwatch';
import type { EC2ServiceException } from '@aws-sdk/client-ec2';
import type * as Ec2Sdk from '@aws-sdk/client-ec2';
import type * as Elbv2Sdk from '@aws-sdk/client-elastic-load-balancing-v2';
import type * as SsmSdk from '@aws-sdk/client-ssm';
import { ServiceException } from '@smithy/core/client';

/**
 * Errors in the SDK's own shapes, so production code that inspects `error.name`,
 * `error.$metadata.httpStatusCode` or `instanceof EC2ServiceException` cannot tell the
 * simulator from AWS, and the SDK's retry classifies them exactly as it would real ones.
 */

export type Service = 'ec2' | 'ssm' | 'autoscaling' | 'elbv2' | 'cloudwatch' | 'sts';

/*
 * Each service's SDK module, required at the first error made for it, not when the simulator loads (EC2's
 * is ~70 MB resident): a client of that service sent the call, so src/aws/clients.ts has loaded it already,
 * and require hands back that same module, whose classes `instanceof` then recognises.
 */
const require = createRequire(import.meta.url);
const sdk = {
  ec2: () => require('@aws-sdk/client-ec2') as typeof Ec2Sdk,
  ssm: () => require('@aws-sdk/client-ssm') as typeof SsmSdk,
  autoscaling: () => require('@aws-sdk/client-auto-scaling') as typeof AutoScalingSdk,
  elbv2: () => require('@aws-sdk/client-elastic-load-balancing-v2') as typeof Elbv2Sdk,
  cloudwatch: () => require('@aws-sdk/client-cloudwatch') as typeof CloudWatchSdk,
};

/** An EC2 error: EC2's query protocol has no modeled exceptions, only codes on the base class. */
export function ec2Error(code: string, message: string, requestId: string, status = 400): EC2ServiceException {
  return new (sdk.ec2().EC2ServiceException)({
    name: code,
    message,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId },
  });
}

type SsmExceptionClass = new (opts: {
  message: string;
  $metadata: { httpStatusCode: number; requestId: string };
}) => SsmSdk.SSMServiceException;

/** An SSM error: its modeled exception class when there is one (ParameterNotFound…), else the base class. */
export function ssmError(code: string, message: string, requestId: string, status = 400): SsmSdk.SSMServiceException {
  const ssm = sdk.ssm();
  const $metadata = { httpStatusCode: status, requestId };
  const modeled = (ssm as unknown as Record<string, unknown>)[code];
  if (typeof modeled === 'function' && modeled.prototype instanceof ssm.SSMServiceException) {
    const error = new (modeled as SsmExceptionClass)({ message, $metadata });
    // Modeled JSON-protocol errors also carry the message as `Message`, as the SDK's deserializer sets it.
    Object.assign(error, { Message: message });
    return error;
  }
  return new ssm.SSMServiceException({
    name: code,
    message,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata,
  });
}

type QueryExceptionClass = new (opts: { message: string; $metadata: { httpStatusCode: number; requestId: string } }) => Error;

/** An SDK module's modeled errors by the code AWS sends (the awsQueryError trait of each error's schema). */
function modeledByCode(module: Record<string, unknown>): Map<string, QueryExceptionClass> {
  const byCode = new Map<string, QueryExceptionClass>();
  for (const [name, schema] of Object.entries(module)) {
    // Error schemas are exported as `<Name>$` = [-3, namespace, name, traits, members, types].
    if (!name.endsWith('$') || !Array.isArray(schema) || schema[0] !== -3) continue;
    const code = (schema[3] as { awsQueryError?: [string, number] } | undefined)?.awsQueryError?.[0];
    const ctor = module[name.slice(0, -1)];
    if (code && typeof ctor === 'function' && !byCode.has(code)) byCode.set(code, ctor as QueryExceptionClass);
  }
  return byCode;
}

const queryServices = {
  autoscaling: () => ({ module: sdk.autoscaling(), base: sdk.autoscaling().AutoScalingServiceException }),
  elbv2: () => ({ module: sdk.elbv2(), base: sdk.elbv2().ElasticLoadBalancingV2ServiceException }),
  cloudwatch: () => ({ module: sdk.cloudwatch(), base: sdk.cloudwatch().CloudWatchServiceException }),
};
const modeled = new Map<string, Map<string, QueryExceptionClass>>();

/**
 * An Auto Scaling, ELBv2 or CloudWatch error, as the SDK builds it from the awsQuery error
 * `<Error><Type>Sender</Type><Code>AlreadyExists</Code>…`: the modeled class for that code
 * (AlreadyExistsFault, TargetGroupNotFoundException…), else the service's base class named by the
 * code (ValidationError), with Type, Code and Error as the SDK sets them.
 */
export function queryError(service: keyof typeof queryServices, code: string, message: string, requestId: string, status = 400): Error {
  const { module, base } = queryServices[service]();
  let byCode = modeled.get(service);
  if (!byCode) {
    byCode = modeledByCode(module as unknown as Record<string, unknown>);
    modeled.set(service, byCode);
  }
  const $metadata = { httpStatusCode: status, requestId };
  const type = status >= 500 ? 'Receiver' : 'Sender';
  const details = { Type: type, Code: code, Error: { Type: type, Code: code, Message: message } };
  const Modeled = byCode.get(code);
  if (Modeled) return Object.assign(new Modeled({ message, $metadata }), details);
  const error = new base({ name: code, message, $fault: status >= 500 ? 'server' : 'client', $metadata });
  return Object.assign(error, details);
}

/**
 * An STS error (awsQuery) as the SDK's STS client builds it: AccessDenied and ValidationError have no modeled class,
 * so a ServiceException named by the code, with Type, Code and Error. STS's own base class is in a client Bakery
 * does not depend on; its name and fields are what code sees.
 */
export function stsError(code: string, message: string, requestId: string, status = 400): Error {
  const type = status >= 500 ? 'Receiver' : 'Sender';
  const error = new ServiceException({ name: code, message, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status, requestId } });
  return Object.assign(error, { Type: type, Code: code, Error: { Type: type, Code: code, Message: message } });
}

export function serviceError(service: Service, code: string, message: string, requestId: string, status?: number): Error {
  switch (service) {
    case 'sts':
      return stsError(code, message, requestId, status);
    case 'ec2':
      return ec2Error(code, message, requestId, status);
    case 'ssm':
      return ssmError(code, message, requestId, status);
    default:
      return queryError(service, code, message, requestId, status);
  }
}

/**
 * Thrown by handlers: a code and message, turned into the service's error shape by the middleware,
 * which knows the service and the request id.
 */
export class SimulatedError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'SimulatedError';
  }
}

export function fail(code: string, message: string, status = 400): never {
  throw new SimulatedError(code, message, status);
}

/** The throttling error each service really returns; all codes are in the SDK's THROTTLING_ERROR_CODES. */
export function throttlingError(service: Service): SimulatedError {
  switch (service) {
    case 'ec2':
      return new SimulatedError('RequestLimitExceeded', 'Request limit exceeded.', 503);
    case 'ssm':
      return new SimulatedError('ThrottlingException', 'Rate exceeded', 400);
    default:
      return new SimulatedError('Throttling', 'Rate exceeded', 400);
  }
}
