// The whole lock for one resource: a place in the FIFO ticket queue, then
// proper-lockfile's main lock (the mutual exclusion; its mtime heartbeat lets
// a waiter take over after a SIGKILL), then the holder record for readers.
// Each turn is recorded in locks.log as it happens (queued, acquired,
// released or left-queue; lock-log.ts), the history `make report` reads.
import lockfile from 'proper-lockfile';
import { appendLockLog, turnEntry, type TurnEnd, type TurnEvent } from './lock-log.ts';
import { parseHolder, resourcePaths, type HolderRecord, type JobInfo } from './layout.ts';
import { readRecord, replaceSharedFile, unlinkRegular } from './files.ts';
import { errorCode } from '../core/safe-read.ts';
import { HeartbeatWatch, lockfileFs } from './liveness.ts';
import { badEntryReporter, lockRetries, takeTicket, TicketLostError, waitForTurn, type QueueOptions, type Ticket, type TurnStatus } from './ticket-queue.ts';

/**
 * An abort reason that says how the wait ended, for the `left-queue` line
 * (any other reason is recorded as `aborted`).
 */
export class StopWaiting extends Error {
  constructor(
    message: string,
    readonly how: TurnEnd,
  ) {
    super(message);
  }
}

/** What locks.log's turn lines name besides the job: the org of the runner asking. */
interface TurnContext {
  dir: string;
  resource: string;
  /** The wrapper's own (RUNNER_FLEET_ORG), never the job's word; '' when unknown. */
  org: string;
  /** When the job took its first ticket (ms since the epoch). */
  queuedAt: number;
}

/** One turn line in locks.log; never rejects (history is best effort: a line lost is not a lock lost). */
async function recordTurn(ctx: TurnContext, event: TurnEvent, job: JobInfo, ticket: string, extra: Record<string, unknown> = {}): Promise<void> {
  await appendLockLog(ctx.dir, turnEntry(event, ctx.resource, job, ctx.org, ticket, extra)).catch(() => undefined);
}

export interface AcquireOptions {
  signal: AbortSignal;
  /**
   * The org of the runner asking, for locks.log's history: the wrapper's
   * own (its container's RUNNER_FLEET_ORG), never a claim of the job.
   */
  org?: string;
  onStatus?: (status: TurnStatus) => void;
  /** Called when a ticket is taken (again, after a lost one): from here on, FIFO order holds for this waiter. */
  onQueued?: (ticket: string) => void;
  /** Called once if the lock is taken from us (operator, or our heartbeat stalled past the stale window). */
  onLost?: (reason: string) => void;
}

export class HeldLock {
  private released = false;
  /** The `acquired` line being written: only a turn that has one ends with a `released` line, written after it. */
  private acquiredLine: Promise<void> | undefined;
  /** Why the lock was lost while held, if it was. */
  lost: string | undefined;

  constructor(
    private readonly opts: QueueOptions,
    readonly job: JobInfo,
    readonly ticket: Ticket,
    readonly since: Date,
    private readonly unlock: () => Promise<void>,
    private readonly onLost?: (reason: string) => void,
    private readonly turn?: TurnContext,
  ) {}

  /**
   * Starts the `acquired` line (acquireLock, once the lock is ours to keep).
   * Not awaited: the holder need not wait for the disk to use the board (it
   * is on the hand-over's path), and `released` waits for it.
   */
  recordAcquired(): void {
    if (this.turn) this.acquiredLine = recordTurn(this.turn, 'acquired', this.job, this.ticket.name, { waitMs: this.waitMs });
  }

  private get waitMs(): number {
    return Math.max(0, this.since.getTime() - (this.turn?.queuedAt ?? this.since.getTime()));
  }

  private async recordReleased(how: TurnEnd): Promise<void> {
    const acquired = this.acquiredLine;
    if (!this.turn || !acquired) return;
    this.acquiredLine = undefined;
    const holdMs = Math.max(0, Date.now() - this.since.getTime());
    await acquired; // never rejects (recordTurn)
    await recordTurn(this.turn, 'released', this.job, this.ticket.name, { waitMs: this.waitMs, holdMs, how });
  }

  get isHeld(): boolean {
    return !this.released && this.lost === undefined;
  }

