// Small file helpers for the lock directory, which is shared by several UIDs.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Replaces a file whole (temp file + rename). No fsync, unlike
 * lib/atomic-write.ts: lock state is meaningless after a reboot, and this runs
 * on the hand-over path where milliseconds count.
 */
export async function replaceFile(path: string, data: string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temp, data, { mode: 0o666 });
    await chmod(temp, 0o666); // the umask must not stop another UID's runner from replacing it
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** mkdir that leaves the directory 0777 (no sticky bit) whatever the umask. */
export async function ensureSharedDir(path: string): Promise<void> {
  const created = await mkdir(path, { recursive: true, mode: 0o777 });
  if (created !== undefined) await chmod(path, 0o777).catch(() => undefined);
}

export function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}
