// End to end (issue 22): the boards' history and metrics on a real Docker
// engine. Two orgs' fleets made by `init` (acme's a1 and globex's a2, board
// runners of one resource, board-a, sharing one host lock directory) run a
// burst of 6 jobs, 3 per org, each holding the board 2 s. `make metrics`
// runs beside them for both env files, from before the burst. Then:
// - locks.log has each job's turn, naming the org of the fleet that ran it
//   (RUNNER_FLEET_ORG from the compose file, never the job's word);
// - `report --json` counts 6 jobs, 3 per org, a wait and a hold for each,
//   every hold at least the 2 s the job's step held the board;
// - /metrics, parsed by a Prometheus text-format parser, counts them exactly.
//
// The runners are the runner simulator (standins/runner), which STANDS IN
// for actions/runner (not downloadable here); GitHub is the stand-in.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { HistoryReport } from '../../lib/fleet/lock-history.ts';
import { dockerUnavailable } from './helpers.ts';
import { REPO_ROOT } from '../support/cli.ts';
import { startGround, type Ground } from '../support/ground.ts';
import { countOf, scrape, sumOf, valueOf, type Families } from '../support/prometheus.ts';
import { waitFor } from '../support/wait.ts';

const skip = await dockerUnavailable();
if (skip) console.log(`# skipping the history e2e test: ${skip}`);

type Org = 'acme' | 'globex';
const PATS: Record<Org, string> = { acme: 'ghp_e2e_history_acme_0123456789', globex: 'ghp_e2e_history_globex_0123456789' };
const HOLD_S = 2;
const PLAN: Array<{ tag: string; org: Org }> = [
  { tag: 'h1', org: 'acme' },
  { tag: 'h2', org: 'globex' },
  { tag: 'h3', org: 'acme' },
  { tag: 'h4', org: 'globex' },
  { tag: 'h5', org: 'acme' },
  { tag: 'h6', org: 'globex' },
];

