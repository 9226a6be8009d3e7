// The container's main process: runs run.sh as a child, forwards stop signals
// to it, gives it a grace period, and makes sure the lock is free when it goes.
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { descendants } from './process-watch.ts';
import { asAccount, lookupAccount } from './run-as.ts';
import { receiveJitConfig } from './jit-config.ts';
import { watchRunnerOutput } from './runner-output.ts';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { constants } from 'node:os';
import { ConfigError } from '../core/errors.ts';
import type { WrapperConfig } from './config.ts';
import { checkLockDir } from '../lock/directory.ts';
import type { Reporter } from '../core/reporter.ts';
import { serveHooks, type HookServer } from './hook-server.ts';
import { JobLock } from './job-lock.ts';
import { restoreRunnerEnvFile, hookKinds, runnerHookVar, userHookVar, type FileHooks, type HookKind } from './runner-env-file.ts';
import { ETCD_SECRET_SETTINGS } from '../lock/etcd/settings.ts';
import { keepProxyCredentials } from './runner-proxy.ts';

export function ourHooks(hooksDir: string): Record<HookKind, string> {
  return { started: join(hooksDir, 'job-started.sh'), completed: join(hooksDir, 'job-completed.sh') };
}

/**
 * The runner's environment: our hooks in place, the user's hooks kept to be
 * chained by ours. A hook set in the image's .env (`fromFile`, null: unset
 * there) wins over the environment's, as it would for the runner.
 */
export function hookEnv(env: NodeJS.ProcessEnv, hooksDir: string, socketPath: string, fromFile: FileHooks = {}): Record<string, string> {
  const out: Record<string, string> = { RUNNER_FLEET_SOCKET: socketPath };
  const ours = ourHooks(hooksDir);
  for (const kind of hookKinds) {
    const file = fromFile[kind];
    const theirs = file !== undefined ? file : env[runnerHookVar[kind]];
    out[runnerHookVar[kind]] = ours[kind];
    if (theirs && theirs !== ours[kind]) out[userHookVar[kind]] = theirs;
    else if (file !== undefined) out[userHookVar[kind]] = ''; // the file says: no user hook
  }
  return out;
}

/**
 * Lets the runner's last lines through, but not forever: a process the runner
 * left behind (a job's `sleep`) may hold the pipe open after run.sh exited.
 */
async function outputDrained(stdout: Readable): Promise<void> {
  if (!stdout.readableEnded) {
    await Promise.race([new Promise((resolve) => stdout.once('end', resolve)), sleep(1000)]);
  }
  stdout.destroy();
}

/** SIGKILL to run.sh and everything under it (run-helper, Listener, Worker, job processes). */
function killTree(pid: number | undefined): void {
  if (pid === undefined) return;
  for (const target of [pid, ...descendants(pid)]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? constants.signals[signal] : 0);
}

/**
 * Runs run.sh until it exits, and returns its exit code. A stop signal goes to
 * run.sh alone, as its trap expects (with RUNNER_MANUALLY_TRAP_SIG it sends
 * SIGINT to run-helper's process group; the Listener then cancels the running
 * job, reports it and deletes its session: run.sh, Runner.Listener/Runner.cs
 * and JobDispatcher.cs). That is why this is node's spawn and not zx: zx's
 * kill() signals every descendant itself.
 *
 * RUNNER_STOP_GRACE_MS (WRAPPER_STOP_GRACE_MS) covers the runner's own window:
 * ProcessInvoker.cs gives the job's processes 7.5 s after SIGINT and 2.5 s
 * after SIGTERM, then the result and the session deletion are a few HTTP
 * calls; compose's stop_grace_period (CONTAINER_STOP_GRACE) covers the wrapper's.
 *
 * Under compose (`init: true`) docker-init is PID 1: it forwards the stop
 * signals here and reaps orphans. Under a plain `docker run` without --init
 * this process is PID 1 itself: the signal handlers below are then what makes
 * `docker stop` work (PID 1 ignores signals it has no handler for), and
 * orphans it inherits are never reaped (Node waits only for its own children).
 */
