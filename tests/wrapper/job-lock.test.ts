// The job lock's state machine (wrapper/job-lock.ts) on its own: no socket, no
// runner; the processes the wrapper would find in /proc are a stand-in, the
// lock directory a real one. Who may take the board is decided only by what
// the wrapper observes: the Listener's "Running job:" line and a Runner.Worker.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { collecting } from '../../core/reporter.ts';
import { readResource } from '../../lock/inspect.ts';
import { acquireLock, type HeldLock } from '../../lock/resource-lock.ts';
import { JobLock, type AcquireResult, type JobLockConfig, type ProcessView, type WaitingReply } from '../../wrapper/job-lock.ts';
import type { ProcessRef } from '../../wrapper/process-watch.ts';
import { tempDir } from '../support/lock-helpers.ts';
import { waitFor } from '../support/wait.ts';

const RUN_SH = 4242;
const limit = { timeout: 20_000 };

/** The runner's processes as a test sets them: the worker findWorker would return, and which pids have exited. */
interface FakeProcesses extends ProcessView {
  worker: ProcessRef | undefined;
  dead: Set<number>;
}

function fakeProcesses(): FakeProcesses {
  const view: FakeProcesses = {
    worker: undefined,
    dead: new Set(),
    findWorker: (runScriptPid) => (runScriptPid === RUN_SH ? view.worker : undefined),
    isAlive: (ref) => !view.dead.has(ref.pid),
  };
  return view;
}

const opened: JobLock[] = [];
const heldElsewhere: HeldLock[] = [];

afterEach(async () => {
  for (const lock of opened.splice(0)) await lock.shutdown('test over');
  for (const held of heldElsewhere.splice(0)) await held.release();
});

async function setup(o: Partial<JobLockConfig> & { watch?: boolean } = {}) {
  const lockDir = await tempDir('joblock-');
  const processes = fakeProcesses();
  const reporter = collecting();
  const cfg: JobLockConfig = {
    lockDir,
    resource: 'board-a',
    runnerName: 'runner-1',
    ...{ staleMs: 2000, updateMs: 500, pollMs: 20, progressMs: 100 },
    ...o,
  };
  const lock = new JobLock(cfg, reporter, { processes, jobLineWaitMs: 300 });
  opened.push(lock);
  if (o.watch !== false) lock.watchRunner(RUN_SH);
  /** The Listener starts a job: its "Running job:" line and its Runner.Worker. */
  const startJob = (name: string, workerPid: number): void => {
    processes.worker = { pid: workerPid, startTime: '1' };
    lock.runnerEvent({ type: 'job-started', job: name });
  };
  return { lock, lockDir, processes, reporter, startJob };
}

const labels = (runId: string) => ({ runId, attempt: '1', repository: 'org/repo' });
const stays = (): AbortSignal => new AbortController().signal;
const ignore = (): void => undefined;

async function boardUntouched(lockDir: string): Promise<void> {
  const state = await readResource(lockDir, 'board-a');
  assert.equal(state.holder, undefined, 'the board is held');
  assert.deepEqual(state.queue, [], 'a ticket was taken');
}

function assertRefused(r: AcquireResult, pattern: RegExp): void {
  assert.equal(r.type, 'refused', JSON.stringify(r));
  assert.match((r as { reason: string }).reason, pattern);
}

/** Another runner's job holding the board, as a board runner of another org would. */
async function holdElsewhere(lockDir: string): Promise<HeldLock> {
  const queue = { dir: lockDir, resource: 'board-a', staleMs: 2000, updateMs: 500, pollMs: 20 };
  const job = { runner: 'other-runner', runId: '7', attempt: '1', repository: 'other-org/secret', job: 'flash' };
  const held = await acquireLock(queue, job, { signal: stays() });
  heldElsewhere.push(held);
  return held;
}

