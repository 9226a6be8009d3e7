// Where the board lock lives: a lock directory shared through a bind mount
// (the embedded default, resource-lock.ts) or etcd (etcd/etcd-lock.ts). Both
// keep the same FIFO protocol as seen from outside: a job queues, waits for
// every job queued before it, holds with a heartbeat (a ticket's mtime and
// proper-lockfile's lock, or an etcd lease's keepalive), learns when the lock
// is taken from it, and releases; both write the same turn events to
// locks.log. The wrapper (job-lock.ts) and `make locks` use only this.
import type { ResourceState } from './inspect.ts';
import type { HolderRecord, JobInfo } from './layout.ts';
import type { TurnEnd } from './lock-log.ts';
import type { AcquireOptions } from './resource-lock.ts';

export interface TurnProgress {
  /** Our place's name: a ticket file name, or an etcd key's create revision. */
  ticket: string;
  /** Set while the lock store cannot be reached: the waiter keeps waiting and says so. */
  unreachable?: string;
}

/** The directory lock's acquire options (resource-lock.ts), with progress a store of either kind can report. */
export type BackendAcquireOptions = Omit<AcquireOptions, 'onStatus'> & {
  /** Called at each step of the wait (at least once when queued), and while the store is unreachable. */
  onStatus?: (status: TurnProgress) => void;
};

/** A held lock; release never rejects and is idempotent. */
export interface HeldTurn {
  readonly job: JobInfo;
  readonly ticket: { readonly name: string };
  readonly since: Date;
  release(how?: TurnEnd): Promise<void>;
}

/** What a waiting job may be told: its place among live waiters, and for how long the board has been held. */
export interface WaitingPlace {
  place: number;
  heldForMs?: number;
}

/** One resource's lock, as the wrapper uses it. */
export interface ResourceLockBackend {
  readonly kind: 'directory' | 'etcd';
  /** Where, for a log line (never a credential). */
  readonly where: string;
  /** Waits in FIFO order until held; rejects only when aborted (or, for the directory, on I/O errors). */
  acquire(job: JobInfo, opts: BackendAcquireOptions): Promise<HeldTurn>;
  /** The place of `ticket` in the queue; undefined when it cannot be read now. */
  place(ticket: string): Promise<WaitingPlace | undefined>;
  /** Stops every connection; held locks are left to their release. */
  close(): Promise<void>;
}

/** Every resource of a lock store, as `make locks` uses it. */
export interface LockAdmin {
  readonly kind: 'directory' | 'etcd';
  readonly where: string;
  list(): Promise<ResourceState[]>;
  /** Frees `resource` for the next waiter (recorded in locks.log); the holder it took the lock from, if any. */
  forceRelease(resource: string, by: string, warnings: string[]): Promise<HolderRecord | undefined>;
  close(): Promise<void>;
}
