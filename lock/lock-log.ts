// locks.log: one JSON line per event an operator may need later (every job's
// turn at a board, for make report and make metrics; takeovers, forced
// releases, lost locks, bad entries). Root's alone; opened O_APPEND|O_NOFOLLOW
// (a job can write the directory); rotated at RUNNER_LOCK_LOG_MAX_BYTES.
// Its events and fields, and why rotation loses nothing: docs/lock-protocol.md, "locks.log".
import { constants } from 'node:fs';
import { open, rename, type FileHandle } from 'node:fs/promises';
import { RECORD_MODE, removeEntry, unlinkRegular } from './files.ts';
import { entryKind, errorCode, lstatIfPresent } from '../core/safe-read.ts';
import { HeartbeatWatch } from './liveness.ts';
import { logPath, rotatedLogPath, type JobInfo } from './layout.ts';

export interface LogEntry {
  event: string;
  resource: string;
  [key: string]: unknown;
}

/** The events of a job's turn at a board (see the top of this file). */
export const TURN_EVENTS = ['queued', 'acquired', 'released', 'left-queue'] as const;
export type TurnEvent = (typeof TURN_EVENTS)[number];

/** How a job's turn ended (released, left-queue). */
export type TurnEnd = 'completed' | 'cancelled' | 'worker-exit' | 'next-job' | 'shutdown' | 'hook-gone' | 'lost' | 'aborted' | 'released' | 'error';

/** A turn event's fields; `extra` adds waitMs, holdMs, how, reason. */
export function turnEntry(event: TurnEvent, resource: string, job: JobInfo, org: string, ticket: string, extra: Record<string, unknown> = {}): LogEntry {
  return {
    event,
    resource,
    org,
    repository: job.repository,
    runId: job.runId,
    attempt: job.attempt,
    job: job.job,
    runner: job.runner,
    ticket,
    seq: Number(ticket),
    ...extra,
  };
}

export const DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024;
/** Below this a rotation would come every few lines. */
export const MIN_LOG_MAX_BYTES = 4096;
const MAX_LOG_MAX_BYTES = 1024 ** 3;

/** RUNNER_LOCK_LOG_MAX_BYTES's value, or a one-line reason it is not one. */
export function parseLogMaxBytes(raw: string | undefined): number | { invalid: string } {
  if (raw === undefined || raw.trim() === '') return DEFAULT_LOG_MAX_BYTES;
  const value = Number(raw.trim());
  if (!Number.isInteger(value) || value < MIN_LOG_MAX_BYTES || value > MAX_LOG_MAX_BYTES) {
    return {
      invalid: `RUNNER_LOCK_LOG_MAX_BYTES=${raw} is invalid: use a whole number of bytes from ${MIN_LOG_MAX_BYTES} to ${MAX_LOG_MAX_BYTES} (default ${DEFAULT_LOG_MAX_BYTES}, 10 MiB)`,
    };
  }
  return value;
}

/** The size locks.log is rotated at: RUNNER_LOCK_LOG_MAX_BYTES of this process (the wrapper checks it at start), else 10 MiB. */
function configuredMaxBytes(): number {
  const parsed = parseLogMaxBytes(process.env.RUNNER_LOCK_LOG_MAX_BYTES);
  return typeof parsed === 'number' ? parsed : DEFAULT_LOG_MAX_BYTES;
}

async function openForAppend(dir: string): Promise<FileHandle> {
  try {
    return await open(logPath(dir), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, RECORD_MODE);
  } catch (err) {
    const code = errorCode(err);
    const what = code === 'ELOOP' ? 'a symlink' : code === 'ENXIO' ? 'a FIFO' : `unwritable (${code ?? (err as Error).message})`;
    throw new Error(`${logPath(dir)} is ${what}: not written`);
  }
}

export interface AppendOptions {
  /** Rotate at this size (default RUNNER_LOCK_LOG_MAX_BYTES, else 10 MiB). */
  maxBytes?: number;
}

/**
 * Appends one JSON line to the directory's log; small appends are atomic.
 * Rotates the log first when the line would take it past the cap. Rejects
 * (one line) when locks.log is not a regular file.
 */
