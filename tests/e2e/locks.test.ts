// End to end: the board lock across two organizations on a real Docker engine.
//
// Four runner containers made by `init` from two env files (two orgs, two
// compose projects) share one host lock directory: acme has a1 (board-a) and
// b1 (board-b); globex has a2 and a3 (both board-a). Twelve jobs are
// enqueued at once; each job's step appends `start`/`end` lines with
// nanosecond timestamps to `timeline-<resource>.log` in its runner's work
// directory (a job cannot write the lock directory, which belongs to root),
// read by the test from the work volumes on the host. A file the test plants
// in the lock directory must be ignored by the wrappers and `locks`. While they run the
// test cancels one board-a holder, `docker stop`s the container of another
// and `docker kill`s a third, and lists the locks with `scripts/locks.ts --json`.
//
// The runners are the runner simulator (standins/runner), which STANDS IN
// for actions/runner (not downloadable here); GitHub is the stand-in.
//
// What "FIFO by dispatch order" can mean here, and what is asserted:
// - A job is not waiting for the board while it sits in GitHub's queue: the
//   stand-in (like GitHub) hands queued jobs, oldest first, to idle runners
//   of the job's org carrying its labels. A job starts waiting for the board
//   when a runner has it and its job-started hook takes a ticket; tickets are
//   numbered in the order the hooks ask. That order is the dispatch order the
//   wrapper can honour, and it must be honoured strictly: ASSERTED, the 9
//   board-a jobs hold the board in increasing ticket order, across both orgs
//   and all three containers, and the queue `locks --json` lists while jobs
//   wait is the order in which they get the board next.
// - Enqueue order across orgs is NOT a board order: an acme job waits in
//   GitHub's queue while acme's only board-a runner is busy, and globex jobs
//   enqueued after it reach the board first. Not asserted (it does not hold).
// - Enqueue order within one org: acme has one board-a runner, so its board-a
//   jobs run in exact enqueue order (ASSERTED). globex has two: its first two
//   jobs are handed out at the same moment and race for their tickets, so
//   they may swap; every later globex job is handed out only when an earlier
//   one completes, i.e. after at least one 2 s hold, long after the job
//   handed out before it took its ticket (a few hundred ms). ASSERTED: globex
//   board-a order = enqueue order, the first two in either order.
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { ResourceState } from '../../lock/inspect.ts';
import { eventOutput, type JobView } from '../../standins/github/server.ts';
import { containerLogs, containerState, dockerOk, dockerUnavailable } from './helpers.ts';
import { runScript } from '../support/cli.ts';
import { startGround, type Ground } from '../support/ground.ts';
import { waitFor } from '../support/wait.ts';

const skip = await dockerUnavailable();
if (skip) console.log(`# skipping the lock e2e test: ${skip}`);

type Org = 'acme' | 'globex';
type Board = 'board-a' | 'board-b';
type Role = 'cancel' | 'stop' | 'kill';

const PATS: Record<Org, string> = { acme: 'ghp_e2e_locks_acme_0123456789', globex: 'ghp_e2e_locks_globex_0123456789' };
/** The wrapper's default RUNNER_LOCK_STALE_MS (the compose file passes no override). */
const STALE_MS = 8000;
const HOLD_S = 2;

interface Spec {
  tag: string;
  org: Org;
  board: Board;
  seconds: number;
  role?: Role;
}

// Enqueued in this order, in one synchronous loop. The three targets hold the
// board for 120 s unless interrupted. globex's last two jobs are the `stop`
// and `kill` targets, so no globex job is left for the runners they take down.
const PLAN: Spec[] = [
  { tag: 'j01', org: 'acme', board: 'board-a', seconds: HOLD_S },
  { tag: 'j02', org: 'globex', board: 'board-a', seconds: HOLD_S },
  { tag: 'j03', org: 'globex', board: 'board-a', seconds: HOLD_S },
  { tag: 'j04', org: 'acme', board: 'board-b', seconds: 3 },
  { tag: 'j05', org: 'acme', board: 'board-a', seconds: 120, role: 'cancel' },
  { tag: 'j06', org: 'globex', board: 'board-a', seconds: HOLD_S },
  { tag: 'j07', org: 'acme', board: 'board-b', seconds: 3 },
  { tag: 'j08', org: 'globex', board: 'board-a', seconds: 120, role: 'stop' },
  { tag: 'j09', org: 'acme', board: 'board-a', seconds: HOLD_S },
  { tag: 'j10', org: 'globex', board: 'board-a', seconds: 120, role: 'kill' },
  { tag: 'j11', org: 'acme', board: 'board-b', seconds: 3 },
  { tag: 'j12', org: 'acme', board: 'board-a', seconds: HOLD_S },
];

