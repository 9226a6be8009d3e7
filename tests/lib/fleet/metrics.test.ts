// make metrics' /metrics (lib/fleet/metrics.ts), read by a Prometheus
// text-format parser: exact counts for a burst of jobs taken through the real
// lock, locks.log followed across rotations between scrapes, bad lines
// counted, runners by state from Docker labels and GitHub (listed at most
// every 15 s), GitHub requests by status, and a source that fails counted,
// not fatal. Boards that lock on etcd: a private etcd (tests/support/etcd.ts)
// and the real etcd lock, which still writes locks.log in the lock directory.
import assert from 'node:assert/strict';
import { appendFile, writeFile } from 'node:fs/promises';
import { after, afterEach, before, describe, test } from 'node:test';
import type { FleetContainer } from '../../../lib/docker/containers.ts';
import {
  FleetMetrics,
  parseMetricsAddr,
  runnerStates,
  serveMetrics,
  type MetricsDocker,
  type MetricsServer,
  type MetricsSource,
} from '../../../lib/fleet/metrics.ts';
import { createRunnerApi, type Runner } from '../../../lib/github/runner-api.ts';
import { DEFAULT_TIMINGS } from '../../../lib/github/client.ts';
import type { HeldTurn } from '../../../lock/backend.ts';
import { EtcdLock } from '../../../lock/etcd/etcd-lock.ts';
import { parseEtcdSettings, type EtcdSettings } from '../../../lock/etcd/settings.ts';
import { acquireLock, StopWaiting } from '../../../lock/resource-lock.ts';
import { startGitHubStandIn } from '../../../standins/github/server.ts';
import { etcdMissing, TestEtcd } from '../../support/etcd.ts';
import { tempDir } from '../../support/lock-helpers.ts';
import { bucketOf, countOf, sampleOf, scrape, sumOf, valueOf } from '../../support/prometheus.ts';
import { waitFor } from '../../support/wait.ts';

const opened: Array<{ metrics: FleetMetrics; server: MetricsServer }> = [];
afterEach(async () => {
  for (const { metrics, server } of opened.splice(0)) {
    await server.close();
    metrics.close();
  }
  delete process.env.RUNNER_LOCK_LOG_MAX_BYTES;
});

const noDocker: MetricsDocker = { listFleetContainers: () => Promise.resolve([]) };

function source(lockDir: string, o: Partial<MetricsSource> = {}): MetricsSource {
  return {
    org: 'acme',
    config: { prefix: 'lab-acme-', scope: { org: 'acme' }, projectName: 'lab-acme', lockHostPath: lockDir, githubApiUrl: 'https://api.github.invalid' },
    ...o,
  };
}

async function serve(
  sources: MetricsSource[],
  docker = noDocker,
  githubIntervalMs?: number,
  githubWaitMs?: number,
): Promise<{ metrics: FleetMetrics; url: string; warnings: string[] }> {
  const warnings: string[] = [];
  const metrics = new FleetMetrics({
    sources,
    docker,
    warn: (l) => warnings.push(l),
    ...(githubIntervalMs !== undefined ? { githubIntervalMs } : {}),
    ...(githubWaitMs !== undefined ? { githubWaitMs } : {}),
  });
  await metrics.start();
  const server = await serveMetrics(metrics, { host: '127.0.0.1', port: 0 });
  opened.push({ metrics, server });
  return { metrics, url: server.url, warnings };
}

const queue = (dir: string) => ({ dir, resource: 'board-a', staleMs: 2000, updateMs: 1000, pollMs: 10 });
const job = (runId: number, org: string) => ({ runner: `${org}-runner-a`, runId: String(runId), attempt: '1', repository: `${org}/fw`, job: `job ${runId}` });

