// The wrapper's lock for its one resource, taken for the job its runner runs.
// Jobs run pull-request code as the runner's user and can reach the hook
// socket, so the service believes only what it sees itself:
// - a job starts when the Listener prints "Running job:" (runner-output.ts)
//   and runs while its Runner.Worker lives: the one the wrapper finds among
//   run.sh's descendants (process-watch.ts), never a pid from a request;
// - a job ends when that worker exits or its completed hook releases;
// - an acquire with no job running is refused with one line: no ticket, no
//   queue. A job asks once; the runner name is the wrapper's, the job name
//   the Listener's, and run ID, attempt and repository from the request are
//   labels (protocol.ts checks them).
// Release paths: the completed hook (same labels only), the worker exiting,
// the runner's next job, and shutdown.
import { chmod, lstat, mkdir, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { displayText } from '../lock/display.ts';
import { readResource } from '../lock/inspect.ts';
import { appendLockLog } from '../lock/lock-log.ts';
import { describeIdentity, sameIdentity, type JobInfo, type LockIdentity } from '../lock/layout.ts';
import type { WrapperConfig } from './config.ts';
import { errorCode } from '../core/safe-read.ts';
import { findWorker, isAlive, type ProcessRef } from './process-watch.ts';
import { MAX_LINE_BYTES, onLines, parseRequest, send, type JobLabels, type Reply, type Request } from './protocol.ts';
import { acquireLock, type HeldLock } from '../lock/resource-lock.ts';
import type { QueueOptions } from '../lock/ticket-queue.ts';
import type { RunnerEvent } from './runner-output.ts';

/**
 * The Listener prints "Running job:" before it starts the Worker, and the
 * pipe from run.sh may lag behind a fast hook: an acquire that finds a
 * Runner.Worker but no such line yet waits this long for it.
 */
const JOB_LINE_WAIT_MS = 2000;
/** Refusals are logged at most once per this window (a job looping on the socket must not fill the host's disk with docker logs). */
const REFUSAL_LOG_MS = 10_000;

/** One job of this runner, as the wrapper saw it. */
interface Job {
  /** The display name the Listener printed. */
  name: string;
  /** The job's Runner.Worker, bound at its first acquire. */
  worker?: ProcessRef;
  /** The runner reported it cancelled (runner-output.ts). */
  cancelled: boolean;
  /** Set by its first acquire: a job asks for the board once. */
  asked: boolean;
  /** Why it may no longer take the board, once it may not. */
  ended?: string;
}

interface Waiting {
  job: Job;
  info: JobInfo;
  abort: AbortController;
}

interface Holding {
  job: Job;
  lock: HeldLock;
}

export type Logger = (line: string) => void;

export class LockService {
  private runScriptPid: number | undefined;
  private current: Job | undefined;
  private waiting: Waiting | undefined;
  private holding: Holding | undefined;
  /** The last lock taken from us while held, reported to that job's completed hook. */
  private lost: { identity: LockIdentity; reason: string } | undefined;
  private readonly refusals = { loggedAt: -Infinity, unlogged: 0 };
  private readonly workerWatch: NodeJS.Timeout;
  private readonly queue: QueueOptions;
  readonly runnerName: string;

  constructor(
    private readonly cfg: WrapperConfig & { resource: string },
    private readonly log: Logger,
  ) {
    this.queue = { dir: cfg.lockDir, resource: cfg.resource, staleMs: cfg.staleMs, updateMs: cfg.updateMs, pollMs: cfg.pollMs };
    this.runnerName = displayText(cfg.runnerName, 64);
    this.workerWatch = setInterval(() => void this.checkWorkers(), cfg.pollMs);
    this.workerWatch.unref();
  }

  get resource(): string {
    return this.cfg.resource;
  }

  /** run.sh's pid: the job's worker is looked for only in its tree. */
  watchRunner(pid: number | undefined): void {
    this.runScriptPid = pid;
  }

  /** A request that is not let through: one line back, and a rate-limited line in the wrapper's log. */
  refuse(reply: (r: Reply) => void, why: string): void {
    const message = `${this.resource}: ${why}`;
    const now = performance.now();
    if (now - this.refusals.loggedAt >= REFUSAL_LOG_MS) {
      const more = this.refusals.unlogged ? ` (${this.refusals.unlogged} more refused before, not logged)` : '';
      this.log(`refused a hook request: ${message}${more}`);
      this.refusals.loggedAt = now;
      this.refusals.unlogged = 0;
    } else {
      this.refusals.unlogged++;
    }
    reply({ type: 'error', message });
  }

  /** Waits in the queue for the running job, reporting progress through `reply`, until held or aborted. */
  async acquire(labels: JobLabels, reply: (r: Reply) => void, gone: AbortSignal): Promise<void> {
    const job = await this.runningJob();
    if (typeof job === 'string') return this.refuse(reply, job);
    if (job.cancelled) return this.refuse(reply, 'the job was cancelled before it got the lock; not waiting');
    if (job.asked) {
      return this.refuse(reply, `this job ${this.holding?.job === job ? 'holds' : 'asked for'} ${this.resource} already: a job takes the board once, in its started hook`);
    }
    job.asked = true;
    if (this.holding) await this.releaseHeld('the runner started its next job');

    const info: JobInfo = { runner: this.runnerName, ...labels, job: job.name };
    const waiting: Waiting = { job, info, abort: new AbortController() };
    this.waiting = waiting;
    const onGone = (): void => waiting.abort.abort(new Error('the job-started hook went away'));
    gone.addEventListener('abort', onGone);
    const started = Date.now();
    let progress: NodeJS.Timeout | undefined;
    const report = (ticket: string): void => void this.sendPlace(ticket, reply);
    try {
      const lock = await acquireLock(this.queue, info, {
        signal: waiting.abort.signal,
        onStatus: ({ ticket }) => {
          if (progress) return;
          report(ticket);
          progress = setInterval(() => report(ticket), this.cfg.progressMs);
        },
        onLost: (reason) => this.onLost(lock, reason),
      });
      this.holding = { job, lock };
      this.log(`${this.resource}: acquired for ${describeJob(info)}`);
      reply({ type: 'acquired', resource: this.resource, waitedMs: Date.now() - started, ticket: lock.ticket.name });
    } catch (err) {
      const reason = waiting.abort.signal.aborted ? String((waiting.abort.signal.reason as Error)?.message ?? 'aborted') : (err as Error).message;
      this.log(`${this.resource}: stopped waiting for ${describeJob(info)}: ${reason}`);
      reply({ type: 'error', message: `could not lock ${this.resource}: ${reason}` });
    } finally {
      clearInterval(progress);
      gone.removeEventListener('abort', onGone);
      if (this.waiting === waiting) this.waiting = undefined;
    }
  }

  /**
   * The job running now, its worker bound, or why there is none. A worker
   * that a "Running job:" line has not announced yet is given a moment.
   */
  private async runningJob(): Promise<Job | string> {
    const none = `no job is running on ${this.runnerName}: the board is taken only by the started hook of a job the runner runs`;
    const runScript = this.runScriptPid;
    if (runScript === undefined) return none;
    if (!this.current || this.current.ended) {
      const before = this.current;
      if (!findWorker(runScript)) return none;
      for (let waited = 0; this.current === before && waited < JOB_LINE_WAIT_MS; waited += 50) await sleep(50);
      if (this.current === before) return none;
    }
    const job = this.current;
    if (!job || job.ended) return none;
    job.worker ??= findWorker(runScript);
    if (!job.worker) return none;
    if (!isAlive(job.worker)) {
      job.ended ??= `worker process ${job.worker.pid} exited`;
      return none;
    }
    return job;
  }

  /** What the runner printed about its jobs: a new job, or a cancel, which ends the wait for the lock (the hook itself is not cancelled). */
  runnerEvent(event: RunnerEvent): void {
    if (event.type === 'job-started') {
      const previous = this.current;
      if (previous?.worker && !previous.ended && isAlive(previous.worker)) {
        // The Listener starts a job only after the previous one's worker exited (JobDispatcher.cs): this line is not the Listener's.
        this.log(`${this.resource}: ignored a "Running job" line while the Runner.Worker ${previous.worker.pid} of ${displayText(previous.name, 100)} still runs`);
        return;
      }
      if (previous) previous.ended ??= 'the runner started its next job';
      this.current = { name: event.job, cancelled: false, asked: false };
      this.waiting?.abort.abort(new Error('the runner started its next job'));
      if (this.holding) void this.releaseHeld('the runner started its next job');
      return;
    }
    if (this.current) this.current.cancelled = true;
    if (this.waiting) {
      this.log(`${this.resource}: the runner reported a cancel: ${describeJob(this.waiting.info)} leaves the queue`);
      this.waiting.abort.abort(new Error('the job was cancelled while waiting'));
    }
  }

  /** The completed hook: frees the lock only for the labels that took it, and ends the job's claim to the board. */
  async release(labels: JobLabels): Promise<Reply> {
    const identity: LockIdentity = { runner: this.runnerName, runId: labels.runId, attempt: labels.attempt };
    const held = this.holding;
    if (held && sameIdentity(held.lock.job, identity)) {
      held.job.ended ??= 'its completed hook released the board';
      await this.releaseHeld(undefined);
      return { type: 'released', resource: this.resource };
    }
    if (this.waiting && sameIdentity(this.waiting.info, identity)) {
      this.waiting.job.ended ??= 'its completed hook ran while it waited';
      this.waiting.abort.abort(new Error('job completed while waiting'));
      return { type: 'released', resource: this.resource };
    }
    if (this.lost && sameIdentity(this.lost.identity, identity)) {
      return { type: 'released', resource: this.resource, lost: this.lost.reason };
    }
    const reason = held ? `held by ${describeIdentity(held.lock.job)}, not ${describeIdentity(identity)}` : `not held by ${describeIdentity(identity)}`;
    this.log(`${this.resource}: release ignored: ${reason}`);
    return { type: 'ignored', resource: this.resource, reason };
  }

  /** Stops waiting and frees whatever is held (wrapper stopping). */
  async shutdown(reason: string): Promise<void> {
    clearInterval(this.workerWatch);
    if (this.current) this.current.ended ??= reason;
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
    const waitingWorker = this.waiting?.job.worker;
    if (this.waiting && waitingWorker && !isAlive(waitingWorker)) {
      this.waiting.job.ended ??= `worker process ${waitingWorker.pid} exited`;
      this.waiting.abort.abort(new Error(`worker process ${waitingWorker.pid} exited`));
    }
    const heldWorker = this.holding?.job.worker;
    if (this.holding && heldWorker && !isAlive(heldWorker)) {
      this.holding.job.ended ??= `worker process ${heldWorker.pid} exited`;
      await this.releaseHeld(`worker process ${heldWorker.pid} exited without the completed hook`);
    }
  }

  /**
   * Progress for a waiting job: its place and how long the board has been
   * held, nothing else. The holder may be another org's job: its runner,
   * repository and run are not this job's to see (nor text to print in its log).
   */
  private async sendPlace(ticket: string, reply: (r: Reply) => void): Promise<void> {
    try {
      const state = await readResource(this.cfg.lockDir, this.resource);
      const live = state.queue.filter((t) => t.alive);
      const index = live.findIndex((t) => t.name === ticket);
      const since = state.holder ? Date.parse(state.holder.since) : Number.NaN;
      reply({
        type: 'waiting',
        resource: this.resource,
        place: index < 0 ? live.length + 1 : index + 1,
        ...(Number.isFinite(since) ? { heldForMs: Math.max(0, Date.now() - since) } : {}),
      });
    } catch {
      // a progress line is best effort
    }
  }
}

/** A job for the wrapper's log: labels made plain (they passed protocol.ts; the job name is the Listener's). */
function describeJob(info: JobInfo): string {
  return `${describeIdentity(info)} (${displayText(info.repository, 140) || 'unknown repository'}, job ${displayText(info.job, 100) || '?'})`;
}

export interface HookServer {
  close(): Promise<void>;
}

/** A connection has this long to send its request. */
const REQUEST_WAIT_MS = 10_000;
/** Hooks connect one at a time; a job opening hundreds of connections is refused past this. */
const MAX_CONNECTIONS = 32;

/**
 * Serves the hooks: one request per connection, read at most MAX_LINE_BYTES
 * far. The socket lives in a directory a job can delete or replace (jobs run
 * as the runner's user, and many CI jobs clean /tmp): every `checkMs` the
 * path is checked, and when it is no longer our socket we listen on it again.
 * Connections already open (a hook waiting for the lock) are not affected.
 */
export async function serveHooks(service: LockService, socketPath: string, o: { checkMs: number; log: Logger }): Promise<HookServer> {
  const onConnection = (socket: Socket): void => {
    const gone = new AbortController();
    socket.on('close', () => gone.abort());
    socket.on('error', () => gone.abort());
    socket.setTimeout(REQUEST_WAIT_MS, () => socket.destroy());
    let handled = false;
    let extra = 0;
    onLines(
      socket,
      (value) => {
        if (handled) return;
        handled = true;
        socket.setTimeout(0);
        // Read on (a hook that goes away must be noticed), but a request is one line.
        socket.on('data', (chunk: Buffer) => {
          extra += chunk.length;
          if (extra > MAX_LINE_BYTES) socket.destroy();
        });
        void handleRequest(service, value, socket, gone.signal);
      },
      () => {
        // Nothing more is read: the sender blocks, has a moment to read the answer, then its writes fail.
        socket.pause();
        service.refuse((r) => send(socket, r), `request longer than ${MAX_LINE_BYTES} bytes: refused`);
        socket.end();
        setTimeout(() => socket.destroy(), 1000).unref();
      },
    );
  };
  const listen = async (): Promise<{ server: Server; id: string }> => {
    await mkdir(dirname(socketPath), { recursive: true, mode: 0o755 });
    await rm(socketPath, { force: true }); // left by a previous run of this container, or put there by a job
    const server = createServer(onConnection);
    server.maxConnections = MAX_CONNECTIONS;
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
    close(): Promise<void> {
      clearInterval(timer);
      current?.server.close();
      current = undefined;
      return Promise.resolve();
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

async function handleRequest(service: LockService, value: unknown, socket: Socket, gone: AbortSignal): Promise<void> {
  const reply = (r: Reply): void => send(socket, r);
  const req: Request | { error: string } = parseRequest(value);
  try {
    if ('error' in req) service.refuse(reply, req.error);
    else if (req.op === 'acquire') await service.acquire(req.job, reply, gone);
    else reply(await service.release(req.job));
  } catch (err) {
    reply({ type: 'error', message: displayText((err as Error).message) });
  }
  socket.end();
}
