// Start-up check of the lock directory: a runner must not take jobs it could
// not lock for. Each failure is one line naming the setting and the fix.
import { randomBytes } from 'node:crypto';
import { rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../lib/errors.ts';
import { errorCode } from './files.ts';


export async function checkLockDir(dir: string): Promise<void> {
  const where = `lock directory RUNNER_LOCK_DIR=${dir}`;
  let info;
  try {
    info = await stat(dir);
  } catch (err) {
    throw new ConfigError(`${where} is missing (${errorCode(err)}): bind-mount the host directory RUNNER_LOCK_HOST_PATH there (create it on the host with mode 0777)`);
  }
  if (!info.isDirectory()) {
    throw new ConfigError(`${where} is not a directory: bind-mount the host directory RUNNER_LOCK_HOST_PATH there`);
  }
  if (info.mode & 0o1000) {
    throw new ConfigError(`${where} has the sticky bit, so runners of another UID could not clear a stale lock: on the host run chmod 0777 on RUNNER_LOCK_HOST_PATH`);
  }
  const probe = join(dir, `.probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(probe, '', { mode: 0o666 });
  } catch (err) {
    const uid = process.getuid?.() ?? '?';
    throw new ConfigError(`${where} is not writable by uid ${uid} (${errorCode(err)}): on the host run chmod 0777 on RUNNER_LOCK_HOST_PATH (no sticky bit) and mount it read-write`);
  }
  try {
    // Heartbeats are mtimes: they must be settable and read back as set.
    const past = new Date(Date.now() - 120_000);
    await utimes(probe, past, past);
    const seen = (await stat(probe)).mtimeMs;
    const now = new Date();
    await utimes(probe, now, now);
    const seenNow = (await stat(probe)).mtimeMs;
    if (Math.abs(seen - past.getTime()) > 2000 || Math.abs(seenNow - now.getTime()) > 2000) {
      throw new ConfigError(`${where} does not keep file mtimes, which the lock's heartbeats need: use a host-local directory (not NFS) for RUNNER_LOCK_HOST_PATH`);
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${where} does not let this runner set file mtimes (${errorCode(err)}): use a host-local directory for RUNNER_LOCK_HOST_PATH, mode 0777`);
  } finally {
    await rm(probe, { force: true });
  }
}
