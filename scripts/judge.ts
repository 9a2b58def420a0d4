// Replay recorded canary windows through the judge:
//   npm run judge -- examples/latency-regression.json [--json]
// The file holds one recorded window or an array of them (config and data together, see
// src/judge/README.md). Each is judged minute by minute, as the canary stage would, and
// the verdict the stage would have acted on (the first fail, else the last) is printed as
// a person reads it in the thread, or as data with --json. Exit code 0 when every window was judged (whatever the verdict), 2 when the
// file or its contents cannot be judged — with a message, never a stack trace.

import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { judgeParsed } from '../src/judge/judge.js';
import type { Verdict } from '../src/judge/judge.js';
import { describeIssues, JudgeInputError, parseInput, recordedWindowSchema } from '../src/judge/window.js';
import type { CanaryConfig, Window } from '../src/judge/window.js';
import { renderVerdict } from '../src/judge/render.js';

const USAGE = 'usage: npm run judge -- <window.json> [--json]';

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

const consoleOutput: Output = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

/** Problems with the input file: reported to the user, exit code 2. */
class ReplayError extends Error {}

export async function main(argv: readonly string[], output: Output = consoleOutput): Promise<number> {
  try {
    const { file, json } = parseArgs(argv);
    const windows = await readWindows(file);
    const judged = windows.map((raw, i) => judgeRecorded(raw, windows.length > 1 ? i : null));
    if (json) {
      const data = judged.map(({ name, verdict }) => ({ name, ...verdict }));
      output.out(JSON.stringify(windows.length === 1 ? data[0] : data, jsonReplacer, 2));
    } else {
      output.out(judged.map(({ name, verdict, intervalMinutes }) => renderVerdict(verdict, name, intervalMinutes)).join('\n\n'));
    }
    return 0;
  } catch (error) {
    if (error instanceof ReplayError) {
      output.err(error.message);
      return 2;
    }
    throw error;
  }
}

function parseArgs(argv: readonly string[]): { file: string; json: boolean } {
  const json = argv.includes('--json');
  const unknown = argv.filter((a) => a.startsWith('-') && a !== '--json');
  const files = argv.filter((a) => !a.startsWith('-'));
  if (unknown.length > 0) throw new ReplayError(`unknown option ${unknown.join(', ')}\n${USAGE}`);
  const file = files[0];
  if (file === undefined || files.length > 1) throw new ReplayError(USAGE);
  return { file, json };
}

async function readWindows(file: string): Promise<unknown[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (code ?? 'unreadable');
    throw new ReplayError(`cannot read ${file}: ${why}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ReplayError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  const windows = Array.isArray(data) ? data : [data];
  if (windows.length === 0) throw new ReplayError(`${file} holds an empty array: no windows to judge`);
  return windows;
}

function judgeRecorded(raw: unknown, index: number | null): { name: string; verdict: Verdict; intervalMinutes: number } {
  const label = (name?: string): string =>
    index === null ? (name ? `window "${name}"` : 'window') : `window ${index + 1}${name ? ` ("${name}")` : ''}`;
  const recorded = recordedWindowSchema.safeParse(raw);
  if (!recorded.success) {
    const name = raw && typeof raw === 'object' && 'name' in raw && typeof raw.name === 'string' ? raw.name : undefined;
    throw new ReplayError(problemsText(label(name), describeIssues(recorded.error.issues)));
  }
  const { name, description: _description, intervalMinutes, baseline, canary, ...config } = recorded.data;
  try {
    const parsed = parseInput({ intervalMinutes, baseline, canary }, config);
    return { name, verdict: replay(parsed.window, parsed.config), intervalMinutes: parsed.window.intervalMinutes };
  } catch (error) {
    if (error instanceof JudgeInputError) throw new ReplayError(problemsText(label(name), error.problems));
    throw error;
  }
}

// Judge the window as the canary stage would have: after every interval, stopping at
// the first failing verdict. The verdict shown is the one the stage would have acted on.
function replay(window: Window, config: CanaryConfig): Verdict {
  const intervals = Object.values(window.canary)[0]?.length ?? 0;
  const verdict = judgeParsed(window, config);
  for (let t = 1; t < intervals; t++) {
    const early = judgeParsed(prefix(window, t), config);
    if (early.outcome === 'fail') return early;
  }
  return verdict;
}

function prefix(window: Window, intervals: number): Window {
  const cut = (group: Window['canary']): Window['canary'] =>
    Object.fromEntries(Object.entries(group).map(([series, values]) => [series, values.slice(0, intervals)]));
  return { intervalMinutes: window.intervalMinutes, baseline: cut(window.baseline), canary: cut(window.canary) };
}

function problemsText(where: string, problems: readonly string[]): string {
  return `cannot judge ${where}:\n${problems.map((p) => `  - ${p}`).join('\n')}`;
}

// JSON has no Infinity; a "0 vs some" ratio is written as the string "Infinity" rather than null.
function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return Number.isNaN(value) ? null : String(value);
  return value;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      // A bug, not a user mistake: operators get the stack trace.
      console.error(error);
      process.exitCode = 1;
    },
  );
}
