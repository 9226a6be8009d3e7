// A wake-up source for waiters: fs.watch on the queue directory (cheap and
// fast, works across containers on a bind mount) backed by a slow poll for
// what watch cannot see (a dead owner's heartbeat simply stops changing).
import { watch, type FSWatcher } from 'node:fs';

export class Waker {
  private watcher: FSWatcher | undefined;
  private pending = false;
  private wakeOne: (() => void) | undefined;

  constructor(dir: string) {
    try {
      this.watcher = watch(dir, { persistent: false }, () => this.wake());
      this.watcher.on('error', () => this.close()); // e.g. the directory was removed: poll only
    } catch {
      this.watcher = undefined; // filesystems without inotify: poll only
    }
  }

  /** Wakes the current wait, or makes the next one return at once. */
  wake(): void {
    this.pending = true;
    this.wakeOne?.();
  }

  /** Resolves on a change, after `ms`, or when `signal` aborts. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.pending || signal?.aborted) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.wakeOne = undefined;
        this.pending = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done);
      this.wakeOne = done;
    });
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}
