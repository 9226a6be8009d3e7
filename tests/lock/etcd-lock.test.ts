// The etcd lock against a real etcd (a private one per file, tests/support/etcd.ts):
// FIFO order by create revision, a SIGKILLed holder freed within its lease,
// an operator's forced release, and a waiter that keeps waiting (and says so)
// while etcd cannot be reached.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { EtcdAdmin } from '../../lock/etcd/etcd-admin.ts';
import { parseQueueRecord } from '../../lock/etcd/etcd-lock.ts';
import { parseEtcdSettings, type EtcdSettings } from '../../lock/etcd/settings.ts';
import { etcdClient } from '../../lock/etcd/client.ts';
import { displayText } from '../../lock/display.ts';
import { Contender, killChildren, repoRoot, spawnGroup, tempDir } from '../support/lock-helpers.ts';
import { etcdMissing, TestEtcd } from '../support/etcd.ts';
import { waitFor } from '../support/wait.ts';

const skip = etcdMissing();
const contenderScript = join(repoRoot, 'tests/lock/etcd-contender.ts');
let etcd: TestEtcd;
let n = 0;

function settings(prefix: string, leaseS = 2): EtcdSettings {
  const s = parseEtcdSettings({ RUNNER_LOCK_ETCD_ENDPOINTS: etcd.endpoint, RUNNER_LOCK_ETCD_PREFIX: prefix, RUNNER_LOCK_ETCD_LEASE_S: String(leaseS) });
  assert.ok(s);
  return s;
}

function contender(prefix: string, name: string, o: { leaseS?: number; logDir?: string } = {}): Contender {
  const args = ['--import', 'tsx', contenderScript, '--endpoints', etcd.endpoint, '--prefix', prefix, '--name', name, '--lease-s', String(o.leaseS ?? 2)];
  if (o.logDir) args.push('--log-dir', o.logDir);
  return new Contender(spawnGroup(process.execPath, args, { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] }));
}

