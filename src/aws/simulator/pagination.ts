import { fail } from './errors.js';

/*
 * EC2's pagination: without MaxResults a describe returns everything; with it, at most that many
 * items and a NextToken for the rest. A token is opaque (here the offset, encoded) and only good for
 * the same kind of describe; a bad one is InvalidPaginationToken.
 */

export interface PageLimits {
  /** The describe's name, which its tokens carry. */
  command: string;
  min: number;
  max: number;
}

export function page<T>(items: T[], input: { MaxResults?: number; NextToken?: string }, limits: PageLimits): { items: T[]; NextToken?: string } {
  let start = 0;
  if (input.NextToken !== undefined) {
    const [command, offset] = Buffer.from(input.NextToken, 'base64').toString('utf8').split(':');
    start = Number(offset);
    if (command !== limits.command || !Number.isSafeInteger(start) || start < 0) fail('InvalidPaginationToken', `Invalid pagination token: ${input.NextToken.slice(0, 40)}`);
  }
  if (input.MaxResults === undefined) return { items: items.slice(start) };
  if (input.MaxResults < limits.min || input.MaxResults > limits.max) {
    fail('InvalidParameterValue', `Value ( ${input.MaxResults} ) for parameter maxResults is invalid. Expecting a value between ${limits.min} and ${limits.max}.`);
  }
  const end = start + input.MaxResults;
  const next = end < items.length ? Buffer.from(`${limits.command}:${end}`).toString('base64') : undefined;
  return { items: items.slice(start, end), ...(next ? { NextToken: next } : {}) };
}
