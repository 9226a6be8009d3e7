// Where make status and make metrics read a fleet's board locks
// (lib/fleet/lock-source.ts): the lock directory, or etcd for a fleet with
// RUNNER_LOCK_BACKEND=etcd. Against a real etcd (a private one, stopped and
// started again for the outage), with holders and waiters put there by the
// real lock (lock/etcd/etcd-lock.ts).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lockPlaceOf, lockSourceOf, lockSourcesOf } from '../../../lib/fleet/lock-source.ts';
import { EtcdLock } from '../../../lock/etcd/etcd-lock.ts';
import { parseEtcdSettings, type EtcdSettings } from '../../../lock/etcd/settings.ts';
import type { HeldTurn } from '../../../lock/backend.ts';
import { etcdMissing, TestEtcd } from '../../support/etcd.ts';
import { tempDir } from '../../support/lock-helpers.ts';
import { waitFor } from '../../support/wait.ts';

const skip = etcdMissing();

function etcdSettings(endpoints: string, prefix: string, extra: NodeJS.ProcessEnv = {}): EtcdSettings {
  const s = parseEtcdSettings({ RUNNER_LOCK_ETCD_ENDPOINTS: endpoints, RUNNER_LOCK_ETCD_PREFIX: prefix, RUNNER_LOCK_ETCD_LEASE_S: '10', ...extra });
  assert.ok(s);
  return s;
}

const job = (runner: string, runId: string) => ({ runner, runId, attempt: '1', repository: 'acme/fw', job: `job ${runId}` });

/** `runners[0]` holds `resource` on etcd, the others wait behind it in order, each through its own EtcdLock. */
async function holdAndQueue(settings: EtcdSettings, resource: string, runners: string[]) {
  const locks = runners.map(() => new EtcdLock(settings, resource, { retryMs: 200 }));
  const stopWaiting = new AbortController();
  const held: HeldTurn = await locks[0]!.acquire(job(runners[0]!, '1'), { signal: new AbortController().signal, org: 'acme' });
  const waiting: Array<Promise<HeldTurn>> = [];
  for (const [i, lock] of locks.slice(1).entries()) {
    let queued!: () => void;
    const inQueue = new Promise<void>((resolve) => (queued = resolve));
    const turn = lock.acquire(job(runners[i + 1]!, String(i + 2)), { signal: stopWaiting.signal, org: 'acme', onQueued: () => queued() });
    turn.catch(() => undefined);
    await inQueue;
    waiting.push(turn);
  }
  return {
    held,
    async end(): Promise<void> {
      stopWaiting.abort();
      await Promise.allSettled(waiting);
      await held.release();
      await Promise.all(locks.map((lock) => lock.close()));
    },
  };
}

describe('lock sources: which place, each once', () => {
  it('fleets on one lock directory, or one etcd cluster and prefix, share a source; another prefix is another', () => {
    const a = etcdSettings('10.0.0.1:2379,10.0.0.2:2379', '/locks');
    const sameCluster = etcdSettings('http://10.0.0.2:2379,10.0.0.1:2379', '/locks');
    const otherPrefix = etcdSettings('10.0.0.1:2379,10.0.0.2:2379', '/other');
    const sources = lockSourcesOf([
      { lockHostPath: '/l1' },
      { lockHostPath: '/l1' },
      { lockHostPath: '/l2', etcd: a },
      { lockHostPath: '/l3', etcd: sameCluster },
      { lockHostPath: '/l2', etcd: otherPrefix },
    ]);
    assert.deepEqual(
      sources.map((s) => s.where),
      [
        'lock directory /l1',
        'etcd http://10.0.0.1:2379,http://10.0.0.2:2379 under /locks (lease 10 s)',
        'etcd http://10.0.0.1:2379,http://10.0.0.2:2379 under /other (lease 10 s)',
      ],
    );
  });

  it("an etcd place is its endpoints and prefix: never the password, the user or the TLS files' paths", () => {
    const s = etcdSettings('10.0.0.1:2379', '/locks', { RUNNER_LOCK_ETCD_USER: 'fleet', RUNNER_LOCK_ETCD_PASSWORD: 'hunter2-secret' });
    assert.deepEqual(lockPlaceOf({ lockHostPath: '/l', etcd: s }), { etcd: { endpoints: ['http://10.0.0.1:2379'], prefix: '/locks' } });
  });

  it('a lock directory that is missing is one line saying so', async () => {
    const dir = join(await tempDir('lock-source-'), 'missing');
    await assert.rejects(lockSourceOf({ lockHostPath: dir }).read(), { message: `lock directory ${dir} does not exist yet (make init creates it)` });
  });
});

