// The board lock on etcd: etcd's own lock recipe, FIFO by create revision, a
// lease per waiter (its keepalive is the heartbeat), one watch on the key just
// before ours. A holder counts the lock lost as soon as its lease may have
// expired; a waiter that cannot reach etcd keeps waiting and says so.
// Keys, order, safety and why: docs/lock-protocol.md, "The etcd lock".
import { setTimeout as sleep } from 'node:timers/promises';
import { EtcdAuthenticationFailedError, EtcdPermissionDeniedError, EtcdUserNotFoundError, type Etcd3, type Lease, type Watcher } from 'etcd3';
import type { BackendAcquireOptions, HeldTurn, ResourceLockBackend, WaitingPlace } from '../backend.ts';
import { displayText } from '../display.ts';
import type { JobInfo } from '../layout.ts';
import { appendLockLog, turnEntry, type LogEntry, type TurnEnd, type TurnEvent } from '../lock-log.ts';
import { StopWaiting } from '../resource-lock.ts';
import { etcdClient, etcdErrorText } from './client.ts';
import { describeEtcd, type EtcdSettings } from './settings.ts';

/** A value longer than this is not ours (ours are a few hundred bytes): shown as unreadable. */
export const MAX_VALUE_BYTES = 4096;

/** What a queue key's value says: the job, as the directory's ticket and holder records. */
export interface EtcdQueueRecord extends JobInfo {
  org: string;
  requestedAt: string;
  /** Set by the holder once it holds the lock. */
  since?: string;
  leaseS: number;
}

export interface QueueEntry {
  key: string;
  /** etcd's create revision of the key: the queue order, and the turn's ticket name in locks.log. */
  revision: bigint;
  /** The lease the key is attached to ('0': none). */
  lease: string;
  value: Buffer;
}

export function queuePrefix(prefix: string, resource: string): string {
  return `${prefix}/${resource}/queue/`;
}

function text(value: unknown, max: number): string {
  return typeof value === 'string' ? value.slice(0, max) : '';
}

/** A queue value as a record, field by field; undefined when it is not one of ours. */
export function parseQueueRecord(value: Buffer): EtcdQueueRecord | undefined {
  if (value.length > MAX_VALUE_BYTES) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const r = parsed as Record<string, unknown>;
  const since = text(r.since, 40);
  return {
    runner: text(r.runner, 200),
    runId: text(r.runId, 40),
    attempt: text(r.attempt, 20),
    repository: text(r.repository, 300),
    job: text(r.job, 300),
    org: text(r.org, 200),
    requestedAt: text(r.requestedAt, 40),
    ...(since ? { since } : {}),
    leaseS: typeof r.leaseS === 'number' && Number.isFinite(r.leaseS) ? r.leaseS : 0,
  };
}

/** The queue of a resource, oldest first, and the revision it was read at. */
export async function readQueue(client: Etcd3, prefix: string, resource: string): Promise<{ entries: QueueEntry[]; revision: bigint }> {
  const res = await client.getAll().prefix(queuePrefix(prefix, resource)).exec();
  const entries = res.kvs
    .map((kv) => ({ key: kv.key.toString('utf8'), revision: BigInt(kv.create_revision), lease: String(kv.lease ?? '0'), value: kv.value }))
    .sort((a, b) => (a.revision < b.revision ? -1 : a.revision > b.revision ? 1 : 0));
  return { entries, revision: BigInt(res.header.revision) };
}

/** One line for a job log or the wrapper's log: why etcd could not be used, never a credential. */
function unreachableLine(s: EtcdSettings, err: unknown): string {
  // etcd answered and said no: the settings are wrong, not the network (the job still waits: it never runs unlocked).
  if (err instanceof EtcdAuthenticationFailedError || err instanceof EtcdPermissionDeniedError || err instanceof EtcdUserNotFoundError) {
    const fix =
      err instanceof EtcdPermissionDeniedError ? `give its role readwrite on ${s.prefix}/` : 'check RUNNER_LOCK_ETCD_USER and RUNNER_LOCK_ETCD_PASSWORD';
    return `etcd (${s.endpoints.join(',')}) refused the lock's credentials (user ${displayText(s.user ?? 'none', 64)}): ${etcdErrorText(err, 120)}; ${fix}; retrying`;
  }
  return `etcd (${s.endpoints.join(',')}) is unreachable: ${etcdErrorText(err, 160)}; retrying`;
}