export async function appendLockLog(dir: string, entry: LogEntry, { maxBytes = configuredMaxBytes() }: AppendOptions = {}): Promise<void> {
  const line = `${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`;
  let handle = await openForAppend(dir);
  try {
    let info = await handle.stat();
    if (!info.isFile()) throw new Error(`${logPath(dir)} is ${entryKind(info)}: not written`);
    if (info.size > 0 && info.size + Buffer.byteLength(line) > maxBytes && (await rotate(dir, info))) {
      // Our descriptor is locks.log.1 now: the line goes to the new locks.log.
      await handle.close().catch(() => undefined);
      handle = await openForAppend(dir);
      info = await handle.stat();
      if (!info.isFile()) throw new Error(`${logPath(dir)} is ${entryKind(info)}: not written`);
    }
    if ((info.mode & 0o777) !== RECORD_MODE) await handle.chmod(RECORD_MODE).catch(() => undefined);
    await handle.write(line);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** A rotation marker older than this (as watched by this process, never by its mtime) was left by a dead appender. */
const ROTATION_STALE_MS = 10_000;
const rotationWatch = new HeartbeatWatch();

/**
 * Renames the full locks.log (the inode `full` we opened and found too big)
 * to locks.log.1; true when locks.log is another file now (rotated by us or
 * by someone else), so the caller opens it afresh.
 *
 * Appenders in several containers (and host tools) may find the log full at
 * the same moment. Two renames of "locks.log" would be the danger: the second
 * would move the *new* locks.log, a few lines long, over the locks.log.1 the
 * first had just made, and 10 MiB of history would be gone. So:
 * - one rotator at a time: `locks.log.rotate`, created O_EXCL|O_NOFOLLOW
 *   (nothing else can be there for the create to succeed), removed after;
 * - under it, the rename happens only if locks.log is still the very inode
 *   this appender found full (dev+ino, lstat) and still full: another
 *   appender that rotated meanwhile left a new file there, which is kept;
 * - rename is atomic: every reader and appender sees the old file or the new
 *   one, never neither, and the only file ever replaced is the previous
 *   locks.log.1, the oldest history, which is the point of a cap.
 * An appender that opened the log just before the rename writes its line into
 * what is now locks.log.1: kept, since readers read both files. It would be
 * lost only if a second rotation removed that file before its write, i.e. a
 * whole cap of lines appended between one appender's open and its write.
 * A line never waits for rotation: an appender that finds the marker taken
 * writes to the file it has and leaves the rotation to a later line (the log
 * grows past the cap by a few lines at most). A marker left by an appender
 * killed mid-rotation (or planted by a job) is removed once this process has
 * seen it unchanged for ROTATION_STALE_MS: a rotation takes milliseconds.
 * proper-lockfile is not used here: it waits and retries, and would judge a
 * dead rotator only after watching a whole stale window.
 */
async function rotate(dir: string, full: { dev: number; ino: number }): Promise<boolean> {
  const markerPath = `${logPath(dir)}.rotate`;
  let marker: FileHandle;
  try {
    marker = await open(markerPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_NONBLOCK, RECORD_MODE);
  } catch (err) {
    if (errorCode(err) === 'EEXIST') await clearStaleMarker(markerPath);
    return false;
  }
  let markerIno: number | undefined;
  try {
    markerIno = (await marker.stat()).ino;
    const current = await lstatIfPresent(logPath(dir));
    if (!current?.isFile()) return true; // gone or replaced: open afresh (the open refuses what is not a file)
    if (current.dev !== full.dev || current.ino !== full.ino) return true; // rotated by another appender
    try {
      await rename(logPath(dir), rotatedLogPath(dir));
    } catch (err) {
      // A directory planted at locks.log.1 cannot be renamed over: moved aside (never followed), then once more.
      const code = errorCode(err);
      if (code !== 'EISDIR' && code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOTDIR') throw err;
      await removeEntry(rotatedLogPath(dir));
      await rename(logPath(dir), rotatedLogPath(dir));
    }
    return true;
  } catch {
    return false; // not rotated: the line goes to the file we have
  } finally {
    await marker.close().catch(() => undefined);
    await unlinkRegular(markerPath, markerIno).catch(() => undefined);
  }
}

async function clearStaleMarker(path: string): Promise<void> {
  try {
    const info = await lstatIfPresent(path);
    if (!info || !rotationWatch.isDead(path, info, ROTATION_STALE_MS)) return;
    if (info.isFile()) await unlinkRegular(path, info.ino);
    else await removeEntry(path);
  } catch {
    // gone meanwhile, or not ours to remove: a later line looks again
  }
}

/**
 * Makes an existing locks.log root's alone (an older version wrote it 0644),
 * through a descriptor opened without following links or blocking. Never rejects.
 */
export async function protectLockLog(dir: string): Promise<void> {
  const handle = await open(logPath(dir), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => undefined);
  if (!handle) return;
  try {
    const info = await handle.stat();
    if (info.isFile() && (info.mode & 0o777) !== RECORD_MODE) await handle.chmod(RECORD_MODE);
  } catch {
    // not ours to change (not root): the next entry tries again
  } finally {
    await handle.close().catch(() => undefined);
  }
}

const reported = new Set<string>();

/**
 * Reports an entry that does not belong in the lock directory (one line in
 * locks.log), once per process and entry, so a waiter polling past it does not
 * flood the log. Never rejects.
 */
export async function reportBadEntry(dir: string, resource: string, path: string, what: string, action: string): Promise<void> {
  const key = `${path}\0${what}`;
  if (reported.has(key)) return;
  if (reported.size > 1000) reported.clear();
  reported.add(key);
  await appendLockLog(dir, { event: 'bad-entry', resource, path, found: what, action }).catch(() => undefined);
}
