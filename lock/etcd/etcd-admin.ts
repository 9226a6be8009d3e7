// `make locks` on etcd: every resource's holder and queue under the prefix,
// and an operator's forced release, which revokes the holder's lease (etcd
// deletes its key; the holder's watch and the next waiter's watch fire at
// once). Values are untrusted: parsed field by field (parseQueueRecord), and
// what does not belong under the prefix is listed as a warning, never shown raw.
import type { Etcd3 } from 'etcd3';
import type { LockAdmin } from '../backend.ts';
import type { HolderState, ResourceState, TicketState } from '../inspect.ts';
import { isValidResource, type HolderRecord } from '../layout.ts';
import { appendLockLog } from '../lock-log.ts';
import { etcdClient } from './client.ts';
import { parseQueueRecord, readQueue, type EtcdQueueRecord, type QueueEntry } from './etcd-lock.ts';
import { describeEtcd, type EtcdSettings } from './settings.ts';

const blank: EtcdQueueRecord = { runner: '', runId: '', attempt: '', repository: '', job: '', org: '', requestedAt: '', leaseS: 0 };

function ticketState(entry: QueueEntry, record: EtcdQueueRecord): TicketState {
  const { org: _org, since: _since, leaseS, ...job } = record;
  return { ...job, name: String(entry.revision), seq: Number(entry.revision), staleMs: leaseS * 1000, alive: true, heartbeatAgeMs: 0 };
}

function holderRecord(entry: QueueEntry, record: EtcdQueueRecord): HolderRecord {
  const { runner, runId, attempt, repository, job } = record;
  return { runner, runId, attempt, repository, job, ticket: String(entry.revision), since: record.since ?? record.requestedAt, staleMs: record.leaseS * 1000 };
}

export class EtcdAdmin implements LockAdmin {
  readonly kind = 'etcd';
  readonly where: string;
  private clientPromise: Promise<Etcd3> | undefined;

  /** `logDir`: the lock directory whose locks.log records a forced release (this host's). */
  constructor(
    private readonly settings: EtcdSettings,
    private readonly logDir?: string,
  ) {
    this.where = describeEtcd(settings);
  }

  private client(): Promise<Etcd3> {
    this.clientPromise ??= etcdClient(this.settings);
    return this.clientPromise;
  }

  async list(): Promise<ResourceState[]> {
    const client = await this.client();
    const root = `${this.settings.prefix}/`;
    const keys = await client.getAll().prefix(root).keys();
    const resources = new Map<string, string[]>();
    const stray: string[] = [];
    for (const key of keys) {
      const [resource = '', part, id, ...more] = key.slice(root.length).split('/');
      if (!isValidResource(resource)) {
        stray.push(key);
        continue;
      }
      const warnings = resources.get(resource) ?? [];
      resources.set(resource, warnings);
      if (part !== 'queue' || !id || !/^[0-9a-f]{1,16}$/.test(id) || more.length > 0) warnings.push(`${key.slice(root.length)}: not a queue key: skipped`);
    }
    const states: ResourceState[] = [];
    for (const [resource, warnings] of [...resources].sort(([a], [b]) => a.localeCompare(b))) {
      const { entries } = await readQueue(client, this.settings.prefix, resource);
      const tickets: TicketState[] = [];
      let holder: HolderState | undefined;
      for (const entry of entries) {
        if (!/^[0-9a-f]{1,16}$/.test(entry.key.split('/').pop() ?? '')) continue; // listed in warnings above
        const record = parseQueueRecord(entry.value);
        if (!record) warnings.push(`${entry.key.slice(root.length)}: not a queue record (${entry.value.length} bytes): shown as unknown`);
        const r = record ?? blank;
        if (!holder) holder = { ...holderRecord(entry, r), alive: true, heartbeatAgeMs: 0 };
        else tickets.push(ticketState(entry, r));
      }
      states.push({ resource, ...(holder ? { holder } : {}), queue: tickets, warnings, unreadable: 0 });
    }
    if (stray.length > 0) {
      const first = states[0];
      if (first) first.warnings.push(`${stray.length} key(s) under ${this.settings.prefix} name no valid resource: skipped`);
    }
    return states;
  }

  async forceRelease(resource: string, by: string, warnings: string[]): Promise<HolderRecord | undefined> {
    const client = await this.client();
    const { entries } = await readQueue(client, this.settings.prefix, resource);
    const first = entries[0];
    let holder: HolderRecord | undefined;
    if (first) {
      holder = holderRecord(first, parseQueueRecord(first.value) ?? blank);
      if (first.lease !== '0') await client.leaseClient.leaseRevoke({ ID: first.lease });
      else {
        warnings.push(`${first.key}: has no lease: deleted`);
        await client.delete().key(first.key).exec();
      }
    }
    if (this.logDir === undefined) warnings.push('not recorded: no lock directory for locks.log');
    else {
      await appendLockLog(this.logDir, { event: 'force-release', resource, by, backend: 'etcd', holder: holder ?? null }).catch((err: unknown) =>
        warnings.push(`not recorded: ${(err as Error).message}`),
      );
    }
    return holder;
  }

  async close(): Promise<void> {
    const client = await this.clientPromise?.catch(() => undefined);
    client?.close();
  }
}
