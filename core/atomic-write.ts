// Files are replaced whole or not at all: write a temp file beside the target,
// then rename it over the target (rename is atomic on one filesystem). The one
// way this toolkit writes a file that someone else may be reading.
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** File mode, applied before any content is written (secrets never sit world-readable). */
  mode?: number;
  /** Owner to give the file (only root can); a rewritten file keeps its owner this way. */
  owner?: { uid: number; gid: number };
  /**
   * fsync before the rename (default). Lock state passes false: it is
   * meaningless after a reboot, and it is written on the hand-over path where
   * milliseconds count.
   */
  durable?: boolean;
}

export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  { mode = 0o644, owner, durable = true }: AtomicWriteOptions = {},
): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.chmod(mode); // open() applies the umask; the mode asked for must win
    if (owner) await handle.chown(owner.uid, owner.gid);
    await handle.writeFile(data);
    if (durable) await handle.sync();
    await handle.close();
    await rename(temp, path);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
}
