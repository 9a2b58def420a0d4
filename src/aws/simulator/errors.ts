import { EC2ServiceException } from '@aws-sdk/client-ec2';
import * as ssm from '@aws-sdk/client-ssm';

/**
 * Errors in the SDK's own shapes, so production code that inspects `error.name`,
 * `error.$metadata.httpStatusCode` or `instanceof EC2ServiceException` cannot tell the
 * simulator from AWS, and the SDK's retry classifies them exactly as it would real ones.
 */

export type Service = 'ec2' | 'ssm';

/** An EC2 error: EC2's query protocol has no modeled exceptions, only codes on the base class. */
export function ec2Error(code: string, message: string, requestId: string, status = 400): EC2ServiceException {
  return new EC2ServiceException({
    name: code,
    message,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId },
  });
}

type SsmExceptionClass = new (opts: {
  message: string;
  $metadata: { httpStatusCode: number; requestId: string };
}) => ssm.SSMServiceException;

/** An SSM error: its modeled exception class when there is one (ParameterNotFound…), else the base class. */
export function ssmError(code: string, message: string, requestId: string, status = 400): ssm.SSMServiceException {
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

export function serviceError(service: Service, code: string, message: string, requestId: string, status?: number): Error {
  return service === 'ec2' ? ec2Error(code, message, requestId, status) : ssmError(code, message, requestId, status);
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

/** The throttling error each service really returns; both codes are in the SDK's THROTTLING_ERROR_CODES. */
export function throttlingError(service: Service): SimulatedError {
  return service === 'ec2'
    ? new SimulatedError('RequestLimitExceeded', 'Request limit exceeded.', 503)
    : new SimulatedError('ThrottlingException', 'Rate exceeded', 400);
}
