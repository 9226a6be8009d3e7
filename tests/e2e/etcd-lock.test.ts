// End to end: the board lock on etcd (RUNNER_LOCK_BACKEND=etcd) across two
// organizations and two Docker hosts, on real engines.
//
// acme's board runner a1 and globex's a2 run on this machine's daemon,
// globex's a3 on the second daemon (SECOND_DOCKER_HOST, tests/e2e/setup.sh)
// when it answers; all three lock board-e on one etcd (a private one of this
// file, tests/support/etcd.ts, which the test stops and starts again; the
// runners use the host's network, so 127.0.0.1 reaches it from both
// daemons). Every job's step prints `start`/`end` nanosecond timestamps
// (one host clock), read from the stand-in's step events.
//
// Asserted: the jobs of both orgs never overlap on the board; `make locks`
// shows etcd's holder and queue; with etcd stopped a waiting job waits (its
// step does not start) and its job log says etcd is unreachable, and once
// etcd is back it runs; the runners' locks.log (in each host's lock
// directory) has the same turn events as the directory lock's.
//
// The runners are the runner simulator (standins/runner), which STANDS IN
// for actions/runner (not downloadable here); GitHub is the stand-in.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { eventOutput, type JobView } from '../../standins/github/server.ts';
import type { ResourceState } from '../../lock/inspect.ts';
import { dockerOk, dockerUnavailable, SECOND_DOCKER_HOST, secondDockerUnavailable } from './helpers.ts';
import { startGround, type Ground } from '../support/ground.ts';
import { etcdMissing, TestEtcd } from '../support/etcd.ts';
import { runScript } from '../support/cli.ts';
import { waitFor } from '../support/wait.ts';

const skip = (await dockerUnavailable()) ?? (etcdMissing() || undefined);
if (skip) console.log(`# skipping the etcd lock e2e test: ${skip}`);
const noSecond = skip ? skip : await secondDockerUnavailable();
if (!skip && noSecond) console.log(`# etcd lock e2e: one Docker host only (${noSecond})`);

type Org = 'acme' | 'globex';
const PATS: Record<Org, string> = { acme: 'ghp_e2e_etcd_acme_0123456789', globex: 'ghp_e2e_etcd_globex_0123456789' };
const BOARD = 'board-e';
const HOLD_S = 2;

function stepScript(tag: string, seconds: number): string {
  return [
    `echo "start ${tag} $(date +%s%N) $RUNNER_NAME"`,
    `sleep ${seconds}`,
    `echo "end ${tag} $(date +%s%N)"`,
    'env | grep -c "^RUNNER_LOCK_ETCD_PASSWORD=" || true',
    '',
  ].join('\n');
}

interface Span {
  tag: string;
  runner: string;
  start: number;
  end: number;
}

/** The step's start and end (ms, host clock) from its output. */
function spanOf(tag: string, view: JobView): Span | undefined {
  const output = view.events.map((e) => eventOutput(e)).join('\n');
  const start = new RegExp(`^start ${tag} (\\d+) (\\S+)$`, 'm').exec(output);
  const end = new RegExp(`^end ${tag} (\\d+)$`, 'm').exec(output);
  if (!start || !end) return undefined;
  const ms = (ns: string): number => Number(BigInt(ns) / 1000n) / 1000;
  return { tag, runner: start[2] ?? '', start: ms(start[1] ?? '0'), end: ms(end[1] ?? '0') };
}

