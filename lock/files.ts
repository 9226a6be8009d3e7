// Small file helpers for the lock directory, which is shared by several UIDs.
import { chmod, mkdir } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-write.ts';

/** mkdir that leaves the directory 0777 (no sticky bit) whatever the umask. */
export async function ensureSharedDir(path: string): Promise<void> {
  const created = await mkdir(path, { recursive: true, mode: 0o777 });
  if (created !== undefined) await chmod(path, 0o777).catch(() => undefined);
}

export function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** Replaces a lock-directory file whole, readable and replaceable by every runner's UID. */
export function replaceSharedFile(path: string, data: string): Promise<void> {
  return writeFileAtomic(path, data, { mode: 0o666, durable: false });
}
