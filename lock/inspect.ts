// Reading a lock directory from outside the lock: who holds each resource and
// who waits, in order. Used by the host tool (scripts/locks.ts) and by the
// wrapper for its "waiting" messages. Readers never take a lock: every file
// may vanish between readdir and read, which simply means "gone". Jobs can
// write the directory: records are read bounded and never through a symlink
// or FIFO (files.ts readRecord), and what does not belong is skipped and
// listed in `warnings`, one line each.
import { readdir } from 'node:fs/promises';
import { basename } from 'node:path';
import { appendLockLog } from './lock-log.ts';
import { readRecord, removeEntry, unlinkRegular } from './files.ts';
import { isMissing, lstatIfPresent } from '../core/safe-read.ts';
import { isFresh, parseHolder, parseTicket, resourcePaths, resourcesInListing, ticketSeq, type HolderRecord, type TicketRecord } from './layout.ts';

export interface Heartbeat {
  /** False when the heartbeat is older than the owner's stale window, or in the future. */
  alive: boolean;
  heartbeatAgeMs: number;
}

export interface TicketState extends TicketRecord, Heartbeat {
  name: string;
}

export interface HolderState extends HolderRecord, Heartbeat {}

export interface ResourceState {
  resource: string;
  /** Set while the main lock exists; fields are empty if its record is missing. */
  holder?: HolderState;
  /** Tickets other than the holder's, oldest first (dead ones included, flagged). */
  queue: TicketState[];
  /** Entries that do not belong in the lock directory, one line each: skipped. */
  warnings: string[];
  /** Records this process may not read (they are root's, mode 0600): a non-root reader sees no names. */
  unreadable: number;
}

const emptyTicket: TicketRecord = { runner: '', runId: '', attempt: '', repository: '', job: '', seq: 0, requestedAt: '', staleMs: 10_000 };

function futureNote(name: string, mtimeMs: number, now: number, warnings: string[]): void {
  if (mtimeMs > now + 1500) warnings.push(`${name}: mtime in the future (${new Date(mtimeMs).toISOString()}): not counted as alive`);
}

/** All tickets of a resource, oldest first, with their liveness; bad entries go to `warnings`, records we may not read are counted in `denied`. */
export async function readTickets(dir: string, resource: string, now = Date.now(), warnings: string[] = [], denied = { count: 0 }): Promise<TicketState[]> {
  const { queue } = resourcePaths(dir, resource);
  const queueName = basename(queue);
  const info = await lstatIfPresent(queue);
  if (!info) return [];
  if (!info.isDirectory()) {
    warnings.push(`${queueName}: not a directory: skipped`);
    return [];
  }
  let names: string[];
  try {
    names = await readdir(queue);
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
  const tickets: TicketState[] = [];
  for (const name of names.sort()) {
    const seq = ticketSeq(name);
    if (seq === undefined) {
      if (/^\d+$/.test(name)) warnings.push(`${queueName}/${name}: not a valid ticket number: skipped`);
      continue;
    }
    const read = await readRecord(`${queue}/${name}`);
    if ('missing' in read) continue;
    if ('bad' in read) {
      if (read.code === 'EACCES') denied.count++;
      else warnings.push(`${queueName}/${name}: ${read.bad}, not a ticket: skipped`);
      continue;
    }
    const mtime = read.info.mtimeMs;
    // A torn ticket still stands for a waiter (it is being written): keep its place.
    const record = parseTicket(read.text, seq) ?? { ...emptyTicket, seq };
    futureNote(`${queueName}/${name}`, mtime, now, warnings);
    tickets.push({ ...record, name, heartbeatAgeMs: Math.max(0, now - mtime), alive: isFresh(mtime, record.staleMs, now) });
  }
  return tickets;
}

const emptyHolder: HolderRecord = { runner: '', runId: '', attempt: '', repository: '', job: '', ticket: '', since: '', staleMs: 10_000 };

export async function readResource(dir: string, resource: string, now = Date.now()): Promise<ResourceState> {
  const paths = resourcePaths(dir, resource);
  const warnings: string[] = [];
  const denied = { count: 0 };
  const tickets = await readTickets(dir, resource, now, warnings, denied);
  const lock = await lstatIfPresent(paths.lock);
  if (lock && !lock.isDirectory()) warnings.push(`${basename(paths.lock)}: not a directory, not a lock: skipped`);
  if (!lock?.isDirectory()) return { resource, queue: tickets, warnings, unreadable: denied.count };
  const read = await readRecord(paths.holder);
  if ('bad' in read && read.code === 'EACCES') denied.count++;
  else if ('bad' in read) warnings.push(`${basename(paths.holder)}: ${read.bad}: skipped`);
  // The record is written just after the lock is taken: it may lag behind it.
  const record: HolderRecord = ('text' in read ? parseHolder(read.text) : undefined) ?? emptyHolder;
  const staleMs = tickets[0]?.staleMs ?? record.staleMs;
  futureNote(basename(paths.lock), lock.mtimeMs, now, warnings);
  const holder: HolderState = {
    ...record,
    heartbeatAgeMs: Math.max(0, now - lock.mtimeMs),
    alive: isFresh(lock.mtimeMs, staleMs, now),
  };
  return { resource, holder, queue: tickets.filter((t) => t.name !== holder.ticket), warnings, unreadable: denied.count };
}

export async function readLockDir(dir: string): Promise<ResourceState[]> {
  const names = await readdir(dir);
  const now = Date.now();
  return Promise.all(resourcesInListing(names).map((r) => readResource(dir, r, now)));
}

/**
 * Operator override: removes the main lock, the holder record and the
 * holder's ticket, so the next waiter proceeds at once. A live holder notices
 * within its heartbeat period (its lock is then "compromised"). Runs as root
 * on a directory jobs can write: nothing is followed or deleted recursively,
 * the holder's ticket is only ever a valid ticket name in the real queue
 * directory, and anything odd goes to `warnings`.
 */
export async function forceRelease(dir: string, resource: string, by: string, warnings: string[] = []): Promise<HolderRecord | undefined> {
  const paths = resourcePaths(dir, resource);
  const read = await readRecord(paths.holder);
  if ('bad' in read) warnings.push(`${basename(paths.holder)}: ${read.bad}: removed unread`);
  const holder = 'text' in read ? parseHolder(read.text) : undefined;
  await removeEntry(paths.holder);
  await removeEntry(paths.lock);
  if (holder && !holder.ticket) warnings.push(`${basename(paths.holder)}: names no valid ticket: the holder's ticket is left to its stale window`);
  if (holder?.ticket && (await lstatIfPresent(paths.queue))?.isDirectory()) {
    const removed = await unlinkRegular(`${paths.queue}/${holder.ticket}`);
    if (!removed && (await lstatIfPresent(`${paths.queue}/${holder.ticket}`)))
      warnings.push(`${basename(paths.queue)}/${holder.ticket}: not a regular file: left in place`);
  }
  await appendLockLog(dir, { event: 'force-release', resource, by, holder: holder ?? null }).catch((err: unknown) =>
    warnings.push(`not recorded: ${(err as Error).message}`),
  );
  return holder;
}
