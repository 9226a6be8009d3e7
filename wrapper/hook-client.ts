// The job hooks' side: runs inside the job's worker (via hooks/*.sh), asks the
// wrapper to acquire or release, and prints progress to the job log. The
// wrapper finds the job and its worker itself: the hook only labels the job
// with its run and repository.
import { connect, type Socket } from 'node:net';
import { displayText } from '../lock/display.ts';
import { onLines, send, type JobLabels, type Reply, type Request } from './protocol.ts';
import { loadHookConfig, type HookConfig } from './config.ts';

const prefix = '[runner-fleet]';

/** One line of the job log; whatever the wrapper sent, made plain (no escape, no `::` workflow command). */
function print(line: string): void {
  process.stdout.write(`${prefix} ${displayText(line, 400)}\n`);
}

export function labelsFromEnv(env: NodeJS.ProcessEnv = process.env): JobLabels {
  return {
    runId: env.GITHUB_RUN_ID || '',
    attempt: env.GITHUB_RUN_ATTEMPT || '1',
    repository: env.GITHUB_REPOSITORY || '',
  };
}

function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th');
  return `${n}${suffix}`;
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}

/** A waiting line: how long the board has been held and our place; never who holds it (maybe another org). */
function describeWait(r: Extract<Reply, { type: 'waiting' }>): string {
  // The wrapper's own words (lock/etcd): the job keeps waiting, it never runs without the lock.
  if (r.unreachable !== undefined) return `${r.resource}: waiting: ${r.unreachable}; the job starts only once it holds the lock`;
  const held = r.heldForMs === undefined ? 'the lock is being handed over' : `held by another runner for ${duration(r.heldForMs)}`;
  return `${r.resource}: waiting, ${held}, you are ${ordinal(r.place)} in the queue`;
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
        const hint = "is /opt/runner-fleet/entrypoint the container's entrypoint?";
        throw new Error(`the runner-fleet wrapper is not reachable at ${socketPath} (${code}): ${hint}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Sends one request and feeds every reply to `onReply` until the wrapper closes the connection. */
async function exchange(socketPath: string, request: Request, onReply: (r: Reply) => void, waitMs: number): Promise<void> {
  const socket = await connectRetrying(socketPath, waitMs);
  await new Promise<void>((resolve, reject) => {
    onLines(
      socket,
      (value) => onReply(value as Reply),
      () => socket.destroy(),
    );
    socket.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`the connection to the runner-fleet wrapper at ${socketPath} failed (${err.code})`)));
    socket.once('close', () => resolve());
    send(socket, request);
  });
}

/**
 * The job-started hook: returns the exit code (non-zero fails the job, which
 * must not run unlocked). `_hookParentPid` is what hooks/job-started.sh still
 * passes; the wrapper no longer takes a pid from a hook.
 */
export async function hookStarted(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let outcome: Reply | undefined;
  try {
    const cfg = loadHookConfig(env);
    await exchange(
      cfg.socketPath,
      { op: 'acquire', job: labelsFromEnv(env) },
      (r) => {
        if (r.type === 'waiting') print(describeWait(r));
        else outcome = r;
      },
      connectWaitMs(cfg),
    );
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
  try {
    const cfg = loadHookConfig(env);
    await exchange(
      cfg.socketPath,
      { op: 'release', job: labelsFromEnv(env) },
      (r) => {
        if (r.type === 'released') {
          print(r.lost ? `warning: ${r.resource}: the lock had been lost during the job (${r.lost})` : `${r.resource}: lock released`);
        } else if (r.type === 'ignored') print(`${r.resource}: nothing released (${r.reason})`);
        else if (r.type === 'error') print(`warning: ${r.message}`);
      },
      connectWaitMs(cfg),
    );
  } catch (err) {
    print(`warning: ${(err as Error).message}`);
  }
  return 0;
}
