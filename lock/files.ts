// Small file helpers for the lock directory, which is shared by several UIDs
// and writable by jobs: everything found in it is untrusted input. Nothing
// here follows a symlink, reads more than a few KiB, opens a FIFO in a way
// that could block, or deletes recursively.
import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { chmod, lstat, mkdir, rename, rmdir, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { entryKind, errorCode, isMissing, lstatIfPresent, readBytes } from '../core/safe-read.ts';

/** Records (tickets, holder record, counter) are a few hundred bytes: anything larger is not ours. */
export const maxRecordBytes = 8192;

/**
 * The mode of every file the lock writes (tickets, holder record, counter,
 * locks.log): root's alone. The directory is bind-mounted into every board
 * runner of every org, and records name repositories and runs: no job may
 * read another org's. The wrappers and the host tools run as root.
 */
export const RECORD_MODE = 0o600;

/** `code` is the errno when the file could not be opened or read (EACCES: not root). */
export type RecordRead = { text: string; info: Stats } | { missing: true } | { bad: string; code?: string };

/** readBytes as UTF-8 text. */
export async function readRecord(path: string, max = maxRecordBytes): Promise<RecordRead> {
  const read = await readBytes(path, max);
  return 'bytes' in read ? { text: read.bytes.toString('utf8'), info: read.info } : read;
}

/**
 * A directory the protocol owns (the queue): created 0755 whatever the umask
 * (only the wrappers, as root, write the lock directory). Anything else in its place (a symlink, a file) is
 * moved aside first; returns what was found there, if anything.
 */
export async function ensureSharedDir(path: string): Promise<string | undefined> {
  let found: string | undefined;
  const info = await lstatIfPresent(path);
  if (info && !info.isDirectory()) {
    found = entryKind(info);
    await removeEntry(path);
  }
  const created = await mkdir(path, { mode: 0o755 }).then(
    () => true,
    (err: unknown) => {
      if (errorCode(err) === 'EEXIST') return false;
      throw err;
    },
  );
  if (created) await chmod(path, 0o755).catch(() => undefined);
  else if (!(await lstat(path)).isDirectory()) throw new Error(`${path} is not a directory`);
  return found;
}

/**
 * Removes a foreign entry without following it and never recursively (a
 * recursive delete of a tree a job controls can be raced into deleting
 * outside it): a symlink, FIFO or file is unlinked, an empty directory
 * removed, a non-empty one renamed aside to a dot name nothing reads.
 */
export async function removeEntry(path: string): Promise<void> {
  const info = await lstatIfPresent(path);
  if (!info) return;
  try {
    if (!info.isDirectory()) return await unlink(path);
    await rmdir(path);
  } catch (err) {
    if (isMissing(err)) return;
    const code = errorCode(err);
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EISDIR' && code !== 'EPERM') throw err;
    await rename(path, join(dirname(path), `.junk-${basename(path)}-${randomBytes(4).toString('hex')}`)).catch((e: unknown) => {
      if (!isMissing(e)) throw e;
    });
  }
}

/** Unlinks `path` only if it is a regular file (and the very inode `ino`, when given). */
export async function unlinkRegular(path: string, ino?: number): Promise<boolean> {
  const info = await lstatIfPresent(path);
  if (!info?.isFile() || (ino !== undefined && info.ino !== ino)) return false;
  try {
    await unlink(path);
    return true;
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
}

/** Replaces a lock-directory file whole (root's, RECORD_MODE). */
export async function replaceSharedFile(path: string, data: string): Promise<void> {
  try {
    await writeFileAtomic(path, data, { mode: RECORD_MODE, durable: false });
  } catch (err) {
    // rename() over a directory planted there fails: move it aside, once.
    const code = errorCode(err);
    if (code !== 'EISDIR' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    await removeEntry(path);
    await writeFileAtomic(path, data, { mode: RECORD_MODE, durable: false });
  }
}
