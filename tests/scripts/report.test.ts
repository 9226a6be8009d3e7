// `make report` as an operator runs it: the numbers of a known log, SINCE,
// the picture, one line when it cannot read, and a 100 MB locks.log reported
// in a heap of 64 MB (read line by line, nothing of it kept whole).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { test } from 'node:test';
import type { HistoryReport } from '../../lib/fleet/lock-history.ts';
import { REPO_ROOT, runNode, runScript } from '../support/cli.ts';

const TSX = import.meta.resolve('tsx');
const T0 = Date.parse('2026-12-01T10:00:00Z');

/** The three lines of one turn, as the lock writes them. */
function turn(i: number, org: string, resource: string, at: number, waitMs: number, holdMs: number, how = 'completed'): string {
  const who = `"resource":"${resource}","org":"${org}","repository":"${org}/firmware","runId":"${100000 + i}","attempt":"1","job":"job ${i}","runner":"${org}-runner-${i % 7}","ticket":"${String(i + 1).padStart(12, '0')}","seq":${i + 1}`;
  const t = (ms: number) => new Date(at + ms).toISOString();
  return (
    `{"time":"${t(0)}","event":"queued",${who}}\n` +
    `{"time":"${t(waitMs)}","event":"acquired",${who},"waitMs":${waitMs}}\n` +
    `{"time":"${t(waitMs + holdMs)}","event":"released",${who},"waitMs":${waitMs},"holdMs":${holdMs},"how":"${how}"}\n`
  );
}

async function lockDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'fleet-report-'));
}

test('report: jobs, held time, waits and the longest holds per board and org; JSON and SVG', async () => {
  const dir = await lockDir();
  const log = [
    turn(0, 'acme', 'board-a', T0, 100, 60_000),
    turn(1, 'globex', 'board-a', T0 + 61_000, 2_000, 30_000, 'cancelled'),
    turn(2, 'acme', 'board-a', T0 + 95_000, 0, 10_000),
    turn(3, 'globex', 'board-b', T0, 0, 5_000, 'worker-exit'),
    'this is not json\n',
  ].join('');
  await writeFile(join(dir, 'locks.log'), log, { mode: 0o600 });
  const env = { RUNNER_LOCK_HOST_PATH: dir };
  const json = await runScript('report.ts', ['--json', '--svg', join(dir, 'history.svg')], { cwd: dir, env });
  assert.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout) as HistoryReport;
  assert.equal(report.bad_lines, 1);
  assert.deepEqual(
    report.resources.map((r) => [r.resource, r.jobs, r.held_ms]),
    [
      ['board-a', 3, 100_000],
      ['board-b', 1, 5_000],
    ],
  );
  const a = report.resources[0]!;
  assert.deepEqual(
    a.orgs.map((o) => [o.org, o.jobs, o.held_ms, o.wait_ms.max]),
    [
      ['acme', 2, 70_000, 100],
      ['globex', 1, 30_000, 2_000],
    ],
  );
  assert.deepEqual(a.wait_ms, { count: 3, p50: 100, p95: 2000, max: 2000 });
  assert.deepEqual(a.results, { cancelled: 1, completed: 2 });
  assert.deepEqual(
    a.longest_holds.map((h) => [h.run_id, h.hold_ms, h.repository, h.job]),
    [
      ['100000', 60_000, 'acme/firmware', 'job 0'],
      ['100001', 30_000, 'globex/firmware', 'job 1'],
      ['100002', 10_000, 'acme/firmware', 'job 2'],
    ],
  );
  const svg = await readFile(join(dir, 'history.svg'), 'utf8');
  assert.match(svg, /^<svg [^>]*>/);
  assert.match(svg, /board-a<\/text>/);
  assert.match(svg, />acme<\/text>/);
  assert.match(svg, />globex<\/text>/);

  const text = await runScript('report.ts', [], { cwd: dir, env });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^board-a: 3 jobs, held 1 min 40 s$/m);
  assert.match(text.stdout, /^ {2}acme +2 +1 min 10 s +0 ms +100 ms +100 ms +0 +completed 2$/m);
  assert.match(text.stdout, /^ {4}1\. +1 min 00 s +acme +acme\/firmware +run 100000\/1 +job job 0 /m);
  assert.match(text.stdout, /1 line of locks.log not ours \(skipped\)/);
});

