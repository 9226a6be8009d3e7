// The built wrapper (build/ layout, run through its sh entrypoint) around
// tests/lock-fake-runner.sh, which stands in for actions/runner.
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess, type SpawnSyncOptions } from 'node:child_process';
import { chmod, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stop as stopEsbuild } from 'esbuild';
import { afterEach, before, describe, test } from 'node:test';
import { readResource } from '../lib/locks.ts';
import { buildWrapper } from '../wrapper/build.ts';
import { eventually, killChildren, repoRoot, spawnGroup, startContender, tempDir } from './lock-helpers.ts';

const fakeRunner = join(repoRoot, 'tests/lock-fake-runner.sh');
let built = '';
/** Every test fails rather than waits forever; wrappers, fake runners and contenders die with it (killChildren). */
const limit = { timeout: 45_000 };

/** spawnSync that cannot hang the file: killed after 20 s. */
function runSync(command: string, args: string[], options: SpawnSyncOptions & { encoding: 'utf8' }) {
  return spawnSync(command, args, { timeout: 20_000, killSignal: 'SIGKILL', ...options });
}

before(async () => {
  const root = await tempDir('lockw-build-');
  await chmod(root, 0o755); // readable by 'nobody' in the permission test
  built = join(root, 'runner-fleet');
  try {
    await buildWrapper(built);
  } finally {
    await stopEsbuild(); // its service process must not outlive the build
  }
});

interface Wrapper {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
  fakeDir: string;
  lockDir: string;
}

async function startWrapper(lockDir: string, env: Record<string, string>, args: string[] = []): Promise<Wrapper> {
  const fakeDir = await tempDir('lockw-fake-');
  let err = '';
  const child = spawnGroup(join(built, 'entrypoint'), args, {
    env: {
      ...process.env,
      RUNNER_RESOURCE_ID: 'board-a',
      RUNNER_LOCK_DIR: lockDir,
      RUNNER_SCRIPT: fakeRunner,
      RUNNER_NAME: 'runner-1',
      RUNNER_FLEET_SOCKET: join(fakeDir, 'wrapper.sock'),
      RUNNER_LOCK_STALE_MS: '2000',
      RUNNER_LOCK_POLL_MS: '100',
      RUNNER_LOCK_PROGRESS_MS: '300',
      FAKE_DIR: fakeDir,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout?.on('data', () => undefined);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => err, exited, fakeDir, lockDir };
}

async function events(w: Wrapper): Promise<string[]> {
  return (await readFile(join(w.fakeDir, 'events'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
}

function waitForEvent(w: Wrapper, prefix: string, timeoutMs = 15_000): Promise<string> {
  return eventually(`fake runner event '${prefix}'`, async () => (await events(w)).find((e) => e.startsWith(prefix)), timeoutMs);
}

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

  test('without node on PATH it uses the newest externals node', limit, async () => {
    const home = await tempDir('lockw-home-');
    const bin = join(home, 'bin');
    await mkdir(bin);
    await symlink(spawnSync('sh', ['-c', 'command -v dirname'], { encoding: 'utf8' }).stdout.trim(), join(bin, 'dirname'));
    for (const version of ['node16', 'node20', 'node9']) {
      const dir = join(home, 'externals', version, 'bin');
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'node'), `#!/bin/sh\necho ${version} > "${home}/picked"\nexec "${process.execPath}" "$@"\n`, { mode: 0o755 });
    }
    const r = runSync(join(built, 'entrypoint'), [], {
      encoding: 'utf8',
      env: { PATH: bin, RUNNER_HOME: home, RUNNER_SCRIPT: '/bin/true' },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await readFile(join(home, 'picked'), 'utf8')).trim(), 'node20');
  });

  test('refuses to start the runner when the lock directory is unusable', limit, async () => {
    const base = await tempDir('lockw-bad-');
    const readOnly = join(base, 'root-only');
    await mkdir(readOnly, { mode: 0o755 }); // root's: not writable for 'nobody'
    const aFile = join(base, 'a-file');
    await writeFile(aFile, '');
    const sticky = join(base, 'sticky');
    await mkdir(sticky);
    await chmod(sticky, 0o1777);
    const marker = join(base, 'runner-started');
    const runner = join(base, 'runner.sh');
    await writeFile(runner, `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    const cases: Array<[string, string, number | undefined]> = [
      ['missing', join(base, 'nope'), undefined],
      ['not a directory', aFile, undefined],
      ['sticky', sticky, undefined],
      ['not writable', readOnly, 65534],
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
    // The job waits behind the other runner and says so in its log.
    const jobLog = join(w.fakeDir, 'job-100.log');
    await eventually('a waiting line in the job log', async () =>
      /waiting, place 1 in queue; held by other-runner \(org\/repo, run 0/.test(await readFile(jobLog, 'utf8').catch(() => '')) || undefined,
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
    assert.match(await readFile(jobLog, 'utf8'), /lock acquired after .* s/);
    w.child.kill('SIGTERM');
    assert.equal(await w.exited, 7);
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
    // poll is 100 ms; far below the 2 s stale window that a crash of the whole container would need
    assert.ok(got.t - killedAt < 1500, `next waited ${(got.t - killedAt).toFixed(0)} ms`);
    assert.match(await readFile(join(lockDir, 'locks.log'), 'utf8'), /released-by-wrapper.*worker process \d+ exited/);
    w.child.kill('SIGTERM');
    await w.exited;
  });
});
