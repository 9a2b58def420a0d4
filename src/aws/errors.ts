import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';

/** The AWS error code of an SDK error (its name), or undefined for anything else. */
export function errorCode(error: unknown): string | undefined {
  if (error && typeof error === 'object' && '$metadata' in error && 'name' in error) return String(error.name);
  return undefined;
}

/** InvalidInstanceID.NotFound, InvalidAMIID.NotFound…: for an id just created, EC2 may not know it yet. */
export function isNotFound(error: unknown): boolean {
  return /\.NotFound$/.test(errorCode(error) ?? '');
}

/**
 * Throttling, a 5xx or a dropped connection that outlasted the SDK's own retries: it says
 * nothing about the resource asked about, only that AWS could not answer now.
 */
export function isTransient(error: unknown): boolean {
  if (errorCode(error) === undefined) return false;
  const sdkError = error as Parameters<typeof isThrottlingError>[0];
  return isThrottlingError(sdkError) || isTransientError(sdkError) || isServerError(sdkError);
}

/** A message an operator can act on, from any error the SDK throws. */
export function describeAwsError(error: unknown): string {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return code && !message.startsWith(code) ? `${code}: ${message}` : message;
}