describe('board history and metrics across two orgs on a real engine', { skip, timeout: 420_000 }, () => {
  let ground: Ground | undefined;
  let metricsChild: ChildProcess | undefined;
  const started = Date.now();

  after(async () => {
    metricsChild?.kill('SIGTERM');
    await ground?.close();
    console.log(`# history e2e wall time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  /** `make metrics` for both env files, as a child; resolves with its URL once it serves. */
  const startMetrics = (g: Ground): Promise<string> =>
    new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          import.meta.resolve('tsx'),
          `${REPO_ROOT}scripts/metrics.ts`,
          '--env-file',
          'acme.env',
          '--env-file',
          'globex.env',
          '--addr',
          '127.0.0.1:0',
        ],
        {
          cwd: g.dir,
          env: { PATH: process.env.PATH, HOME: process.env.HOME, ...g.env },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      metricsChild = child;
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /serving (http:\/\/127\.0\.0\.1:\d+\/metrics) for acme, globex/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.once('exit', (code) => reject(new Error(`make metrics exited ${code}: ${out}${err}`)));
    });

  const run = async () => {
    ground = await startGround('history', { orgs: PATS });
    const g = ground;
    const lockDir = join(g.dir, 'locks');
    const prefixes = {} as Record<Org, string>;
    for (const org of ['acme', 'globex'] as const) {
      prefixes[org] = g.prefix(`hi${org[0]}`);
      const board = org === 'acme' ? 'a1' : 'a2';
      await g.writeEnv(prefixes[org], [`RUNNER_LOCK_HOST_PATH=${lockDir}`, `BOARD_RUNNERS=${board}:board-a`, 'RUNNER_RESOURCE_ID=board-a'], {
        file: `${org}.env`,
        org,
      });
    }
    const inits = await Promise.all((['acme', 'globex'] as const).map((org) => g.run('init.ts', ['-n', '0'], { ENV_FILE: `${org}.env` })));
    for (const r of inits) assert.equal(r.code, 0, `init failed:\n${r.stdout}\n${r.stderr}`);
    const runner = (org: Org) => `${prefixes[org]}runner-${org === 'acme' ? 'a1' : 'a2'}`;
    await waitFor('both board runners online', () => g.online(runner('acme'), 'acme') && g.online(runner('globex'), 'globex'), { timeoutMs: 60_000 });
    const url = await startMetrics(g);
    const before = await scrape(url);

    const jobs = PLAN.map((spec) => ({
      ...spec,
      ...g.github.enqueueJob({
        org: spec.org,
        repository: `${spec.org}/firmware`,
        runs_on: ['board-a'],
        job: spec.tag,
        steps: [{ name: 'on the board', run: `sleep ${HOLD_S}` }],
      }),
    }));
    const views = await Promise.all(jobs.map((j) => g.github.waitForJob(j.job_id, (v) => v.status === 'completed', 180_000)));
    const report = await g.run('report.ts', ['--json', '--svg', join(g.dir, 'boards.svg')], { RUNNER_LOCK_HOST_PATH: lockDir });
    assert.equal(report.code, 0, report.stderr);
    const text = await g.run('report.ts', ['--since', '1h'], { RUNNER_LOCK_HOST_PATH: lockDir });
    console.log(
      text.stdout
        .split('\n')
        .map((l) => `# ${l}`)
        .join('\n'),
    );
    const log = (await readFile(join(lockDir, 'locks.log'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    return { g, url, before, jobs, views, runner, report: JSON.parse(report.stdout) as HistoryReport, log };
  };
  let made: ReturnType<typeof run> | undefined;
  const burst = () => (made ??= run());

  test('6 jobs of two orgs on one board: all succeed, each turn in locks.log names the org of the fleet that ran it', async () => {
    const { jobs, views, log, runner } = await burst();
    assert.deepEqual(
      views.map((v) => v.conclusion),
      PLAN.map(() => 'success'),
    );
    for (const j of jobs) {
      const lines = log.filter((l) => l.runId === String(j.run_id));
      assert.deepEqual(
        lines.map((l) => l.event),
        ['queued', 'acquired', 'released'],
        `${j.tag}: ${JSON.stringify(lines)}`,
      );
      for (const l of lines) {
        assert.equal(l.org, j.org, `${j.tag}: ${String(l.event)} names org ${String(l.org)}`);
        assert.equal(l.runner, runner(j.org));
        assert.equal(l.repository, `${j.org}/firmware`);
        assert.equal(l.job, j.tag);
        assert.equal(l.resource, 'board-a');
      }
      assert.equal(lines[2]!.how, 'completed');
      assert.ok(Number(lines[2]!.holdMs) >= HOLD_S * 1000, `${j.tag} held the board ${String(lines[2]!.holdMs)} ms`);
    }
  });

  test('report --json: 6 jobs, 3 per org, a wait and a hold for each, the longest holds of the jobs run', async () => {
    const { report, jobs } = await burst();
    assert.equal(report.bad_lines, 0);
    assert.deepEqual(
      report.resources.map((r) => r.resource),
      ['board-a'],
    );
    const a = report.resources[0]!;
    assert.equal(a.jobs, 6);
    assert.equal(a.left_queue, 0);
    assert.equal(a.open, 0);
    assert.deepEqual(a.results, { completed: 6 });
    assert.equal(a.wait_ms.count, 6);
    assert.equal(a.hold_ms.count, 6);
    assert.ok(a.hold_ms.p50 >= HOLD_S * 1000 && a.held_ms >= 6 * HOLD_S * 1000, JSON.stringify(a.hold_ms));
    assert.deepEqual(
      a.orgs.map((o) => [o.org, o.jobs, o.wait_ms.count, o.hold_ms.count, o.results]),
      [
        ['acme', 3, 3, 3, { completed: 3 }],
        ['globex', 3, 3, 3, { completed: 3 }],
      ],
    );
    assert.equal(a.orgs[0]!.held_ms + a.orgs[1]!.held_ms, a.held_ms);
    const runs = new Map(jobs.map((j) => [String(j.run_id), j]));
    assert.equal(a.longest_holds.length, 5);
    for (const h of a.longest_holds) {
      const j = runs.get(h.run_id);
      assert.ok(j, `a longest hold of run ${h.run_id}, not a job of the burst`);
      assert.deepEqual([h.org, h.repository, h.job], [j.org, `${j.org}/firmware`, j.tag]);
    }
  });

  test('report --svg: the picture names both orgs', async () => {
    const { g } = await burst();
    const svg = await readFile(join(g.dir, 'boards.svg'), 'utf8');
    assert.match(svg, /^<svg /);
    assert.match(svg, />acme<\/text>/);
    assert.match(svg, />globex<\/text>/);
    assert.equal((svg.match(/<rect [^>]*fill="#(2f6fde|e8822e)"[^>]*><title>/g) ?? []).length, 12, 'a bar per job on the board lane and on its runner lane');
  });

  test('/metrics counts them exactly: jobs, waits and holds per org, no queue left, the runners idle', async () => {
    const { url, before, runner } = await burst();
    assert.equal(sumOf(before, 'gh_runner_fleet_jobs_total'), 0, 'jobs counted before the burst');
    const idle = (m: Families, org: Org) => valueOf(m, 'gh_runner_fleet_runners', { org, state: 'idle', kind: 'board', board: org === 'acme' ? 'a1' : 'a2' });
    // GitHub is listed at most every 15 s: the runners show idle within that.
    const m = await waitFor(
      'both board runners idle in /metrics',
      async () => {
        const now = await scrape(url);
        return idle(now, 'acme') === 1 && idle(now, 'globex') === 1 ? now : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 1000 },
    );
    for (const org of ['acme', 'globex'] as const) {
      assert.equal(valueOf(m, 'gh_runner_fleet_jobs_total', { org, board: 'board-a', result: 'completed' }), 3, org);
      assert.equal(countOf(m, 'gh_runner_fleet_lock_wait_seconds', { resource: 'board-a', org }), 3, org);
      assert.equal(countOf(m, 'gh_runner_fleet_lock_hold_seconds', { resource: 'board-a', org }), 3, org);
      assert.ok(valueOf(m, 'gh_runner_fleet_lock_hold_seconds_sum', { resource: 'board-a', org }) >= 3 * HOLD_S, org);
      assert.equal(sumOf(m, 'gh_runner_fleet_runners', { org }), 1, `${org}: one runner, ${runner(org)}`);
    }
    assert.equal(sumOf(m, 'gh_runner_fleet_jobs_total'), 6);
    const handoffs = valueOf(m, 'gh_runner_fleet_lock_handoffs_total', { resource: 'board-a' });
    assert.ok(handoffs >= 1 && handoffs <= 5, `${handoffs} hand-overs among 6 jobs of two runners`);
    assert.equal(valueOf(m, 'gh_runner_fleet_lock_queue_length', { resource: 'board-a' }), 0);
    assert.equal(valueOf(m, 'gh_runner_fleet_lock_held', { resource: 'board-a' }), 0);
    assert.equal(valueOf(m, 'gh_runner_fleet_lock_log_bad_lines_total'), 0);
    assert.ok(valueOf(m, 'gh_runner_fleet_github_requests_total', { status: '200' }) >= 2, 'both orgs listed on GitHub');
    assert.equal(sumOf(m, 'gh_runner_fleet_scrape_errors_total'), 0);
    console.log(`# /metrics after the burst: ${handoffs} hand-overs, github requests ${sumOf(m, 'gh_runner_fleet_github_requests_total')}`);
  });
});
