// The on-disk layout of a lock directory, shared by the wrapper (inside the
// containers) and the host tools: names, records and their parsers. Readers
// need only file names, contents and mtimes, never PIDs (every container has
// its own PID namespace). The layout: docs/lock-protocol.md#layout
import { join } from 'node:path';
import { displayText } from './display.ts';

/** Where the lock directory is inside containers and, by default, on the host. */
export const defaultLockDir = '/tmp/github-runner-locks';

/** Who asked for the lock: only a release with the same identity frees it. */
export interface LockIdentity {
  runner: string;
  runId: string;
  attempt: string;
}

export interface JobInfo extends LockIdentity {
  /** owner/name from GITHUB_REPOSITORY ("" when unknown). */
  repository: string;
  job: string;
}

export interface TicketRecord extends JobInfo {
  seq: number;
  /** ISO time the ticket was taken. */
  requestedAt: string;
  /** Heartbeat older than this (ms) means the owner is dead. */
  staleMs: number;
}

export interface HolderRecord extends JobInfo {
  /** Ticket file name of the holder. */
  ticket: string;
  /** ISO time the lock was acquired. */
  since: string;
  staleMs: number;
}

const resourcePattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Resource IDs become file names: letters, digits, '-' and '_' only. */
export function isValidResource(resource: string): boolean {
  return resourcePattern.test(resource);
}

export interface ResourcePaths {
  /** Passed to proper-lockfile; the lock itself is `${main}.lock`. */
  main: string;
  lock: string;
  holder: string;
  queue: string;
  seq: string;
}

export function resourcePaths(dir: string, resource: string): ResourcePaths {
  const main = join(dir, resource);
  return {
    main,
    lock: `${main}.lock`,
    holder: `${main}.holder.json`,
    queue: `${main}.queue`,
    seq: `${main}.seq`,
  };
}

export function logPath(dir: string): string {
  return join(dir, 'locks.log');
}

/** The one rotated log: the previous locks.log (lock-log.ts). */
export function rotatedLogPath(dir: string): string {
  return join(dir, 'locks.log.1');
}

const seqWidth = 12;
/**
 * The highest ticket number: a tenth of what 12 digits hold, so a counter or
 * ticket name pushed to the top by a job (999999999999) is invalid instead of
 * growing a 13th digit. At 1000 tickets a second it lasts three years.
 */
export const maxSeq = 99_999_999_999;

export function ticketName(seq: number): string {
  return String(seq).padStart(seqWidth, '0');
}

/** The sequence number of a valid ticket file name (12 digits, 1..maxSeq), or undefined for any other name. */
export function ticketSeq(name: string): number | undefined {
  if (!/^\d{12}$/.test(name)) return undefined;
  const seq = Number(name);
  return seq >= 1 && seq <= maxSeq ? seq : undefined;
}

/** A ticket counter's value, or undefined when it is not a plain number within 0..maxSeq. */
export function parseCounter(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^\d{1,12}$/.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return value <= maxSeq ? value : undefined;
}

/** Resource names found in a directory listing. */
export function resourcesInListing(names: readonly string[]): string[] {
  const found = new Set<string>();
  for (const name of names) {
    const m = /^(.+)\.(queue|lock|holder\.json)$/.exec(name);
    if (m?.[1] && isValidResource(m[1])) found.add(m[1]);
  }
  return [...found].sort();
}

/**
 * How far in the future an mtime may be and still count: coarse filesystems
 * round a heartbeat up to the next second (proper-lockfile does too).
 */
export const futureSlackMs = 1500;

/**
 * A one-shot judgement from an on-disk mtime, for readers (`make locks`, the
 * wrapper's progress lines). An mtime in the future is invalid, never fresh.
 * Waiters do not trust mtimes this way: see liveness.ts.
 */
export function isFresh(mtimeMs: number, staleMs: number, now = Date.now()): boolean {
  return now - mtimeMs <= staleMs && mtimeMs <= now + futureSlackMs;
}

export function sameIdentity(a: LockIdentity, b: LockIdentity): boolean {
  return a.runner === b.runner && a.runId === b.runId && a.attempt === b.attempt;
}

/** Who, for a log line or a terminal: every field made plain (display.ts), whatever a record held. */
export function describeIdentity(who: LockIdentity): string {
  return `${displayText(who.runner, 64)} run ${displayText(who.runId, 24)} attempt ${displayText(who.attempt, 8)}`;
}

function asString(value: unknown): string {
  // JSON gives string, number, boolean, null, array or object: only the first three are text
  const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
  return text.slice(0, 256);
}

/** A record's stale window: within proper-lockfile's 2 s minimum and an hour, else the default. */
function asStaleMs(value: unknown): number {
  const n = Number(value);
  return Number.isFinite(n) && n >= 2000 && n <= 3_600_000 ? n : 10_000;
}

function parseJobInfo(raw: Record<string, unknown>): JobInfo {
  return {
    runner: asString(raw.runner),
    runId: asString(raw.runId),
    attempt: asString(raw.attempt),
    repository: asString(raw.repository),
    job: asString(raw.job),
  };
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined; // a half-written or foreign file: callers treat it as unknown
  }
}

export function parseTicket(text: string, seq: number): TicketRecord | undefined {
  const raw = parseObject(text);
  if (!raw) return undefined;
  return {
    ...parseJobInfo(raw),
    seq,
    requestedAt: asString(raw.requestedAt),
    staleMs: asStaleMs(raw.staleMs),
  };
}

export function parseHolder(text: string): HolderRecord | undefined {
  const raw = parseObject(text);
  if (!raw) return undefined;
  return {
    ...parseJobInfo(raw),
    // Used as a file name by forceRelease: only a valid ticket name, never a path.
    ticket: ticketSeq(asString(raw.ticket)) === undefined ? '' : asString(raw.ticket),
    since: asString(raw.since),
    staleMs: asStaleMs(raw.staleMs),
  };
}
