// What the wrapper's job lock writes to locks.log about each job's turn at the
// board (issue 22): the org is the wrapper's own setting, never the job's
// word, and `how` says how the turn ended, whichever way it ended. The
// runner's processes are a stand-in, the lock directory a real one (as in
// job-lock.test.ts).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { collecting } from '../../core/reporter.ts';
import { JobLock, type JobLockConfig, type ProcessView } from '../../wrapper/job-lock.ts';
import { loadWrapperConfig } from '../../wrapper/config.ts';
import { parseRequest } from '../../wrapper/protocol.ts';
import type { ProcessRef } from '../../wrapper/process-watch.ts';
import { tempDir } from '../support/lock-helpers.ts';
import { waitFor } from '../support/wait.ts';

const RUN_SH = 4242;
const limit = { timeout: 20_000 };
const opened: JobLock[] = [];
afterEach(async () => {
  for (const lock of opened.splice(0)) await lock.shutdown('test over');
});

async function setup(o: Partial<JobLockConfig> = {}) {
  const lockDir = await tempDir('joblockh-');
  const dead = new Set<number>();
  let worker: ProcessRef | undefined;
  const processes: ProcessView = { findWorker: (pid) => (pid === RUN_SH ? worker : undefined), isAlive: (ref) => !dead.has(ref.pid) };
  const cfg: JobLockConfig = {
    lockDir,
    resource: 'board-a',
    runnerName: 'acme-runner-a1',
    org: 'acme',
    staleMs: 2000,
    updateMs: 500,
    pollMs: 20,
    progressMs: 100,
    ...o,
  };
  const lock = new JobLock(cfg, collecting(), { processes, jobLineWaitMs: 300 });
  opened.push(lock);
  lock.watchRunner(RUN_SH);
  const startJob = (name: string, pid: number): void => {
    worker = { pid, startTime: '1' };
    lock.runnerEvent({ type: 'job-started', job: name });
  };
  const turns = async (): Promise<Array<Record<string, unknown>>> =>
    (await readFile(join(lockDir, 'locks.log'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => ['queued', 'acquired', 'released', 'left-queue'].includes(String(l.event)));
  const ended = (event: string) => waitFor(`a ${event} line`, async () => (await turns()).find((l) => l.event === event) ?? undefined, { timeoutMs: 10_000 });
  return { lock, lockDir, dead, startJob, turns, ended };
}

const labels = (runId: string) => ({ runId, attempt: '1', repository: 'acme/firmware' });
const stays = (): AbortSignal => new AbortController().signal;
const ignore = (): void => undefined;

describe('job lock: the turns in locks.log', () => {
  test("completed hook: queued, acquired, released (how completed), naming the wrapper's org, runner and the job the runner printed", limit, async () => {
    const s = await setup();
    s.startJob('flash (arm64)', 101);
    assert.equal((await s.lock.acquire(labels('77'), ignore, stays())).type, 'acquired');
    await s.lock.release(labels('77'));
    const lines = await s.turns();
    assert.deepEqual(
      lines.map((l) => l.event),
      ['queued', 'acquired', 'released'],
    );
    for (const l of lines) {
      assert.deepEqual(
        [l.org, l.runner, l.job, l.repository, l.runId, l.attempt, l.resource],
        ['acme', 'acme-runner-a1', 'flash (arm64)', 'acme/firmware', '77', '1', 'board-a'],
      );
    }
    assert.equal(lines[2]!.how, 'completed');
  });

  test("a job cannot name the org: the request has no such label, and the line carries the wrapper's", limit, () => {
    assert.deepEqual(parseRequest({ op: 'acquire', job: { runId: '1', attempt: '1', repository: 'acme/fw', org: 'globex' } }), {
      error: 'job has only runId, attempt and repository',
    });
    assert.equal(loadWrapperConfig({ RUNNER_FLEET_ORG: 'acme' }).org, 'acme');
    assert.equal(loadWrapperConfig({}).org, undefined);
    assert.throws(() => loadWrapperConfig({ RUNNER_FLEET_ORG: 'a b' }), /^ConfigError: RUNNER_FLEET_ORG=a b is invalid/);
    assert.throws(() => loadWrapperConfig({ RUNNER_LOCK_LOG_MAX_BYTES: '10M' }), /RUNNER_LOCK_LOG_MAX_BYTES=10M is invalid/);
  });

  test("a cancelled job's completed hook: how cancelled", limit, async () => {
    const s = await setup();
    s.startJob('build', 101);
    await s.lock.acquire(labels('1'), ignore, stays());
    s.lock.runnerEvent({ type: 'cancel-requested', line: 'Job was cancelled' });
    await s.lock.release(labels('1'));
    assert.equal((await s.ended('released')).how, 'cancelled');
  });

  test('the worker exiting without the hook: how worker-exit', limit, async () => {
    const s = await setup();
    s.startJob('build', 101);
    await s.lock.acquire(labels('1'), ignore, stays());
    s.dead.add(101);
    assert.equal((await s.ended('released')).how, 'worker-exit');
  });

  test("the runner's next job: how next-job; shutdown: how shutdown", limit, async () => {
    const s = await setup();
    s.startJob('one', 101);
    await s.lock.acquire(labels('1'), ignore, stays());
    s.dead.add(101);
    s.startJob('two', 102);
    s.dead.delete(101);
    const released = await waitFor('two releases', async () => {
      const r = (await s.turns()).filter((l) => l.event === 'released');
      return r.length >= 1 ? r : undefined;
    });
    assert.ok(['next-job', 'worker-exit'].includes(String(released[0]!.how)), String(released[0]!.how));
    await s.lock.acquire(labels('2'), ignore, stays());
    await s.lock.shutdown('the container is stopping');
    const last = (await s.turns()).filter((l) => l.event === 'released').at(-1);
    assert.equal(last?.runId, '2');
    assert.equal(last?.how, 'shutdown');
  });

  test('cancelled while waiting: left-queue, how cancelled, and no acquired line', limit, async () => {
    const s = await setup();
    const other = await setup({ lockDir: s.lockDir, runnerName: 'globex-runner-a2', org: 'globex' });
    other.startJob('holder', 201);
    await other.lock.acquire(labels('9'), ignore, stays());
    s.startJob('waiter', 101);
    const waiting = s.lock.acquire(labels('1'), ignore, stays());
    await waitFor('queued', async () => (await s.turns()).some((l) => l.event === 'queued' && l.runId === '1') || undefined);
    s.lock.runnerEvent({ type: 'cancel-requested', line: 'Job was cancelled' });
    assert.equal((await waiting).type, 'error');
    const mine = (await s.turns()).filter((l) => l.runId === '1');
    assert.deepEqual(
      mine.map((l) => l.event),
      ['queued', 'left-queue'],
    );
    assert.equal(mine[1]!.how, 'cancelled');
    assert.equal(mine[1]!.org, 'acme');
    const theirs = (await s.turns()).filter((l) => l.runId === '9');
    assert.equal(theirs[0]!.org, 'globex');
  });
});
