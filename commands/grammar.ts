import { z } from 'zod';
import type { ChatMessage } from '../src/message.js';

/*
 * The shared shape of a slash command's text: positional words, then --flags. Each command's zod
 * schema then says what the words and flags must be.
 */

export interface Words {
  positional: string[];
  flags: Record<string, string | true>;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Splits the text into words and flags. Phones and some keyboards turn "--" into "—", so an
 * em or en dash starts a flag too.
 */
export function splitWords(text: string, flagsWithValues: readonly string[], switches: readonly string[]): Parsed<Words> {
  const tokens = text.trim().split(/\s+/).filter(Boolean).map((token) => token.replace(/^[—–]/, '--'));
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (!token.startsWith('--')) {
      positional.push(token);
      continue;
    }
    const [rawName, inlineValue] = token.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const name = rawName.toLowerCase();
    if (name in flags) return { ok: false, error: `--${name} is given twice` };
    if (switches.includes(name)) {
      if (inlineValue !== undefined) return { ok: false, error: `--${name} takes no value` };
      flags[name] = true;
    } else if (flagsWithValues.includes(name)) {
      const value = inlineValue ?? tokens[++i];
      if (value === undefined || value === '' || value.startsWith('--')) return { ok: false, error: `--${name} needs a value` };
      flags[name] = value;
    } else {
      return { ok: false, error: `unknown option --${name.slice(0, 30)}` };
    }
  }
  return { ok: true, value: { positional, flags } };
}

/** The first problem zod found, said plainly: `version "v 1": versions are …`. */
export function firstIssue(error: z.ZodError, input: Record<string, unknown>): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid input';
  const field = issue.path[0];
  if (field === undefined) return issue.message;
  const given = input[String(field)];
  const shown = typeof given === 'string' ? ` "${given.slice(0, 40)}"` : '';
  // Named as the person typed it: a field for a flag is its camelCase (olderThan for --older-than).
  const name = String(field).replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
  return given === undefined ? `missing ${name}` : `${name}${shown}: ${issue.message}`;
}

export function usageError(error: string, usage: string): ChatMessage {
  return { text: `${error}`, lines: [`Usage: \`${usage}\``], tone: 'failed' };
}

/**
 * A button value that carries JSON, at most `maxLength` characters, read with `shape`: text that is
 * not JSON is an issue like any other, never a thrown SyntaxError.
 */
export function jsonButtonValue<T extends z.ZodType>(maxLength: number, shape: T) {
  return z
    .string()
    .max(maxLength)
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not JSON' });
        return z.NEVER;
      }
    })
    .pipe(shape);
}
