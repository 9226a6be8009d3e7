// locks.log: one JSON line per event an operator may need later (takeovers,
// forced releases, lost locks, bad entries found in the directory), appended
// by the wrapper and by `make locks release`. The log lives in a directory
// jobs can write: it is opened O_APPEND|O_NOFOLLOW|O_CREAT|O_NONBLOCK and
// written only if the descriptor is a regular file, so a symlink never makes
// us append to another file and a FIFO never blocks. It names runners and
// runs of every org: root's alone (RECORD_MODE), also when an older version
// left it readable by all.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { RECORD_MODE } from './files.ts';
import { entryKind, errorCode } from '../core/safe-read.ts';
import { logPath } from './layout.ts';

export interface LogEntry {
  event: string;
  resource: string;
  [key: string]: unknown;
}

/** Appends one JSON line to the directory's log; small appends are atomic. Rejects (one line) when locks.log is not a regular file. */
export async function appendLockLog(dir: string, entry: LogEntry): Promise<void> {
  const line = JSON.stringify({ time: new Date().toISOString(), ...entry });
  let handle;
  try {
    handle = await open(logPath(dir), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, RECORD_MODE);
  } catch (err) {
    const code = errorCode(err);
    const what = code === 'ELOOP' ? 'a symlink' : code === 'ENXIO' ? 'a FIFO' : `unwritable (${code ?? (err as Error).message})`;
    throw new Error(`${logPath(dir)} is ${what}: not written`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new Error(`${logPath(dir)} is ${entryKind(info)}: not written`);
    if ((info.mode & 0o777) !== RECORD_MODE) await handle.chmod(RECORD_MODE).catch(() => undefined);
    await handle.write(`${line}\n`);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * Makes an existing locks.log root's alone (an older version wrote it 0644),
 * through a descriptor opened without following links or blocking. Never rejects.
 */
export async function protectLockLog(dir: string): Promise<void> {
  const handle = await open(logPath(dir), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => undefined);
  if (!handle) return;
  try {
    const info = await handle.stat();
    if (info.isFile() && (info.mode & 0o777) !== RECORD_MODE) await handle.chmod(RECORD_MODE);
  } catch {
    // not ours to change (not root): the next entry tries again
  } finally {
    await handle.close().catch(() => undefined);
  }
}

const reported = new Set<string>();

/**
 * Reports an entry that does not belong in the lock directory (one line in
 * locks.log), once per process and entry, so a waiter polling past it does not
 * flood the log. Never rejects.
 */
export async function reportBadEntry(dir: string, resource: string, path: string, what: string, action: string): Promise<void> {
  const key = `${path}\0${what}`;
  if (reported.has(key)) return;
  if (reported.size > 1000) reported.clear();
  reported.add(key);
  await appendLockLog(dir, { event: 'bad-entry', resource, path, found: what, action }).catch(() => undefined);
}
