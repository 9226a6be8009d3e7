// The wrapper's lock state for its one resource, driven by the hooks over a
// unix socket. A runner runs one job at a time, so there is at most one
// waiting request and one held lock. Release paths: the completed hook (same
// identity only), the worker process exiting, a newer job on this runner,
// and shutdown.
import { chmod, lstat, mkdir, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { readResource } from '../lock/inspect.ts';
import { appendLockLog } from '../lock/lock-log.ts';
import { describeIdentity, sameIdentity, type JobInfo, type LockIdentity } from '../lock/layout.ts';
import type { WrapperConfig } from './config.ts';
import { errorCode } from '../lock/files.ts';
import { isAlive, processRef, type ProcessRef } from './process-watch.ts';
import { onLines, send, type Reply, type Request } from './protocol.ts';
import { acquireLock, type HeldLock } from '../lock/resource-lock.ts';
import type { QueueOptions } from '../lock/ticket-queue.ts';
import type { RunnerEvent } from './runner-output.ts';

/**
 * How long a cancel the runner reported still refuses a job asking for the
 * lock, should the next "Running job" line be missed: the Listener kills a
 * cancelled job's Worker 45 s or more after the cancel (JobDispatcher.cs).
 */
const CANCEL_MEMORY_MS = 120_000;

interface Waiting {
  job: JobInfo;
  worker: ProcessRef;
  abort: AbortController;
}

interface Holding {
  lock: HeldLock;
  worker: ProcessRef;
}

export type Logger = (line: string) => void;

export class LockService {
  private waiting: Waiting | undefined;
  private holding: Holding | undefined;
  /**
   * When the runner said the current job was cancelled (its stdout; see
   * runner-output.ts). Cleared when it starts the next job. A started hook
   * that asks for the lock after that is refused at once.
   */
  private cancelledAt: number | undefined;
  /** The last lock taken from us while held, reported to that job's completed hook. */
  private lost: { identity: LockIdentity; reason: string } | undefined;
  private readonly workerWatch: NodeJS.Timeout;
  private readonly queue: QueueOptions;

  constructor(
    private readonly cfg: WrapperConfig & { resource: string },
    private readonly log: Logger,
  ) {
    this.queue = { dir: cfg.lockDir, resource: cfg.resource, staleMs: cfg.staleMs, updateMs: cfg.updateMs, pollMs: cfg.pollMs };
    this.workerWatch = setInterval(() => void this.checkWorkers(), cfg.pollMs);
    this.workerWatch.unref();
  }

  get resource(): string {
    return this.cfg.resource;
  }

  get runnerName(): string {
    return this.cfg.runnerName;
  }

  /** Waits in the queue for `job`, reporting progress through `reply`, until held or aborted. */
  async acquire(job: JobInfo, workerPid: number, reply: (r: Reply) => void, gone: AbortSignal): Promise<void> {
    const current = this.holding?.lock;
    if (current?.isHeld && sameIdentity(current.job, job)) {
      this.holding = { lock: current, worker: processRef(workerPid) }; // the hook ran again: same lock
      reply({ type: 'acquired', resource: this.resource, waitedMs: 0, ticket: current.ticket.name });
      return;
    }
    if (this.holding) await this.releaseHeld(`runner started ${describeIdentity(job)}`);
    this.waiting?.abort.abort(new Error(`superseded by ${describeIdentity(job)}`));
    if (this.cancelledAt !== undefined && Date.now() - this.cancelledAt < CANCEL_MEMORY_MS) {
      this.log(`${this.resource}: not queueing ${describeIdentity(job)}: the runner reported the job cancelled`);
      reply({ type: 'error', message: `${this.resource}: the job was cancelled before it got the lock; not waiting` });
      return;
    }

    const waiting: Waiting = { job, worker: processRef(workerPid), abort: new AbortController() };
    this.waiting = waiting;
    const onGone = (): void => waiting.abort.abort(new Error('the job-started hook went away'));
    gone.addEventListener('abort', onGone);
    const started = Date.now();
    let progress: NodeJS.Timeout | undefined;
    const report = (ticket: string): void => void this.sendPlace(ticket, reply);
    try {
      const lock = await acquireLock(this.queue, job, {
        signal: waiting.abort.signal,
        onStatus: ({ ticket }) => {
          if (progress) return;
          report(ticket);
          progress = setInterval(() => report(ticket), this.cfg.progressMs);
        },
        onLost: (reason) => this.onLost(lock, reason),
      });
      this.holding = { lock, worker: waiting.worker };
      this.log(`${this.resource}: acquired for ${describeIdentity(job)} (${job.repository || 'unknown repository'})`);
      reply({ type: 'acquired', resource: this.resource, waitedMs: Date.now() - started, ticket: lock.ticket.name });
    } catch (err) {
      const reason = waiting.abort.signal.aborted ? String((waiting.abort.signal.reason as Error)?.message ?? 'aborted') : (err as Error).message;
      this.log(`${this.resource}: stopped waiting for ${describeIdentity(job)}: ${reason}`);
      reply({ type: 'error', message: `could not lock ${this.resource}: ${reason}` });
    } finally {
      clearInterval(progress);
      gone.removeEventListener('abort', onGone);
      if (this.waiting === waiting) this.waiting = undefined;
    }
  }

  /** What the runner printed about its jobs: a cancel ends the wait for the lock (the hook itself is not cancelled). */
  runnerEvent(event: RunnerEvent): void {
    if (event.type === 'job-started') {
      this.cancelledAt = undefined;
      return;
    }
    this.cancelledAt = Date.now();
    if (this.waiting) {
      this.log(`${this.resource}: the runner reported a cancel: ${describeIdentity(this.waiting.job)} leaves the queue`);
      this.waiting.abort.abort(new Error('the job was cancelled while waiting'));
    }
  }

  /** The completed hook: frees the lock only for the identity that holds it. */
  async release(identity: LockIdentity): Promise<Reply> {
    const held = this.holding?.lock;
    if (held && sameIdentity(held.job, identity)) {
      await this.releaseHeld(undefined);
      return { type: 'released', resource: this.resource };
    }
    if (this.waiting && sameIdentity(this.waiting.job, identity)) {
      this.waiting.abort.abort(new Error('job completed while waiting'));
      return { type: 'released', resource: this.resource };
    }
    if (this.lost && sameIdentity(this.lost.identity, identity)) {
      return { type: 'released', resource: this.resource, lost: this.lost.reason };
    }
    const reason = held ? `held by ${describeIdentity(held.job)}, not ${describeIdentity(identity)}` : `not held by ${describeIdentity(identity)}`;
    this.log(`${this.resource}: release ignored: ${reason}`);
    return { type: 'ignored', resource: this.resource, reason };
  }

  status(): Reply {
    const held = this.holding?.lock;
    return {
      type: 'status',
      resource: this.resource,
      held: held ? { runner: held.job.runner, runId: held.job.runId, attempt: held.job.attempt, ticket: held.ticket.name } : undefined,
      waiting: this.waiting?.job,
    };
  }

  /** Stops waiting and frees whatever is held (wrapper stopping). */
  async shutdown(reason: string): Promise<void> {
    clearInterval(this.workerWatch);
    this.waiting?.abort.abort(new Error(reason));
    if (this.holding) await this.releaseHeld(reason);
  }

  private async releaseHeld(abnormal: string | undefined): Promise<void> {
    const holding = this.holding;
    if (!holding) return;
    this.holding = undefined;
    await holding.lock.release();
    const job = holding.lock.job;
    if (abnormal === undefined) {
      this.log(`${this.resource}: released by ${describeIdentity(job)}`);
      return;
    }
    this.log(`${this.resource}: released for ${describeIdentity(job)}: ${abnormal}`);
    await appendLockLog(this.cfg.lockDir, {
      event: 'released-by-wrapper',
      resource: this.resource,
      runner: job.runner,
      runId: job.runId,
      attempt: job.attempt,
      reason: abnormal,
    }).catch(() => undefined);
  }

  private onLost(lock: HeldLock, reason: string): void {
    this.lost = { identity: lock.job, reason };
    if (this.holding?.lock === lock) this.holding = undefined;
    this.log(`${this.resource}: LOST the lock of ${describeIdentity(lock.job)} (${reason}); another job may use the resource now`);
  }

  /** A job that ends without its completed hook (cancel, crash, runner stop) ends with its worker. */
  private async checkWorkers(): Promise<void> {
    if (this.waiting && !isAlive(this.waiting.worker)) {
      this.waiting.abort.abort(new Error(`worker process ${this.waiting.worker.pid} exited`));
    }
    if (this.holding && !isAlive(this.holding.worker)) {
      await this.releaseHeld(`worker process ${this.holding.worker.pid} exited without the completed hook`);
    }
  }

  private async sendPlace(ticket: string, reply: (r: Reply) => void): Promise<void> {
    try {
      const state = await readResource(this.cfg.lockDir, this.resource);
      const live = state.queue.filter((t) => t.alive);
      const index = live.findIndex((t) => t.name === ticket);
      const h = state.holder;
      reply({
        type: 'waiting',
        resource: this.resource,
        place: index < 0 ? live.length + 1 : index + 1,
        holder: h ? { runner: h.runner, repository: h.repository, runId: h.runId, attempt: h.attempt, since: h.since } : undefined,
      });
    } catch {
      // a progress line is best effort
    }
  }
}

function isRequest(value: unknown): value is Request {
  const op = (value as { op?: unknown } | null)?.op;
  return op === 'acquire' || op === 'release' || op === 'status';
}

export interface HookServer {
  close(): Promise<void>;
}

/**
 * Serves the hooks: one request per connection. The socket lives in a
 * directory a job can delete or replace (jobs run as the runner's user, and
 * many CI jobs clean /tmp): every `checkMs` the path is checked, and when it is
 * no longer our socket we listen on it again. Connections already open (a
 * hook waiting for the lock) are not affected.
 */
export async function serveHooks(service: LockService, socketPath: string, o: { checkMs: number; log: Logger }): Promise<HookServer> {
  const onConnection = (socket: Socket): void => {
    const gone = new AbortController();
    socket.on('close', () => gone.abort());
    socket.on('error', () => gone.abort());
    let handled = false;
    onLines(socket, (value) => {
      if (handled || !isRequest(value)) return;
      handled = true;
      void handleRequest(service, value, socket, gone.signal);
    });
  };
  const listen = async (): Promise<{ server: Server; id: string }> => {
    await mkdir(dirname(socketPath), { recursive: true, mode: 0o755 });
    await rm(socketPath, { force: true }); // left by a previous run of this container, or put there by a job
    const server = createServer(onConnection);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    await chmod(socketPath, 0o666).catch(() => undefined);
    const id = await socketState(socketPath);
    if (!/^\d+:\d+$/.test(id)) {
      server.close();
      throw new Error(`${socketPath} is ${id} right after listening`);
    }
    return { server, id };
  };

  let current: { server: Server; id: string } | undefined = await listen();
  let busy = false;
  let lastFailure = '';
  const ensure = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      let what = 'could not be re-created earlier';
      if (current) {
        const state = await socketState(socketPath);
        if (state === current.id) return;
        what = state === 'missing' ? 'was deleted' : 'was replaced';
        // Closing a unix socket server unlinks its path: close the old one before listening again.
        current.server.close();
        current = undefined;
      }
      try {
        current = await listen();
        lastFailure = '';
        o.log(`hook socket ${socketPath} ${what} (by a job cleaning up?): listening on it again`);
      } catch (err) {
        const failure = `hook socket ${socketPath} ${what} and cannot be re-created (${errorCode(err) ?? (err as Error).message}): retrying every ${o.checkMs} ms; jobs cannot take the lock meanwhile`;
        if (failure !== lastFailure) o.log(failure);
        lastFailure = failure;
      }
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void ensure(), o.checkMs);
  timer.unref();
  return {
    async close(): Promise<void> {
      clearInterval(timer);
      current?.server.close();
      current = undefined;
    },
  };
}

/** The socket file at `path` as device:inode, or why there is none. */
async function socketState(path: string): Promise<string> {
  try {
    const info = await lstat(path);
    return info.isSocket() ? `${info.dev}:${info.ino}` : 'not a socket';
  } catch (err) {
    return errorCode(err) === 'ENOENT' ? 'missing' : `unreadable (${errorCode(err)})`;
  }
}

async function handleRequest(service: LockService, req: Request, socket: Socket, gone: AbortSignal): Promise<void> {
  const reply = (r: Reply): void => send(socket, r);
  try {
    // Hooks without RUNNER_NAME in their environment speak for this runner.
    if (req.op === 'acquire') await service.acquire({ ...req.job, runner: req.job.runner || service.runnerName }, req.workerPid, reply, gone);
    else if (req.op === 'release') reply(await service.release({ ...req.identity, runner: req.identity.runner || service.runnerName }));
    else reply(service.status());
  } catch (err) {
    reply({ type: 'error', message: (err as Error).message });
  }
  socket.end();
}
