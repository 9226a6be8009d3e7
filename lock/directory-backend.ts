// The lock directory as a lock backend (backend.ts): the existing protocol
// (resource-lock.ts, inspect.ts), unchanged, behind the interface.
import type { LockAdmin, ResourceLockBackend, WaitingPlace } from './backend.ts';
import { forceRelease, readLockDir, readResource } from './inspect.ts';
import { acquireLock } from './resource-lock.ts';
import type { QueueOptions } from './ticket-queue.ts';

export function directoryBackend(queue: QueueOptions): ResourceLockBackend {
  return {
    kind: 'directory',
    where: queue.dir,
    acquire: (job, opts) => acquireLock(queue, job, opts),
    async place(ticket: string): Promise<WaitingPlace | undefined> {
      try {
        const state = await readResource(queue.dir, queue.resource);
        const live = state.queue.filter((t) => t.alive);
        const index = live.findIndex((t) => t.name === ticket);
        const since = state.holder ? Date.parse(state.holder.since) : Number.NaN;
        return { place: index < 0 ? live.length + 1 : index + 1, ...(Number.isFinite(since) ? { heldForMs: Math.max(0, Date.now() - since) } : {}) };
      } catch {
        return undefined;
      }
    },
    close: () => Promise.resolve(),
  };
}

export function directoryAdmin(dir: string): LockAdmin {
  return {
    kind: 'directory',
    where: dir,
    list: () => readLockDir(dir),
    forceRelease: (resource, by, warnings) => forceRelease(dir, resource, by, warnings),
    close: () => Promise.resolve(),
  };
}
