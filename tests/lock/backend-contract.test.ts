// One contract for both lock backends (lock/backend.ts): the directory and
// etcd (a private etcd, tests/support/etcd.ts) give the same answers to the
// wrapper and to `make locks`: FIFO turns, one holder, places, a wait that
// ends on abort and leaves the queue, a forced release the holder learns of,
// and the same turn events in locks.log.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { HeldTurn, LockAdmin, ResourceLockBackend } from '../../lock/backend.ts';
import { directoryAdmin, directoryBackend } from '../../lock/directory-backend.ts';
import { EtcdAdmin } from '../../lock/etcd/etcd-admin.ts';
import { EtcdLock } from '../../lock/etcd/etcd-lock.ts';
import { parseEtcdSettings, type EtcdSettings } from '../../lock/etcd/settings.ts';
import type { JobInfo } from '../../lock/layout.ts';
import { StopWaiting } from '../../lock/resource-lock.ts';
import { etcdMissing, TestEtcd } from '../support/etcd.ts';
import { tempDir } from '../support/lock-helpers.ts';
import { waitFor } from '../support/wait.ts';

interface Kind {
  name: 'directory' | 'etcd';
  skip: string | false;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  /** A fresh lock store for one test: backends for `resource`, an admin, and the directory locks.log goes to. */
  fresh(): Promise<{ backend: () => ResourceLockBackend; admin: LockAdmin; logDir: string }>;
}

let etcd: TestEtcd | undefined;
let n = 0;

const kinds: Kind[] = [
  {
    name: 'directory',
    skip: false,
    setUp: () => Promise.resolve(),
    tearDown: () => Promise.resolve(),
    async fresh() {
      const dir = await tempDir('contract-');
      return {
        backend: () => directoryBackend({ dir, resource: 'board', staleMs: 4000, updateMs: 1000, pollMs: 100 }),
        admin: directoryAdmin(dir),
        logDir: dir,
      };
    },
  },
  {
    name: 'etcd',
    skip: etcdMissing(),
    async setUp() {
      etcd = await TestEtcd.start();
    },
    async tearDown() {
      await etcd?.destroy();
    },
    async fresh() {
      const logDir = await tempDir('contract-etcd-');
      const settings: EtcdSettings | undefined = parseEtcdSettings({
        RUNNER_LOCK_ETCD_ENDPOINTS: etcd?.endpoint,
        RUNNER_LOCK_ETCD_PREFIX: `/contract${n++}`,
        RUNNER_LOCK_ETCD_LEASE_S: '3',
      });
      assert.ok(settings);
      return { backend: () => new EtcdLock(settings, 'board', { logDir }), admin: new EtcdAdmin(settings, logDir), logDir };
    },
  },
];

const job = (runner: string): JobInfo => ({ runner, runId: '7', attempt: '1', repository: 'org/repo', job: 'build' });

for (const kind of kinds) {
  describe(`lock backend contract: ${kind.name}`, { skip: kind.skip }, () => {
    const open: Array<ResourceLockBackend | LockAdmin> = [];
    before(() => kind.setUp());
    after(async () => {
      for (const o of open) await o.close();
      await kind.tearDown();
    });
    async function store(): Promise<{ backend: () => ResourceLockBackend; admin: LockAdmin; logDir: string }> {
      const s = await kind.fresh();
      open.push(s.admin);
      return {
        ...s,
        backend: () => {
          const b = s.backend();
          open.push(b);
          return b;
        },
      };
    }

    it('hands the lock over in FIFO order, one holder at a time, with places for the waiters', async () => {
      const s = await store();
      const order: string[] = [];
      const tickets = new Map<string, string>();
      const take = async (name: string): Promise<HeldTurn> => {
        const held = await s.backend().acquire(job(name), { signal: new AbortController().signal, org: 'org', onQueued: (t) => tickets.set(name, t) });
        order.push(name);
        return held;
      };
      const first = await take('a');
      const second = take('b');
      await waitFor('b queued', () => tickets.has('b'));
      const third = take('c');
      await waitFor('c queued', () => tickets.has('c'));
      const b = s.backend();
      const place = await b.place(tickets.get('c') ?? '');
      assert.equal(place?.place, 2);
      assert.ok((place?.heldForMs ?? -1) >= 0);
      const listed = await s.admin.list();
      assert.equal(listed[0]?.holder?.runner, 'a');
      assert.deepEqual(
        listed[0]?.queue.map((t) => t.runner),
        ['b', 'c'],
      );
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(order, ['a']);
      await first.release('completed');
      const held = await second;
      assert.deepEqual(order, ['a', 'b']);
      await held.release('completed');
      await (await third).release('completed');
      assert.deepEqual(order, ['a', 'b', 'c']);
      assert.ok(Number(tickets.get('a')) < Number(tickets.get('b')) && Number(tickets.get('b')) < Number(tickets.get('c')));
      const log = (await readFile(join(s.logDir, 'locks.log'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const turns = log.filter((e) => ['queued', 'acquired', 'released'].includes(String(e.event))).map((e) => `${String(e.event)} ${String(e.runner)}`);
      assert.deepEqual(
        turns.filter((t) => !t.startsWith('queued')),
        ['acquired a', 'released a', 'acquired b', 'released b', 'acquired c', 'released c'],
      );
      assert.equal(log.find((e) => e.event === 'released' && e.runner === 'a')?.how, 'completed');
      assert.equal(log.find((e) => e.event === 'queued' && e.runner === 'a')?.org, 'org');
    });

    it('an aborted wait leaves the queue and never holds', async () => {
      const s = await store();
      const first = await s.backend().acquire(job('a'), { signal: new AbortController().signal });
      const abort = new AbortController();
      let queued = '';
      const waiting = s.backend().acquire(job('b'), { signal: abort.signal, onQueued: (t) => (queued = t) });
      await waitFor('b queued', () => queued !== '');
      abort.abort(new StopWaiting('the job was cancelled while waiting', 'cancelled'));
      await assert.rejects(waiting, /cancelled/);
      await waitFor('the queue empty', async () => (await s.admin.list())[0]?.queue.length === 0);
      await first.release();
      const log = await readFile(join(s.logDir, 'locks.log'), 'utf8');
      assert.match(log, /"event":"left-queue".*"how":"cancelled"/);
    });

    it('a forced release takes the lock from its holder, who learns it, and frees the board', async () => {
      const s = await store();
      let lost = '';
      const first = await s.backend().acquire(job('a'), { signal: new AbortController().signal, onLost: (r) => (lost = r) });
      const warnings: string[] = [];
      const was = await s.admin.forceRelease('board', 'operator', warnings);
      assert.equal(was?.runner, 'a');
      // (In one process: proper-lockfile keeps one lock per path and process, so the next holder comes after the notice here.)
      await waitFor('a told it lost the lock', () => lost !== '', { timeoutMs: 10_000 });
      assert.equal((await s.admin.list())[0]?.holder, undefined);
      const held = await s.backend().acquire(job('b'), { signal: new AbortController().signal });
      await first.release();
      await held.release();
      assert.match(await readFile(join(s.logDir, 'locks.log'), 'utf8'), /"event":"force-release".*"by":"operator"/);
    });
  });
}