describe('board lock on etcd across two orgs (and two Docker hosts)', { skip, timeout: 480_000 }, () => {
  let ground: Ground | undefined;
  let etcd: TestEtcd | undefined;
  const started = Date.now();

  after(async () => {
    await ground?.close();
    await etcd?.destroy();
    console.log(`# etcd lock e2e wall time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  const setUp = async () => {
    etcd = await TestEtcd.start();
    ground = await startGround('etcd-lock', { orgs: PATS });
    const g = ground;
    const lockDir = join(g.dir, 'locks');
    const lockDir2 = join(g.dir, 'locks-second');
    const common = [`RUNNER_RESOURCE_ID=${BOARD}`, 'RUNNER_LOCK_BACKEND=etcd', `RUNNER_LOCK_ETCD_ENDPOINTS=${etcd.endpoint}`, 'RUNNER_LOCK_ETCD_LEASE_S=4'];
    const fleets: Array<{ file: string; org: Org; prefix: string; runner: string; host?: string; lockDir: string }> = [];
    const add = async (org: Org, board: string, host?: string): Promise<void> => {
      const prefix = g.prefix(`et${org[0]}${host ? '2' : ''}`, host ? { host } : {});
      const file = `${org}${host ? '-second' : ''}.env`;
      const dir = host ? lockDir2 : lockDir;
      // A compose file of its own: the same org's two fleets would share the default one.
      await g.writeEnv(
        prefix,
        [
          ...(host ? [`DOCKER_HOST=${host}`, `COMPOSE_FILE=docker-compose.${org}-second.yml`] : []),
          `RUNNER_LOCK_HOST_PATH=${dir}`,
          `BOARD_RUNNERS=${board}:${BOARD}`,
          ...common,
        ],
        { file, org },
      );
      fleets.push({ file, org, prefix, runner: `${prefix}runner-${board}`, lockDir: dir, ...(host ? { host } : {}) });
    };
    await add('acme', 'a1');
    await add('globex', 'a2');
    if (!noSecond) await add('globex', 'a3', SECOND_DOCKER_HOST);
    const inits = await Promise.all(fleets.map((f) => g.run('init.ts', ['-n', '0'], { ENV_FILE: f.file })));
    for (const r of inits) assert.equal(r.code, 0, `init failed:\n${r.stdout}\n${r.stderr}`);
    await waitFor('every board runner online', () => fleets.every((f) => g.online(f.runner, f.org)), { timeoutMs: 90_000 });
    const env = await dockerOk(['inspect', '--format', '{{range .Config.Env}}{{println .}}{{end}}', fleets[0]!.runner]);
    return { g, fleets, env, lockDir, etcd };
  };
  let made: ReturnType<typeof setUp> | undefined;
  const fleets = () => (made ??= setUp());

  const enqueue = (g: Ground, org: Org, tag: string, seconds = HOLD_S) =>
    g.github.enqueueJob({ org, repository: `${org}/firmware`, runs_on: [BOARD], job: tag, steps: [{ name: 'on the board', run: stepScript(tag, seconds) }] });

  const locksJson = async (lockDir: string, endpoint: string): Promise<ResourceState[]> => {
    const r = await runScript('locks.ts', ['--json'], {
      env: { RUNNER_LOCK_HOST_PATH: lockDir, RUNNER_LOCK_BACKEND: 'etcd', RUNNER_LOCK_ETCD_ENDPOINTS: endpoint },
    });
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { resources: ResourceState[] }).resources;
  };

  test('board runners get the etcd settings and still mount their lock directory for locks.log', async () => {
    const { env, etcd } = await fleets();
    assert.match(env, /^RUNNER_LOCK_BACKEND=etcd$/m);
    assert.match(env, new RegExp(`^RUNNER_LOCK_ETCD_ENDPOINTS=http://${etcd.endpoint}$`, 'm'));
  });

  test('jobs of both orgs (and both hosts) take the board one at a time, in etcd order; make locks shows the queue', async () => {
    const { g, fleets: all, lockDir, etcd } = await fleets();
    const tags: Array<{ tag: string; org: Org; id: number }> = [];
    for (let i = 0; i < 6; i++) {
      const org: Org = i % 2 === 0 ? 'acme' : 'globex';
      const tag = `e${i}`;
      tags.push({ tag, org, id: enqueue(g, org, tag).job_id });
    }
    // While jobs wait: etcd's holder and queue, as the operator sees them.
    const seen = await waitFor(
      'a holder and a waiter in make locks',
      async () => {
        const [state] = await locksJson(lockDir, etcd.endpoint);
        return state?.holder && state.queue.length > 0 ? state : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 300 },
    );
    assert.equal(seen.resource, BOARD);
    assert.ok(
      all.some((f) => f.runner === seen.holder?.runner),
      `holder ${seen.holder?.runner}`,
    );
    const views = await Promise.all(tags.map((t) => g.github.waitForJob(t.id, (j) => j.status === 'completed', 180_000)));
    views.forEach((v, i) => assert.equal(v.conclusion, 'success', `${tags[i]?.tag}: ${JSON.stringify(v.events.slice(-3))}`));
    const spans = tags
      .map((t, i) => spanOf(t.tag, views[i]!))
      .filter((s): s is Span => s !== undefined)
      .sort((a, b) => a.start - b.start);
    assert.equal(spans.length, tags.length);
    for (let i = 1; i < spans.length; i++) {
      const [prev, cur] = [spans[i - 1]!, spans[i]!];
      assert.ok(cur.start >= prev.end, `${cur.tag} (${cur.runner}) started ${(prev.end - cur.start).toFixed(1)} ms before ${prev.tag} (${prev.runner}) ended`);
    }
    assert.ok(new Set(spans.map((s) => s.runner)).size >= 2, 'runners of both orgs took part');
    // The job's environment has no etcd password (none is set here: the variable must not even be there).
    for (const v of views) assert.match(v.events.map((e) => eventOutput(e)).join('\n'), /^0$/m);
    // Tickets are etcd create revisions: the board order is their order.
    const ticket = (v: JobView): number =>
      Number(/lock acquired after [\d.]+ s \(ticket (\d+)\)/.exec(eventOutput(v.events.find((e) => e.hook === 'job_started')))?.[1]);
    const byStart = spans.map((s) => ticket(views[tags.findIndex((t) => t.tag === s.tag)]!));
    assert.deepEqual(
      byStart,
      [...byStart].sort((a, b) => a - b),
      `board order has tickets ${byStart.join(' ')}`,
    );
    const log = (await readFile(join(lockDir, 'locks.log'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const event of ['queued', 'acquired', 'released'])
      assert.ok(
        log.some((e) => e.event === event && e.resource === BOARD),
        `${event} in locks.log`,
      );
  });

  test('with etcd unreachable a waiting job waits and says so in its log; once etcd is back it runs', async () => {
    const { g, etcd } = await fleets();
    await etcd.stop();
    const stoppedAt = Date.now();
    const { job_id } = enqueue(g, 'acme', 'down', 1);
    // Its hook waits: no step runs while etcd is down.
    await waitFor('the job on a runner', () => g.github.job(job_id)?.status === 'in_progress', { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 8000));
    const during = g.github.job(job_id);
    assert.equal(during?.status, 'in_progress');
    assert.equal(
      during?.events.some((e) => /^start down /m.test(eventOutput(e))),
      false,
      'the step ran without the lock',
    );
    const resumedAt = Date.now();
    await etcd.resume();
    const view = await g.github.waitForJob(job_id, (j) => j.status === 'completed', 120_000);
    assert.equal(view.conclusion, 'success');
    const hook = eventOutput(view.events.find((e) => e.hook === 'job_started'));
    assert.match(hook, /board-e: waiting: etcd \(http:\/\/127\.0\.0\.1:\d+\) is unreachable: .*retrying; the job starts only once it holds the lock/);
    const span = spanOf('down', view);
    assert.ok(
      span && span.start >= resumedAt - 50,
      `the step started ${span ? (resumedAt - span.start).toFixed(0) : '?'} ms before etcd was back (stopped at ${stoppedAt})`,
    );
  });
});
