// Issue 19: jobs run pull-request code as the runner's user and can reach the
// hook socket. Whatever they send, the board is held only while a job the
// wrapper saw start (the Listener's "Running job:" line) still has its
// Runner.Worker, nothing they send is written unbounded, and no job sees
// another runner's names. The wrapper is the built one, around
// tests/wrapper/fake-runner.sh (a stand-in for actions/runner).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { constants } from 'node:fs';
import { open, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, before, describe, test } from 'node:test';
import { readResource } from '../../lock/inspect.ts';
import { killChildren, spawnGroup, startContender, tempDir } from '../support/lock-helpers.ts';
import { waitFor } from '../support/wait.ts';
import { buildTestWrapper, events, jobLog, rawRequest, startWrapper, waitForEvent, type Wrapper } from './harness.ts';
import { dirBytes } from '../support/lock-helpers.ts';

let built = '';
const limit = { timeout: 60_000 };

before(async () => {
  built = await buildTestWrapper();
});

async function listening(w: Wrapper): Promise<void> {
  await waitForEvent(w, 'listening');
  await waitFor('the hook socket', async () => ((await stat(w.socket).catch(() => undefined))?.isSocket() ? true : undefined), { timeoutMs: 15_000 });
}

async function boardUntouched(lockDir: string): Promise<void> {
  const state = await readResource(lockDir, 'board-a');
  assert.equal(state.holder, undefined, 'a forged request holds the board');
  assert.deepEqual(state.queue, [], 'a forged request took a ticket');
}

const acquire = (job: Record<string, unknown>, extra: Record<string, unknown> = {}): string => `${JSON.stringify({ op: 'acquire', job, ...extra })}\n`;
const labels = { runId: '999', attempt: '1', repository: 'org/repo' };

/** One refusal: a single error line, and the wrapper closed the connection. */
function assertRefused(r: { lines: string[]; closed: boolean }, pattern: RegExp): void {
  assert.equal(r.lines.length, 1, `not one reply line: ${JSON.stringify(r.lines)}`);
  const reply = JSON.parse(r.lines[0]!) as { type: string; message?: string };
  assert.equal(reply.type, 'error', r.lines[0]);
  assert.match(reply.message ?? '', pattern);
  assert.ok(r.closed, 'the wrapper kept the connection open');
}

