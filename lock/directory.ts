// The lock directory itself: prepared on the host before board runners start,
// checked by each wrapper at start-up (a runner must not take jobs it could
// not lock for). Each failure is one line naming the setting and the fix.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError, ConfigError, ExitCode } from './errors.ts';
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

/**
 * The shared lock directory on the host: 0777 without the sticky bit, so every
 * org's runner UID can queue and clear a stale lock. Created when missing, and
 * repaired when Docker re-created it root-owned 0755 (e.g. /tmp cleared at boot).
 */
export async function prepareLockDir(path: string, log: (line: string) => void): Promise<void> {
  let mode: number | undefined;
  try {
    const info = await stat(path);
    if (!info.isDirectory()) throw new CliError(`RUNNER_LOCK_HOST_PATH ${path} is not a directory: point RUNNER_LOCK_HOST_PATH at a directory`, ExitCode.config);
    mode = info.mode & 0o7777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (mode === 0o777) return;
  if (mode === undefined) await mkdir(path, { recursive: true });
  try {
    await chmod(path, 0o777);
  } catch {
    const shown = mode === undefined ? 'just created' : `mode ${mode.toString(8).padStart(4, '0')}`;
    throw new CliError(`RUNNER_LOCK_HOST_PATH ${path} (${shown}) must be mode 0777 for the runners: run sudo chmod 0777 ${path}`, ExitCode.config);
  }
  log(mode === undefined ? `Created the shared lock directory ${path} (mode 0777)` : `Set the shared lock directory ${path} to mode 0777 (was ${mode.toString(8).padStart(4, '0')})`);
}
