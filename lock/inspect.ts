// Reading a lock directory from outside the lock: who holds each resource and
// who waits, in order. Used by the host tool (scripts/locks.ts) and by the
// wrapper for its "waiting" messages. Readers never take a lock: every file
// may vanish between readdir and read, which simply means "gone".
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { appendLockLog } from './lock-log.ts';
import {
  isFresh,
  parseHolder,
  parseTicket,
  resourcePaths,
  resourcesInListing,
  ticketSeq,
  type HolderRecord,
  type TicketRecord,
} from './layout.ts';

export interface Heartbeat {
  /** False when the heartbeat is older than the owner's stale window. */
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
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

async function mtimeIfPresent(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mtimeMs;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

const emptyTicket: TicketRecord = { runner: '', runId: '', attempt: '', repository: '', job: '', seq: 0, requestedAt: '', staleMs: 10_000 };

/** All tickets of a resource, oldest first, with their liveness. */
export async function readTickets(dir: string, resource: string, now = Date.now()): Promise<TicketState[]> {
  const { queue } = resourcePaths(dir, resource);
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
    if (seq === undefined) continue;
    const path = `${queue}/${name}`;
    const [text, mtime] = [await readIfPresent(path), await mtimeIfPresent(path)];
    if (text === undefined || mtime === undefined) continue;
    // A torn ticket still stands for a waiter (it is being written): keep its place.
    const record = parseTicket(text, seq) ?? { ...emptyTicket, seq };
    const heartbeatAgeMs = Math.max(0, now - mtime);
    tickets.push({ ...record, name, heartbeatAgeMs, alive: isFresh(mtime, record.staleMs, now) });
  }
  return tickets;
}

const emptyHolder: HolderRecord = { runner: '', runId: '', attempt: '', repository: '', job: '', ticket: '', since: '', staleMs: 10_000 };

export async function readResource(dir: string, resource: string, now = Date.now()): Promise<ResourceState> {
  const paths = resourcePaths(dir, resource);
  const tickets = await readTickets(dir, resource, now);
  const lockMtime = await mtimeIfPresent(paths.lock);
  if (lockMtime === undefined) return { resource, queue: tickets };
  const text = await readIfPresent(paths.holder);
  // The record is written just after the lock is taken: it may lag behind it.
  const record: HolderRecord = (text ? parseHolder(text) : undefined) ?? emptyHolder;
  const staleMs = tickets[0]?.staleMs ?? record.staleMs;
  const holder: HolderState = {
    ...record,
    heartbeatAgeMs: Math.max(0, now - lockMtime),
    alive: isFresh(lockMtime, staleMs, now),
  };
  return { resource, holder, queue: tickets.filter((t) => t.name !== holder.ticket) };
}

export async function readLockDir(dir: string): Promise<ResourceState[]> {
  const names = await readdir(dir);
  const now = Date.now();
  return Promise.all(resourcesInListing(names).map((r) => readResource(dir, r, now)));
}

/**
 * Operator override: removes the main lock, the holder record and the
 * holder's ticket, so the next waiter proceeds at once. A live holder notices
 * within its heartbeat period (its lock is then "compromised").
 */
export async function forceRelease(dir: string, resource: string, by: string): Promise<HolderRecord | undefined> {
  const paths = resourcePaths(dir, resource);
  const text = await readIfPresent(paths.holder);
  const holder = text ? parseHolder(text) : undefined;
  await rm(paths.holder, { force: true });
  await rm(paths.lock, { recursive: true, force: true });
  if (holder?.ticket) await rm(`${paths.queue}/${holder.ticket}`, { force: true });
  await appendLockLog(dir, { event: 'force-release', resource, by, holder: holder ?? null });
  return holder;
}
