/** A Web API failure's error code (channel_not_found, missing_scope…), never the client's error itself: it carries the request, token included. */
export function slackErrorCode(error: unknown): string {
  const data = (error as { data?: { error?: unknown } } | undefined)?.data;
  return typeof data?.error === 'string' ? data.error : error instanceof Error ? error.message : String(error);
}
