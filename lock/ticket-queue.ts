// The FIFO part of the lock: every waiter takes a numbered ticket file in
// `<res>.queue/`, keeps it alive by touching its mtime, and may go for the
// main lock only when no live ticket is older than its own. proper-lockfile
// alone has no queue (one process re-took it 39 times in a row), and letting
// only the head take over a stale lock avoids two waiters taking it at once.
import { readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import lockfile from 'proper-lockfile';
import { appendLockLog } from './lock-log.ts';
import { isFresh, parseTicket, resourcePaths, ticketName, ticketSeq, type JobInfo, type TicketRecord } from './layout.ts';
import { ensureSharedDir, errorCode, replaceSharedFile } from './files.ts';
import { Waker } from './wake.ts';

export interface QueueOptions {
  dir: string;
  resource: string;
  /** A heartbeat older than this means its owner is dead. */
  staleMs: number;
  /** Heartbeat period (well below staleMs). */
  updateMs: number;
  /** Fallback poll when no fs event arrives. */
  pollMs: number;
}

/** Retry policy for proper-lockfile: never a numeric count (it pre-allocates every delay). */
export function lockRetries(maxTimeout: number): { forever: true; minTimeout: number; maxTimeout: number; factor: number } {
  return { forever: true, minTimeout: 2, maxTimeout, factor: 1.5 };
}

export class Ticket {
  private heartbeat: NodeJS.Timeout | undefined;
  /** Set when the file vanished (declared dead by a waiter, or removed by an operator). */
  lost = false;

  constructor(
    readonly seq: number,
    readonly path: string,
  ) {}

  get name(): string {
    return ticketName(this.seq);
  }

  startHeartbeat(updateMs: number): void {
    this.heartbeat = setInterval(() => {
      const now = new Date();
      utimes(this.path, now, now).catch((err: unknown) => {
        if (errorCode(err) === 'ENOENT') {
          this.lost = true;
          this.stopHeartbeat();
        }
      });
    }, updateMs);
    this.heartbeat.unref();
  }

  stopHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  async remove(): Promise<void> {
    this.stopHeartbeat();
    await rm(this.path, { force: true });
  }
}

async function highestTicket(queueDir: string): Promise<number> {
  const seqs = (await readdir(queueDir)).map(ticketSeq).filter((s): s is number => s !== undefined);
  return seqs.length ? Math.max(...seqs) : 0;
}

async function readCounter(path: string): Promise<number> {
  try {
    return Number.parseInt(await readFile(path, 'utf8'), 10) || 0;
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return 0;
    throw err;
  }
}

/** Takes the next ticket number under a short lock and writes the ticket. */
export async function takeTicket(opts: QueueOptions, job: JobInfo): Promise<Ticket> {
  const paths = resourcePaths(opts.dir, opts.resource);
  await ensureSharedDir(paths.queue);
  const releaseSeq = await lockfile.lock(paths.seq, {
    realpath: false,
    stale: opts.staleMs,
    update: opts.updateMs,
    retries: lockRetries(50),
    onCompromised: () => undefined, // held for milliseconds; a takeover only risks a duplicate number, caught by 'wx'
  });
  try {
    // The counter keeps numbers rising when the queue empties; the highest
    // ticket covers a counter lost or torn by a crash.
    const seq = Math.max(await readCounter(paths.seq), await highestTicket(paths.queue)) + 1;
    const record: TicketRecord = { ...job, seq, requestedAt: new Date().toISOString(), staleMs: opts.staleMs };
    const path = `${paths.queue}/${ticketName(seq)}`;
    await writeFile(path, JSON.stringify(record), { flag: 'wx', mode: 0o666 });
    await replaceSharedFile(paths.seq, String(seq));
    return new Ticket(seq, path);
  } finally {
    await releaseSeq().catch(() => undefined);
  }
}

export class TicketLostError extends Error {
  constructor() {
    super('ticket removed while waiting');
  }
}

export interface TurnStatus {
  /** Our ticket's file name. */
  ticket: string;
  /** Live tickets ahead of ours (the holder's included). */
  ahead: number;
}

interface Ahead {
  name: string;
  mtimeMs: number;
}

/** Names and heartbeats of the tickets older than ours; undefined if ours is gone. */
async function ticketsAhead(queueDir: string, ours: Ticket): Promise<Ahead[] | undefined> {
  const names = await readdir(queueDir);
  if (!names.includes(ours.name)) return undefined;
  const older = names.filter((n) => (ticketSeq(n) ?? Infinity) < ours.seq);
  // stat only: this runs on every wake-up, the hand-over path
  const stats = await Promise.all(older.map((name) => stat(`${queueDir}/${name}`).then((s) => ({ name, mtimeMs: s.mtimeMs }), () => undefined)));
  return stats.filter((s): s is Ahead => s !== undefined);
}

async function removeDeadTicket(opts: QueueOptions, dead: Ahead): Promise<void> {
  const path = `${resourcePaths(opts.dir, opts.resource).queue}/${dead.name}`;
  const text = await readFile(path, 'utf8').catch(() => '');
  await rm(path, { force: true });
  const who = parseTicket(text, ticketSeq(dead.name) ?? 0);
  await appendLockLog(opts.dir, {
    event: 'dead-ticket-removed',
    resource: opts.resource,
    ticket: dead.name,
    runner: who?.runner ?? '',
    runId: who?.runId ?? '',
    heartbeatAgeMs: Math.round(Date.now() - dead.mtimeMs),
  }).catch(() => undefined);
}

/**
 * Resolves when no live ticket is older than ours. Dead tickets ahead are
 * removed on the way (any waiter may do it; rm is idempotent).
 */
export async function waitForTurn(
  opts: QueueOptions,
  ticket: Ticket,
  signal: AbortSignal,
  onStatus?: (status: TurnStatus) => void,
): Promise<void> {
  const { queue } = resourcePaths(opts.dir, opts.resource);
  const waker = new Waker(queue);
  try {
    for (;;) {
      if (signal.aborted) throw signal.reason;
      const ahead = ticket.lost ? undefined : await ticketsAhead(queue, ticket);
      if (!ahead) throw new TicketLostError();
      const now = Date.now();
      const dead = ahead.filter((t) => !isFresh(t.mtimeMs, opts.staleMs, now));
      await Promise.all(dead.map((t) => removeDeadTicket(opts, t)));
      const live = ahead.length - dead.length;
      if (live === 0) return;
      onStatus?.({ ticket: ticket.name, ahead: live });
      await waker.wait(opts.pollMs, signal);
    }
  } finally {
    waker.close();
  }
}
