// Runner simulator — STANDS IN for actions/runner, which cannot be downloaded
// on these machines.
//
// The real runner's time windows, in one place. Defaults are actions/runner's
// values (each cites its source file); tests shrink them with simulator-only
// settings, which the real runner does not know:
//   RUNNER_SIM_TIME_SCALE            multiplies every window below (default 1)
//   RUNNER_SIM_CANCEL_TIMEOUT_MS     cancel request → worker killed (overrides the computed window)
//   RUNNER_SIM_SESSION_RETRY_MS      gap between session-creation attempts (overrides 30 s × scale)

function envNumber(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

export function timeScale(): number {
  const s = envNumber('RUNNER_SIM_TIME_SCALE');
  return s === undefined || s <= 0 ? 1 : s;
}

const scaled = (ms: number): number => Math.max(1, Math.round(ms * timeScale()));

/**
 * Cancel request → the Listener kills the Worker. JobDispatcher.cs
 * (WorkerDispatcher.Cancel): the server's cancel timeout, at least 60 s,
 * minus 15 s; so never less than 45 s.
 */
export function cancelKillDelayMs(timeoutMinutes: number): number {
  const explicit = envNumber('RUNNER_SIM_CANCEL_TIMEOUT_MS');
  if (explicit !== undefined) return explicit;
  const timeoutMs = Math.max(timeoutMinutes * 60_000, 60_000);
  return scaled(timeoutMs - 15_000);
}

/** MessageListener.cs: _sessionCreationRetryInterval, 30 s. */
export function sessionRetryMs(): number {
  return envNumber('RUNNER_SIM_SESSION_RETRY_MS') ?? scaled(30_000);
}

/** MessageListener.cs: _sessionConflictRetryLimit, 4 minutes, counted in retry intervals. */
export const SESSION_CONFLICT_RETRY_LIMIT_S = 240;
export const SESSION_RETRY_INTERVAL_S = 30;

/** Runner.Sdk/ProcessInvoker.cs: _sigintTimeout 7.5 s, then _sigtermTimeout 2.5 s, then kill. */
export const sigintTimeoutMs = (): number => scaled(7_500);
export const sigtermTimeoutMs = (): number => scaled(2_500);

/** Constants.cs: Runner.ExitOnUnloadTimeout, 30 s (SIGTERM to the Listener). */
export const exitOnUnloadTimeoutMs = (): number => scaled(30_000);

/** Errors while polling for messages: a bounded backoff (MessageListener.cs uses 15–30 s randomised after repeated errors). */
export const pollBackoffMs = (failures: number): number => scaled(Math.min(1000 * 2 ** failures, 30_000));

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
