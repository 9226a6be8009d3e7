// The built wrapper (build/ layout, run through its sh entrypoint) around
// tests/wrapper/fake-runner.sh, which stands in for actions/runner.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterEach, before, describe, test } from 'node:test';
import { readResource } from '../../lock/inspect.ts';
import { killChildren, startContender, tempDir } from '../support/lock-helpers.ts';
import { waitFor } from '../support/wait.ts';
import { buildTestWrapper, events as eventsOf, jobLog, runSync, startWrapper as start, waitForEvent, type Wrapper } from './harness.ts';

let built = '';
/** Every test fails rather than waits forever; wrappers, fake runners and contenders die with it (killChildren). */
const limit = { timeout: 45_000 };

before(async () => {
  built = await buildTestWrapper();
});

const startWrapper = (lockDir: string, env: Record<string, string>, args: string[] = []): Promise<Wrapper> => start(built, lockDir, env, args);
const events = eventsOf;
const contender = startContender;

async function lockIsFree(dir: string): Promise<boolean> {
  const state = await readResource(dir, 'board-a');
  return state.holder === undefined && state.queue.length === 0;
}

describe('wrapper entrypoint', () => {
  afterEach(killChildren);

  test('with arguments it just runs them', limit, () => {
    const r = runSync(join(built, 'entrypoint'), ['sh', '-c', 'echo ran "$0"', 'x'], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.equal(r.stdout.trim(), 'ran x');
  });

  test('refuses to start the runner when the lock directory is unusable', limit, async () => {
    const base = await tempDir('lockw-bad-');
    const readOnly = join(base, 'root-only');
    await mkdir(readOnly, { mode: 0o755 }); // root's: not writable for 'nobody'
    const aFile = join(base, 'a-file');
    await writeFile(aFile, '');
    const link = join(base, 'link');
    await symlink(readOnly, link);
    const marker = join(base, 'runner-started');
    const runner = join(base, 'runner.sh');
    await writeFile(runner, `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    const cases: Array<[string, string, number | undefined]> = [
      ['missing', join(base, 'nope'), undefined],
      ['not a directory', aFile, undefined],
      ['a symbolic link', link, undefined],
      // as 'nobody' (only root can run the wrapper as another user)
      ...(process.getuid?.() === 0 ? [['not writable', readOnly, 65534] as [string, string, number]] : []),
    ];
    for (const [what, dir, uid] of cases) {
      const r = runSync(join(built, 'entrypoint'), [], {
        encoding: 'utf8',
        uid,
        gid: uid,
        env: { ...process.env, RUNNER_RESOURCE_ID: 'board-a', RUNNER_LOCK_DIR: dir, RUNNER_SCRIPT: runner, RUNNER_FLEET_SOCKET: join(base, `${what}.sock`) },
      });
      assert.equal(r.status, 2, `${what}: exit ${r.status} ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${what}: ${r.stderr}`);
      assert.match(lines[0]!, /RUNNER_LOCK_DIR=.*RUNNER_LOCK_HOST_PATH/, what);
      await assert.rejects(stat(marker), `${what}: the runner was started`);
    }
  });

  test(
    'as root, the wrapper makes a lock directory left world-writable root-owned 0755 before the runner starts',
    { ...limit, skip: process.getuid?.() !== 0 && 'needs root' },
    async () => {
      const lockDir = await tempDir('lockw-');
      await chmod(lockDir, 0o777);
      const w = await startWrapper(lockDir, { FAKE_JOBS: '', FAKE_STAY: '1' });
      await waitForEvent(w, 'listening');
      const info = await stat(lockDir);
      assert.equal(info.mode & 0o7777, 0o755);
      assert.equal(info.uid, 0);
      assert.match(w.stderr(), /made the lock directory RUNNER_LOCK_DIR=.* root-owned, mode 0755 \(was owner 0:0, mode 0777\): jobs can no longer write it/);
      w.child.kill('SIGTERM');
      await w.exited;
    },
  );

  test('waits in the queue, chains user hooks, and ignores a late completed hook of an old run', limit, async () => {
    const lockDir = await tempDir('lockw-');
    const holder = contender(lockDir, { name: 'other-runner', holdMs: -1 });
    await holder.waitFor('acquired');
    const hooks = await tempDir('lockw-hooks-');
    const probe = (tag: string): string =>
      `#!/bin/sh\nif [ -e "${lockDir}/board-a.holder.json" ]; then h=held; else h=free; fi\necho "${tag} run=$GITHUB_RUN_ID lock=$h $(date +%s%N)" >> "$FAKE_DIR/events"\n`;
    await writeFile(join(hooks, 'started.sh'), probe('user-started'), { mode: 0o755 });
    await writeFile(join(hooks, 'completed.sh'), probe('user-completed'), { mode: 0o755 });
    const w = await startWrapper(lockDir, {
      FAKE_JOBS: '100:2',
      FAKE_STAY: '1',
      ACTIONS_RUNNER_HOOK_JOB_STARTED: join(hooks, 'started.sh'),
      ACTIONS_RUNNER_HOOK_JOB_COMPLETED: join(hooks, 'completed.sh'),
    });
    // The job waits behind the other runner and says so in its log (not who the other is: it may be another org's).
    await waitFor(
      'a waiting line in the job log',
      async () => /waiting, held by another runner for \d+ s, you are 1st in the queue/.test(await jobLog(w, '100')) || undefined,
      { timeoutMs: 15_000 },
    );
    holder.kill('SIGUSR1');
    await waitForEvent(w, 'start 100');
    // A completed hook from an older run on this runner must not free run 100's lock.
    const late = runSync('bash', [join(built, 'hooks/job-completed.sh')], {
      encoding: 'utf8',
      env: { ...process.env, RUNNER_FLEET_SOCKET: join(w.fakeDir, 'wrapper.sock'), RUNNER_NAME: 'runner-1', GITHUB_RUN_ID: '99', GITHUB_RUN_ATTEMPT: '1' },
    });
    assert.match(late.stdout, /nothing released \(held by runner-1 run 100 attempt 1/);
    const state = await readResource(lockDir, 'board-a');
    assert.equal(state.holder?.runId, '100');
    assert.equal(state.holder?.repository, 'org/repo');
    await waitForEvent(w, 'completed 100');
    assert.ok(await lockIsFree(lockDir), 'run 100 left the lock held');
    const seen = (await events(w)).map((e) => e.replace(/ \d{15,}$/, '')); // drop the timestamps
    assert.deepEqual(
      seen.filter((e) => /^(user-|start|end|completed)/.test(e)),
      ['user-started run=100 lock=held', 'start 100', 'end 100', 'user-completed run=100 lock=held', 'completed 100'],
    );
    assert.match(await jobLog(w, '100'), /lock acquired after .* s/);
    w.child.kill('SIGTERM');
    assert.equal(await w.exited, 7);
  });

  test('a job cancelled while its started hook waits leaves the queue at once and never gets the lock', limit, async () => {
    const lockDir = await tempDir('lockw-');
    const holder = contender(lockDir, { name: 'other-runner', holdMs: -1 });
    await holder.waitFor('acquired');
    const w = await startWrapper(lockDir, { FAKE_JOBS: '1:5 2:1', FAKE_STAY: '1' });
    await waitFor(
      'run 1 queued behind the holder',
      async () => ((await readResource(lockDir, 'board-a')).queue.some((t) => t.runId === '1') ? true : undefined),
      { timeoutMs: 15_000 },
    );
    const runner = Number(await readFile(join(w.fakeDir, 'runner.pid'), 'utf8'));
    process.kill(runner, 'SIGUSR1'); // the Listener prints the cancel request; the hook is not interrupted
    await waitForEvent(w, 'started-hook-failed 1');
    assert.deepEqual(
      (await readResource(lockDir, 'board-a')).queue.filter((t) => t.runId === '1'),
      [],
      'run 1 still queued',
    );
    assert.match(await readFile(join(w.fakeDir, 'job-1.log'), 'utf8'), /cancelled before it got the lock|cancelled while waiting/);
    // The next job on this runner queues as usual and gets the lock once the holder lets go.
    await waitFor('run 2 queued', async () => ((await readResource(lockDir, 'board-a')).queue.some((t) => t.runId === '2') ? true : undefined), {
      timeoutMs: 15_000,
    });
    holder.kill('SIGUSR1');
    await waitForEvent(w, 'start 2');
    assert.ok(!(await events(w)).some((e) => e.startsWith('start 1')), 'the cancelled run 1 got the lock');
    w.child.kill('SIGTERM');
    await w.exited;
  });

  test('SIGTERM is forwarded to the runner and the lock is released at once', limit, async () => {
    const lockDir = await tempDir('lockw-');
    const w = await startWrapper(lockDir, { FAKE_JOBS: '1:60', RUNNER_STOP_GRACE_MS: '8000' });
    await waitForEvent(w, 'start 1');
    assert.equal((await readResource(lockDir, 'board-a')).holder?.runId, '1');
    const sentAt = Date.now();
    w.child.kill('SIGTERM');
    assert.equal(await w.exited, 7, w.stderr()); // the runner's own exit code
    assert.ok(Date.now() - sentAt < 5000, 'waited for the whole grace period');
    await waitForEvent(w, 'term');
    assert.ok(await lockIsFree(lockDir), 'lock still held after the wrapper stopped');
    assert.ok(!(await events(w)).some((e) => e.startsWith('completed')), 'the fake runner ran the completed hook');
  });

  test('a runner that ignores the stop signal is killed with its whole tree when RUNNER_STOP_GRACE_MS runs out, and the lock is freed', limit, async () => {
    const lockDir = await tempDir('lockw-');
    const w = await startWrapper(lockDir, { FAKE_JOBS: '1:60', FAKE_IGNORE_TERM: '1', RUNNER_STOP_GRACE_MS: '1000' });
    await waitForEvent(w, 'start 1');
    const worker = Number(await readFile(join(w.fakeDir, 'worker-1.pid'), 'utf8'));
    w.child.kill('SIGTERM');
    assert.equal(await w.exited, 137, w.stderr()); // 128 + SIGKILL: the runner was killed
    assert.match(w.stderr(), /did not stop within RUNNER_STOP_GRACE_MS \(1000 ms\)/);
    assert.ok(await lockIsFree(lockDir), 'the lock is still held');
    await waitFor(
      'the worker gone too',
      () => {
        try {
          process.kill(worker, 0);
          return undefined;
        } catch {
          return true;
        }
      },
      { timeoutMs: 15_000 },
    );
  });

  test('a worker that dies without the completed hook releases the lock', limit, async () => {
    const lockDir = await tempDir('lockw-');
    const w = await startWrapper(lockDir, { FAKE_JOBS: '1:60', FAKE_STAY: '1' });
    await waitForEvent(w, 'start 1');
    const next = contender(lockDir, { name: 'next' });
    await next.waitFor('queued');
    const workerPid = Number(await readFile(join(w.fakeDir, 'worker-1.pid'), 'utf8'));
    const killedAt = performance.timeOrigin + performance.now();
    process.kill(workerPid, 'SIGKILL');
    const got = await next.waitFor('acquired');
    // poll is 100 ms: well below the stale window a crash of the whole container would need
    // (the bound leaves room for a loaded machine; latency figures are make bench's)
    assert.ok(got.t - killedAt < 4000, `next waited ${(got.t - killedAt).toFixed(0)} ms`);
    // the wrapper logs the release right after handing over: wait for the line, not a fixed time
    await waitFor(
      'the release in locks.log',
      async () => /released-by-wrapper.*worker process \d+ exited/.test(await readFile(join(lockDir, 'locks.log'), 'utf8').catch(() => '')) || undefined,
      { timeoutMs: 15_000 },
    );
    assert.doesNotMatch(
      await readFile(join(lockDir, 'locks.log'), 'utf8'),
      /lock-lost|dead-ticket-removed/,
      'handed over by the wrapper, not by the stale window',
    );
    w.child.kill('SIGTERM');
    await w.exited;
  });
  test('a hook socket deleted or replaced by a job is re-created: the next job still gets the lock', limit, async () => {
    const lockDir = await tempDir('lockw-');
    const socketDir = join(await tempDir('lockw-sock-'), 'runner-fleet');
    const socket = join(socketDir, 'wrapper.sock');
    // Each job starts when the test says so (FAKE_GATE), right after the socket went.
    const w = await startWrapper(lockDir, { FAKE_JOBS: '200:1 201:1', FAKE_GATE: '1', FAKE_STAY: '1', RUNNER_FLEET_SOCKET: socket });
    await waitForEvent(w, 'listening');
    await waitFor('the hook socket', async () => ((await stat(socket).catch(() => undefined))?.isSocket() ? true : undefined), { timeoutMs: 15_000 });
    const runJob = async (run: string): Promise<void> => {
      await writeFile(join(w.fakeDir, `go-${run}`), '');
      await waitForEvent(w, `start ${run}`);
      assert.equal((await readResource(lockDir, 'board-a')).holder?.runId, run);
      await waitForEvent(w, `completed ${run}`);
      const log = await jobLog(w, run);
      assert.match(log, /lock acquired/);
      assert.match(log, /lock released/);
      assert.ok(await lockIsFree(lockDir));
    };

    // A job cleans /tmp: the socket's directory goes. The next job's hook runs at once.
    await rm(socketDir, { recursive: true, force: true });
    await runJob('200');
    // Something else put in its place.
    await rm(socket, { force: true });
    await writeFile(socket, 'not a socket');
    await runJob('201');

    const logged = w
      .stderr()
      .split('\n')
      .filter((l) => l.includes(`hook socket ${socket}`));
    assert.equal(logged.length, 2, w.stderr());
    assert.match(logged[0]!, /was deleted .*listening on it again/);
    assert.match(logged[1]!, /was replaced .*listening on it again/);
    w.child.kill('SIGTERM');
    await w.exited;
  });

  // Issue 11: jobs can write the lock directory; nothing they leave there may drop the running job or crash the wrapper.
  test('a ticket replaced by a directory: the worker exiting releases the lock, the wrapper survives and serves the next job', limit, async () => {
    const lockDir = await tempDir('lockw-');
    const w = await startWrapper(lockDir, { FAKE_JOBS: '1:60 2:1', FAKE_STAY: '1' });
    await waitForEvent(w, 'start 1');
    const ticket = join(lockDir, 'board-a.queue', (await readResource(lockDir, 'board-a')).holder!.ticket);
    await rm(ticket);
    await mkdir(ticket);
    await writeFile(join(ticket, 'junk'), ''); // not even removable with rmdir
    const next = contender(lockDir, { name: 'next', holdMs: 50 });
    // No live ticket ahead of it now: it waits on the main lock itself, not in the queue.
    await waitFor(
      'the next ticket',
      async () => ((await readdir(join(lockDir, 'board-a.queue'))).some((n) => /^\d{12}$/.test(n) && n !== basename(ticket)) ? true : undefined),
      { timeoutMs: 15_000 },
    );
    process.kill(Number(await readFile(join(w.fakeDir, 'worker-1.pid'), 'utf8')), 'SIGKILL');
    await waitFor('the release, or the wrapper gone', () => (/released for runner-1 run 1/.test(w.stderr()) || w.child.exitCode !== null ? true : undefined), {
      timeoutMs: 15_000,
    });
    assert.equal(w.child.exitCode, null, `the wrapper died releasing the lock: ${w.stderr()}`);
    await next.waitFor('acquired');
    await waitForEvent(w, 'start 2'); // the same wrapper hands the board to its runner's next job
    assert.equal(w.child.exitCode, null, `the wrapper exited: ${w.stderr()}`);
    assert.doesNotMatch(w.stderr(), /unhandled|TypeError|EISDIR/i);
    w.child.kill('SIGTERM');
    await w.exited;
  });

  test(
    'a job touching board.lock into 2000 and planting junk while it holds the board keeps the board: no waiter takes it, the wrapper survives',
    limit,
    async () => {
      const lockDir = await tempDir('lockw-');
      const w = await startWrapper(lockDir, { FAKE_JOBS: '1:60', FAKE_STAY: '1' });
      await waitForEvent(w, 'start 1');
      const next = contender(lockDir, { name: 'next', holdMs: 20 });
      await next.waitFor('queued');
      const queue = join(lockDir, 'board-a.queue');
      spawnSync('mkfifo', [join(queue, '000000000000'), join(lockDir, 'board-a.seq')]);
      await mkdir(join(queue, '000000000001'), { recursive: true }).catch(() => undefined);
      const victim = join(await tempDir('lockw-victim-'), 'victim');
      await writeFile(victim, 'untouched\n');
      await rm(join(lockDir, 'locks.log'), { force: true }); // the job's turn is recorded there already
      await symlink(victim, join(lockDir, 'locks.log'));
      const past = new Date('2000-01-01T00:00:00Z');
      for (const until = Date.now() + 5000; Date.now() < until; await new Promise((r) => setTimeout(r, 150))) {
        await utimes(join(lockDir, 'board-a.lock'), past, past).catch(() => undefined);
      }
      assert.equal(
        next.events.find((e) => e.event === 'acquired'),
        undefined,
        'a waiter took the board from the running job',
      );
      assert.doesNotMatch(w.stderr(), /LOST/, 'the wrapper gave the lock up');
      assert.equal((await readResource(lockDir, 'board-a')).holder?.runId, '1');
      process.kill(Number(await readFile(join(w.fakeDir, 'worker-1.pid'), 'utf8')), 'SIGKILL');
      await next.waitFor('acquired');
      assert.equal(await next.exited, 0);
      assert.equal(w.child.exitCode, null, `the wrapper exited: ${w.stderr()}`);
      assert.equal(await readFile(victim, 'utf8'), 'untouched\n', 'locks.log was appended through a symlink');
      w.child.kill('SIGTERM');
      await w.exited;
    },
  );
});
