// When is a heartbeat dead? Not when its mtime says so: any job can set an
// mtime (`touch -d 2000-01-01 board.lock` would let the next waiter take the
// board from a running holder; `touch -d 2030` would keep a dead lock alive
// for years). So a waiter never reads an age off the disk. It watches:
//
//   - A heartbeat (a ticket's mtime, or proper-lockfile's lock directory
//     mtime) is identified by (device, inode, mtime, ctime). The owner sets
//     the mtime every update interval (≤ staleMs / 2), so while it lives the
//     value changes at least once per stale window, whatever it changes to.
//     ctime cannot be set by anyone: every touch moves it to "now", so even a
//     job resetting the mtime to one fixed value right after each heartbeat
//     shows as a change.
//   - A waiter remembers when it first saw the current value, on its own
//     monotonic clock (performance.now(): wall-clock jumps do not count).
//   - Dead = this waiter has itself seen the same value for longer than
//     staleMs. Any change, even to a time in 2000 or 2030, counts as a sign
//     of life: a touch can delay a takeover, never cause one.
//
// The cost: a waiter that arrives at an already dead lock takes it over one
// stale window after it first looked, not at once (waiters watch the main
// lock while they queue, so the usual case, a holder dying while others
// wait, is not slower). A job that keeps touching a dead holder's lock keeps
// it alive: a denial of service, not a broken lock (a root-owned lock
// directory is the cure for that).
//
// The holder side: proper-lockfile declares its lock compromised when the
// mtime is not the one it last set, so a touch would make a holder give the
// lock up while its job runs. lockfileFs() tells it "still yours" when the
// directory is the inode it created AND its own last heartbeat is recent
// (< 3/4 of staleMs ago): a waiter takes over only after seeing one value for
// a whole stale window, which cannot have happened since that heartbeat, so
// a foreign mtime then can only be a touch. With an older heartbeat (the
// holder stalled) the strict mtime check stands, so a takeover that reused
// the inode number is still noticed.
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
