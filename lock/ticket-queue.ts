// The FIFO part of the lock: every waiter takes a numbered ticket in
// `<res>.queue/`, keeps it alive, and goes for the main lock only when no live
// ticket is older. Entries that are not regular files are reported and removed
// unfollowed. Why a queue, and the rules: docs/lock-protocol.md#the-fifo-queue
import { constants, type Stats } from 'node:fs';
import { lstat, lutimes, open, readdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import lockfile from 'proper-lockfile';
import { appendLockLog, reportBadEntry } from './lock-log.ts';
import { maxSeq, parseCounter, parseTicket, resourcePaths, ticketName, ticketSeq, type JobInfo, type TicketRecord } from './layout.ts';
import { ensureSharedDir, readRecord, RECORD_MODE, removeEntry, replaceSharedFile, unlinkRegular } from './files.ts';
import { entryKind, errorCode, isMissing, lstatIfPresent } from '../core/safe-read.ts';
import { HeartbeatWatch, lockfileFs } from './liveness.ts';
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

/** Reports a bad entry of this resource (one line in locks.log, once per process); never rejects. */
export function badEntryReporter(opts: QueueOptions): (path: string, what: string, action: string) => void {
  return (path, what, action) => void reportBadEntry(opts.dir, opts.resource, path, what, action);
}

export class Ticket {
  private heartbeat: NodeJS.Timeout | undefined;
  /** Set when the file vanished or was replaced (declared dead by a waiter, removed by an operator, or a job). */
  lost = false;

  constructor(
    readonly seq: number,
    readonly path: string,
    /** The inode we created: an entry of another inode at our path is not our ticket. */
    readonly ino: number,
  ) {}

  get name(): string {
    return ticketName(this.seq);
  }

  /** True while our own regular file is at our path. */
  async present(): Promise<boolean> {
    const info = await lstatIfPresent(this.path).catch(() => undefined);
    return !!info?.isFile() && info.ino === this.ino;
  }

  startHeartbeat(updateMs: number): void {
    this.heartbeat = setInterval(() => void this.beat(), updateMs);
    this.heartbeat.unref();
  }

  private async beat(): Promise<void> {
    try {
      if (!(await this.present())) {
        this.lost = true;
        this.stopHeartbeat();
        return;
      }
      const now = new Date();
      await lutimes(this.path, now, now); // never through a symlink swapped in meanwhile
    } catch {
      // the next beat tries again; waiters judge by change, a missed beat is harmless
    }
  }

  stopHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  /** Removes our ticket file (only ours: never what a job put in its place). Never rejects. */
  async remove(): Promise<void> {
    this.stopHeartbeat();
    await unlinkRegular(this.path, this.ino).catch(() => undefined);
  }
}

/** The highest valid ticket name in the queue, whatever the entry is (a junk entry's name is skipped over, not reused). */
async function highestTicket(queueDir: string): Promise<number> {
  const seqs = (await readdir(queueDir)).map(ticketSeq).filter((s): s is number => s !== undefined);
  return seqs.length ? Math.max(...seqs) : 0;
}

/** A counter more than this above the highest ticket is not believed (a job wrote it): numbering restarts from the tickets. */
const maxCounterJump = 1_000_000_000;

/**
 * The ticket counter, validated: a plain number, at most `maxCounterJump`
 * above the highest ticket. Anything else (a FIFO, a directory, 999999999999,
 * garbage) is reported and numbering goes on from the tickets themselves.
 */
async function readCounter(opts: QueueOptions, highest: number): Promise<number> {
  const { seq: path } = resourcePaths(opts.dir, opts.resource);
  const read = await readRecord(path, 64);
  if ('missing' in read) return 0;
  const report = badEntryReporter(opts);
  if ('bad' in read) {
    report(path, read.bad, 'ticket numbers recomputed from the queue');
    return 0;
  }
  const value = parseCounter(read.text);
  if (value === undefined || value > highest + maxCounterJump) {
    report(path, `an invalid ticket counter (${JSON.stringify(read.text.slice(0, 16))})`, 'ticket numbers recomputed from the queue');
    return 0;
  }
  return value;
}

/** Creates the ticket file (O_EXCL: never through an entry already there) and returns its inode. */
async function writeTicket(path: string, record: TicketRecord): Promise<number> {
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, RECORD_MODE);
  try {
    await handle.chmod(RECORD_MODE);
    await handle.writeFile(JSON.stringify(record));
    return (await handle.stat()).ino;
  } finally {
    await handle.close();
  }
}