/** `n` jobs taking board-a one after another through the real lock, the next one queued while the last holds. */
async function burst(dir: string, jobs: Array<{ org: string; how?: 'completed' | 'cancelled' }>, firstRun = 1): Promise<void> {
  const held = [];
  let previous = await acquireLock(queue(dir), job(firstRun, jobs[0]!.org), { signal: new AbortController().signal, org: jobs[0]!.org });
  for (let i = 1; i <= jobs.length; i++) {
    const next =
      i < jobs.length ? acquireLock(queue(dir), job(firstRun + i, jobs[i]!.org), { signal: new AbortController().signal, org: jobs[i]!.org }) : undefined;
    if (next) await waitFor('the next job queued', async () => ((await readLog(dir)).includes(`"runId":"${firstRun + i}"`) ? true : undefined));
    await new Promise((r) => setTimeout(r, 5));
    await previous.release(jobs[i - 1]!.how ?? 'completed');
    held.push(previous);
    if (next) previous = await next;
  }
}

const readLog = async (dir: string): Promise<string> => (await import('node:fs/promises')).readFile(`${dir}/locks.log`, 'utf8').catch(() => '');

describe('/metrics from the lock directory', () => {
  test('a burst of 8 jobs: jobs, waits, holds and hand-overs counted exactly, per org', async () => {
    const dir = await tempDir('metrics-');
    await burst(dir, [
      { org: 'acme' },
      { org: 'globex' },
      { org: 'acme', how: 'cancelled' },
      { org: 'globex' },
      { org: 'acme' },
      { org: 'acme' },
      { org: 'globex' },
      { org: 'acme' },
    ]);
    // one more that gives up while another holds
    const holder = await acquireLock(queue(dir), job(50, 'acme'), { signal: new AbortController().signal, org: 'acme' });
    const stop = new AbortController();
    const waiter = acquireLock(queue(dir), job(51, 'globex'), { signal: stop.signal, org: 'globex' });
    await waitFor('51 queued', async () => ((await readLog(dir)).includes('"runId":"51"') ? true : undefined));
    const { url } = await serve([source(dir)]);
    let m = await scrape(url);
    assert.equal(valueOf(m, 'gh_runner_fleet_lock_queue_length', { resource: 'board-a' }), 1, 'one waiting');
    assert.equal(valueOf(m, 'gh_runner_fleet_lock_held', { resource: 'board-a' }), 1);
    stop.abort(new StopWaiting('the job was cancelled while waiting', 'cancelled'));
    await assert.rejects(waiter);
    await holder.release('completed');

    m = await scrape(url);
    assert.equal(valueOf(m, 'gh_runner_fleet_jobs_total', { org: 'acme', board: 'board-a', result: 'completed' }), 5);
    assert.equal(valueOf(m, 'gh_runner_fleet_jobs_total', { org: 'acme', board: 'board-a', result: 'cancelled' }), 1);
    assert.equal(valueOf(m, 'gh_runner_fleet_jobs_total', { org: 'globex', board: 'board-a', result: 'completed' }), 3);
    assert.equal(valueOf(m, 'gh_runner_fleet_jobs_total', { org: 'globex', board: 'board-a', result: 'left-queue' }), 1);
    assert.equal(sumOf(m, 'gh_runner_fleet_jobs_total'), 10);
    assert.equal(countOf(m, 'gh_runner_fleet_lock_wait_seconds', { resource: 'board-a', org: 'acme' }), 6);
    assert.equal(countOf(m, 'gh_runner_fleet_lock_wait_seconds', { resource: 'board-a', org: 'globex' }), 3);
    assert.equal(countOf(m, 'gh_runner_fleet_lock_hold_seconds', { resource: 'board-a', org: 'acme' }), 6);
    assert.equal(countOf(m, 'gh_runner_fleet_lock_hold_seconds', { resource: 'board-a', org: 'globex' }), 3);
    assert.equal(valueOf(m, 'gh_runner_fleet_lock_handoffs_total', { resource: 'board-a' }), 7, 'each of jobs 2–8 waited for the one before');
    assert.equal(valueOf(m, 'gh_runner_fleet_lock_queue_length', { resource: 'board-a' }), 0);
    assert.equal(valueOf(m, 'gh_runner_fleet_lock_held', { resource: 'board-a' }), 0);
    assert.equal(valueOf(m, 'gh_runner_fleet_lock_log_bad_lines_total'), 0);
    assert.equal(m.types.get('gh_runner_fleet_lock_wait_seconds'), 'histogram');
    assert.equal(m.types.get('gh_runner_fleet_jobs_total'), 'counter');
    assert.equal(m.byName.get('gh_runner_fleet_jobs_total')?.type, 'COUNTER');
    assert.equal(bucketOf(m, 'gh_runner_fleet_lock_hold_seconds', { resource: 'board-a', org: 'acme' }, '+Inf'), 6);
  });

  test('locks.log followed between scrapes across rotations: every job counted once; bad lines counted, not fatal', { timeout: 60_000 }, async () => {
    const dir = await tempDir('metrics-');
    process.env.RUNNER_LOCK_LOG_MAX_BYTES = '6000'; // a rotation every few jobs
    await writeFile(`${dir}/locks.log`, '');
    const { url } = await serve([source(dir)]);
    let total = 0;
    for (let round = 0; round < 8; round++) {
      await burst(dir, [{ org: 'acme' }, { org: 'globex' }], 100 + round * 10);
      total += 2;
      if (round === 3) await appendFile(`${dir}/locks.log`, `not json\n{"time":"x"}\n${'{'.repeat(20_000)}\n`);
      const m = await scrape(url);
      assert.equal(sumOf(m, 'gh_runner_fleet_jobs_total'), total, `round ${round}`);
      assert.equal(countOf(m, 'gh_runner_fleet_lock_hold_seconds', { resource: 'board-a', org: 'acme' }), total / 2, `round ${round}`);
    }
    const m = await scrape(url);
    assert.equal(valueOf(m, 'gh_runner_fleet_lock_log_bad_lines_total'), 3);
    assert.ok((await readLog(dir)).length < 6000 + 2000, 'never rotated');
  });

  test('a locks.log that is a symlink: counted as a scrape error, /metrics still served', async () => {
    const dir = await tempDir('metrics-');
    const { url, warnings } = await serve([source(dir)]);
    const { symlink } = await import('node:fs/promises');
    await symlink('/etc/passwd', `${dir}/locks.log`);
    const m = await scrape(url);
    assert.equal(valueOf(m, 'gh_runner_fleet_scrape_errors_total', { source: 'lock_log' }), 1);
    await scrape(url);
    assert.equal(warnings.filter((w) => w.startsWith('lock_log:')).length, 1, 'warned once, not at every scrape');
  });
});

