// The wrapper's settings, all from the container environment, validated once.
import { hostname } from 'node:os';
import { ConfigError } from '../lib/errors.ts';
import { RUNNER_HOME, RUNNER_SCRIPT } from '../lib/image-layout.ts';
import { isValidResource } from '../lib/lock-layout.ts';
import { defaultLockDir } from '../lib/locks.ts';

export interface WrapperConfig {
  /** Unset: the wrapper only supervises the runner, no lock. */
  resource?: string;
  lockDir: string;
  runnerScript: string;
  /** The runner's root: Runner.Listener applies `.env` there over its environment. */
  runnerHome: string;
  runnerName: string;
  staleMs: number;
  updateMs: number;
  pollMs: number;
  progressMs: number;
  stopGraceMs: number;
  socketPath: string;
  /** Matches the command line of the job's worker process among the hook's ancestors. */
  workerPattern: RegExp;
}

export const defaultSocketPath = '/tmp/runner-fleet/wrapper.sock';

function intSetting(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name}=${raw} is invalid: use a whole number of milliseconds from ${min} to ${max}`);
  }
  return value;
}

export function loadWrapperConfig(env: NodeJS.ProcessEnv = process.env): WrapperConfig {
  const resource = env.RUNNER_RESOURCE_ID || undefined;
  if (resource !== undefined && !isValidResource(resource)) {
    throw new ConfigError(`RUNNER_RESOURCE_ID=${resource} is invalid: use letters, digits, '-' and '_' (at most 64)`);
  }
  // proper-lockfile never treats a lock as stale below 2 s.
  const staleMs = intSetting(env, 'RUNNER_LOCK_STALE_MS', 8000, 2000, 600_000);
  const updateMs = intSetting(env, 'RUNNER_LOCK_UPDATE_MS', Math.max(1000, Math.floor(staleMs / 4)), 1000, Math.floor(staleMs / 2));
  return {
    resource,
    lockDir: env.RUNNER_LOCK_DIR || defaultLockDir,
    runnerScript: env.RUNNER_SCRIPT || RUNNER_SCRIPT,
    runnerHome: env.RUNNER_HOME || RUNNER_HOME,
    runnerName: env.RUNNER_NAME || hostname(),
    staleMs,
    updateMs,
    pollMs: intSetting(env, 'RUNNER_LOCK_POLL_MS', 500, 10, 10_000),
    progressMs: intSetting(env, 'RUNNER_LOCK_PROGRESS_MS', 10_000, 100, 600_000),
    stopGraceMs: intSetting(env, 'RUNNER_STOP_GRACE_MS', 7000, 0, 600_000),
    socketPath: env.RUNNER_FLEET_SOCKET || defaultSocketPath,
    workerPattern: new RegExp(env.RUNNER_WORKER_MATCH || 'Runner\\.Worker'),
  };
}