describe('forged hook requests (issue 19)', () => {
  afterEach(killChildren);

  test('an acquire while no job runs is refused with one line and takes no ticket, with or without a live pid', limit, async () => {
    const lockDir = await tempDir('lockf-');
    const w = await startWrapper(built, lockDir, { FAKE_STAY: '1' });
    await listening(w);
    assertRefused(await rawRequest(w.socket, acquire(labels)), /no job is running on runner-1/);
    // A pid of the test's own (alive): the wrapper takes no pid from a request.
    assertRefused(await rawRequest(w.socket, acquire(labels, { workerPid: process.pid })), /workerPid/);
    await new Promise((r) => setTimeout(r, 500)); // a queued request would have taken its ticket by now
    await boardUntouched(lockDir);
    w.child.kill('SIGTERM');
    await w.exited;
  });

  test('a process left behind by a job cannot keep the board: held only while the job runs, the real completed hook releases it', limit, async () => {
    const lockDir = await tempDir('lockf-');
    const w = await startWrapper(built, lockDir, { FAKE_JOBS: '1:2', FAKE_GATE: '1', FAKE_STAY: '1' });
    await listening(w);
    const lingering = spawnGroup('sleep', ['600'], { stdio: 'ignore' }); // outlives the job, as a job's `setsid sleep` would
    await writeFile(join(w.fakeDir, 'go-1'), '');
    await waitForEvent(w, 'start 1');
    // While the job holds the board: another acquire, with the lingering pid, or without one.
    assertRefused(await rawRequest(w.socket, acquire(labels, { workerPid: lingering.pid })), /workerPid/);
    assertRefused(await rawRequest(w.socket, acquire({ ...labels, runId: '1' })), /holds board-a already/);
    assert.equal((await readResource(lockDir, 'board-a')).holder?.runId, '1', 'the running job lost the board to a forged acquire');
    await waitForEvent(w, 'completed 1');
    assert.match(await jobLog(w, '1'), /board-a: lock released/);
    // The job is over; its leftover asks again.
    assertRefused(await rawRequest(w.socket, acquire(labels)), /no job is running on runner-1/);
    await boardUntouched(lockDir);
    assert.equal(lingering.exitCode, null, 'the lingering process is gone: the test proves nothing');
    w.child.kill('SIGTERM');
    await w.exited;
  });

  test('a path given as a pid is never opened: the wrapper answers at once', limit, async () => {
    const lockDir = await tempDir('lockf-');
    const trap = await tempDir('lockf-trap-');
    const fifo = join(trap, 'stat');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const w = await startWrapper(built, lockDir, { FAKE_STAY: '1' });
    await listening(w);
    // /proc/<pid>/stat with this "pid" is the FIFO: opening it would block root's event loop.
    const r = await rawRequest(w.socket, acquire(labels, { workerPid: `../..${trap}` }));
    assertRefused(r, /workerPid/);
    // Nobody has the FIFO open for reading: a non-blocking writer is refused.
    await assert.rejects(open(fifo, constants.O_WRONLY | constants.O_NONBLOCK), { code: 'ENXIO' }, 'the wrapper opened the FIFO');
    assertRefused(await rawRequest(w.socket, acquire(labels)), /no job is running/);
    await boardUntouched(lockDir);
    w.child.kill('SIGTERM');
    await w.exited;
  });

  test('a 20 MB request line is cut off after a few KiB: one line back, the lock directory and the log stay small', limit, async () => {
    const lockDir = await tempDir('lockf-');
    const w = await startWrapper(built, lockDir, { FAKE_STAY: '1' });
    await listening(w);
    const logBefore = w.stderr().length;
    const huge = acquire({ ...labels, repository: `org/${'a'.repeat(20 * 1024 * 1024)}` }, { workerPid: process.pid });
    const r = await rawRequest(w.socket, huge, 10_000);
    assertRefused(r, /longer than 4096 bytes/);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await boardUntouched(lockDir);
    assert.ok((await dirBytes(lockDir)) < 4096, `the lock directory holds ${await dirBytes(lockDir)} bytes`);
    assert.ok(w.stderr().length - logBefore < 1024, `the wrapper logged ${w.stderr().length - logBefore} bytes`);
    w.child.kill('SIGTERM');
    await w.exited;
  });

  test('workflow commands and escape sequences in names are refused, named, and never logged', limit, async () => {
    const lockDir = await tempDir('lockf-');
    const w = await startWrapper(built, lockDir, { FAKE_JOBS: '1:1', FAKE_STAY: '1', FAKE_REPOSITORY: '::warning::owned/x' });
    // The job's own hook, with a repository no GitHub repository can have: its started hook fails, no ticket.
    await waitForEvent(w, 'completed 1');
    assert.ok(
      (await events(w)).some((e) => e.startsWith('started-hook-failed 1')),
      'the job ran its step',
    );
    const log = await jobLog(w, '1');
    assert.match(log, /^\[runner-fleet\] error: board-a: repository is invalid: .*owner\/name/m);
    assert.doesNotMatch(log, /::warning/, 'the job log carries a workflow command');
    for (const job of [
      { ...labels, runId: '1\u001b[2J' },
      { ...labels, repository: 'org/\u009b31mred' },
      { ...labels, attempt: '::error::x' },
    ]) {
      const r = await rawRequest(w.socket, acquire(job));
      assertRefused(r, /is invalid/);
      assert.doesNotMatch(r.lines[0]!, /::|\\u001b|\\u009b/, 'the reply echoes what was sent');
    }
    await boardUntouched(lockDir);
    assert.doesNotMatch(w.stderr(), /::warning|::error|\u001b|\u009b/, 'the wrapper log carries what a job sent');
    w.child.kill('SIGTERM');
    await w.exited;
  });

  test("a waiting job is told how long the board is held and its place, never the holder's names", limit, async () => {
    const lockDir = await tempDir('lockf-');
    const holder = startContender(lockDir, { name: 'other-runner', holdMs: -1 });
    await holder.waitFor('acquired');
    const w = await startWrapper(built, lockDir, { FAKE_JOBS: '1:0', FAKE_STAY: '1', FAKE_REPOSITORY: 'mine/fw' });
    await waitFor('a waiting line in the job log', async () => /waiting/.test(await jobLog(w, '1')) || undefined, { timeoutMs: 15_000 });
    holder.kill('SIGUSR1');
    await waitForEvent(w, 'completed 1');
    const log = await jobLog(w, '1');
    assert.match(log, /^\[runner-fleet\] board-a: waiting, held by another runner for \d+ s, you are 1st in the queue$/m);
    assert.doesNotMatch(log, /other-runner|org\/repo|run 0/, 'the job log names the other holder');
    w.child.kill('SIGTERM');
    await w.exited;
  });
});