/**
 * A lease kept alive by the client, and when it may have expired at the
 * earliest: the send time of the last keepalive etcd answered, plus the TTL.
 */
class LeaseKeeper {
  readonly lease: Lease;
  /** When etcd last confirmed the lease (the confirmed request's send time). */
  private confirmed: number;
  private fires: number[] = [];
  /** Set when the client says the lease is gone. */
  gone: string | undefined;
  private readonly goneListeners: ((reason: string) => void)[] = [];

  constructor(
    client: Etcd3,
    readonly ttlS: number,
  ) {
    this.confirmed = Date.now();
    this.lease = client.lease(ttlS, { autoKeepAlive: true });
    this.lease.on('keepaliveEstablished', () => (this.fires = []));
    this.lease.on('keepaliveFired', () => this.fires.push(Date.now()));
    this.lease.on('keepaliveSucceeded', () => {
      const sent = this.fires.shift();
      if (sent !== undefined) this.confirmed = Math.max(this.confirmed, sent);
    });
    this.lease.on('lost', (err: Error) => {
      this.gone ??= `etcd ended the lease (${displayText(err.message, 160)})`;
      for (const f of this.goneListeners.splice(0)) f(this.gone);
    });
  }

  onGone(f: (reason: string) => void): void {
    if (this.gone !== undefined) f(this.gone);
    else this.goneListeners.push(f);
  }

  /** True once etcd may have expired the lease (half a second early: timers are not exact). */
  mayHaveExpired(now = Date.now()): boolean {
    return now >= this.confirmed + this.ttlS * 1000 - 500;
  }

  /** Revokes the lease (deleting its key); when etcd cannot be told, stops the keepalive so it expires within its TTL. Never rejects. */
  async end(): Promise<void> {
    try {
      await this.lease.revoke();
    } catch {
      this.lease.release();
    }
  }
}

interface TurnContext {
  logDir: string | undefined;
  resource: string;
  org: string;
  queuedAt: number;
}

async function record(turn: TurnContext, event: TurnEvent, job: JobInfo, ticket: string, extra: Record<string, unknown> = {}): Promise<void> {
  if (turn.logDir === undefined) return;
  await appendLockLog(turn.logDir, turnEntry(event, turn.resource, job, turn.org, ticket, extra)).catch(() => undefined);
}

async function log(logDir: string | undefined, entry: LogEntry): Promise<void> {
  if (logDir !== undefined) await appendLockLog(logDir, entry).catch(() => undefined);
}

export class EtcdHeld implements HeldTurn {
  private released = false;
  lost: string | undefined;
  private readonly timer: NodeJS.Timeout;
  private watcher: Watcher | undefined;

  constructor(
    private readonly client: Etcd3,
    readonly job: JobInfo,
    readonly ticket: { readonly name: string },
    readonly since: Date,
    private readonly keeper: LeaseKeeper,
    private readonly key: string,
    fromRevision: bigint,
    private readonly turn: TurnContext,
    private readonly onLost?: (reason: string) => void,
  ) {
    this.timer = setInterval(() => {
      if (this.keeper.mayHaveExpired()) this.markLost(`no keepalive answer from etcd for ${keeper.ttlS} s: its lease may have expired`);
    }, 200);
    this.timer.unref();
    keeper.onGone((reason) => this.markLost(reason));
    // Our key deleted: an operator revoked our lease (make locks RELEASE), or etcd expired it.
    const watcher = client.watch().key(key).startRevision(String(fromRevision)).watcher();
    watcher.on('delete', () => this.markLost('its key was deleted: the lease was revoked (a forced release) or expired'));
    watcher.on('error', () => undefined); // the keepalive check covers an unreachable etcd
    this.watcher = watcher;
  }

  get isHeld(): boolean {
    return !this.released && this.lost === undefined;
  }

  /** Rewrites our key's value under our lease; a lease revoked meanwhile makes the put fail, as it should. Never rejects. */
  async updateRecord(value: EtcdQueueRecord): Promise<void> {
    await this.keeper.lease
      .put(this.key)
      .value(JSON.stringify(value))
      .exec()
      .catch(() => undefined);
  }

