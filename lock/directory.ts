// The lock directory itself: prepared on the host before board runners start,
// checked by each wrapper at start-up, each failure one line naming the
// setting and the fix. Root's, 0755, never followed through a symlink; why:
// docs/lock-protocol.md#the-directory
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError, ConfigError, ExitCode } from '../core/errors.ts';
import { errorCode, lstatIfPresent } from '../core/safe-read.ts';
import { protectLockLog } from './lock-log.ts';

/** Owner and mode of the lock directory: root's, writable by root alone. */
export const LOCK_DIR_MODE = 0o755;

type Log = (line: string) => void;

const octal = (mode: number): string => mode.toString(8).padStart(4, '0');

/**
 * Makes `path` (already a directory) root-owned 0755 through a descriptor
 * opened without following links; returns what it was, or undefined when it
 * was right. Throws `fix` when it is wrong and this process may not change it.
 */
async function ownByRoot(path: string, fix: (was: string) => Error): Promise<string | undefined> {
  const handle = await open(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    const info = await handle.stat();
    const mode = info.mode & 0o7777;
    if (info.uid === 0 && info.gid === 0 && mode === LOCK_DIR_MODE) return undefined;
    const was = `owner ${info.uid}:${info.gid}, mode ${octal(mode)}`;
    if (process.getuid?.() !== 0) throw fix(was);
    await handle.chown(0, 0);
    await handle.chmod(LOCK_DIR_MODE);
    return was;
  } finally {
    await handle.close();
  }
}

export async function checkLockDir(dir: string, log: Log = () => {}): Promise<void> {
  const where = `lock directory RUNNER_LOCK_DIR=${dir}`;
  const info = await lstatIfPresent(dir).catch(() => undefined);
  if (!info) {
    throw new ConfigError(`${where} is missing: bind-mount the host directory RUNNER_LOCK_HOST_PATH there (make init creates it)`);
  }
  if (info.isSymbolicLink() || !info.isDirectory()) {
    throw new ConfigError(
      `${where} is ${info.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}: bind-mount the host directory RUNNER_LOCK_HOST_PATH there`,
    );
  }
  // As root (the image's way), make it root's whatever the host left it: a
  // fleet from before still has it 0777, writable by every job.
  if (process.getuid?.() === 0) {
    const was = await ownByRoot(dir, () => new ConfigError(`${where} cannot be made root's`));
    if (was) log(`made the ${where} root-owned, mode ${octal(LOCK_DIR_MODE)} (was ${was}): jobs can no longer write it`);
    await protectLockLog(dir); // it names other orgs' runs: not for jobs to read
  }
  const probe = join(dir, `.probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(probe, '', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    const uid = process.getuid?.() ?? '?';
    throw new ConfigError(
      `${where} is not writable by uid ${uid} (${errorCode(err)}): run the wrapper as root (the image's default) and mount RUNNER_LOCK_HOST_PATH read-write`,
    );
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
      throw new ConfigError(
        `${where} does not keep file mtimes, which the lock's heartbeats need: use a host-local directory (not NFS) for RUNNER_LOCK_HOST_PATH`,
      );
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${where} does not let this runner set file mtimes (${errorCode(err)}): use a host-local directory for RUNNER_LOCK_HOST_PATH`);
  } finally {
    await rm(probe, { force: true });
  }
}

/**
 * The shared lock directory on the host: created when missing, made root's
 * (0755) when it is not — a directory left 0777 by an older version, or
 * re-created by dockerd after a reboot cleared /tmp. Never through a symlink.
 */
export async function prepareLockDir(path: string, log: Log): Promise<void> {
  const setting = `RUNNER_LOCK_HOST_PATH ${path}`;
  const info = await lstatIfPresent(path);
  if (info?.isSymbolicLink()) throw new CliError(`${setting} is a symbolic link: point RUNNER_LOCK_HOST_PATH at the directory itself`, ExitCode.config);
  if (info && !info.isDirectory()) throw new CliError(`${setting} is not a directory: point RUNNER_LOCK_HOST_PATH at a directory`, ExitCode.config);
  if (!info) await mkdir(path, { recursive: true, mode: LOCK_DIR_MODE });
  const was = await ownByRoot(
    path,
    (was) =>
      new CliError(
        `${setting} (${was}) must belong to root, mode 0755, so that no job can write it: run sudo chown root:root ${path} && sudo chmod 0755 ${path}`,
        ExitCode.config,
      ),
  );
  await protectLockLog(path);
  if (!info) log(`Created the shared lock directory ${path} (root, mode ${octal(LOCK_DIR_MODE)})`);
  else if (was !== undefined) log(`Made the shared lock directory ${path} root's, mode ${octal(LOCK_DIR_MODE)} (was ${was}): jobs can no longer write it`);
}
