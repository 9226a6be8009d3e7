// The job hooks' side: runs inside the job's worker (via hooks/*.sh), asks the
// wrapper to acquire or release, and prints progress to the job log.
import { connect, type Socket } from 'node:net';
import type { JobInfo, LockIdentity } from '../lock/layout.ts';
import { findWorker } from './process-watch.ts';
import { onLines, send, type HolderSummary, type Reply, type Request } from './protocol.ts';
import { loadHookConfig, type HookConfig } from './config.ts';

const prefix = '[runner-fleet]';

function print(line: string): void {
  process.stdout.write(`${prefix} ${line}\n`);
}

export function jobFromEnv(env: NodeJS.ProcessEnv = process.env): JobInfo {
  return {
    runner: env.RUNNER_NAME || '',
    runId: env.GITHUB_RUN_ID || '',
    attempt: env.GITHUB_RUN_ATTEMPT || '1',
    repository: env.GITHUB_REPOSITORY || '',
    job: env.GITHUB_JOB || '',
  };
}

function describeHolder(h: HolderSummary | undefined): string {
  if (!h) return 'no holder (the lock is being handed over)';
  const repo = h.repository || 'unknown repository';
  return `held by ${h.runner || 'unknown runner'} (${repo}, run ${h.runId} attempt ${h.attempt}) since ${h.since}`;
}

/**
 * How long a hook keeps trying to reach the wrapper: a socket deleted by a job
 * is re-created within RUNNER_LOCK_POLL_MS, and the hook must not fail the job
 * for that window.
 */
function connectWaitMs(cfg: HookConfig): number {
  return Math.max(5000, 4 * cfg.pollMs);
}

/** Connects, retrying while the socket is missing or nobody listens on it, until `waitMs` is over. */
async function connectRetrying(socketPath: string, waitMs: number): Promise<Socket> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const socket = connect(socketPath);
        socket.once('connect', () => {
          socket.off('error', reject);
          resolve(socket);
        });
        socket.once('error', reject);
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ECONNREFUSED') || Date.now() >= deadline) {
        throw new Error(`the runner-fleet wrapper is not reachable at ${socketPath} (${code}): is /opt/runner-fleet/entrypoint the container's entrypoint?`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Sends one request and feeds every reply to `onReply` until the wrapper closes the connection. */
async function exchange(socketPath: string, request: Request, onReply: (r: Reply) => void, waitMs: number): Promise<void> {
  const socket = await connectRetrying(socketPath, waitMs);
  await new Promise<void>((resolve, reject) => {
    onLines(socket, (value) => onReply(value as Reply));
    socket.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`the connection to the runner-fleet wrapper at ${socketPath} failed (${err.code})`)));
    socket.once('close', () => resolve());
    send(socket, request);
  });
}

/** The job-started hook: returns the exit code (non-zero fails the job, which must not run unlocked). */
export async function hookStarted(hookParentPid: number, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let outcome: Reply | undefined;
  try {
    const cfg = loadHookConfig(env);
    const workerPid = findWorker(hookParentPid, cfg.workerPattern);
    await exchange(cfg.socketPath, { op: 'acquire', job: jobFromEnv(env), workerPid }, (r) => {
      if (r.type === 'waiting') print(`${r.resource}: waiting, place ${r.place} in queue; ${describeHolder(r.holder)}`);
      else outcome = r;
    }, connectWaitMs(cfg));
  } catch (err) {
    print(`error: ${(err as Error).message}`);
    return 1;
  }
  if (outcome?.type === 'acquired') {
    print(`${outcome.resource}: lock acquired after ${(outcome.waitedMs / 1000).toFixed(1)} s (ticket ${Number(outcome.ticket)})`);
    return 0;
  }
  print(`error: ${outcome?.type === 'error' ? outcome.message : 'the wrapper closed the connection before the lock was acquired'}`);
  return 1;
}

/** The job-completed hook: never fails the job; a missing wrapper is only reported. */
export async function hookCompleted(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { runner, runId, attempt } = jobFromEnv(env);
  const identity: LockIdentity = { runner, runId, attempt };
  try {
    const cfg = loadHookConfig(env);
    await exchange(cfg.socketPath, { op: 'release', identity }, (r) => {
      if (r.type === 'released') {
        print(r.lost ? `warning: ${r.resource}: the lock had been lost during the job (${r.lost})` : `${r.resource}: lock released`);
      } else if (r.type === 'ignored') print(`${r.resource}: nothing released (${r.reason})`);
      else if (r.type === 'error') print(`warning: ${r.message}`);
    }, connectWaitMs(cfg));
  } catch (err) {
    print(`warning: ${(err as Error).message}`);
  }
  return 0;
}