describe('etcd lock', { skip }, () => {
  before(async () => {
    etcd = await TestEtcd.start();
  });
  after(async () => {
    killChildren();
    await etcd?.destroy();
  });
  afterEach(async () => {
    killChildren();
    await etcd.resume();
  });

  it('grants in create-revision order, one holder at a time', async () => {
    const prefix = `/t${n++}`;
    const names = ['a', 'b', 'c', 'd'];
    const cs: Contender[] = [];
    for (const name of names) {
      const c = contender(prefix, name);
      await c.waitFor('queued');
      cs.push(c);
    }
    const tickets = cs.map((c) => c.events.find((e) => e.event === 'queued')?.ticket ?? 0);
    assert.deepEqual(
      [...tickets].sort((a, b) => a - b),
      tickets,
      'tickets are create revisions, ascending in queue order',
    );
    for (const [i, c] of cs.entries()) {
      await c.waitFor('acquired');
      for (const other of cs.slice(i + 1))
        assert.equal(
          other.events.some((e) => e.event === 'acquired'),
          false,
          `${other.events[0]?.name} got the lock before its turn`,
        );
      c.child.stdin?.write('release\n');
      await c.waitFor('released').catch((err: Error) => {
        throw new Error(`${err.message}; events: ${cs.map((x) => x.events.map((e) => `${e.name}:${e.event}`).join(',')).join(' | ')}`);
      });
    }
  });

  it('frees the lock of a SIGKILLed holder within its lease', async () => {
    const prefix = `/t${n++}`;
    const holder = contender(prefix, 'holder', { leaseS: 2 });
    await holder.waitFor('acquired');
    const waiter = contender(prefix, 'waiter', { leaseS: 2 });
    await waiter.waitFor('queued');
    const killed = Date.now();
    holder.kill('SIGKILL');
    const acquired = await waiter.waitFor('acquired', 10_000);
    const took = acquired.t - killed;
    assert.ok(took <= 2000 + 1500, `the waiter got the lock ${took} ms after the holder's SIGKILL (lease 2 s)`);
  });

  it('a forced release revokes the holder lease: the holder learns it lost, the next waiter proceeds, locks.log says who', async () => {
    const prefix = `/t${n++}`;
    const logDir = await tempDir('etcd-log-');
    const holder = contender(prefix, 'holder', { leaseS: 5, logDir });
    await holder.waitFor('acquired');
    const waiter = contender(prefix, 'waiter', { leaseS: 5, logDir });
    await waiter.waitFor('queued');
    const admin = new EtcdAdmin(settings(prefix), logDir);
    try {
      const listed = await admin.list();
      assert.equal(listed.length, 1);
      assert.equal(listed[0]?.holder?.runner, 'holder');
      assert.deepEqual(
        listed[0]?.queue.map((t) => t.runner),
        ['waiter'],
      );
      const warnings: string[] = [];
      const was = await admin.forceRelease('board-a', 'operator', warnings);
      assert.equal(was?.runner, 'holder');
      assert.deepEqual(warnings, []);
    } finally {
      await admin.close();
    }
    const lost = await holder.waitFor('lost', 5000);
    const acquired = await waiter.waitFor('acquired', 5000);
    assert.ok(lost.t - 1000 <= acquired.t);
    // The holder writes its lines as it learns of the loss: they may come after the waiter's.
    const readLog = async () =>
      (await readFile(join(logDir, 'locks.log'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    await waitFor(
      "the holder's released line",
      async () => (await readLog()).some((e) => e.event === 'released' && e.runner === 'holder' && e.how === 'lost'),
      { timeoutMs: 5000 },
    );
    const log = await readLog();
    const force = log.find((e) => e.event === 'force-release');
    assert.equal(force?.by, 'operator');
    assert.equal((force?.holder as { runner?: string } | undefined)?.runner, 'holder');
    const events = log.map((e) => `${String(e.event)}:${typeof e.runner === 'string' ? e.runner : ''}`);
    for (const want of ['queued:holder', 'acquired:holder', 'queued:waiter', 'released:holder', 'acquired:waiter'])
      assert.ok(events.includes(want), `${want} in ${events.join(' ')}`);
  });

  it('while etcd is unreachable a waiter keeps waiting and says so; the holder counts its lock lost; back, the waiter gets it', async () => {
    const prefix = `/t${n++}`;
    const holder = contender(prefix, 'holder', { leaseS: 2 });
    await holder.waitFor('acquired');
    const waiter = contender(prefix, 'waiter', { leaseS: 2 });
    await waiter.waitFor('queued');
    const stopped = Date.now();
    await etcd.stop();
    const lost = await holder.waitFor('lost', 10_000);
    assert.ok(lost.t - stopped <= 2000 + 500, `the holder counted its lock lost ${lost.t - stopped} ms after etcd went (lease 2 s)`);
    await waitFor(
      'the waiter to say etcd is unreachable',
      () => waiter.events.some((e) => e.event === 'status' && /etcd .* is unreachable.*retrying/.test(String((e as { unreachable?: string }).unreachable))),
      { timeoutMs: 15_000 },
    );
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(
      waiter.events.some((e) => e.event === 'acquired'),
      false,
      'a waiter never gets the lock while etcd is down',
    );
    await etcd.resume();
    // etcd gives every lease a full TTL when it comes back: the holder's expires within it.
    await waiter.waitFor('acquired', 20_000);
  });

  it('lists hostile values as plain text, bounded', async () => {
    const prefix = `/t${n++}`;
    const client = await etcdClient(settings(prefix));
    const admin = new EtcdAdmin(settings(prefix));
    try {
      await client
        .put(`${prefix}/board-x/queue/1`)
        .value(JSON.stringify({ runner: '\u001b[31mred\u001b[0m::warning::x', repository: 'a'.repeat(1000) }))
        .exec();
      await client.put(`${prefix}/board-x/queue/2`).value('x'.repeat(10_000)).exec();
      await client.put(`${prefix}/board-x/junk`).value('1').exec();
      await client.put(`${prefix}/../../etc/queue/3`).value('1').exec();
      const [state] = await admin.list();
      assert.equal(state?.resource, 'board-x');
      assert.equal(displayText(state?.holder?.runner), 'red:warning:x');
      assert.ok((state?.holder?.repository.length ?? 0) <= 300);
      assert.equal(state?.queue.length, 1);
      assert.equal(state?.queue[0]?.runner, '');
      assert.ok(state?.warnings.some((w) => w.includes('junk')));
      assert.ok(state?.warnings.some((w) => w.includes('not a queue record')));
      assert.equal(parseQueueRecord(Buffer.from('[1]')), undefined);
    } finally {
      client.close();
      await admin.close();
    }
  });
});