describe('/metrics for boards that lock on etcd', { skip: etcdMissing() }, () => {
  let etcd: TestEtcd;
  before(async () => {
    etcd = await TestEtcd.start();
  });
  after(async () => {
    await etcd?.destroy();
  });

  const settings = (prefix: string): EtcdSettings => {
    const s = parseEtcdSettings({ RUNNER_LOCK_ETCD_ENDPOINTS: etcd.endpoint, RUNNER_LOCK_ETCD_PREFIX: prefix, RUNNER_LOCK_ETCD_LEASE_S: '10' });
    assert.ok(s);
    return s;
  };

  /** One job holds board-a on etcd, two wait behind it; each through its own EtcdLock writing locks.log in `dir`, as a wrapper does. */
  async function etcdBoard(s: EtcdSettings, dir: string) {
    const locks = [0, 1, 2].map(() => new EtcdLock(s, 'board-a', { logDir: dir, retryMs: 200 }));
    const stopWaiting = new AbortController();
    const held: HeldTurn = await locks[0]!.acquire(job(1, 'acme'), { signal: new AbortController().signal, org: 'acme' });
    const waiting: Array<Promise<HeldTurn>> = [];
    for (const i of [1, 2]) {
      let queued!: () => void;
      const inQueue = new Promise<void>((resolve) => (queued = resolve));
      waiting.push(locks[i]!.acquire(job(1 + i, 'globex'), { signal: stopWaiting.signal, org: 'globex', onQueued: () => queued() }));
      waiting.at(-1)!.catch(() => undefined);
      await inQueue;
    }
    return {
      async end(): Promise<void> {
        stopWaiting.abort(new StopWaiting('the job was cancelled while waiting', 'cancelled'));
        await Promise.allSettled(waiting);
        await held.release('completed');
        await Promise.all(locks.map((lock) => lock.close()));
      },
    };
  }

  test("queue and holder gauges from etcd; a free board's gauges 0, not gone", async () => {
    const dir = await tempDir('metrics-etcd-');
    const s = settings('/m1');
    const board = await etcdBoard(s, dir);
    const { url, warnings } = await serve([source(dir, { config: { ...source(dir).config, etcd: s } })]);
    let m = await scrape(url);
    assert.equal(valueOf(m, 'gh_runner_fleet_lock_queue_length', { resource: 'board-a' }), 2, 'two waiting');
    assert.equal(valueOf(m, 'gh_runner_fleet_lock_held', { resource: 'board-a' }), 1);
    await board.end();
    m = await scrape(url);
    assert.equal(sampleOf(m, 'gh_runner_fleet_lock_queue_length', { resource: 'board-a' })?.value, '0');
    assert.equal(sampleOf(m, 'gh_runner_fleet_lock_held', { resource: 'board-a' })?.value, '0');
    assert.equal(sumOf(m, 'gh_runner_fleet_scrape_errors_total'), 0);
    assert.deepEqual(warnings, []);
  });

  test('jobs, waits and holds of etcd turns from locks.log in the lock directory', async () => {
    const dir = await tempDir('metrics-etcd-');
    const s = settings('/m3');
    const board = await etcdBoard(s, dir);
    const { url } = await serve([source(dir, { config: { ...source(dir).config, etcd: s } })]);
    await board.end();
    const m = await scrape(url);
    assert.equal(valueOf(m, 'gh_runner_fleet_lock_log_bad_lines_total'), 0);
    assert.equal(valueOf(m, 'gh_runner_fleet_jobs_total', { org: 'acme', board: 'board-a', result: 'completed' }), 1);
    assert.equal(valueOf(m, 'gh_runner_fleet_jobs_total', { org: 'globex', board: 'board-a', result: 'left-queue' }), 2);
    assert.equal(countOf(m, 'gh_runner_fleet_lock_hold_seconds', { resource: 'board-a', org: 'acme' }), 1);
  });

  test('etcd stopped: counted as a scrape error (source etcd), warned once naming it, /metrics still served; back, gauges again', async () => {
    const dir = await tempDir('metrics-etcd-');
    const s = settings('/m2');
    const board = await etcdBoard(s, dir);
    const { url, warnings } = await serve([source(dir, { config: { ...source(dir).config, etcd: s } })]);
    try {
      assert.equal(valueOf(await scrape(url), 'gh_runner_fleet_lock_queue_length', { resource: 'board-a' }), 2);
      await board.end();
      await etcd.stop();
      const started = Date.now();
      let m = await scrape(url);
      assert.ok(Date.now() - started < 6000, `the scrape took ${Date.now() - started} ms`);
      assert.equal(valueOf(m, 'gh_runner_fleet_scrape_errors_total', { source: 'etcd' }), 1);
      assert.equal(sampleOf(m, 'gh_runner_fleet_lock_held', { resource: 'board-a' }), undefined, 'no gauge for a board not read');
      m = await scrape(url);
      assert.equal(valueOf(m, 'gh_runner_fleet_scrape_errors_total', { source: 'etcd' }), 2);
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(
        warnings[0]!,
        new RegExp(`^etcd: etcd http://${etcd.endpoint.replaceAll('.', '\\.')} under /m2 \\(lease 10 s\\) cannot be read: .*scrape_errors_total`),
      );
      await etcd.resume();
      m = await scrape(url);
      assert.equal(sampleOf(m, 'gh_runner_fleet_lock_held', { resource: 'board-a' })?.value, '0');
      assert.deepEqual(warnings.slice(1), ['etcd: answers again']);
    } finally {
      await etcd.resume();
    }
  });
});

