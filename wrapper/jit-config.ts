// An ephemeral container's one registration: the supervisor hands it the
// runner's just-in-time config through `docker exec` into a root-only tmpfs
// file (never an argument, a host file or the container's settings), and the
// wrapper gives it to run.sh as ACTIONS_RUNNER_INPUT_JITCONFIG, which the
// Listener reads and removes from its environment (CommandSettings.cs).
import { stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError } from '../core/errors.ts';
import { readBytes } from '../core/safe-read.ts';

/** A JIT config is a few KiB of base64 (three small files, JSON, base64 again). */
export const MAX_JIT_CONFIG_BYTES = 64 * 1024;

export interface JitWait {
  /** How long to wait for the supervisor; a container started by other means never gets one. */
  timeoutMs: number;
  pollMs?: number;
  /** Aborted by a stop signal: the container ends without running anything. */
  signal?: AbortSignal;
}

/**
 * Waits for the config file, reads it (bounded, not through a symlink, only
 * from a root-owned directory nobody else can write) and deletes it, so the
 * config lives on only in run.sh's environment. Undefined when aborted.
 */
export async function receiveJitConfig(path: string, { timeoutMs, pollMs = 100, signal }: JitWait): Promise<string | undefined> {
  await requireRootOnlyDir(dirname(path));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (signal?.aborted) return undefined;
    const read = await readBytes(path, MAX_JIT_CONFIG_BYTES);
    if ('bytes' in read) {
      await unlink(path);
      if (process.getuid?.() === 0 && read.info.uid !== 0)
        throw new ConfigError(`the JIT config at ${path} is not root's (uid ${read.info.uid}): refused; only the supervisor delivers it`);
      const config = read.bytes.toString('utf8').trim();
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(config))
        throw new ConfigError(`the JIT config at ${path} is not base64: refused (the supervisor sends generate-jitconfig's encoded_jit_config as it is)`);
      return config;
    }
    if (!('missing' in read)) throw new ConfigError(`the JIT config at ${path} is ${read.bad}: refused`);
    if (Date.now() >= deadline) {
      throw new ConfigError(
        `no JIT config arrived at ${path} within ${Math.round(timeoutMs / 1000)} s: an ephemeral runner is started by the supervisor (make supervise), which hands it one`,
      );
    }
    await sleep(pollMs, undefined, signal ? { signal } : {}).catch(() => undefined);
  }
}

/** The directory must be root's and closed to others (the tmpfs compose mounts, mode 0700). */
async function requireRootOnlyDir(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory())
    throw new ConfigError(
      `RUNNER_FLEET_JIT_FILE's directory ${dir} does not exist: the ephemeral compose service mounts a tmpfs there; regenerate the compose file (make compose)`,
    );
  if ((process.getuid?.() === 0 && info.uid !== 0) || (info.mode & 0o077) !== 0) {
    throw new ConfigError(
      `RUNNER_FLEET_JIT_FILE's directory ${dir} is open to others (mode ${(info.mode & 0o777).toString(8)}, uid ${info.uid}): it must be root's, mode 0700`,
    );
  }
}