/** Takes the next ticket number under a short lock and writes the ticket. */
export async function takeTicket(opts: QueueOptions, job: JobInfo): Promise<Ticket> {
  const paths = resourcePaths(opts.dir, opts.resource);
  const report = badEntryReporter(opts);
  const found = await ensureSharedDir(paths.queue);
  if (found) report(paths.queue, found, 'moved aside; queue re-created');
  const releaseSeq = await lockfile.lock(paths.seq, {
    realpath: false,
    stale: opts.staleMs,
    update: opts.updateMs,
    retries: lockRetries(50),
    onCompromised: () => undefined, // held for milliseconds; a takeover only risks a duplicate number, caught by O_EXCL
    fs: lockfileFs(new HeartbeatWatch(), opts.staleMs, report),
  });
  try {
    // The counter keeps numbers rising when the queue empties; the highest
    // ticket covers a counter lost, torn or tampered with.
    const highest = await highestTicket(paths.queue);
    const counter = await readCounter(opts, highest);
    let seq = (counter + 1 <= maxSeq ? Math.max(counter, highest) : highest) + 1;
    for (let attempt = 0; ; attempt++, seq++) {
      if (seq > maxSeq)
        throw new Error(`${opts.resource}: no ticket number left after ${ticketName(seq - 1)} in ${paths.queue}: remove the stray ticket files there`);
      const path = `${paths.queue}/${ticketName(seq)}`;
      const record: TicketRecord = { ...job, seq, requestedAt: new Date().toISOString(), staleMs: opts.staleMs };
      try {
        const ino = await writeTicket(path, record);
        await replaceSharedFile(paths.seq, String(seq)).catch((err: unknown) =>
          report(paths.seq, `unwritable (${errorCode(err) ?? (err as Error).message})`, 'left as is'),
        );
        return new Ticket(seq, path, ino);
      } catch (err) {
        // An entry with this name already (planted, or a racing taker): skip the number.
        if (errorCode(err) !== 'EEXIST' && errorCode(err) !== 'ELOOP') throw err;
        if (attempt >= 100) throw err;
      }
    }
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
  path: string;
  info: Stats;
  dead: boolean;
}

/** Tickets older than ours, judged alive or dead by watching them; undefined if ours is gone. Junk entries are removed. */
async function ticketsAhead(opts: QueueOptions, ours: Ticket, watch: HeartbeatWatch): Promise<Ahead[] | undefined> {
  const { queue } = resourcePaths(opts.dir, opts.resource);
  let names: string[];
  try {
    names = await readdir(queue);
  } catch (err) {
    if (isMissing(err)) return undefined; // the queue itself was removed or replaced: queue again
    throw err;
  }
  if (!names.includes(ours.name) || !(await ours.present())) return undefined;
  const older = names.filter((n) => (ticketSeq(n) ?? Infinity) < ours.seq);
  // lstat only: this runs on every wake-up, the hand-over path
  const entries = await Promise.all(
    older.map((name) => {
      const path = `${queue}/${name}`;
      return lstat(path).then(
        (info) => ({ name, path, info }),
        () => undefined,
      );
    }),
  );
  const ahead: Ahead[] = [];
  const report = badEntryReporter(opts);
  for (const e of entries) {
    if (!e) continue;
    if (!e.info.isFile()) {
      report(e.path, entryKind(e.info), 'skipped and removed (never followed)');
      await removeEntry(e.path).catch(() => undefined);
      continue;
    }
    ahead.push({ ...e, dead: watch.isDead(e.path, e.info, opts.staleMs) });
  }
  watch.retain(new Set(ahead.map((a) => a.path)), `${queue}/`);
  return ahead;
}

async function removeDeadTicket(opts: QueueOptions, dead: Ahead, unchangedMs: number): Promise<void> {
  const read = await readRecord(dead.path);
  const removed = await unlinkRegular(dead.path, dead.info.ino).catch(() => false);
  if (!removed) return; // gone already, or replaced meanwhile: judged again next time
  const who = 'text' in read ? parseTicket(read.text, ticketSeq(dead.name) ?? 0) : undefined;
  await appendLockLog(opts.dir, {
    event: 'dead-ticket-removed',
    resource: opts.resource,
    ticket: dead.name,
    runner: who?.runner ?? '',
    runId: who?.runId ?? '',
    unchangedForMs: Math.round(unchangedMs),
  }).catch(() => undefined);
}

/**
 * Resolves when no live ticket is older than ours. Dead tickets ahead are
 * removed on the way (any waiter may do it; removal checks the inode). The
 * main lock's heartbeat is watched too, so the head can judge it at once.
 */
export async function waitForTurn(
  opts: QueueOptions,
  ticket: Ticket,
  signal: AbortSignal,
  onStatus?: (status: TurnStatus) => void,
  watch = new HeartbeatWatch(),
): Promise<void> {
  const { queue, lock } = resourcePaths(opts.dir, opts.resource);
  const lockKey = resolve(lock); // the path proper-lockfile asks about
  const waker = new Waker(queue);
  try {
    for (;;) {
      if (signal.aborted) throw signal.reason;
      const ahead = ticket.lost ? undefined : await ticketsAhead(opts, ticket, watch);
      if (!ahead) throw new TicketLostError();
      const lockInfo = await lstatIfPresent(lock).catch(() => undefined);
      if (lockInfo?.isDirectory()) watch.unchangedMs(lockKey, lockInfo);
      const dead = ahead.filter((t) => t.dead);
      await Promise.all(dead.map((t) => removeDeadTicket(opts, t, watch.unchangedMs(t.path, t.info))));
      const live = ahead.length - dead.length;
      if (live === 0) return;
      onStatus?.({ ticket: ticket.name, ahead: live });
      await waker.wait(opts.pollMs, signal);
    }
  } finally {
    waker.close();
  }
}
