// The board lock for the job the runner runs, as a state machine: job seen →
// queued → holding → released. Jobs run pull-request code and can reach the
// hook socket, so it trusts only what the wrapper observes itself; the socket
// (hook-server.ts) only carries requests here. No socket needed to test it.
import { setTimeout as sleep } from 'node:timers/promises';
import { displayText } from '../lock/display.ts';
import type { HeldTurn, ResourceLockBackend, TurnProgress } from '../lock/backend.ts';
import { directoryBackend } from '../lock/directory-backend.ts';
import { EtcdLock } from '../lock/etcd/etcd-lock.ts';
import { appendLockLog } from '../lock/lock-log.ts';
import { describeIdentity, sameIdentity, type JobInfo, type LockIdentity } from '../lock/layout.ts';
import type { TurnEnd } from '../lock/lock-log.ts';
import { StopWaiting } from '../lock/resource-lock.ts';
import type { Reporter } from '../core/reporter.ts';
import type { WrapperConfig } from './config.ts';
import { findWorker, isAlive, type ProcessRef } from './process-watch.ts';
import type { JobLabels, Reply } from './protocol.ts';
import type { RunnerEvent } from './runner-output.ts';

/**
 * The Listener prints "Running job:" before it starts the Worker, and the
 * pipe from run.sh may lag behind a fast hook: an acquire that finds a
 * Runner.Worker but no such line yet waits this long for it.
 */
const JOB_LINE_WAIT_MS = 2000;

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
  lock: HeldTurn;
}

/** How the wrapper sees the runner's processes: /proc (process-watch.ts); tests give their own. */
export interface ProcessView {
  /** The Runner.Worker under run.sh's Listener, never a pid from a request. */
  findWorker(runScriptPid: number): ProcessRef | undefined;
  isAlive(ref: ProcessRef): boolean;
}

const procfs: ProcessView = { findWorker, isAlive };

export type JobLockConfig = Pick<WrapperConfig, 'lockDir' | 'runnerName' | 'staleMs' | 'updateMs' | 'pollMs' | 'progressMs'> &
  Partial<Pick<WrapperConfig, 'lockBackend' | 'etcd'>> & {
    resource: string;
    /** The fleet's org (RUNNER_FLEET_ORG), named in locks.log's history lines; never taken from a job. */
    org?: string;
  };

export type WaitingReply = Extract<Reply, { type: 'waiting' }>;
/** How an acquire ended: held, failed while queued, or refused before it queued (no ticket taken). */
export type AcquireResult = Extract<Reply, { type: 'acquired' | 'error' }> | { type: 'refused'; reason: string };
export type ReleaseResult = Extract<Reply, { type: 'released' | 'ignored' }>;

/**
 * The lock for one resource, taken for the job this runner runs:
 * - a job starts when the Listener prints "Running job:" (runner-output.ts)
 *   and runs while its Runner.Worker lives: the one found among run.sh's
 *   descendants (process-watch.ts), never a pid from a request;
 * - a job ends when that worker exits or its completed hook releases;
 * - an acquire with no job running is refused: no ticket, no queue. A job asks
 *   once; the runner name is the wrapper's, the job name the Listener's, and
 *   run ID, attempt and repository from the request are labels (protocol.ts).
 * Release paths: the completed hook (same labels only), the worker exiting,
 * the runner's next job, and shutdown.
 */
export class JobLock {
  private runScriptPid: number | undefined;
  private current: Job | undefined;
  private waiting: Waiting | undefined;
  private holding: Holding | undefined;
  /** The last lock taken from us while held, reported to that job's completed hook. */
  private lost: { identity: LockIdentity; reason: string } | undefined;
  private readonly workerWatch: NodeJS.Timeout;
  /** Where the lock is: the lock directory, or etcd (lock/backend.ts). */
  readonly backend: ResourceLockBackend;
  private readonly processes: ProcessView;
  private readonly jobLineWaitMs: number;
  readonly runnerName: string;

