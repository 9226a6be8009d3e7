// Where make status and make metrics read a fleet's board locks: its lock
// directory (RUNNER_LOCK_HOST_PATH), or etcd when RUNNER_LOCK_BACKEND=etcd
// (config.etcd). Both give the holder and queue of each resource as the same
// ResourceState[] (lock/inspect.ts, lock/etcd/etcd-admin.ts). Fleets whose
// locks are in the same place (one directory; one etcd cluster and prefix)
// share one source, so it is read once (lockSourcesOf). locks.log stays in
// the lock directory with either backend: its readers do not come here.
//
// A read that fails rejects with one line naming the place and what is wrong;
// the caller shows or counts it and reads again later. An etcd source drops
// its client after a failed read: the next read dials afresh, rather than
// meet the old client's circuit breaker (it refuses every call for 5 s after
// failures) or gRPC's reconnect backoff once etcd is back.
import type { Etcd3, Watcher } from 'etcd3';
import type { Config } from '../config/config.ts';
import { etcdClient, etcdErrorText } from '../../lock/etcd/client.ts';
import { EtcdAdmin } from '../../lock/etcd/etcd-admin.ts';
import { describeEtcd, type EtcdSettings } from '../../lock/etcd/settings.ts';
import { readLockDir, type ResourceState } from '../../lock/inspect.ts';

/** An etcd lock's place as shown (status JSON): never its credentials. */
export interface EtcdPlace {
  endpoints: string[];
  prefix: string;
}

/** Where a lock is: a directory, or etcd. */
export type LockPlace = { dir: string; etcd?: undefined } | { etcd: EtcdPlace; dir?: undefined };

/** A read of etcd that takes longer is a failure (the client retries a call up to 3 times, 3 s each). */
export const ETCD_READ_TIMEOUT_MS = 5000;
/** etcd's watch is started again at most this often (a stream that keeps breaking is not a busy loop). */
const REARM_MS = 1000;

/** The same key, the same locks: fleets with equal keys share a source. */
export function lockKey(place: LockPlace): string {
  return place.etcd ? `etcd ${[...new Set(place.etcd.endpoints)].sort().join(',')} ${place.etcd.prefix}` : `directory ${place.dir}`;
}

/** etcd's endpoints and prefix, without the rest of its settings (a password among them). */
function etcdPlace(settings: EtcdSettings): EtcdPlace {
  return { endpoints: [...settings.endpoints], prefix: settings.prefix };
}

/** Where a fleet's board locks are: etcd when its config has etcd settings, else its lock directory. */
export function lockPlaceOf(config: Pick<Config, 'lockHostPath' | 'etcd'>): LockPlace {
  return config.etcd ? { etcd: etcdPlace(config.etcd) } : { dir: config.lockHostPath };
}

/** One place's locks, read on demand. */
export interface LockSource {
  readonly key: string;
  readonly place: LockPlace;
  /** For a line of text: `lock directory /x`, or describeEtcd's `etcd http://… under /p (lease 10 s)`. */
  readonly where: string;
  /** Every resource's holder and queue; rejects with one line saying what is wrong. */
  read(): Promise<ResourceState[]>;
  /**
   * etcd only: calls `onChange` soon after a key under the prefix changes, or
   * the watch (re)connects. A directory has none: its caller watches folders.
   */
  watch?(onChange: () => void): { close(): void };
  /** Closes every client; a read after it rejects. */
  close(): Promise<void>;
}

export interface LockSourceOptions {
  /** How a lock directory is read (a test may stand in). */
  readDir?: (dir: string) => Promise<ResourceState[]>;
  etcdTimeoutMs?: number;
}

/** The source of one fleet's locks. */
export function lockSourceOf(config: Pick<Config, 'lockHostPath' | 'etcd'>, o: LockSourceOptions = {}): LockSource {
  return config.etcd
    ? new EtcdLockSource(config.etcd, o.etcdTimeoutMs ?? ETCD_READ_TIMEOUT_MS)
    : new DirectoryLockSource(config.lockHostPath, o.readDir ?? readLockDir);
}