  /**
   * Frees the lock; the next ticket wakes on the ticket's removal. Idempotent,
   * and never rejects: whatever a job left in the directory, the wrapper
   * calling this from a timer must not die of an unhandled rejection.
   */
  async release(how: TurnEnd = 'released'): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.lost === undefined) {
      // Before the lock is freed: the next holder's `acquired` line comes after this one.
      await this.recordReleased(how);
      await this.removeHolderRecord();
      await this.unlock().catch(() => undefined); // already gone: nothing left to free
    }
    await this.ticket.remove();
  }

  /** proper-lockfile's onCompromised: someone else may hold the lock now. */
  markLost(err: Error): void {
    if (this.released || this.lost !== undefined) return;
    this.lost = err.message;
    void this.ticket.remove();
    void this.removeHolderRecord();
    void appendLockLog(this.opts.dir, {
      event: 'lock-lost',
      resource: this.opts.resource,
      runner: this.job.runner,
      runId: this.job.runId,
      attempt: this.job.attempt,
      reason: this.lost,
    }).catch(() => undefined);
    void this.recordReleased('lost');
    this.onLost?.(this.lost);
  }

  /** Removes the holder record only if it is still ours (a new holder may have written its own). */
  private async removeHolderRecord(): Promise<void> {
    const path = resourcePaths(this.opts.dir, this.opts.resource).holder;
    try {
      const read = await readRecord(path);
      if ('text' in read && parseHolder(read.text)?.ticket === this.ticket.name) await unlinkRegular(path);
    } catch {
      // missing already, or not a file of ours
    }
  }
}

async function takeTicketWithHeartbeat(opts: QueueOptions, job: JobInfo): Promise<Ticket> {
  const ticket = await takeTicket(opts, job);
  ticket.startHeartbeat(opts.updateMs);
  return ticket;
}

/** Waits for our turn in FIFO order and takes the lock; rejects only if aborted or on I/O errors. */
export async function acquireLock(opts: QueueOptions, job: JobInfo, { signal, onStatus, onQueued, onLost, org = '' }: AcquireOptions): Promise<HeldLock> {
  const turn: TurnContext = { dir: opts.dir, resource: opts.resource, org, queuedAt: Date.now() };
  let ticket = await takeTicketWithHeartbeat(opts, job);
  await recordTurn(turn, 'queued', job, ticket.name);
  onQueued?.(ticket.name);
  let held: HeldLock | undefined;
  // One watch for the whole wait: the heartbeats it saw while queueing count
  // when the head judges the main lock (see liveness.ts).
  const watch = new HeartbeatWatch();
  const report = badEntryReporter(opts);
  try {
    for (;;) {
      try {
        await waitForTurn(opts, ticket, signal, onStatus, watch);
        break;
      } catch (err) {
        if (!(err instanceof TicketLostError)) throw err;
        // Declared dead (our heartbeat stalled) or removed by an operator: queue again at the back.
        void appendLockLog(opts.dir, { event: 'ticket-lost', resource: opts.resource, ticket: ticket.name, runner: job.runner, runId: job.runId }).catch(
          () => undefined,
        );
        await ticket.remove();
        ticket = await takeTicketWithHeartbeat(opts, job);
        await recordTurn(turn, 'queued', job, ticket.name, { requeued: true });
        onQueued?.(ticket.name);
      }
    }
    let lostEarly: Error | undefined;
    const paths = resourcePaths(opts.dir, opts.resource);
    // Only the head gets here, so at most one waiter takes over a stale lock.
    // The lock may still be held briefly (a holder whose ticket was declared
    // dead but whose lock is fresh): retry until it is free or stale.
    const unlock = await lockfile.lock(paths.main, {
      realpath: false,
      stale: opts.staleMs,
      update: opts.updateMs,
      retries: lockRetries(Math.min(100, opts.pollMs)),
      onCompromised: (err) => (held ? held.markLost(err) : (lostEarly = err)),
      fs: lockfileFs(watch, opts.staleMs, report),
    });
    const since = new Date();
    held = new HeldLock(opts, job, ticket, since, unlock, onLost, turn);
    if (signal.aborted || lostEarly) {
      await held.release();
      throw signal.aborted ? signal.reason : lostEarly;
    }
    held.recordAcquired();
    const record: HolderRecord = { ...job, ticket: ticket.name, since: since.toISOString(), staleMs: opts.staleMs };
    // The record only tells readers who holds the lock: if a job planted
    // something there that cannot be replaced, report it and keep the lock.
    await replaceSharedFile(paths.holder, JSON.stringify(record)).catch((err: unknown) =>
      report(paths.holder, `unwritable (${errorCode(err) ?? (err as Error).message})`, 'holder record not written'),
    );
    return held;
  } catch (err) {
    await ticket.remove();
    const how: TurnEnd = signal.aborted ? (signal.reason instanceof StopWaiting ? signal.reason.how : 'aborted') : 'error';
    const reason = signal.aborted ? String((signal.reason as Error | undefined)?.message ?? 'aborted') : (err as Error).message;
    await recordTurn(turn, 'left-queue', job, ticket.name, { waitMs: Math.max(0, Date.now() - turn.queuedAt), how, reason: reason.slice(0, 300) });
    throw err;
  }
}
