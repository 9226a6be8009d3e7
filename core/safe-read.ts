// Reading what someone else may have written, safely: files in the lock
// directory and a job's home are untrusted input. Nothing here follows a
// symlink, opens a FIFO in a way that could block, or reads more than asked.
import { constants, type Stats } from 'node:fs';
import { lstat, open } from 'node:fs/promises';

/** `code` is the errno when the file could not be opened or read (EACCES: not root). */
export type BytesRead = { bytes: Buffer; info: Stats } | { missing: true } | { bad: string; code?: string };

export function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

export function isMissing(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** What an entry is, for one-line reports: "a directory", "a FIFO", … */
export function entryKind(info: Stats): string {
  if (info.isFile()) return 'a regular file';
  if (info.isDirectory()) return 'a directory';
  if (info.isSymbolicLink()) return 'a symlink';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  return 'a device';
}

/** lstat, or undefined when the entry is missing. */
export async function lstatIfPresent(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/**
 * Reads a small file: a regular file (lstat), not through a symlink
 * (O_NOFOLLOW), opened with O_NONBLOCK so a FIFO swapped in meanwhile cannot
 * block, type checked again on the open descriptor (fstat), at most `max` bytes.
 */
export async function readBytes(path: string, max: number): Promise<BytesRead> {
  // Type first, without opening: opening some devices has side effects.
  const first = await lstatIfPresent(path).catch((err: unknown) => err as Error);
  if (first === undefined) return { missing: true };
  if (first instanceof Error) return { bad: `unreadable (${errorCode(first) ?? first.message})` };
  if (!first.isFile()) return { bad: entryKind(first) };
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if (isMissing(err)) return { missing: true };
    if (errorCode(err) === 'ELOOP') return { bad: 'a symlink' };
    return { bad: `unreadable (${errorCode(err) ?? (err as Error).message})`, code: errorCode(err) };
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return { bad: entryKind(info) };
    if (info.size > max) return { bad: `larger than ${max} bytes` };
    const buffer = Buffer.alloc(max + 1);
    const { bytesRead } = await handle.read(buffer, 0, max + 1, 0);
    if (bytesRead > max) return { bad: `larger than ${max} bytes` };
    return { bytes: buffer.subarray(0, bytesRead), info };
  } catch (err) {
    return { bad: `unreadable (${errorCode(err) ?? (err as Error).message})` };
  } finally {
    await handle.close().catch(() => undefined);
  }
}