/** One source per place among `configs`, in the order first named. */
export function lockSourcesOf(configs: ReadonlyArray<Pick<Config, 'lockHostPath' | 'etcd'>>, o: LockSourceOptions = {}): LockSource[] {
  const sources = new Map<string, LockSource>();
  for (const config of configs) {
    const key = lockKey(lockPlaceOf(config));
    if (!sources.has(key)) sources.set(key, lockSourceOf(config, o));
  }
  return [...sources.values()];
}

class DirectoryLockSource implements LockSource {
  readonly key: string;
  readonly place: LockPlace;
  readonly where: string;

  constructor(
    private readonly dir: string,
    private readonly readDir: (dir: string) => Promise<ResourceState[]>,
  ) {
    this.place = { dir };
    this.key = lockKey(this.place);
    this.where = `lock directory ${dir}`;
  }

  async read(): Promise<ResourceState[]> {
    try {
      return await this.readDir(this.dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' || code === 'ENOTDIR' ? 'does not exist yet (make init creates it)' : `cannot be read (${code ?? (err as Error).message})`;
      throw new Error(`${this.where} ${why}`, { cause: err });
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** One run of etcd's watch: its own client, dropped whole when etcd goes. */
interface Watching {
  client?: Etcd3;
  watcher?: Watcher;
  over: boolean;
}

class EtcdLockSource implements LockSource {
  readonly key: string;
  readonly place: LockPlace;
  readonly where: string;
  private admin: EtcdAdmin | undefined;
  /** Who wants to hear of changes (watch()); the one watch of the prefix they share. */
  private readonly listeners = new Set<() => void>();
  private watching: Watching | undefined;
  private armedAt = 0;
  private closed = false;

  constructor(
    private readonly settings: EtcdSettings,
    private readonly timeoutMs: number,
  ) {
    this.place = { etcd: etcdPlace(settings) };
    this.key = lockKey(this.place);
    this.where = describeEtcd(settings);
  }

  async read(): Promise<ResourceState[]> {
    if (this.closed) throw new Error(`${this.where}: closed`);
    const admin = (this.admin ??= new EtcdAdmin(this.settings));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs / 1000} s`)), this.timeoutMs);
    });
    try {
      const resources = await Promise.race([admin.list(), late]);
      this.arm(); // etcd answers: watch it again if it was dropped
      return resources;
    } catch (err) {
      // The next read dials afresh (see the top of this file); so does the watch, once etcd answers.
      if (this.admin === admin) this.admin = undefined;
      void admin.close();
      this.disarm();
      throw new Error(`${this.where} cannot be read: ${etcdErrorText(err, 200)} (is etcd up, and RUNNER_LOCK_ETCD_* right?)`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  watch(onChange: () => void): { close(): void } {
    this.listeners.add(onChange);
    this.arm();
    return {
      close: () => {
        this.listeners.delete(onChange);
        if (this.listeners.size === 0) this.disarm();
      },
    };
  }

  private readonly changed = (): void => {
    for (const listener of this.listeners) listener();
  };

  /** Starts etcd's watch of the prefix, when someone listens and none runs. */
  private arm(): void {
    if (this.watching || this.listeners.size === 0 || this.closed || Date.now() - this.armedAt < REARM_MS) return;
    const watching: Watching = { over: false };
    this.watching = watching;
    this.armedAt = Date.now();
    etcdClient(this.settings).then(
      (client) => {
        if (watching.over) return client.close();
        watching.client = client;
        const watcher = client.watch().prefix(`${this.settings.prefix}/`).watcher();
        watching.watcher = watcher;
        watcher.on('put', this.changed);
        watcher.on('delete', this.changed);
        watcher.on('connected', this.changed); // what changed before it was up is read again
        // Down, or ended by etcd: dropped at once, and armed again by the next read that answers
        // (the reads report etcd's state). Left to itself, etcd3 retries with a backoff of up to
        // 30 s whose timers outlive a close.
        const ended = (): void => {
          this.disarm(watching);
          this.changed();
        };
        watcher.on('error', ended);
        watcher.on('disconnected', ended);
      },
      () => this.disarm(watching), // a TLS file that cannot be read: the reads say so
    );
  }

  private disarm(watching = this.watching): void {
    if (!watching || watching.over) return;
    watching.over = true;
    if (this.watching === watching) this.watching = undefined;
    void watching.watcher?.cancel().catch(() => undefined);
    watching.client?.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    this.disarm();
    const admin = this.admin;
    this.admin = undefined;
    await admin?.close();
  }
}