  private get waitMs(): number {
    return Math.max(0, this.since.getTime() - this.turn.queuedAt);
  }

  private stopWatching(): void {
    clearInterval(this.timer);
    const watcher = this.watcher;
    this.watcher = undefined;
    void watcher?.cancel().catch(() => undefined);
  }

  async release(how: TurnEnd = 'released'): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.stopWatching();
    if (this.lost !== undefined) return;
    // Before the lease goes: the next holder's `acquired` line comes after this one.
    await record(this.turn, 'released', this.job, this.ticket.name, { waitMs: this.waitMs, holdMs: Math.max(0, Date.now() - this.since.getTime()), how });
    await this.keeper.end();
  }

  markLost(reason: string): void {
    if (this.released || this.lost !== undefined) return;
    this.lost = reason;
    this.stopWatching();
    // Whatever is left of our lease goes now, so the next waiter need not wait for its TTL.
    void this.keeper.end();
    void log(this.turn.logDir, {
      event: 'lock-lost',
      resource: this.turn.resource,
      runner: this.job.runner,
      runId: this.job.runId,
      attempt: this.job.attempt,
      reason,
    });
    void record(this.turn, 'released', this.job, this.ticket.name, {
      waitMs: this.waitMs,
      holdMs: Math.max(0, Date.now() - this.since.getTime()),
      how: 'lost',
    });
    this.onLost?.(reason);
  }
}

export interface EtcdLockOptions {
  /** The lock directory whose locks.log gets the turn events (the wrapper's RUNNER_LOCK_DIR); unset: none written. */
  logDir?: string;
  /** How often a waiter reads the queue again without a watch event (default: half the lease). */
  recheckMs?: number;
  /** How long a waiter waits before trying an unreachable etcd again. */
  retryMs?: number;
}

/** One resource's lock on etcd, for the wrapper (and the bench). */
export class EtcdLock implements ResourceLockBackend {
  readonly kind = 'etcd';
  readonly where: string;
  private clientPromise: Promise<Etcd3> | undefined;
  private readonly recheckMs: number;
  private readonly retryMs: number;

  constructor(
    private readonly settings: EtcdSettings,
    readonly resource: string,
    private readonly o: EtcdLockOptions = {},
  ) {
    this.where = describeEtcd(settings);
    this.recheckMs = o.recheckMs ?? Math.max(500, (settings.leaseS * 1000) / 2);
    this.retryMs = o.retryMs ?? 1000;
  }

  private client(): Promise<Etcd3> {
    this.clientPromise ??= etcdClient(this.settings);
    return this.clientPromise;
  }

  private keyFor(leaseId: string): string {
    return `${queuePrefix(this.settings.prefix, this.resource)}${BigInt(leaseId).toString(16)}`;
  }