/** The job's one step: timestamps around a sleep, an `interrupted` end when the runner stops it. */
function stepScript({ tag, seconds }: Spec): string {
  return [
    'f="/home/runner/_work/timeline-$RUNNER_RESOURCE_ID.log"',
    `echo "start ${tag} $(date +%s%N) $RUNNER_NAME" >> "$f"`,
    `sleep ${seconds} </dev/null >/dev/null 2>&1 &`,
    'pid=$!',
    `trap 'kill $pid 2>/dev/null; echo "end ${tag} $(date +%s%N) interrupted" >> "$f"; exit 130' INT TERM`,
    'wait $pid',
    `echo "end ${tag} $(date +%s%N)" >> "$f"`,
    '',
  ].join('\n');
}

interface Span {
  tag: string;
  runner: string;
  start: number;
  /** ms; undefined when the container was killed mid-job. */
  end?: number;
  interrupted: boolean;
}

/** Where each runner's work volume is on the host (readable there even when its container was killed). */
const workDirs = new Map<string, string>();
async function workDirOf(runner: string): Promise<string> {
  if (!workDirs.has(runner)) workDirs.set(runner, await dockerOk(['volume', 'inspect', '--format', '{{.Mountpoint}}', `${runner}-work`]));
  return workDirs.get(runner)!;
}

