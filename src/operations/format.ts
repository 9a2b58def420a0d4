import type { AppLock, Operation } from '../store/items.js';

/** "4m 07s", "52s", "1h 03m", "7d", "1d 06h": how long something took (or will take), as people read it. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${String(seconds % 60).padStart(2, '0')}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${String(minutes % 60).padStart(2, '0')}m`;
  return hours % 24 === 0 ? `${hours / 24}d` : `${Math.floor(hours / 24)}d ${String(hours % 24).padStart(2, '0')}h`;
}

/** "12:03 UTC" for today-ish times, with the date otherwise. */
export function formatTime(at: number, now: number): string {
  const iso = new Date(at).toISOString();
  const sameDay = iso.slice(0, 10) === new Date(now).toISOString().slice(0, 10);
  return sameDay ? `${iso.slice(11, 16)} UTC` : `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** Where a running operation is: its running step and what it last said, or between steps the one just done. */
export function whereItIs(operation: Operation, titleOf: (step: string) => string): string {
  const current = operation.steps.findLast((s) => s.status === 'running');
  if (current) return `${titleOf(current.name)}${current.detail ? ` · ${current.detail}` : ''}`;
  const last = operation.steps.at(-1);
  return last ? `Starting the step after “${titleOf(last.name)}”` : 'Starting';
}

/** What holds an app's lock, as chat says it: "baking v41", "releasing v41", "rolling back to v40" (with the app: "rolling demo back to v40"). */
export function lockActivity(lock: Pick<AppLock, 'kind' | 'version'>, app?: string): string {
  const named = app ? `${app} ${lock.version}` : lock.version;
  if (lock.kind === 'bake') return `baking ${named}`;
  if (lock.kind === 'canary') return `releasing ${named}`;
  return app ? `rolling ${app} back to ${lock.version}` : `rolling back to ${lock.version}`;
}

/** Rows of cells as a code block's table: each column as wide as its widest cell, two spaces between. */
export function alignColumns(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => [...(row[i] ?? '')].length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
}