  constructor(
    private readonly cfg: JobLockConfig,
    private readonly reporter: Reporter,
    o: { processes?: ProcessView; jobLineWaitMs?: number; backend?: ResourceLockBackend } = {},
  ) {
    this.backend =
      o.backend ??
      (cfg.lockBackend === 'etcd' && cfg.etcd
        ? new EtcdLock(cfg.etcd, cfg.resource, { logDir: cfg.lockDir })
        : directoryBackend({ dir: cfg.lockDir, resource: cfg.resource, staleMs: cfg.staleMs, updateMs: cfg.updateMs, pollMs: cfg.pollMs }));
    this.runnerName = displayText(cfg.runnerName, 64);
    this.processes = o.processes ?? procfs;
    this.jobLineWaitMs = o.jobLineWaitMs ?? JOB_LINE_WAIT_MS;
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

  /**
   * The started hook: waits in the queue for the running job until held or
   * aborted (a cancel, the worker exiting, the next job, `gone`: the hook went
   * away), with a `waiting` line through `onWaiting` every progressMs.
   */
  async acquire(labels: JobLabels, onWaiting: (r: WaitingReply) => void, gone: AbortSignal): Promise<AcquireResult> {
    const job = await this.runningJob();
    if (typeof job === 'string') return refused(job);
    if (job.cancelled) return refused('the job was cancelled before it got the lock; not waiting');
    if (job.asked) {
      const what = this.holding?.job === job ? 'holds' : 'asked for';
      return refused(`this job ${what} ${this.resource} already: a job takes the board once, in its started hook`);
    }
    job.asked = true;
    if (this.holding) await this.releaseHeld('next-job', 'the runner started its next job');

    const info: JobInfo = { runner: this.runnerName, ...labels, job: job.name };
    const waiting: Waiting = { job, info, abort: new AbortController() };
    this.waiting = waiting;
    const onGone = (): void => waiting.abort.abort(new StopWaiting('the job-started hook went away', 'hook-gone'));
    gone.addEventListener('abort', onGone);
    const started = Date.now();
    let progress: NodeJS.Timeout | undefined;
    let over = false;
    const report = (ticket: string): void => void this.place(ticket).then((r) => r && !over && onWaiting(r));
    // An unreachable lock store (etcd): said at once in the job log, then at most every progressMs; the job keeps waiting.
    let unreachableSaid = 0;
    let ticketNow = '';
    const onStatus = ({ ticket, unreachable }: TurnProgress): void => {
      if (ticket) ticketNow = ticket;
      if (unreachable !== undefined) {
        if (Date.now() - unreachableSaid < this.cfg.progressMs) return;
        unreachableSaid = Date.now();
        this.reporter.info(`${this.resource}: ${unreachable} (${describeJob(info)} keeps waiting)`);
        if (!over) onWaiting({ type: 'waiting', resource: this.resource, place: 0, unreachable: displayText(unreachable, 240) });
        return;
      }
      unreachableSaid = 0;
      if (progress) return;
      report(ticket);
      progress = setInterval(() => ticketNow && report(ticketNow), this.cfg.progressMs);
    };
    try {
      const lock = await this.backend.acquire(info, {
        signal: waiting.abort.signal,
        org: this.cfg.org ?? '',
        onStatus,
        onLost: (reason) => this.onLost(lock, reason),
      });
      this.holding = { job, lock };
      this.reporter.info(`${this.resource}: acquired for ${describeJob(info)}`);
      return { type: 'acquired', resource: this.resource, waitedMs: Date.now() - started, ticket: lock.ticket.name };
    } catch (err) {
      const signal = waiting.abort.signal;
      const reason = signal.aborted ? String((signal.reason as Error)?.message ?? 'aborted') : (err as Error).message;
      this.reporter.info(`${this.resource}: stopped waiting for ${describeJob(info)}: ${reason}`);
      return { type: 'error', message: `could not lock ${this.resource}: ${reason}` };
    } finally {
      over = true;
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
      if (!this.processes.findWorker(runScript)) return none;
      for (let waited = 0; this.current === before && waited < this.jobLineWaitMs; waited += 50) await sleep(50);
      if (this.current === before) return none;
    }
    const job = this.current;
    if (!job || job.ended) return none;
    job.worker ??= this.processes.findWorker(runScript);
    if (!job.worker) return none;
    if (!this.processes.isAlive(job.worker)) {
      job.ended ??= `worker process ${job.worker.pid} exited`;
      return none;
    }
    return job;
  }

  /** What the runner printed about its jobs: a new job, or a cancel, which ends the wait for the lock (the hook is not cancelled). */
  runnerEvent(event: RunnerEvent): void {
    if (event.type === 'job-started') {
      const previous = this.current;
      if (previous?.worker && !previous.ended && this.processes.isAlive(previous.worker)) {
        // The Listener starts a job only after the previous one's worker exited (JobDispatcher.cs): this line is not the Listener's.
        const worker = `the Runner.Worker ${previous.worker.pid} of ${displayText(previous.name, 100)}`;
        this.reporter.info(`${this.resource}: ignored a "Running job" line while ${worker} still runs`);
        return;
      }
      if (previous) previous.ended ??= 'the runner started its next job';
      this.current = { name: event.job, cancelled: false, asked: false };
      this.waiting?.abort.abort(new StopWaiting('the runner started its next job', 'next-job'));
      if (this.holding) void this.releaseHeld('next-job', 'the runner started its next job');
      return;
    }
    if (this.current) this.current.cancelled = true;
    if (this.waiting) {
      this.reporter.info(`${this.resource}: the runner reported a cancel: ${describeJob(this.waiting.info)} leaves the queue`);
      this.waiting.abort.abort(new StopWaiting('the job was cancelled while waiting', 'cancelled'));
    }
  }

  /** The completed hook: frees the lock only for the labels that took it, and ends the job's claim to the board. */
  async release(labels: JobLabels): Promise<ReleaseResult> {
    const identity: LockIdentity = { runner: this.runnerName, runId: labels.runId, attempt: labels.attempt };
    const held = this.holding;
    if (held && sameIdentity(held.lock.job, identity)) {
      held.job.ended ??= 'its completed hook released the board';
      await this.releaseHeld(held.job.cancelled ? 'cancelled' : 'completed', undefined);
      return { type: 'released', resource: this.resource };
    }
    if (this.waiting && sameIdentity(this.waiting.info, identity)) {
      this.waiting.job.ended ??= 'its completed hook ran while it waited';
      this.waiting.abort.abort(new StopWaiting('job completed while waiting', 'completed'));
      return { type: 'released', resource: this.resource };
    }
    if (this.lost && sameIdentity(this.lost.identity, identity)) {
      return { type: 'released', resource: this.resource, lost: this.lost.reason };
    }
    const reason = held ? `held by ${describeIdentity(held.lock.job)}, not ${describeIdentity(identity)}` : `not held by ${describeIdentity(identity)}`;
    this.reporter.info(`${this.resource}: release ignored: ${reason}`);
    return { type: 'ignored', resource: this.resource, reason };
  }

  /** Stops waiting and frees whatever is held (wrapper stopping). */
  async shutdown(reason: string): Promise<void> {
    clearInterval(this.workerWatch);
    if (this.current) this.current.ended ??= reason;
    this.waiting?.abort.abort(new StopWaiting(reason, 'shutdown'));
    if (this.holding) await this.releaseHeld('shutdown', reason);
    await this.backend.close().catch(() => undefined);
  }

  /** Frees the held lock (`how` ends the turn's history line); `abnormal` (why, when no completed hook asked) goes to locks.log too. */
  private async releaseHeld(how: TurnEnd, abnormal: string | undefined): Promise<void> {
    const holding = this.holding;
    if (!holding) return;
    this.holding = undefined;
    await holding.lock.release(how);
    const job = holding.lock.job;
    if (abnormal === undefined) {
      this.reporter.info(`${this.resource}: released by ${describeIdentity(job)}`);
      return;
    }
    this.reporter.info(`${this.resource}: released for ${describeIdentity(job)}: ${abnormal}`);
    await appendLockLog(this.cfg.lockDir, {
      event: 'released-by-wrapper',
      resource: this.resource,
      runner: job.runner,
      runId: job.runId,
      attempt: job.attempt,
      reason: abnormal,
    }).catch(() => undefined);
  }

  private onLost(lock: HeldTurn, reason: string): void {
    this.lost = { identity: lock.job, reason };
    if (this.holding?.lock === lock) this.holding = undefined;
    const who = describeIdentity(lock.job);
    this.reporter.info(`${this.resource}: LOST the lock of ${who} (${reason}); another job may use the resource now`);
  }

  /** A job that ends without its completed hook (cancel, crash, runner stop) ends with its worker. */
  private async checkWorkers(): Promise<void> {
    const waitingWorker = this.waiting?.job.worker;
    if (this.waiting && waitingWorker && !this.processes.isAlive(waitingWorker)) {
      this.waiting.job.ended ??= `worker process ${waitingWorker.pid} exited`;
      const how = this.waiting.job.cancelled ? 'cancelled' : 'worker-exit';
      this.waiting.abort.abort(new StopWaiting(`worker process ${waitingWorker.pid} exited`, how));
    }
    const heldWorker = this.holding?.job.worker;
    if (this.holding && heldWorker && !this.processes.isAlive(heldWorker)) {
      this.holding.job.ended ??= `worker process ${heldWorker.pid} exited`;
      const how = this.holding.job.cancelled ? 'cancelled' : 'worker-exit';
      await this.releaseHeld(how, `worker process ${heldWorker.pid} exited without the completed hook`);
    }
  }

  /**
   * Progress for a waiting job: its place and how long the board has been
   * held, nothing else. The holder may be another org's job: its runner,
   * repository and run are not this job's to see (nor text to print in its log).
   * Undefined when the lock directory cannot be read (a progress line is best effort).
   */
  private async place(ticket: string): Promise<WaitingReply | undefined> {
    const place = await this.backend.place(ticket);
    return place && { type: 'waiting', resource: this.resource, ...place };
  }
}

function refused(reason: string): AcquireResult {
  return { type: 'refused', reason };
}

/** A job for the wrapper's log: labels made plain (they passed protocol.ts; the job name is the Listener's). */
function describeJob(info: JobInfo): string {
  const repository = displayText(info.repository, 140) || 'unknown repository';
  return `${describeIdentity(info)} (${repository}, job ${displayText(info.job, 100) || '?'})`;
}
