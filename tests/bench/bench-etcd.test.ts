// make bench on both backends: the lock directory and etcd side by side
// (a private etcd, tests/support/etcd.ts), and an etcd that does not answer
// reported as skipped, never measured.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runScript } from '../support/cli.ts';
import { etcdMissing, TestEtcd } from '../support/etcd.ts';

describe('bench --backend', { skip: etcdMissing(), timeout: 120_000 }, () => {
  let etcd: TestEtcd;
  before(async () => {
    etcd = await TestEtcd.start();
  });
  after(() => etcd.destroy());

  test('both backends in one JSON object, FIFO and exclusive on each', async () => {
    const r = await runScript('bench.ts', ['--json', '--mode', 'processes', '--rounds', '4', '--hold-ms', '2'], {
      env: { BENCH_ETCD: etcd.endpoint },
      timeoutMs: 110_000,
    });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim()) as Record<string, { handoff_ms: { p50: number; p99: number }; out_of_order: number; overlaps: number }>;
    assert.deepEqual(Object.keys(out), ['processes', 'processes (etcd)'], 'default: both when an etcd endpoint is set');
    for (const m of Object.values(out)) {
      assert.ok(m.handoff_ms.p50 <= m.handoff_ms.p99);
      assert.equal(m.out_of_order, 0);
      assert.equal(m.overlaps, 0);
    }
    const text = await runScript('bench.ts', ['--mode', 'processes', '--rounds', '3', '--hold-ms', '1', '--backend', 'both', '--etcd', etcd.endpoint], {
      timeoutMs: 110_000,
    });
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      /handoff, directory vs etcd:\n.*directory p50 ms\s+p99 ms\s+etcd p50 ms\s+p99 ms\n.*processes\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+/,
    );
  });

  test('an etcd that does not answer is skipped with the reason', async () => {
    const r = await runScript('bench.ts', ['--json', '--mode', 'processes', '--rounds', '2', '--backend', 'etcd', '--etcd', '127.0.0.1:1'], {
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim()) as Record<string, { skipped?: string }>;
    assert.match(String(out['processes (etcd)']?.skipped), /etcd at 127\.0\.0\.1:1 does not answer/);
  });
});
