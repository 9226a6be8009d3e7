// Reading locks.log (and locks.log.1) from the host, in bounded memory: line
// by line from fixed-size chunks, a line longer than maxLineBytes skipped and
// counted, never a whole file in memory. Jobs with sudo can write the lock
// directory, so the files are opened as lock records are (no symlink
// followed, no FIFO opened in a way that blocks, only a regular file read)
// and every line is untrusted input for the parser (lock-history in lib/).
import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { entryKind, errorCode, isMissing } from '../core/safe-read.ts';
import { logPath, rotatedLogPath } from './layout.ts';

/** Longer lines are not ours (ours are a few hundred bytes): skipped and counted. */
export const MAX_LOG_LINE_BYTES = 16 * 1024;
const CHUNK_BYTES = 64 * 1024;

export interface LineSink {
  line(text: string): void;
  /** A line past maxLineBytes (skipped whole). */
  tooLong(): void;
}

/** Where reading a file stopped: the byte after the last whole line, and whether a too-long line is being skipped. */
export interface LineCursor {
  offset: number;
  skipping: boolean;
}

/**
 * Reads whole lines from `cursor.offset` to the end of the file, moving the
 * cursor past each. A last line without its newline is left for the next
 * read (a writer may be halfway), unless `final` (nothing more will come).
 */
export async function readLines(
  handle: FileHandle,
  cursor: LineCursor,
  sink: LineSink,
  { maxLineBytes = MAX_LOG_LINE_BYTES, final = false } = {},
): Promise<void> {
  const buffer = Buffer.alloc(CHUNK_BYTES);
  let pieces: Buffer[] = [];
  let length = 0;
  let position = cursor.offset;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, position);
    if (bytesRead === 0) break;
    const chunk = buffer.subarray(0, bytesRead);
    let start = 0;
    while (start < bytesRead) {
      const newline = chunk.indexOf(10, start);
      const end = newline === -1 ? bytesRead : newline;
      if (!cursor.skipping) {
        if (length + (end - start) > maxLineBytes) {
          cursor.skipping = true;
          pieces = [];
          length = 0;
          sink.tooLong();
        } else if (end > start) {
          pieces.push(Buffer.from(chunk.subarray(start, end))); // a copy: the buffer is reused
          length += end - start;
        }
      }
      if (newline === -1) break; // the line goes on in the next chunk
      if (!cursor.skipping && length > 0) sink.line(Buffer.concat(pieces, length).toString('utf8'));
      cursor.skipping = false;
      pieces = [];
      length = 0;
      start = newline + 1;
      cursor.offset = position + start;
    }
    position += bytesRead;
  }
  if (cursor.skipping) cursor.offset = position; // nothing of a skipped line is kept
  if (final) {
    if (!cursor.skipping && length > 0) sink.line(Buffer.concat(pieces, length).toString('utf8'));
    cursor.offset = position;
    cursor.skipping = false;
  }
}

export interface OpenedLog {
  path: string;
  handle: FileHandle;
  info: Stats;
}

/** The log file at `path` for reading, or undefined when missing. Throws (one line, `code` kept) when it is not a regular file or cannot be read. */
export async function openLogFile(path: string): Promise<OpenedLog | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if (isMissing(err)) return undefined;
    const code = errorCode(err);
    const what = code === 'ELOOP' ? 'a symlink: not read' : `unreadable (${code ?? (err as Error).message})`;
    throw Object.assign(new Error(`${path} is ${what}`), { code });
  }
  const info = await handle.stat();
  if (!info.isFile()) {
    await handle.close();
    throw new Error(`${path} is ${entryKind(info)}: not read`);
  }
  return { path, handle, info };
}

/** openLogFile, a file that is not one (a symlink, a FIFO, …) skipped with one line in `warnings`; EACCES still throws (not root). */
async function openOrSkip(path: string, warnings: string[]): Promise<OpenedLog | undefined> {
  try {
    return await openLogFile(path);
  } catch (err) {
    if (errorCode(err) === 'EACCES') throw err;
    warnings.push(`${(err as Error).message}: skipped`);
    return undefined;
  }
}