const container = (name: string, state: string, o: Partial<FleetContainer> = {}): FleetContainer => ({
  name,
  service: name,
  state,
  kind: 'generic',
  labels: ['x'],
  image: 'img',
  createdAt: '2026-12-01T00:00:00Z',
  ephemeral: false,
  ...o,
});
const registration = (name: string, status: string, busy: boolean): Runner => ({ id: name.length, name, os: 'Linux', status, busy, labels: [] });

describe('/metrics: runners', () => {
  test('states from Docker labels and GitHub, per org; GitHub listed at most every 15 s', async () => {
    const dir = await tempDir('metrics-');
    let listings = 0;
    const acmeRunners = [
      registration('lab-acme-runner-a1', 'online', true),
      registration('lab-acme-runner-1', 'online', false),
      registration('lab-acme-runner-2', 'offline', false),
      registration('lab-acme-runner-9', 'online', false),
      registration('other-runner', 'online', false),
    ];
    const acme = source(dir, { api: { listRunners: () => Promise.resolve((listings++, acmeRunners)) } });
    const globex = source(dir, {
      org: 'globex',
      config: { ...acme.config, prefix: 'lab-globex-', scope: { org: 'globex' }, projectName: 'lab-globex' },
      api: { listRunners: () => Promise.resolve([registration('lab-globex-runner-a2', 'online', false)]) },
    });
    const docker: MetricsDocker = {
      listFleetContainers: (config) =>
        Promise.resolve(
          config.prefix === 'lab-acme-'
            ? [
                container('lab-acme-runner-a1', 'running', { kind: 'board', board: 'a1' }),
                container('lab-acme-runner-1', 'running'),
                container('lab-acme-runner-2', 'running'),
                container('lab-acme-runner-3', 'exited'),
                container('lab-acme-runner-4', 'running'),
              ]
            : [container('lab-globex-runner-a2', 'running', { kind: 'board', board: 'a2' })],
        ),
    };
    const { url } = await serve([acme, globex], docker);
    const m = await scrape(url);
    const runners = (org: string, state: string, kind: string, board: string) => valueOf(m, 'gh_runner_fleet_runners', { org, state, kind, board });
    assert.equal(runners('acme', 'busy', 'board', 'a1'), 1);
    assert.equal(runners('acme', 'idle', 'generic', ''), 1);
    assert.equal(runners('acme', 'offline', 'generic', ''), 1);
    assert.equal(runners('acme', 'exited', 'generic', ''), 1);
    assert.equal(runners('acme', 'unregistered', 'generic', ''), 1);
    assert.equal(runners('acme', 'orphan', '', ''), 1, 'registered, no container (other prefixes not counted)');
    assert.equal(runners('globex', 'idle', 'board', 'a2'), 1);
    assert.equal(sumOf(m, 'gh_runner_fleet_runners'), 7);
    await scrape(url);
    await scrape(url);
    assert.equal(listings, 1, 'GitHub listed again within 15 s');
  });

  test('Docker unreachable: registrations from GitHub, a scrape error; GitHub failing: the last listing kept', async () => {
    const dir = await tempDir('metrics-');
    let fail = false;
    const src = source(dir, {
      api: {
        listRunners: () => (fail ? Promise.reject(new Error('GitHub did not answer')) : Promise.resolve([registration('lab-acme-runner-1', 'online', true)])),
      },
    });
    const docker: MetricsDocker = { listFleetContainers: () => Promise.reject(new Error('docker is not running')) };
    const { url } = await serve([src], docker, 0);
    let m = await scrape(url);
    assert.equal(valueOf(m, 'gh_runner_fleet_runners', { org: 'acme', state: 'busy', kind: '', board: '' }), 1);
    assert.equal(valueOf(m, 'gh_runner_fleet_scrape_errors_total', { source: 'docker' }), 1);
    fail = true;
    m = await scrape(url);
    assert.equal(valueOf(m, 'gh_runner_fleet_runners', { org: 'acme', state: 'busy', kind: '', board: '' }), 1);
    assert.equal(valueOf(m, 'gh_runner_fleet_scrape_errors_total', { source: 'github' }), 1);
  });

  test('a GitHub slower than a scrape: the scrape is served without it, the listing lands for the next one', async () => {
    const dir = await tempDir('metrics-');
    const slow = source(dir, {
      api: { listRunners: () => new Promise((r) => setTimeout(() => r([registration('lab-acme-runner-1', 'online', false)]), 600)) },
    });
    const { url } = await serve([slow], noDocker, 15_000, 100);
    const started = Date.now();
    let m = await scrape(url);
    assert.ok(Date.now() - started < 500, `the scrape waited ${Date.now() - started} ms for GitHub`);
    assert.equal(sumOf(m, 'gh_runner_fleet_runners'), 0);
    await new Promise((r) => setTimeout(r, 700));
    m = await scrape(url);
    assert.equal(valueOf(m, 'gh_runner_fleet_runners', { org: 'acme', state: 'orphan', kind: '', board: '' }), 1);
  });

  test('runnerStates without a listing: a running container is running', () => {
    assert.deepEqual(runnerStates('p-', [container('p-runner-1', 'running')], undefined), [
      { name: 'p-runner-1', state: 'running', kind: 'generic', board: '' },
    ]);
  });

  test('GitHub requests by HTTP status, through the real client', async () => {
    const github = await startGitHubStandIn();
    try {
      github.addScope('acme');
      github.addPat({ token: 'ghp_metrics_0123456789', admin: ['acme'] });
      const dir = await tempDir('metrics-');
      const config = { scope: { org: 'acme' }, credential: { kind: 'pat' as const, token: 'ghp_metrics_0123456789' }, githubApiUrl: github.apiUrl };
      const api = createRunnerApi(config, { timings: { ...DEFAULT_TIMINGS, retries: 0 }, env: {} });
      const denied = createRunnerApi(
        { ...config, credential: { kind: 'pat', token: 'ghp_wrong_0123456789' } },
        { timings: { ...DEFAULT_TIMINGS, retries: 0 }, env: {} },
      );
      const { url } = await serve([source(dir, { api, config: { ...source(dir).config, githubApiUrl: github.apiUrl } })], noDocker, 0);
      await scrape(url);
      await scrape(url);
      await denied.listRunners().catch(() => undefined);
      const m = await scrape(url);
      assert.equal(valueOf(m, 'gh_runner_fleet_github_requests_total', { status: '200' }), 3);
      assert.equal(valueOf(m, 'gh_runner_fleet_github_requests_total', { status: '401' }), 1);
    } finally {
      await github.close();
    }
  });
});

describe('METRICS_ADDR', () => {
  test('host:port, [v6]:port, :port; anything else is one line naming it', () => {
    assert.deepEqual(parseMetricsAddr(undefined), { host: '127.0.0.1', port: 9464 });
    assert.deepEqual(parseMetricsAddr('0.0.0.0:9100'), { host: '0.0.0.0', port: 9100 });
    assert.deepEqual(parseMetricsAddr('[::1]:9464'), { host: '::1', port: 9464 });
    assert.deepEqual(parseMetricsAddr(':9464'), { host: '0.0.0.0', port: 9464 });
    for (const bad of ['9464', 'localhost', 'host:99999', 'a b:1', 'http://x:1']) {
      assert.throws(() => parseMetricsAddr(bad), /^ConfigError: METRICS_ADDR=.* is not an address to listen on/, bad);
    }
  });
});