describe('job lock: what may take the board', () => {
  test('an acquire while no job runs is refused and takes no ticket: no run.sh, no line, a line but no worker', limit, async () => {
    const unwatched = await setup({ watch: false });
    unwatched.startJob('build', 101);
    assertRefused(await unwatched.lock.acquire(labels('1'), ignore, stays()), /^no job is running on runner-1: /);

    const s = await setup();
    assertRefused(await s.lock.acquire(labels('1'), ignore, stays()), /no job is running on runner-1/);
    // A "Running job:" line anyone with the runner's uid could print: no worker, no job.
    s.lock.runnerEvent({ type: 'job-started', job: 'build' });
    assertRefused(await s.lock.acquire(labels('1'), ignore, stays()), /no job is running on runner-1/);
    await boardUntouched(s.lockDir);
    await boardUntouched(unwatched.lockDir);
  });

  test('a Runner.Worker the Listener announced no job for is refused once the wait for its line is over', limit, async () => {
    const s = await setup();
    s.processes.worker = { pid: 101, startTime: '1' };
    const asked = Date.now();
    assertRefused(await s.lock.acquire(labels('1'), ignore, stays()), /no job is running/);
    assert.ok(Date.now() - asked >= 250, 'refused without waiting for the line');
    await boardUntouched(s.lockDir);
  });

  test('a hook faster than the "Running job:" line waits for it and gets the board', limit, async () => {
    const s = await setup();
    s.processes.worker = { pid: 101, startTime: '1' };
    const result = s.lock.acquire(labels('1'), ignore, stays());
    await new Promise((r) => setTimeout(r, 50));
    s.lock.runnerEvent({ type: 'job-started', job: 'build' });
    assert.equal((await result).type, 'acquired');
  });

  test("a running job gets the board; runner and job names are the wrapper's, run and repository the request's", limit, async () => {
    const s = await setup();
    s.startJob('build', 101);
    const r = await s.lock.acquire(labels('1'), ignore, stays());
    assert.equal(r.type, 'acquired', JSON.stringify(r));
    assert.equal((r as { resource: string }).resource, 'board-a');
    const holder = (await readResource(s.lockDir, 'board-a')).holder;
    assert.deepEqual(
      { runner: holder?.runner, runId: holder?.runId, attempt: holder?.attempt, repository: holder?.repository, job: holder?.job },
      { runner: 'runner-1', runId: '1', attempt: '1', repository: 'org/repo', job: 'build' },
    );
    assert.deepEqual(s.reporter.lines, ['board-a: acquired for runner-1 run 1 attempt 1 (org/repo, job build)']);
  });

  test('a job asks once: a second acquire, while it holds or while it waits, is refused and queues nothing', limit, async () => {
    const s = await setup();
    s.startJob('build', 101);
    assert.equal((await s.lock.acquire(labels('1'), ignore, stays())).type, 'acquired');
    assertRefused(await s.lock.acquire(labels('1'), ignore, stays()), /^this job holds board-a already: a job takes the board once/);
    assertRefused(await s.lock.acquire(labels('2'), ignore, stays()), /holds board-a already/);
    const state = await readResource(s.lockDir, 'board-a');
    assert.equal(state.holder?.runId, '1');
    assert.deepEqual(state.queue, [], 'another ticket was taken'); // the holder's own is not in the queue

    const w = await setup();
    await holdElsewhere(w.lockDir);
    w.startJob('build', 201);
    const first = w.lock.acquire(labels('5'), ignore, stays());
    await waitFor('run 5 queued', async () => (await readResource(w.lockDir, 'board-a')).queue.some((t) => t.runId === '5'));
    assertRefused(await w.lock.acquire(labels('5'), ignore, stays()), /^this job asked for board-a already/);
    assert.equal((await readResource(w.lockDir, 'board-a')).queue.filter((t) => t.runner === 'runner-1').length, 1, 'queued twice');
    w.lock.runnerEvent({ type: 'cancel-requested', line: 'x' });
    assert.equal((await first).type, 'error');
  });

  test('a job cancelled before its hook asks is refused', limit, async () => {
    const s = await setup();
    s.startJob('build', 101);
    s.lock.runnerEvent({ type: 'cancel-requested', line: 'Job cancellation request 1 received' });
    assertRefused(await s.lock.acquire(labels('1'), ignore, stays()), /^the job was cancelled before it got the lock; not waiting$/);
    await boardUntouched(s.lockDir);
  });
});

