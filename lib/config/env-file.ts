// Reading and updating the user's .env file. Updates keep every other line and
// comment as the user wrote them, and land atomically with mode 0600 (the file
// holds the PAT).
import { readFile, stat } from 'node:fs/promises';
import { parse } from 'dotenv';
import { writeFileAtomic } from '../../core/atomic-write.ts';
import { ConfigError } from '../../core/errors.ts';

/** An env file as read: its values, and what the warnings about it need. */
export interface EnvFile {
  values: Record<string, string>;
  /** Settings whose unquoted value is cut at a '#' (see settingsCutAtHash). */
  cutAtHash: string[];
  /** Users other than the owner can read it (a PAT must not sit in such a file). */
  readableByOthers: boolean;
}

/** The env file at `path`, read once; undefined when it does not exist. */
export async function readEnvFile(path: string): Promise<EnvFile | undefined> {
  const file = await readTextIfExists(path);
  if (file === undefined) return undefined;
  return { values: parse(file.text), cutAtHash: settingsCutAtHash(file.text), readableByOthers: (file.mode & 0o077) !== 0 };
}

/** Sets `values` in the env file at `path` (created if missing), leaving every other line untouched. */
export async function updateEnvFile(path: string, values: Record<string, string>): Promise<void> {
  const original = (await readTextIfExists(path))?.text ?? '';
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

/** An env file larger than this is not a settings file (and is not read whole). */
const MAX_ENV_FILE_BYTES = 1024 * 1024;

async function readTextIfExists(path: string): Promise<{ text: string; mode: number } | undefined> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new ConfigError(`the env file ${path} cannot be read (${code}): fix ENV_FILE or the file's permissions`);
  }
  if (!info.isFile()) throw new ConfigError(`the env file ${path} is not a regular file: point ENV_FILE at a file of KEY=VALUE lines`);
  if (info.size > MAX_ENV_FILE_BYTES)
    throw new ConfigError(`the env file ${path} is ${info.size} bytes, too large for a settings file: point ENV_FILE at a file of KEY=VALUE lines`);
  try {
    return { text: await readFile(path, 'utf8'), mode: info.mode };
  } catch (err) {
    throw new ConfigError(`the env file ${path} cannot be read (${(err as NodeJS.ErrnoException).code}): fix ENV_FILE or the file's permissions`);
  }
}

/**
 * Settings whose unquoted value holds a '#': dotenv reads everything from the
 * '#' on as a comment, so the value in use is cut short (a password in a proxy
 * URL, a PAT). Names only; the value is never shown.
 */
export function settingsCutAtHash(text: string): string[] {
  const cut: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([\w.-]+)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    const value = m[2] ?? '';
    if (/^['"`]/.test(value)) continue; // quoted: '#' is kept
    // '#' at the start of the value or after a space is an ordinary comment
    if (/[^\s#]#/.test(value)) cut.push(m[1]!);
  }
  return cut;
}