describe('lock sources on etcd', { skip }, () => {
  let etcd: TestEtcd;
  let n = 0;
  before(async () => {
    etcd = await TestEtcd.start();
  });
  after(async () => {
    await etcd?.destroy();
  });

  it('reads the holder and the waiters in queue order, as the lock put them there', async () => {
    const settings = etcdSettings(etcd.endpoint, `/ls${n++}`);
    const board = await holdAndQueue(settings, 'board-a', ['runner-1', 'runner-2', 'runner-3']);
    const source = lockSourceOf({ lockHostPath: '/unused', etcd: settings });
    try {
      const [state, ...more] = await source.read();
      assert.equal(more.length, 0);
      assert.equal(state?.resource, 'board-a');
      assert.equal(state?.holder?.runner, 'runner-1');
      assert.equal(state?.holder?.ticket, board.held.ticket.name);
      assert.deepEqual(
        state?.queue.map((t) => [t.runner, t.runId, t.alive]),
        [
          ['runner-2', '2', true],
          ['runner-3', '3', true],
        ],
      );
    } finally {
      await source.close();
      await board.end();
    }
  });

  it('etcd stopped: a read fails within its bound, in one line naming the endpoint; back, the next read answers at once', async () => {
    const settings = etcdSettings(etcd.endpoint, `/ls${n++}`);
    const board = await holdAndQueue(settings, 'board-a', ['runner-1', 'runner-2']);
    const source = lockSourceOf({ lockHostPath: '/unused', etcd: settings }, { etcdTimeoutMs: 3000 });
    try {
      assert.equal((await source.read())[0]?.holder?.runner, 'runner-1');
      await etcd.stop();
      for (let i = 0; i < 2; i++) {
        const started = Date.now();
        const err = await source.read().then(
          () => assert.fail('read etcd while it was stopped'),
          (e: unknown) => e as Error,
        );
        assert.ok(Date.now() - started <= 3500, `the read took ${Date.now() - started} ms`);
        assert.match(err.message, new RegExp(`^etcd http://${etcd.endpoint.replaceAll('.', '\\.')} under /ls\\d+ \\(lease 10 s\\) cannot be read: `));
        assert.doesNotMatch(err.message, /\n|Resolution note|circuit breaker/);
      }
      await etcd.resume();
      const back = Date.now();
      // A fresh client each read after a failure: no circuit breaker (5 s) or reconnect backoff to wait out.
      const state = await waitFor('a read that answers', () => source.read().then((r) => r[0]), { timeoutMs: 10_000, intervalMs: 100 });
      assert.ok(Date.now() - back < 2000, `read again ${Date.now() - back} ms after etcd was back`);
      assert.equal(state.holder?.runner, 'runner-1', 'the holder kept its lease through a short outage');
    } finally {
      await etcd.resume();
      await source.close();
      await board.end();
    }
  });

  it('its watch calls back on every change under the prefix; closed, it does not; a read after close rejects', async () => {
    const settings = etcdSettings(etcd.endpoint, `/ls${n++}`);
    const source = lockSourceOf({ lockHostPath: '/unused', etcd: settings });
    let changes = 0;
    const watch = source.watch!(() => changes++);
    try {
      await waitFor('the watch connected', () => changes > 0, { timeoutMs: 5000 });
      const before = changes;
      const board = await holdAndQueue(settings, 'board-b', ['runner-1']);
      await waitFor('a change seen', () => changes > before, { timeoutMs: 2000, intervalMs: 10 });
      watch.close();
      const closed = changes;
      await board.end();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(changes, closed, 'no call after close');
    } finally {
      watch.close();
      await source.close();
    }
    await assert.rejects(source.read(), /closed/);
  });
});