describe('job lock: how the board is let go', () => {
  test('the completed hook releases for the labels that took the board only; the job cannot take it again', limit, async () => {
    const s = await setup();
    s.startJob('build', 101);
    assert.equal((await s.lock.acquire(labels('1'), ignore, stays())).type, 'acquired');
    assert.deepEqual(await s.lock.release(labels('99')), {
      type: 'ignored',
      resource: 'board-a',
      reason: 'held by runner-1 run 1 attempt 1, not runner-1 run 99 attempt 1',
    });
    assert.equal((await readResource(s.lockDir, 'board-a')).holder?.runId, '1', 'other labels released the board');
    assert.deepEqual(await s.lock.release(labels('1')), { type: 'released', resource: 'board-a' });
    await boardUntouched(s.lockDir);
    assert.ok(s.reporter.lines.includes('board-a: released by runner-1 run 1 attempt 1'), s.reporter.lines.join('\n'));
    // Its worker still runs (a step after the hook): the job is over for the board all the same.
    assertRefused(await s.lock.acquire(labels('1'), ignore, stays()), /no job is running/);
    const again = await s.lock.release(labels('1'));
    assert.deepEqual(again, { type: 'ignored', resource: 'board-a', reason: 'not held by runner-1 run 1 attempt 1' });
  });

  test('the worker exiting releases the board without the completed hook, and locks.log says why', limit, async () => {
    const s = await setup();
    s.startJob('build', 101);
    assert.equal((await s.lock.acquire(labels('1'), ignore, stays())).type, 'acquired');
    s.processes.dead.add(101);
    await waitFor('the board free', async () => (await readResource(s.lockDir, 'board-a')).holder === undefined);
    const log = await waitFor('the release in locks.log', async () => {
      const text = await readFile(join(s.lockDir, 'locks.log'), 'utf8').catch(() => '');
      return /released-by-wrapper/.test(text) && text;
    });
    assert.match(log, /worker process 101 exited without the completed hook/);
    const released = 'board-a: released for runner-1 run 1 attempt 1: worker process 101 exited without the completed hook';
    assert.ok(s.reporter.lines.includes(released), s.reporter.lines.join('\n'));
  });

  test('the next "Running job:" line releases the last job\'s board; one while its worker lives is ignored', limit, async () => {
    const s = await setup({ pollMs: 60_000 }); // no worker check in between: the line alone acts
    s.startJob('build', 101);
    assert.equal((await s.lock.acquire(labels('1'), ignore, stays())).type, 'acquired');
    s.lock.runnerEvent({ type: 'job-started', job: 'forged' });
    assert.ok(s.reporter.lines.includes('board-a: ignored a "Running job" line while the Runner.Worker 101 of build still runs'));
    assert.equal((await readResource(s.lockDir, 'board-a')).holder?.runId, '1');

    s.processes.dead.add(101);
    s.startJob('test', 102);
    await waitFor('the board free', async () => (await readResource(s.lockDir, 'board-a')).holder === undefined);
    const released = 'board-a: released for runner-1 run 1 attempt 1: the runner started its next job';
    await waitFor('the release line', () => s.reporter.lines.includes(released));
    assert.equal((await s.lock.acquire(labels('2'), ignore, stays())).type, 'acquired', 'the next job cannot take the board');
    assert.equal((await readResource(s.lockDir, 'board-a')).holder?.job, 'test');
  });

  test('shutdown frees the board', limit, async () => {
    const s = await setup();
    s.startJob('build', 101);
    assert.equal((await s.lock.acquire(labels('1'), ignore, stays())).type, 'acquired');
    await s.lock.shutdown('runner exited');
    await boardUntouched(s.lockDir);
    assert.match(await readFile(join(s.lockDir, 'locks.log'), 'utf8'), /released-by-wrapper.*runner exited/);
  });
});

describe('job lock: waiting', () => {
  test("a waiting job is told its place and how long the board is held, never the holder's names", limit, async () => {
    const s = await setup();
    const holder = await holdElsewhere(s.lockDir);
    s.startJob('build', 101);
    const waiting: WaitingReply[] = [];
    const result = s.lock.acquire(labels('1'), (r) => waiting.push(r), stays());
    await waitFor('two waiting lines', () => waiting.length >= 2);
    for (const w of waiting) {
      assert.deepEqual(Object.keys(w).sort(), ['heldForMs', 'place', 'resource', 'type']);
      assert.equal(w.place, 1);
      assert.ok(typeof w.heldForMs === 'number' && w.heldForMs >= 0);
    }
    await holder.release();
    const r = await result;
    assert.equal(r.type, 'acquired');
    const seen = waiting.length;
    await new Promise((resolve) => setTimeout(resolve, 250)); // two progress periods
    assert.equal(waiting.length, seen, 'a waiting line after the lock was acquired');
  });

  test('a cancel, the worker exiting, the completed hook or the hook going away take a waiting job out of the queue', limit, async () => {
    const ends: Array<[string, (s: Awaited<ReturnType<typeof setup>>, gone: AbortController) => unknown, RegExp]> = [
      ['cancel', (s) => s.lock.runnerEvent({ type: 'cancel-requested', line: 'x' }), /the job was cancelled while waiting/],
      ['worker exit', (s) => s.processes.dead.add(101), /worker process 101 exited/],
      ['completed hook', (s) => s.lock.release(labels('1')), /job completed while waiting/],
      ['hook gone', (_s, gone) => gone.abort(), /the job-started hook went away/],
    ];
    for (const [what, end, pattern] of ends) {
      const s = await setup();
      await holdElsewhere(s.lockDir);
      s.startJob('build', 101);
      const gone = new AbortController();
      const result = s.lock.acquire(labels('1'), ignore, gone.signal);
      await waitFor(`run 1 queued (${what})`, async () => (await readResource(s.lockDir, 'board-a')).queue.some((t) => t.runId === '1'));
      await end(s, gone);
      const r = await result;
      assert.equal(r.type, 'error', what);
      assert.match((r as { message: string }).message, new RegExp(`^could not lock board-a: ${pattern.source}`), what);
      const ours = (await readResource(s.lockDir, 'board-a')).queue.filter((t) => t.runner === 'runner-1');
      assert.deepEqual(ours, [], `${what}: still queued`);
      const stopped = 'board-a: stopped waiting for runner-1 run 1 attempt 1 (org/repo, job build): ';
      assert.ok(
        s.reporter.lines.some((l) => l.startsWith(stopped)),
        what,
      );
    }
  });
});
