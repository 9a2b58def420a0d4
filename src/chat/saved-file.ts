/*
 * Where the terminal chat keeps the pictures it cannot show: <data dir>/charts/<name>. The name
 * comes from outside (an app, a version), so only letters, digits, dot, dash and underscore are
 * kept of it; it can never climb out of the folder or hide as a dot-file.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

const maxNameLength = 120;

/** Writes `bytes` under the data dir and returns the absolute path. The same name is overwritten: a re-posted chart replaces itself. */
export async function saveChartFile(dataDir: string, filename: string, bytes: Buffer): Promise<string> {
  const folder = resolve(dataDir, 'charts');
  await mkdir(folder, { recursive: true });
  const path = join(folder, safeFileName(filename, '.png'));
  await writeFile(path, bytes);
  return path;
}

/** `filename` reduced to [A-Za-z0-9._-], no leading dot or dash, ending in `extension`. */
function safeFileName(filename: string, extension: string): string {
  const given = filename.toLowerCase().endsWith(extension) ? filename.slice(0, -extension.length) : filename;
  const stem = given
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/[-.]*-[-.]*/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[.-]+|[.-]+$/g, '')
    .slice(0, maxNameLength);
  return `${stem || 'chart'}${extension}`;
}
