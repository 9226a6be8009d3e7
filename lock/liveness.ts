// When is a heartbeat dead? Never when its mtime says so (a job could set any
// mtime): a waiter watches the heartbeat's (device, inode, mtime, ctime) on its
// own monotonic clock and calls it dead after seeing one value for a whole
// stale window. Why, and the holder's side: docs/lock-protocol.md#liveness-when-is-a-heartbeat-dead
import { randomBytes } from 'node:crypto';
import { lstat, lstatSync, lutimes, mkdir, rename, rmdir, rmdirSync, unlink, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { entryKind } from '../core/safe-read.ts';

export class HeartbeatWatch {
  private readonly seen = new Map<string, { key: string; since: number }>();

  /** How long (ms) this process has seen `path` unchanged: 0 at first sight and after any change. */
  unchangedMs(path: string, info: Stats): number {
    const key = `${info.dev}:${info.ino}:${info.mtimeMs}:${info.ctimeMs}`;
    const now = performance.now();
    const last = this.seen.get(path);
    if (last?.key === key) return now - last.since;
    this.seen.set(path, { key, since: now });
    return 0;
  }

  isDead(path: string, info: Stats, staleMs: number): boolean {
    return this.unchangedMs(path, info) > staleMs;
  }

  /** Forgets every path not in `keep` (tickets that left the queue). */
  retain(keep: ReadonlySet<string>, under: string): void {
    for (const path of this.seen.keys()) if (path.startsWith(under) && !keep.has(path)) this.seen.delete(path);
  }
}

type Callback<T = void> = (err: NodeJS.ErrnoException | null, value?: T) => void;

function enoent(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOENT: ${path} was not a lock directory`), { code: 'ENOENT', path });
}

/**
 * The `fs` proper-lockfile uses for one acquisition (mkdir, stat, utimes,
 * rmdir, rmdirSync; see proper-lockfile/lib/lockfile.js):
 * - stat is lstat. Something other than a directory at the lock path is
 *   never a lock: it is removed (unlink, never followed) and reported as
 *   missing, so the waiter takes the lock at once.
 * - The holder's own lock (same inode as its mkdir made, heartbeat recent)
 *   reports the mtime the holder last set, so a touch does not compromise
 *   it; another inode there, or a foreign mtime after a stall, reports the
 *   real mtime and does.
 * - Anyone else's lock reports an mtime of "now minus how long this waiter
 *   has seen it unchanged" (HeartbeatWatch), which is what proper-lockfile's
 *   stale test then compares.
 * - utimes is lutimes; rmdir of our own lock removes only our inode; a stale
 *   lock directory a job filled is renamed aside rather than failing forever.
 */
export function lockfileFs(watch: HeartbeatWatch, staleMs: number, report: (path: string, what: string, action: string) => void): object {
  const owned = new Map<string, { dev: number; ino: number; mtime?: Date; setAt: number }>();
  const ours = (path: string, info: Stats): boolean => {
    const own = owned.get(path);
    return !!own && own.dev === info.dev && own.ino === info.ino;
  };
  const removeStale = (path: string, cb: Callback): void => {
    lstat(path, (err, info) => {
      if (err) return cb(err.code === 'ENOENT' ? null : err);
      if (!info.isDirectory()) return unlink(path, (e) => cb(e && e.code !== 'ENOENT' ? e : null));
      rmdir(path, (e) => {
        if (!e || e.code === 'ENOENT') return cb(null);
        if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') return cb(e);
        report(path, 'a non-empty lock directory', 'renamed aside');
        rename(path, join(dirname(path), `.junk-${basename(path)}-${randomBytes(4).toString('hex')}`), (r) => cb(r && r.code !== 'ENOENT' ? r : null));
      });
    });
  };
  return {
    mkdir(path: string, cb: Callback): void {
      mkdir(path, (err) => {
        if (err) return cb(err);
        lstat(path, (e, info) => {
          if (!e) owned.set(path, { dev: info.dev, ino: info.ino, setAt: performance.now() });
          cb(null);
        });
      });
    },
    stat(path: string, cb: Callback<{ mtime: Date }>): void {
      lstat(path, (err, info) => {
        if (err) return cb(err);
        const own = owned.get(path);
        if (!info.isDirectory()) {
          if (own) return cb(enoent(path)); // ours was replaced: compromised
          report(path, entryKind(info), 'removed');
          return unlink(path, () => cb(enoent(path)));
        }
        if (own && ours(path, info)) {
          // Within a second of ours is ours: a coarse filesystem truncates what we set.
          const foreign = !!own.mtime && Math.abs(own.mtime.getTime() - info.mtimeMs) >= 1000;
          if (!foreign) return cb(null, { mtime: own.mtime ?? info.mtime });
          // See the top of this file: a recent heartbeat of ours rules out a takeover.
          if (performance.now() - own.setAt >= (staleMs * 3) / 4) return cb(null, { mtime: info.mtime });
          report(path, 'our lock with an mtime we did not set', 'ignored: our heartbeat is recent, so no waiter can have taken it');
          return cb(null, { mtime: own.mtime ?? info.mtime });
        }
        if (own) return cb(null, { mtime: info.mtime }); // another inode: someone took it over
        cb(null, { mtime: new Date(Date.now() - watch.unchangedMs(path, info)) });
      });
    },
    utimes(path: string, atime: Date, mtime: Date, cb: Callback): void {
      lutimes(path, atime, mtime, (err) => {
        const own = owned.get(path);
        if (!err && own) Object.assign(own, { mtime, setAt: performance.now() });
        cb(err);
      });
    },
    rmdir(path: string, cb: Callback): void {
      if (!owned.has(path)) return removeStale(path, cb);
      lstat(path, (err, info) => {
        const mine = !err && ours(path, info);
        owned.delete(path);
        if (!mine) return cb(null); // gone, or someone else's by now: nothing of ours to remove
        rmdir(path, (e) => cb(e && e.code !== 'ENOENT' ? e : null));
      });
    },
    rmdirSync(path: string): void {
      // proper-lockfile's exit handler: remove our own lock only.
      try {
        if (ours(path, lstatSync(path))) rmdirSync(path);
      } catch {
        // gone
      }
    },
  };
}