test('SINCE: a bad value is one line naming SINCE (exit 2); a good one leaves out what ended before', async () => {
  const dir = await lockDir();
  const now = Date.now();
  await writeFile(join(dir, 'locks.log'), turn(0, 'acme', 'board-a', now - 3 * 86_400_000, 0, 1000) + turn(1, 'acme', 'board-a', now - 3_600_000, 0, 1000), {
    mode: 0o600,
  });
  const env = { RUNNER_LOCK_HOST_PATH: dir };
  for (const bad of ['7w', 'yesterday', '2026-13-01']) {
    const r = await runScript('report.ts', ['--since', bad], { cwd: dir, env });
    assert.equal(r.code, 2, bad);
    assert.match(r.stderr, /^error: SINCE=.* is not a time: use .*7d, 12h, 30m.*\n$/, bad);
  }
  const counts = async (since: string): Promise<number> => {
    const r = await runScript('report.ts', ['--json', '--since', since], { cwd: dir, env });
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as HistoryReport).resources[0]?.jobs ?? 0;
  };
  assert.deepEqual([await counts('7d'), await counts('12h'), await counts('30m')], [2, 1, 0]);
});

test('a FIFO planted at locks.log.1: skipped with one line, locks.log still reported, nothing hangs', async () => {
  const dir = await lockDir();
  spawnSync('mkfifo', [join(dir, 'locks.log.1')]);
  await writeFile(join(dir, 'locks.log'), turn(0, 'acme', 'board-a', T0, 0, 1000), { mode: 0o600 });
  const r = await runScript('report.ts', [], { cwd: dir, env: { RUNNER_LOCK_HOST_PATH: dir }, timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^board-a: 1 job, held 1\.0 s$/m);
  assert.match(r.stdout, /^! .*locks\.log\.1 is a FIFO: not read: skipped$/m);
});

test('no lock directory, and a non-root user: one line each', async () => {
  const missing = await runScript('report.ts', [], { env: { RUNNER_LOCK_HOST_PATH: '/nonexistent/locks' }, cwd: await lockDir() });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^error: lock directory RUNNER_LOCK_HOST_PATH=\/nonexistent\/locks does not exist: .*\n$/);
  if (process.getuid?.() !== 0) return;
  const dir = await lockDir();
  await chmod(dir, 0o755);
  await writeFile(join(dir, 'locks.log'), turn(0, 'acme', 'board-a', T0, 0, 1000), { mode: 0o600 });
  const r = spawnSync(process.execPath, ['--import', TSX, `${REPO_ROOT}scripts/report.ts`], {
    cwd: dir,
    uid: 65534,
    gid: 65534,
    env: { PATH: process.env.PATH, HOME: '/tmp', RUNNER_LOCK_HOST_PATH: dir },
    encoding: 'utf8',
  });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^error: .*locks\.log is root's \(mode 0600: .*\), and uid 65534 cannot read it: run it as root \(sudo make report\)\n$/);
});

test('a 100 MB locks.log is reported in a 64 MB heap, every turn counted, bad lines skipped', { timeout: 300_000 }, async () => {
  const dir = await lockDir();
  const out = createWriteStream(join(dir, 'locks.log'), { mode: 0o600 });
  const orgs = ['acme', 'globex', 'initech'];
  const boards = ['board-a', 'board-b'];
  let turns = 0;
  let bytes = 0;
  while (bytes < 100 * 1024 * 1024) {
    let chunk = '';
    for (let k = 0; k < 1000; k++, turns++) {
      chunk += turn(turns, orgs[turns % 3]!, boards[turns % 2]!, T0 + turns * 1000, turns % 500, 1000 + (turns % 9000));
    }
    chunk += `garbage ${turns}\n${'{'.repeat(20_000)}\n`; // one bad line and one too long per chunk
    bytes += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  assert.ok((await stat(join(dir, 'locks.log'))).size >= 100 * 1024 * 1024);
  const started = Date.now();
  const r = await runNode(['--max-old-space-size=64', '--import', TSX, `${REPO_ROOT}scripts/report.ts`, '--json', '--svg', join(dir, 'h.svg')], {
    cwd: dir,
    env: { RUNNER_LOCK_HOST_PATH: dir },
    timeoutMs: 240_000,
  });
  assert.equal(r.code, 0, `report failed in a 64 MB heap: ${r.stderr.slice(0, 2000)}`);
  const report = JSON.parse(r.stdout) as HistoryReport;
  const jobs = report.resources.reduce((n, res) => n + res.jobs, 0);
  assert.equal(jobs, turns);
  assert.equal(report.bad_lines, (turns / 1000) * 2);
  assert.deepEqual(
    report.resources.map((res) => res.orgs.map((o) => o.org)),
    [orgs, orgs],
  );
  assert.deepEqual(
    report.resources.map((res) => res.wait_ms.max),
    [498, 499],
  ); // even turns on board-a, odd on board-b
  console.log(
    `# ${(bytes / 1024 / 1024).toFixed(0)} MB, ${turns} turns, reported in ${((Date.now() - started) / 1000).toFixed(1)} s with --max-old-space-size=64`,
  );
});