/** Every runner's timeline of one board, merged (one host clock). */
async function readTimeline(runners: string[], board: Board): Promise<Map<string, Span>> {
  const texts = await Promise.all(runners.map(async (r) => readFile(join(await workDirOf(r), `timeline-${board}.log`), 'utf8').catch(() => '')));
  const text = texts.join('\n');
  const spans = new Map<string, Span>();
  for (const line of text.split('\n').filter(Boolean)) {
    const [kind, tag = '', ns = '0', extra = ''] = line.split(' ');
    const ms = Number(BigInt(ns) / 1000n) / 1000;
    if (kind === 'start') spans.set(tag, { tag, runner: extra, start: ms, interrupted: false });
    const span = spans.get(tag);
    if (kind === 'end' && span) {
      span.end = ms;
      span.interrupted = extra === 'interrupted';
    }
  }
  return spans;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Planted by the operator (the test, root) in the lock directory: the wrappers and `locks` must leave it be. */
const FOREIGN = 'notes-board-a.txt';

/** What dispatching the PLAN did, for the tests to assert on. */
interface Dispatch {
  jobs: Map<string, Spec & { id: number; runId: number }>;
  done: Map<string, JobView>;
  boardA: Map<string, Span>;
  boardB: Map<string, Span>;
  acted: Partial<Record<Role, { at: number; runner: string }>>;
  /** `locks --json` when the first target held the board, and the jobs that had started by then. */
  snapshot?: { holder: string; runner: string; resources: ResourceState[]; startedBefore: Set<string> };
}

// Both modes: labs run the default (privileged, sudo); hardened mode is what a
// lab taking outside pull requests runs, and the lock must hold there alike.
//
// Every test stands on its own: it awaits the fleets it needs (fleets(): init
// for both orgs, all four runners online; dispatch(): the PLAN run to its end
// on them), each made once per mode by whichever test asks first, so any one
// test can run alone (--test-name-pattern) and the order does not matter.
for (const mode of ['default', 'hardened'] as const) {
  describe(`board locks across two orgs on a real engine, ${mode} mode`, { skip, timeout: 420_000 }, () => {
    let ground: Ground | undefined;
    const started = Date.now();

    const locksJson = async (lockDir: string): Promise<ResourceState[]> => {
      // As an operator on the host would, with the setting in the environment.
      const r = await runScript('locks.ts', ['--json'], { cwd: dirname(lockDir), env: { RUNNER_LOCK_HOST_PATH: lockDir } });
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { resources: ResourceState[] }).resources;
    };

    /** The stand-in, an env file per org sharing one lock directory, and `init` run for both orgs at once. */
    const startFleets = async () => {
      ground = await startGround(`locks-${mode}`, { orgs: PATS, mode });
      const { github } = ground;
      const lockDir = join(ground.dir, 'locks'); // created by init, root's, 0755
      const boards: Record<Org, string[]> = {
        acme: ['BOARD_RUNNERS=a1:board-a;b1:board-b', 'RUNNER_RESOURCE_ID_A1=board-a', 'RUNNER_RESOURCE_ID_B1=board-b'],
        globex: ['BOARD_RUNNERS=a2:board-a;a3:board-a', 'RUNNER_RESOURCE_ID=board-a'],
      };
      const prefixes = {} as Record<Org, string>;
      for (const org of ['acme', 'globex'] as const) {
        prefixes[org] = ground.prefix(`lk${org[0]}`);
        await ground.writeEnv(prefixes[org], [`RUNNER_LOCK_HOST_PATH=${lockDir}`, ...boards[org]], { file: `${org}.env`, org });
      }
      const g = ground;
      const runner = (org: Org, board: string): string => `${prefixes[org]}runner-${board}`;
      const allRunners = (): string[] => [runner('acme', 'a1'), runner('acme', 'b1'), runner('globex', 'a2'), runner('globex', 'a3')];
      // Both orgs at once, as two operators would: separate images, compose projects and caches.
      const inits = await Promise.all((['acme', 'globex'] as const).map((org) => g.run('init.ts', ['-n', '0'], { ENV_FILE: `${org}.env` })));
      for (const r of inits) assert.equal(r.code, 0, `init failed:\n${r.stdout}\n${r.stderr}`);
      // What init made, seen before any job runs (the dispatch stops and kills runners).
      const containers: Array<{ name: string; status?: string; env: string; mounts: string }> = [];
      for (const name of allRunners()) {
        containers.push({
          name,
          status: (await containerState(name))?.status,
          env: await dockerOk(['inspect', '--format', '{{range .Config.Env}}{{println .}}{{end}}', name]),
          mounts: await dockerOk(['inspect', '--format', '{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}', name]),
        });
      }
      const online = (org: Org, name: string) => github.runners(org).find((r) => r.name === name)?.status === 'online';
      await waitFor('all four runners online', () => allRunners().every((n, i) => online(i < 2 ? 'acme' : 'globex', n)), { timeoutMs: 60_000 });
      await writeFile(join(lockDir, FOREIGN), 'board-a: flashed 2026-11-28\n');
      return { github, lockDir, prefixes, runner, allRunners, inits, containers };
    };
    let fleetsMade: ReturnType<typeof startFleets> | undefined;
    const fleets = () => (fleetsMade ??= startFleets());

    /** The PLAN enqueued at once on the fleets; the three targets cancelled, stopped and killed as each holds the board; every job completed. */
    const runPlan = async (): Promise<Dispatch> => {
      const { github, lockDir, allRunners } = await fleets();
      const d: Dispatch = { jobs: new Map(), done: new Map(), boardA: new Map(), boardB: new Map(), acted: {} };
      for (const spec of PLAN) {
        const { job_id, run_id } = github.enqueueJob({
          org: spec.org,
          repository: `${spec.org}/firmware`,
          runs_on: [spec.board],
          job: spec.tag,
          steps: [{ name: 'on the board', run: stepScript(spec) }],
        });
        d.jobs.set(spec.tag, { ...spec, id: job_id, runId: run_id });
      }
      const target = (role: Role) => [...d.jobs.values()].find((j) => j.role === role)!;
      const pending = new Set<Role>(['cancel', 'stop', 'kill']);
      const dockerCalls: Array<Promise<unknown>> = [];
      const deadline = Date.now() + 150_000;
      while (pending.size > 0) {
        assert.ok(Date.now() < deadline, `the three targets did not all hold board-a in time: ${[...pending].join(', ')} pending`);
        const spans = await readTimeline(allRunners(), 'board-a');
        for (const role of [...pending]) {
          const span = spans.get(target(role).tag);
          if (!span) continue;
          pending.delete(role);
          if (!d.snapshot) {
            // The first target to hold the board, while all three runners are up and
            // the other two wait behind it: what an operator sees.
            const startedBefore = new Set(spans.keys());
            d.snapshot = { holder: span.tag, runner: span.runner, resources: await locksJson(lockDir), startedBefore };
          }
          if (role === 'cancel') {
            d.acted.cancel = { at: Date.now(), runner: span.runner };
            github.cancelJob(target(role).id);
          } else if (role === 'stop') {
            d.acted.stop = { at: Date.now(), runner: span.runner };
            dockerCalls.push(dockerOk(['stop', span.runner], { timeoutMs: 60_000 }));
          } else {
            d.acted.kill = { at: Date.now(), runner: span.runner };
            dockerCalls.push(dockerOk(['kill', span.runner]));
          }
        }
        await sleep(50);
      }
      await Promise.all(dockerCalls);
      const views = await Promise.all([...d.jobs.values()].map((job) => github.waitForJob(job.id, (j) => j.status === 'completed', 90_000)));
      [...d.jobs.keys()].forEach((tag, i) => d.done.set(tag, views[i]!));
      d.boardA = await readTimeline(allRunners(), 'board-a');
      d.boardB = await readTimeline(allRunners(), 'board-b');
      return d;
    };
    let planRun: Promise<Dispatch> | undefined;
    const dispatch = () => (planRun ??= runPlan());

    const ticketOf = (d: Dispatch, tag: string): number => {
      const hook = d.done.get(tag)?.events.find((e) => e.event === 'hook' && e.hook === 'job_started');
      const m = /lock acquired after [\d.]+ s \(ticket (\d+)\)/.exec(eventOutput(hook));
      assert.ok(m, `${tag}: no ticket in its job-started hook output: ${String(hook?.output)}`);
      return Number(m[1]);
    };
    const nextStartAfter = (d: Dispatch, at: number): Span | undefined =>
      [...d.boardA.values()].filter((s) => s.start > at).sort((x, y) => x.start - y.start)[0];

    after(async () => {
      await ground?.close();
      console.log(`# locks e2e wall time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    });

    // fleets() waits for all four runners online (and fails if they are not within 60 s).
    test('init for two orgs: four board runners online, sharing one lock directory', async () => {
      const { inits, lockDir, runner, containers } = await fleets();
      for (const r of inits) assert.equal(r.code, 0, `init failed:\n${r.stdout}\n${r.stderr}`);
      const names = [runner('acme', 'a1'), runner('acme', 'b1'), runner('globex', 'a2'), runner('globex', 'a3')];
      assert.deepEqual(
        containers.map((c) => c.name),
        names,
      );
      for (const c of containers) assert.equal(c.status, 'running', c.name);
      for (const [c, resource] of containers.map((c, i) => [c, ['board-a', 'board-b', 'board-a', 'board-a'][i]] as const)) {
        assert.match(c.env, new RegExp(`^RUNNER_RESOURCE_ID=${resource}$`, 'm'), c.name);
        assert.ok(c.mounts.includes(`${lockDir}:/tmp/github-runner-locks`), `${c.name} mounts ${c.mounts}`);
      }
    });

    test('12 jobs at once: cancel, docker stop and docker kill the board-a holder in turn', async () => {
      const { github } = await fleets();
      const { done, boardA, boardB } = await dispatch();
      const conclusions = Object.fromEntries([...done].map(([tag, j]) => [tag, j.conclusion]));
      const expected = Object.fromEntries(PLAN.map((s) => [s.tag, s.role === 'kill' ? 'failure' : s.role ? 'cancelled' : 'success']));
      assert.deepEqual(conclusions, expected);
      assert.deepEqual(
        [...boardA.keys()].sort(),
        PLAN.filter((s) => s.board === 'board-a')
          .map((s) => s.tag)
          .sort(),
        'every board-a job ran its step',
      );
      assert.equal(boardB.size, 3);
      assert.deepEqual(github.violations, []);
    });

    test('board-a: never two jobs at once, across both orgs and three containers', async () => {
      const { boardA, jobs, acted } = await dispatch();
      const spans = [...boardA.values()].sort((a, b) => a.start - b.start);
      assert.equal(new Set(spans.map((s) => s.runner)).size, 3, 'all three board-a runners took part');
      for (let i = 1; i < spans.length; i++) {
        const [prev, cur] = [spans[i - 1]!, spans[i]!];
        // A killed job has no end line: it ended when its container was killed.
        const prevEnd = prev.end ?? (jobs.get(prev.tag)?.role === 'kill' ? acted.kill!.at : Infinity);
        assert.ok(cur.start >= prevEnd, `${cur.tag} started ${(prevEnd - cur.start).toFixed(1)} ms before ${prev.tag} ended`);
      }
    });

    test('board-a: FIFO by the order jobs started waiting (tickets), and by enqueue order within each org', async () => {
      const { prefixes } = await fleets();
      const d = await dispatch();
      const { boardA, jobs, done } = d;
      const order = [...boardA.values()].sort((a, b) => a.start - b.start).map((s) => s.tag);
      const tickets = order.map((tag) => ticketOf(d, tag));
      assert.deepEqual(
        tickets,
        [...tickets].sort((a, b) => a - b),
        `board order ${order.join(' ')} has tickets ${tickets.join(' ')}`,
      );
      console.log(`# board-a order: ${order.map((t, i) => `${t}(${jobs.get(t)?.org} #${tickets[i]})`).join(' ')}`);
      const ofOrg = (org: Org, tags: string[]) => tags.filter((t) => jobs.get(t)?.org === org);
      const enqueued = PLAN.filter((s) => s.board === 'board-a').map((s) => s.tag);
      assert.deepEqual(ofOrg('acme', order), ofOrg('acme', enqueued), 'acme (one board-a runner): enqueue order');
      const globex = ofOrg('globex', order);
      const want = ofOrg('globex', enqueued);
      assert.deepEqual([...globex.slice(0, 2)].sort(), [...want.slice(0, 2)].sort(), 'globex: its first two jobs first');
      assert.deepEqual(globex.slice(2), want.slice(2), 'globex (two board-a runners): enqueue order after the first two');
      // Waiters are told how long the board has been held and their place, never by whom: it may be another org's job (issue 19).
      const waitingLines = [...done.values()].map((j) => eventOutput(j.events.find((e) => e.hook === 'job_started')));
      assert.ok(
        waitingLines.some((o) => /board-a: waiting, held by another runner for \d+ (s|min), you are \d+(st|nd|rd|th) in the queue/.test(o)),
        'no waiting line in any job log',
      );
      for (const [tag, view] of done) {
        const other: Org = jobs.get(tag)?.org === 'acme' ? 'globex' : 'acme';
        const started = eventOutput(view.events.find((e) => e.hook === 'job_started'));
        assert.doesNotMatch(started, new RegExp(`${other}|${prefixes[other]}`), `${tag}: its log names the other org`);
      }
    });

    test('board-b runs beside board-a', async () => {
      const { boardA, boardB } = await dispatch();
      const a = [...boardA.values()];
      const overlapping = [...boardB.values()].filter((b) => a.some((s) => b.start < (s.end ?? Infinity) && s.start < (b.end ?? Infinity)));
      assert.equal(overlapping.length, 3, 'every board-b job overlaps a board-a job');
    });

    test('locks --json while jobs wait: the holder, and the queue in the order that follows', async () => {
      const { snapshot, jobs, boardA } = await dispatch();
      assert.ok(snapshot, 'no snapshot taken');
      const a = snapshot.resources.find((r) => r.resource === 'board-a');
      const holder = jobs.get(snapshot.holder)!;
      for (const r of snapshot.resources) assert.ok(['board-a', 'board-b'].includes(r.resource), `${r.resource}: a foreign file read as a resource`);
      assert.equal(a?.holder?.runId, String(holder.runId));
      assert.equal(a?.holder?.runner, snapshot.runner);
      assert.equal(a?.holder?.repository, `${holder.org}/firmware`);
      assert.equal(a?.holder?.alive, true);
      assert.ok(a.queue.length >= 1, `nobody waiting while ${holder.tag} held board-a`);
      const byRun = new Map([...jobs.values()].map((j) => [String(j.runId), j.tag]));
      const queued = a.queue.map((t) => byRun.get(t.runId) ?? `run ${t.runId}`);
      for (const t of a.queue) {
        assert.ok(t.alive, `ticket ${t.name} not alive`);
        assert.equal(t.repository, `${jobs.get(byRun.get(t.runId) ?? '')?.org}/firmware`, `ticket ${t.name}`);
      }
      // They had not started, and they got the board next, in the listed order.
      const next = [...boardA.values()]
        .filter((s) => !snapshot.startedBefore.has(s.tag))
        .sort((x, y) => x.start - y.start)
        .map((s) => s.tag);
      assert.deepEqual(next.slice(0, queued.length), queued);
      console.log(`# locks --json while ${holder.tag} held board-a: queue ${queued.join(' ')}`);
    });

    test('cancel from GitHub: the completed hook releases, the next job starts promptly', async () => {
      const d = await dispatch();
      const cancel = [...d.jobs.values()].find((j) => j.role === 'cancel')!;
      const span = d.boardA.get(cancel.tag)!;
      assert.equal(span.interrupted, true, 'the cancelled step was not interrupted');
      const next = nextStartAfter(d, span.start);
      assert.ok(next, 'no job after the cancelled one');
      const delay = next.start - d.acted.cancel!.at;
      assert.ok(delay < 4000, `next job started ${delay.toFixed(0)} ms after the cancel`);
      const completedHook = d.done.get(cancel.tag)!.events.find((e) => e.hook === 'job_completed');
      assert.match(String(completedHook?.output), /board-a: lock released/);
      console.log(`# cancel -> next board-a job: ${delay.toFixed(0)} ms`);
    });

    test('docker stop of the holder: released at once by the wrapper, without the completed hook', async () => {
      const { lockDir } = await fleets();
      const d = await dispatch();
      const stop = [...d.jobs.values()].find((j) => j.role === 'stop')!;
      const span = d.boardA.get(stop.tag)!;
      const next = nextStartAfter(d, span.start);
      assert.ok(next, 'no job after the stopped one');
      const delay = next.start - d.acted.stop!.at;
      assert.ok(delay < 4000, `next job started ${delay.toFixed(0)} ms after docker stop (stale window ${STALE_MS} ms)`);
      assert.equal(
        d.done.get(stop.tag)!.events.find((e) => e.hook === 'job_completed'),
        undefined,
        'the completed hook ran on docker stop',
      );
      const log = await readFile(join(lockDir, 'locks.log'), 'utf8');
      const released = log
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((e) => e.event === 'released-by-wrapper' && e.runner === d.acted.stop!.runner && e.runId === String(stop.runId));
      assert.ok(released, `no released-by-wrapper entry for the stopped holder in locks.log:\n${log}`);
      assert.equal((await containerState(d.acted.stop!.runner))?.running, false);
      console.log(`# docker stop -> next board-a job: ${delay.toFixed(0)} ms (${String(released.reason)})`);
    });

    test('docker kill of the holder: the next job starts within the stale window', async () => {
      const { lockDir } = await fleets();
      const d = await dispatch();
      const kill = [...d.jobs.values()].find((j) => j.role === 'kill')!;
      const span = d.boardA.get(kill.tag)!;
      assert.equal(span.end, undefined, 'the killed job wrote an end line');
      const next = nextStartAfter(d, span.start);
      assert.ok(next, 'no job after the killed one');
      const delay = next.start - d.acted.kill!.at;
      // stale window + the waiter's poll (500 ms) + a margin for a loaded machine
      assert.ok(delay < STALE_MS + 3000, `next job started ${delay.toFixed(0)} ms after docker kill`);
      const log = await readFile(join(lockDir, 'locks.log'), 'utf8');
      assert.match(log, new RegExp(`"event":"dead-ticket-removed".*"runner":"${d.acted.kill!.runner}".*"runId":"${kill.runId}"`));
      console.log(`# docker kill -> next board-a job: ${delay.toFixed(0)} ms (stale window ${STALE_MS} ms)`);
    });

    test('afterwards: both boards free, no ticket left, foreign files untouched', async () => {
      const { lockDir, runner } = await fleets();
      const { jobs } = await dispatch();
      const resources = await locksJson(lockDir);
      assert.deepEqual(
        resources.map((r) => r.resource),
        ['board-a', 'board-b'],
      );
      for (const r of resources) {
        assert.equal(r.holder, undefined, `${r.resource} still held`);
        assert.deepEqual(r.queue, [], `${r.resource} has tickets left`);
      }
      const files = await readdir(lockDir);
      assert.equal(await readFile(join(lockDir, FOREIGN), 'utf8'), 'board-a: flashed 2026-11-28\n', 'the foreign file was touched');
      assert.deepEqual(
        files.filter((f) => f.startsWith('.')),
        [],
        'probe or temp files left behind',
      );
      // Nothing abnormal but the two take-downs: no lock or ticket lost, no other release by a wrapper
      // (each job's turn at the board has lines of its own: the history, tests/e2e/history.test.ts).
      const turns = ['queued', 'acquired', 'released', 'left-queue'];
      const log = (await readFile(join(lockDir, 'locks.log'), 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((e) => !turns.includes(String(e.event)));
      const runOf = (role: Role) => String([...jobs.values()].find((j) => j.role === role)!.runId);
      assert.deepEqual(
        log.map((e) => `${String(e.event)} ${String(e.resource)} ${String(e.runId)}`),
        [`released-by-wrapper board-a ${runOf('stop')}`, `dead-ticket-removed board-a ${runOf('kill')}`],
      );
      const survivor = runner('acme', 'a1');
      assert.doesNotMatch(await containerLogs(survivor), /notes-board/, 'the wrapper mentioned the foreign file');
    });
  });
}
