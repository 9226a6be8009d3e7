// scripts/bench.ts as `npm run bench -- --json` runs it: one JSON object with
// both modes; the container mode measured on a real engine, or skipped with
// the reason when there is none (never made up).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { analyse } from '../../bench/bench.ts';
import { docker, dockerUnavailable, removeByPrefix, SIM_IMAGE, uniquePrefix } from '../e2e/helpers.ts';
import { runScript } from '../support/cli.ts';

const figures = (mode: unknown): void => {
  const m = mode as { handoff_ms: { p50: number; p99: number; max: number }; longest_run: number; max_wait_ms: number; out_of_order: number; overlaps: number };
  assert.deepEqual(Object.keys(m.handoff_ms).sort(), ['max', 'p50', 'p99']);
  for (const v of [...Object.values(m.handoff_ms), m.longest_run, m.max_wait_ms]) assert.equal(typeof v, 'number');
  assert.ok(m.handoff_ms.p50 <= m.handoff_ms.p99 && m.handoff_ms.p99 <= m.handoff_ms.max);
  assert.equal(m.out_of_order, 0, 'the lock is strictly FIFO');
  assert.equal(m.overlaps, 0, 'one holder at a time');
};

describe('bench analysis', () => {
  // requested = queued here: each asks and gets its ticket at once.
  const acq = (name: string, ticket: number, grant: number, requested: number, acquired: number, released: number, overlapped = false) => ({
    name,
    ticket,
    grant,
    overlapped,
    requested,
    queued: requested,
    acquired,
    released,
  });

  test('a run counts repeated acquisitions while another contender waits; the tail alone does not', () => {
    const unfair = [acq('a', 2, 0, 0, 1, 1.5), acq('a', 3, 1, 1.5, 2, 2.5), acq('a', 4, 2, 2.5, 3, 3.5), acq('b', 1, 3, 0, 4, 4.5)];
    const r = analyse(unfair);
    assert.equal(r.longest_run, 3);
    assert.equal(r.out_of_order, 1, 'b held ticket 1 and came last');
    assert.equal(r.max_wait_ms, 4);
    const tail = [acq('b', 1, 0, 0, 0, 1), acq('a', 2, 1, 0, 1, 2), acq('a', 3, 2, 2, 2.5, 3), acq('a', 4, 3, 3, 3.5, 4)];
    assert.equal(analyse(tail).longest_run, 1, 'nobody waited behind a');
    assert.deepEqual(analyse(tail).handoff_ms, { p50: 0, p99: 0, max: 0 });
  });

  test('order comes from the grants counted under the lock, not from the clocks of the contenders', () => {
    // c's stamps are 37 ms late (a clock sampled wrong at its start): sorted by
    // time it would come after d, yet it was granted before d.
    const fifo = [acq('a', 1, 0, 0, 1, 6), acq('b', 2, 1, 0, 7, 12), acq('c', 3, 2, 37, 50, 55), acq('d', 4, 3, 0, 19, 24)];
    const r = analyse(fifo);
    assert.equal(r.out_of_order, 0);
    assert.equal(r.longest_run, 1);
    assert.equal(r.overlaps, 0);
  });

  test('a grant made while another holder was marked, or a grant number given twice, is an overlap', () => {
    assert.equal(analyse([acq('a', 1, 0, 0, 1, 6), acq('b', 2, 1, 0, 3, 8, true)]).overlaps, 1);
    assert.equal(analyse([acq('a', 1, 0, 0, 1, 6), acq('b', 2, 0, 0, 3, 8)]).overlaps, 1);
  });
});

describe('bench --json', { timeout: 120_000 }, () => {
  test('processes and containers in one JSON object', async () => {
    const r = await runScript('bench.ts', ['--json', '--rounds', '4', '--hold-ms', '2'], { env: { DOCKER_HOST: process.env.DOCKER_HOST }, timeoutMs: 110_000 });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1, r.stdout);
    const out = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(out), ['processes', 'containers']);
    figures(out.processes);
    const noDocker = await dockerUnavailable();
    if (noDocker) assert.match(String((out.containers as { skipped?: string }).skipped), /Docker is not available/);
    else figures(out.containers);
  });

  test('without a Docker engine the container mode says it was skipped', async () => {
    const r = await runScript('bench.ts', ['--mode', 'containers', '--rounds', '2'], { env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^containers\s+skipped: Docker is not available \(.*DOCKER_HOST/m);
    assert.doesNotMatch(r.stdout, /^containers\s+\d/m);
  });
});

// The container mode while other containers keep both cores busy (CPU) and
// the disk (writes with fsync), several times: a break of FIFO that shows now
// and then is still a break. Run with the runner simulator image (standins/runner).
describe('bench containers under load', { timeout: 300_000 }, () => {
  let skip: string | undefined;
  const prefix = uniquePrefix('bench-load');

  before(async () => {
    skip = await dockerUnavailable();
    if (skip) return;
    const hogs: Array<[string, string]> = [
      ['cpu1', 'while :; do :; done'],
      ['cpu2', 'while :; do :; done'],
      ['disk', 'while :; do dd if=/dev/zero of=/tmp/load bs=1M count=64 conv=fsync status=none; done'],
    ];
    for (const [name, script] of hogs) {
      const started = await docker([
        'run',
        '-d',
        '--rm',
        '--name',
        `${prefix}${name}`,
        '--network',
        'none',
        '--entrypoint',
        '/bin/sh',
        SIM_IMAGE,
        '-c',
        script,
      ]);
      assert.equal(started.code, 0, started.stderr);
    }
  });

  after(async () => {
    if (!skip) await removeByPrefix(prefix);
  });

  for (const run of [1, 2, 3]) {
    test(`run ${run}: strict FIFO (no ticket out of order, nobody twice in a row while others wait), one holder at a time`, async (t) => {
      if (skip) return t.skip(skip);
      const r = await runScript('bench.ts', ['--json', '--mode', 'containers', '--rounds', '25', '--hold-ms', '2'], {
        env: { DOCKER_HOST: process.env.DOCKER_HOST },
        timeoutMs: 110_000,
      });
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { containers: { out_of_order: number; longest_run: number; overlaps: number } };
      t.diagnostic(JSON.stringify(out.containers));
      figures(out.containers);
      assert.equal(out.containers.longest_run, 1, JSON.stringify(out.containers));
    });
  }
});
