// Reading and updating the user's .env file. Updates keep every other line and
// comment as the user wrote them, and land atomically with mode 0600 (the file
// holds the PAT).
import { readFile, stat } from 'node:fs/promises';
import { parse } from 'dotenv';
import { writeFileAtomic } from '../../lock/atomic-write.ts';

export async function readEnvFile(path: string): Promise<Record<string, string> | undefined> {
  const text = await readTextIfExists(path);
  return text === undefined ? undefined : parse(text);
}

/** Whether users other than the owner can read the file (a PAT must not sit in such a file). */
export async function isReadableByOthers(path: string): Promise<boolean> {
  try {
    return ((await stat(path)).mode & 0o077) !== 0;
  } catch {
    return false;
  }
}

/** Sets `values` in the env file at `path` (created if missing), leaving every other line untouched. */
export async function updateEnvFile(path: string, values: Record<string, string>): Promise<void> {
  const original = (await readTextIfExists(path)) ?? '';
  await writeFileAtomic(path, setEnvValues(original, values), { mode: 0o600 });
}

/** Pure text transform behind updateEnvFile: replaces `KEY=…` lines in place, appends new keys. */
export function setEnvValues(text: string, values: Record<string, string>): string {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  for (const [key, value] of Object.entries(values)) {
    const assignment = `${key}=${quoteEnvValue(value)}`;
    const at = lines.findIndex((line) => new RegExp(`^\\s*(export\\s+)?${key}\\s*=`).test(line));
    if (at >= 0) lines[at] = assignment;
    else lines.push(assignment);
  }
  return `${lines.join('\n')}\n`;
}

function quoteEnvValue(value: string): string {
  if (/^[A-Za-z0-9_./:@,+=-]*$/.test(value)) return value;
  if (!value.includes("'") && !value.includes('\n')) return `'${value}'`;
  return JSON.stringify(value); // dotenv reads double quotes with \n escapes
}

async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