/**
 * The history files of a lock directory, oldest first: locks.log.1, then
 * locks.log. locks.log is opened first: a rotation between the two opens then
 * makes locks.log.1 the very file already open, read once (same inode); the
 * other order could miss the file rotated in between. What is not a regular
 * file at either name is skipped, one line each in `warnings`.
 */
export async function openHistory(dir: string, warnings: string[] = []): Promise<OpenedLog[]> {
  const current = await openOrSkip(logPath(dir), warnings);
  let rotated: OpenedLog | undefined;
  try {
    rotated = await openOrSkip(rotatedLogPath(dir), warnings);
  } catch (err) {
    await current?.handle.close();
    throw err;
  }
  if (rotated && current && rotated.info.ino === current.info.ino && rotated.info.dev === current.info.dev) {
    await rotated.handle.close();
    rotated = undefined;
  }
  return [rotated, current].filter((f): f is OpenedLog => f !== undefined);
}

/**
 * Follows a lock directory's locks.log across rotations, reading only what
 * was appended since the last poll (make metrics). The file read last is
 * known by its inode: when locks.log is another file now, the rest of the
 * old one is read from locks.log.1 (where rotation put it), then the new one
 * from its start. A file cut shorter than what was read is read again from
 * its start.
 */
export class LogTail {
  private file: { dev: number; ino: number } | undefined;
  private cursor: LineCursor = { offset: 0, skipping: false };
  /** Appended lines lost to two rotations between polls (the old file gone before it was read to its end). */
  missedRotations = 0;

  constructor(
    private readonly dir: string,
    private readonly maxLineBytes = MAX_LOG_LINE_BYTES,
  ) {}

  /** Reads what is new; the first poll reads locks.log.1 and locks.log whole. Throws when the files cannot be read. */
  async poll(sink: LineSink): Promise<void> {
    const opts = { maxLineBytes: this.maxLineBytes };
    if (this.file === undefined) {
      const skipped: string[] = [];
      const files = await openHistory(this.dir, skipped);
      if (skipped.length) {
        await Promise.all(files.map((f) => f.handle.close().catch(() => undefined)));
        throw new Error(skipped.join('; ')); // a scrape error until it is a file again
      }
      try {
        for (const [i, f] of files.entries()) {
          const last = i === files.length - 1;
          const cursor = { offset: 0, skipping: false };
          await readLines(f.handle, cursor, sink, { ...opts, final: !last });
          if (last) this.follow(f.info, cursor);
        }
      } finally {
        await Promise.all(files.map((f) => f.handle.close().catch(() => undefined)));
      }
      if (this.file === undefined) this.file = { dev: -1, ino: -1 }; // no locks.log yet
      return;
    }
    const current = await openLogFile(logPath(this.dir));
    try {
      if (current && this.same(current.info)) {
        if (current.info.size < this.cursor.offset) this.cursor = { offset: 0, skipping: false }; // cut short: read again
        await readLines(current.handle, this.cursor, sink, opts);
        return;
      }
      // Rotated (or removed) since the last poll: the rest of the old file first, from where it is now.
      if (this.file.ino !== -1) {
        const rotated = await openLogFile(rotatedLogPath(this.dir)).catch(() => undefined);
        try {
          if (rotated && this.same(rotated.info)) await readLines(rotated.handle, this.cursor, sink, { ...opts, final: true });
          else this.missedRotations++;
        } finally {
          await rotated?.handle.close().catch(() => undefined);
        }
      }
      if (!current) {
        this.file = { dev: -1, ino: -1 };
        this.cursor = { offset: 0, skipping: false };
        return;
      }
      const cursor = { offset: 0, skipping: false };
      await readLines(current.handle, cursor, sink, opts);
      this.follow(current.info, cursor);
    } finally {
      await current?.handle.close().catch(() => undefined);
    }
  }

  private same(info: Stats): boolean {
    return this.file !== undefined && info.dev === this.file.dev && info.ino === this.file.ino;
  }

  private follow(info: Stats, cursor: LineCursor): void {
    this.file = { dev: info.dev, ino: info.ino };
    this.cursor = cursor;
  }
}