  async acquire(job: JobInfo, { signal, org = '', onStatus, onQueued, onLost }: BackendAcquireOptions): Promise<HeldTurn> {
    const client = await this.client();
    const turn: TurnContext = { logDir: this.o.logDir, resource: this.resource, org, queuedAt: Date.now() };
    let mine: { keeper: LeaseKeeper; key: string; ticket?: string } | undefined;
    let requeued = false;
    let lastTicket = '';
    const unreachable = (err: unknown): void => onStatus?.({ ticket: mine?.ticket ?? '', unreachable: unreachableLine(this.settings, err) });
    const retry = (): Promise<void> => sleep(this.retryMs, undefined, { signal }).catch(() => undefined);
    try {
      for (;;) {
        if (signal.aborted) throw signal.reason;
        if (!mine) {
          const keeper = new LeaseKeeper(client, this.settings.leaseS);
          try {
            const leaseId = await keeper.lease.grant();
            const key = this.keyFor(leaseId);
            const value: EtcdQueueRecord = { ...job, org, requestedAt: new Date().toISOString(), leaseS: this.settings.leaseS };
            await keeper.lease.put(key).value(JSON.stringify(value)).exec();
            mine = { keeper, key };
          } catch (err) {
            void keeper.end();
            if (signal.aborted) throw signal.reason;
            unreachable(err);
            await retry();
            continue;
          }
        }
        let queue: Awaited<ReturnType<typeof readQueue>>;
        try {
          queue = await readQueue(client, this.settings.prefix, this.resource);
        } catch (err) {
          if (signal.aborted) throw signal.reason;
          unreachable(err);
          await retry();
          continue;
        }
        const index = queue.entries.findIndex((e) => e.key === mine?.key);
        const entry = queue.entries[index];
        if (!entry || mine.keeper.gone !== undefined) {
          // Our lease expired (etcd unreachable for longer than its TTL) or was revoked: queue again at the back.
          if (mine.ticket !== undefined) {
            void log(this.o.logDir, { event: 'ticket-lost', resource: this.resource, ticket: mine.ticket, runner: job.runner, runId: job.runId });
            requeued = true;
          }
          void mine.keeper.end();
          mine = undefined;
          continue;
        }
        if (mine.ticket === undefined) {
          mine.ticket = String(entry.revision);
          lastTicket = mine.ticket;
          await record(turn, 'queued', job, mine.ticket, requeued ? { requeued: true } : {});
          onQueued?.(mine.ticket);
        }
        onStatus?.({ ticket: mine.ticket });
        if (index === 0) {
          const since = new Date();
          const held = new EtcdHeld(client, job, { name: mine.ticket }, since, mine.keeper, mine.key, queue.revision + 1n, turn, onLost);
          mine = undefined; // the held lock owns the lease now
          if (signal.aborted) {
            await held.release('aborted');
            throw signal.reason;
          }
          await record(turn, 'acquired', job, held.ticket.name, { waitMs: Math.max(0, since.getTime() - turn.queuedAt) });
          // The record tells readers since when: best effort (a lease revoked meanwhile makes the put fail, as it should).
          const value: EtcdQueueRecord = {
            ...job,
            org,
            requestedAt: new Date(turn.queuedAt).toISOString(),
            since: since.toISOString(),
            leaseS: this.settings.leaseS,
          };
          void held.updateRecord(value);
          return held;
        }
        const before = queue.entries[index - 1];
        if (before) await this.waitForDelete(client, before.key, queue.revision + 1n, signal, unreachable);
      }
    } catch (err) {
      if (mine) await mine.keeper.end();
      const how: TurnEnd = signal.aborted ? (signal.reason instanceof StopWaiting ? signal.reason.how : 'aborted') : 'error';
      const reason = signal.aborted ? String((signal.reason as Error | undefined)?.message ?? 'aborted') : (err as Error).message;
      if (lastTicket) await record(turn, 'left-queue', job, lastTicket, { waitMs: Math.max(0, Date.now() - turn.queuedAt), how, reason: reason.slice(0, 300) });
      throw err;
    }
  }

  /** Resolves when `key` is deleted (from `fromRevision` on), etcd drops the watch, the recheck time passes, or the wait is aborted. */
  private waitForDelete(client: Etcd3, key: string, fromRevision: bigint, signal: AbortSignal, unreachable: (err: unknown) => void): Promise<void> {
    return new Promise((resolve) => {
      const watcher = client.watch().key(key).startRevision(String(fromRevision)).watcher();
      let over = false;
      const done = (): void => {
        if (over) return;
        over = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        void watcher.cancel().catch(() => undefined);
        resolve();
      };
      const timer = setTimeout(done, this.recheckMs);
      signal.addEventListener('abort', done, { once: true });
      watcher.on('delete', done);
      watcher.on('error', done);
      watcher.on('disconnected', (err: Error) => {
        if (!over) unreachable(err);
        done();
      });
    });
  }

  async place(ticket: string): Promise<WaitingPlace | undefined> {
    try {
      const { entries } = await readQueue(await this.client(), this.settings.prefix, this.resource);
      const index = entries.findIndex((e) => String(e.revision) === ticket);
      const holder = entries[0] ? parseQueueRecord(entries[0].value) : undefined;
      const since = holder?.since ? Date.parse(holder.since) : Number.NaN;
      return { place: index < 0 ? entries.length : Math.max(1, index), ...(Number.isFinite(since) ? { heldForMs: Math.max(0, Date.now() - since) } : {}) };
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    const client = await this.clientPromise?.catch(() => undefined);
    client?.close();
  }
}