/** receiveJitConfig, given up (undefined) on SIGTERM/SIGINT: docker stop of a slot still waiting ends it at once. */
async function waitForJitConfig(path: string, timeoutMs: number): Promise<string | undefined> {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    return await receiveJitConfig(path, { timeoutMs, signal: stop.signal });
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

export async function superviseRunner(cfg: WrapperConfig, hooksDir: string, reporter: Reporter): Promise<number> {
  let jobLock: JobLock | undefined;
  let server: HookServer | undefined;
  const env: NodeJS.ProcessEnv = { ...process.env };
  // The etcd password is the wrapper's alone: never in the runner's (and so the jobs') environment.
  for (const name of ETCD_SECRET_SETTINGS) delete env[name];
  // The same for a proxy's credentials, unless RUNNER_PROXY_TO_JOBS=true: run.sh gets a relay that adds them.
  const proxy = await keepProxyCredentials(env, cfg.proxyToJobs, reporter);
  if (cfg.resource) await checkLockDir(cfg.lockDir, (line) => reporter.info(line)); // a runner must not take jobs it could not lock for
  // The runner applies its .env over its environment, and a job can write it: it is the image's again at every start.
  const fromFile = await restoreRunnerEnvFile({
    imageEnvFile: cfg.imageEnvFile,
    envFile: join(cfg.runnerHome, '.env'),
    ...(cfg.resource ? { ours: ourHooks(hooksDir) } : {}),
    reporter,
  });
  if (cfg.resource) {
    jobLock = new JobLock({ ...cfg, resource: cfg.resource }, reporter);
    server = await serveHooks(jobLock, cfg.socketPath, { checkMs: cfg.pollMs, reporter });
    Object.assign(env, hookEnv(process.env, hooksDir, cfg.socketPath, fromFile));
    const where =
      jobLock.backend.kind === 'etcd' ? `on ${jobLock.backend.where}, locks.log in ${cfg.lockDir}` : `in ${cfg.lockDir} (stale after ${cfg.staleMs} ms)`;
    reporter.info(`lock on ${cfg.resource} ${where}`);
  }

  if (cfg.jitFile !== undefined) {
    const jitConfig = await waitForJitConfig(cfg.jitFile, cfg.jitWaitMs);
    if (jitConfig === undefined) {
      reporter.info('stopped before a JIT config arrived: no runner was started');
      await server?.close();
      await proxy.close();
      return 0;
    }
    // run.sh's environment only: the Listener takes it from there and removes it (CommandSettings.cs).
    env.ACTIONS_RUNNER_INPUT_JITCONFIG = jitConfig;
    reporter.info('JIT config received: the runner takes one job, then this container ends');
  }

  // The official image sets both; the wrapper relies on them, so it sets them too.
  Object.assign(env, { RUNNER_MANUALLY_TRAP_SIG: '1', ACTIONS_RUNNER_PRINT_LOG_TO_STDOUT: '1' });
  // As root (the image's way), run.sh runs as the runner's user; else as ourselves.
  const user = process.getuid?.() === 0 ? cfg.runnerUser : undefined;
  const run = user !== undefined ? asAccount(lookupAccount(user), cfg.runnerScript) : { command: cfg.runnerScript, args: [], env: {} };
  if (user !== undefined) reporter.info(`running ${cfg.runnerScript} as ${user}`);
  const child = spawn(run.command, run.args, { stdio: ['inherit', 'pipe', 'inherit'], env: { ...env, ...run.env } });
  jobLock?.watchRunner(child.pid); // setpriv execs run.sh: this pid is run.sh, the root of the runner's tree
  watchRunnerOutput(child.stdout, process.stdout, (event) => jobLock?.runnerEvent(event));
  let stopping = false;
  let grace: NodeJS.Timeout | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    child.kill(signal);
    if (stopping) return;
    stopping = true;
    reporter.info(`${signal}: stopping the runner (grace ${cfg.stopGraceMs} ms)`);
    grace = setTimeout(() => {
      const within = `RUNNER_STOP_GRACE_MS (${cfg.stopGraceMs} ms)`;
      reporter.info(`the runner did not stop within ${within}: releasing the lock and killing the runner's processes`);
      void jobLock?.shutdown('runner stop grace period over').finally(() => killTree(child.pid));
    }, cfg.stopGraceMs);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new ConfigError(
          run.command === 'setpriv' && err.code === 'ENOENT'
            ? 'setpriv (util-linux) is missing from the image, and the wrapper needs it to run the runner as its user: ' +
                'install util-linux in your Dockerfile'
            : `RUNNER_SCRIPT=${cfg.runnerScript} cannot be started (${err.code}): set it to the runner's run script`,
        ),
      ),
    );
    child.once('exit', (c, s) => resolve(exitCodeOf(c, s)));
  }).finally(async () => {
    clearTimeout(grace);
    await outputDrained(child.stdout);
    await jobLock?.shutdown(stopping ? 'runner stopped by a signal' : 'runner exited');
    await server?.close();
    await proxy.close();
    await rm(cfg.socketPath, { force: true }).catch(() => undefined);
  });
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  return code;
}
