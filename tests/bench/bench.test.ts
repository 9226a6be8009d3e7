// scripts/bench.ts as `npm run bench -- --json` runs it: one JSON object with
// both modes; the container mode measured on a real engine, or skipped with
// the reason when there is none (never made up).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { analyse } from '../../bench/bench.ts';
import { dockerUnavailable } from '../e2e/helpers.ts';
import { runScript } from '../support/cli.ts';

const figures = (mode: unknown): void => {
  const m = mode as { handoff_ms: { p50: number; p99: number; max: number }; longest_run: number; max_wait_ms: number; out_of_order: number };
  assert.deepEqual(Object.keys(m.handoff_ms).sort(), ['max', 'p50', 'p99']);
  for (const v of [...Object.values(m.handoff_ms), m.longest_run, m.max_wait_ms]) assert.equal(typeof v, 'number');
  assert.ok(m.handoff_ms.p50 <= m.handoff_ms.p99 && m.handoff_ms.p99 <= m.handoff_ms.max);
  assert.equal(m.out_of_order, 0, 'the lock is strictly FIFO');
};

describe('bench analysis', () => {
  const acq = (name: string, ticket: number, requested: number, acquired: number, released: number) => ({ name, ticket, requested, acquired, released });

  test('a run counts repeated acquisitions while another contender waits; the tail alone does not', () => {
    const unfair = [acq('a', 2, 0, 1, 1.5), acq('a', 3, 1.5, 2, 2.5), acq('a', 4, 2.5, 3, 3.5), acq('b', 1, 0, 4, 4.5)];
    const r = analyse(unfair);
    assert.equal(r.longest_run, 3);
    assert.equal(r.out_of_order, 1, 'b held ticket 1 and came last');
    assert.equal(r.max_wait_ms, 4);
    const tail = [acq('b', 1, 0, 0, 1), acq('a', 2, 0, 1, 2), acq('a', 3, 2, 2.5, 3), acq('a', 4, 3, 3.5, 4)];
    assert.equal(analyse(tail).longest_run, 1, 'nobody waited behind a');
    assert.deepEqual(analyse(tail).handoff_ms, { p50: 0, p99: 0, max: 0 });
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
