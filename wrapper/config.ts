// The wrapper's settings, all from the container environment, validated once.
// The runner's .env never sets them: the wrapper writes that file from the
// image's at every start without them (wrapper/runner-env-file.ts).
import { hostname } from 'node:os';
import { ConfigError } from '../core/errors.ts';
import { IMAGE_ENV_FILE, RUNNER_HOME, RUNNER_SCRIPT, WRAPPER_STOP_GRACE_MS } from '../core/constants.ts';
import { isValidResource } from '../lock/layout.ts';
import { defaultLockDir } from '../lock/layout.ts';
import { parseLogMaxBytes } from '../lock/lock-log.ts';
import { parseLockBackendSettings, type EtcdSettings, type LockBackendName } from '../lock/etcd/settings.ts';

export interface WrapperConfig {
  /** Unset: the wrapper only supervises the runner, no lock. */
  resource?: string;
  /**
   * Where the lock is (RUNNER_LOCK_BACKEND): the lock directory (default), or
   * etcd (RUNNER_LOCK_ETCD_*). With etcd, locks.log is still written to
   * lockDir when it is mounted: the same turn events, this host's.
   */
  lockBackend: LockBackendName;
  /** Set when lockBackend is etcd; holds the password: never logged. */
  etcd?: EtcdSettings;
  lockDir: string;
  runnerScript: string;
  /** The runner's root: Runner.Listener applies `.env` there over its environment. */
  runnerHome: string;
  /** Root's copy of the image's .env, which the runner's .env is written from at every start. */
  imageEnvFile: string;
  /**
   * The user run.sh runs as when the wrapper is root (RUNNER_FLEET_USER, baked
   * into the image from the base image's USER); unset: the wrapper's own user.
   */
  runnerUser?: string;
  runnerName: string;
  /**
   * The fleet's org (RUNNER_FLEET_ORG, set by the compose file from ORG),
   * named in locks.log's history lines; unset on a container made before it was.
   */
  org?: string;
  staleMs: number;
  updateMs: number;
  pollMs: number;
  progressMs: number;
  stopGraceMs: number;
  socketPath: string;
  /** Whether a proxy URL with credentials reaches run.sh, and so every job, as given (RUNNER_PROXY_TO_JOBS=true); else a relay adds them (runner-proxy.ts). */
  proxyToJobs: boolean;
  /** Ephemeral runners: where the supervisor puts the JIT config (RUNNER_FLEET_JIT_FILE); unset: a persistent runner. */
  jitFile?: string;
  /** How long an ephemeral container waits for its JIT config (RUNNER_FLEET_JIT_WAIT_MS). */
  jitWaitMs: number;
}

/** Every knob's default, in one place (the hooks and the entrypoint use these too). */
export const WRAPPER_DEFAULTS = {
  lockDir: defaultLockDir,
  runnerScript: RUNNER_SCRIPT,
  runnerHome: RUNNER_HOME,
  imageEnvFile: IMAGE_ENV_FILE,
  staleMs: 8000,
  pollMs: 500,
  progressMs: 10_000,
  stopGraceMs: WRAPPER_STOP_GRACE_MS,
  socketPath: '/tmp/runner-fleet/wrapper.sock',
  jitWaitMs: 120_000,
} as const;

/**
 * Names the wrapper and its hooks read from the environment (its settings,
 * the hook variables, the user hooks it chains), matched without case: only
 * the container's environment sets them, no line of the runner's .env.
 */
export const WRAPPER_SETTING = new RegExp(
  '^(?:RUNNER_FLEET_|RUNNER_LOCK_|ACTIONS_RUNNER_HOOK_)' +
    '|^(?:RUNNER_RESOURCE_ID|RUNNER_WORKER_MATCH|RUNNER_STOP_GRACE_MS|RUNNER_SCRIPT|RUNNER_HOME|RUNNER_PROXY_TO_JOBS)$',
  'i',
);

/** What a job hook needs to reach the wrapper; read from the job's environment. */
export interface HookConfig {
  socketPath: string;
  pollMs: number;
}

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
  const staleMs = intSetting(env, 'RUNNER_LOCK_STALE_MS', WRAPPER_DEFAULTS.staleMs, 2000, 600_000);
  const updateMs = intSetting(env, 'RUNNER_LOCK_UPDATE_MS', Math.max(1000, Math.floor(staleMs / 4)), 1000, Math.floor(staleMs / 2));
  // lock-log.ts reads it from the environment at every line: a bad value is refused here, at start.
  const logMax = parseLogMaxBytes(env.RUNNER_LOCK_LOG_MAX_BYTES);
  if (typeof logMax !== 'number') throw new ConfigError(logMax.invalid);
  const org = env.RUNNER_FLEET_ORG || undefined;
  if (org !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(org)) {
    throw new ConfigError(`RUNNER_FLEET_ORG=${org} is invalid: an org or enterprise name (letters, digits, '-', '_', '.'; at most 100)`);
  }
  const backend = parseLockBackendSettings(env);
  const proxyToJobs = (env.RUNNER_PROXY_TO_JOBS || 'false').toLowerCase();
  if (proxyToJobs !== 'true' && proxyToJobs !== 'false') {
    throw new ConfigError(`RUNNER_PROXY_TO_JOBS=${env.RUNNER_PROXY_TO_JOBS} is invalid: use true or false`);
  }
  return {
    resource,
    lockBackend: backend.backend,
    ...(backend.backend === 'etcd' ? { etcd: backend.etcd } : {}),
    lockDir: env.RUNNER_LOCK_DIR || WRAPPER_DEFAULTS.lockDir,
    runnerScript: env.RUNNER_SCRIPT || WRAPPER_DEFAULTS.runnerScript,
    runnerHome: env.RUNNER_HOME || WRAPPER_DEFAULTS.runnerHome,
    imageEnvFile: WRAPPER_DEFAULTS.imageEnvFile,
    ...(env.RUNNER_FLEET_USER ? { runnerUser: env.RUNNER_FLEET_USER } : {}),
    runnerName: env.RUNNER_NAME || hostname(),
    ...(org !== undefined ? { org } : {}),
    staleMs,
    updateMs,
    progressMs: intSetting(env, 'RUNNER_LOCK_PROGRESS_MS', WRAPPER_DEFAULTS.progressMs, 100, 600_000),
    stopGraceMs: intSetting(env, 'RUNNER_STOP_GRACE_MS', WRAPPER_DEFAULTS.stopGraceMs, 0, 600_000),
    proxyToJobs: proxyToJobs === 'true',
    ...(env.RUNNER_FLEET_JIT_FILE ? { jitFile: env.RUNNER_FLEET_JIT_FILE } : {}),
    jitWaitMs: intSetting(env, 'RUNNER_FLEET_JIT_WAIT_MS', WRAPPER_DEFAULTS.jitWaitMs, 1000, 3_600_000),
    ...loadHookConfig(env),
  };
}

export function loadHookConfig(env: NodeJS.ProcessEnv = process.env): HookConfig {
  return {
    socketPath: env.RUNNER_FLEET_SOCKET || WRAPPER_DEFAULTS.socketPath,
    pollMs: intSetting(env, 'RUNNER_LOCK_POLL_MS', WRAPPER_DEFAULTS.pollMs, 10, 10_000),
  };
}
