// The wrapper as PID 1: runs the runner as a child, forwards stop signals,
// gives it a grace period, and makes sure the lock is free when it goes.
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { constants } from 'node:os';
import { ConfigError } from '../lib/errors.ts';
import type { WrapperConfig } from './config.ts';
import { checkLockDir } from './lock-dir-check.ts';
import { LockService, serveHooks, type Logger } from './lock-service.ts';

const hookNames = { started: 'ACTIONS_RUNNER_HOOK_JOB_STARTED', completed: 'ACTIONS_RUNNER_HOOK_JOB_COMPLETED' } as const;

/** The runner's environment: our hooks in place, the user's hooks kept to be chained by ours. */
export function hookEnv(env: NodeJS.ProcessEnv, hooksDir: string, socketPath: string): Record<string, string> {
  const out: Record<string, string> = { RUNNER_FLEET_SOCKET: socketPath, RUNNER_FLEET_NODE: process.execPath };
  for (const [kind, name] of Object.entries(hookNames)) {
    const ours = join(hooksDir, `job-${kind}.sh`);
    const theirs = env[name];
    out[name] = ours;
    if (theirs && theirs !== ours) out[`RUNNER_FLEET_USER_HOOK_JOB_${kind.toUpperCase()}`] = theirs;
  }
  return out;
}

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? constants.signals[signal] : 0);
}

export async function superviseRunner(cfg: WrapperConfig, hooksDir: string, log: Logger): Promise<number> {
  let service: LockService | undefined;
  let server: Server | undefined;
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (cfg.resource) {
    await checkLockDir(cfg.lockDir); // a runner must not take jobs it could not lock for
    service = new LockService({ ...cfg, resource: cfg.resource }, log);
    server = await serveHooks(service, cfg.socketPath);
    Object.assign(env, hookEnv(process.env, hooksDir, cfg.socketPath));
    log(`lock on ${cfg.resource} in ${cfg.lockDir} (stale after ${cfg.staleMs} ms)`);
  }

  const child = spawn(cfg.runnerScript, [], { stdio: 'inherit', env });
  let stopping = false;
  let grace: NodeJS.Timeout | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    child.kill(signal);
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping the runner (grace ${cfg.stopGraceMs} ms)`);
    grace = setTimeout(() => {
      log('the runner did not stop within RUNNER_STOP_GRACE_MS: releasing and killing it');
      void service?.shutdown('runner stop grace period over').finally(() => child.kill('SIGKILL'));
    }, cfg.stopGraceMs);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(new ConfigError(`RUNNER_SCRIPT=${cfg.runnerScript} cannot be started (${err.code}): set it to the runner's run script`)),
    );
    child.once('exit', (c, s) => resolve(exitCodeOf(c, s)));
  }).finally(async () => {
    clearTimeout(grace);
    await service?.shutdown(stopping ? 'runner stopped by a signal' : 'runner exited');
    server?.close();
    await rm(cfg.socketPath, { force: true }).catch(() => undefined);
  });
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  return code;
}
