// The built wrapper (through its entrypoint) around tests/wrapper/fake-runner.sh,
// which stands in for actions/runner and applies $RUNNER_HOME/.env at start as
// the Listener does: what a job wrote into the runner's .env does not outlive
// the next start, and the image's own .env hooks are chained by the lock hooks.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, lstat, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, before, describe, test } from 'node:test';
import { killChildren, spawnGroup, tempDir } from '../support/lock-helpers.ts';
import { waitFor } from '../support/wait.ts';
import { buildTestWrapper, fakeRunner } from './harness.ts';

const limit = { timeout: 45_000 };
let built = '';

before(async () => {
  built = await buildTestWrapper();
});

afterEach(killChildren);

/** A copy of the built wrapper whose image .env (root's copy, runner.env) is `imageEnv`. */
async function imageWith(imageEnv: string): Promise<string> {
  const dir = join(await tempDir('envstart-image-'), 'runner-fleet');
  await cp(built, dir, { recursive: true });
  await writeFile(join(dir, 'runner.env'), imageEnv, { mode: 0o644 });
  return dir;
}

interface Run {
  stderr: () => string;
  exited: Promise<number | null>;
  stop: () => Promise<void>;
  events: () => Promise<string[]>;
  jobLog: (run: string) => Promise<string>;
}

async function startWrapper(image: string, home: string, jobs: string, extra: Record<string, string> = {}): Promise<Run> {
  const fakeDir = await tempDir('envstart-fake-');
  let err = '';
  const child = spawnGroup(join(image, 'entrypoint'), [], {
    env: {
      ...process.env,
      RUNNER_RESOURCE_ID: 'board-a',
      RUNNER_LOCK_DIR: await tempDir('envstart-lock-'),
      RUNNER_SCRIPT: fakeRunner,
      RUNNER_NAME: 'runner-1',
      RUNNER_FLEET_SOCKET: join(fakeDir, 'wrapper.sock'),
      RUNNER_LOCK_STALE_MS: '2000',
      RUNNER_LOCK_POLL_MS: '100',
      RUNNER_HOME: home,
      FAKE_DIR: fakeDir,
      FAKE_JOBS: jobs,
      FAKE_STAY: '1',
      ...extra,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout?.on('data', () => undefined);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const events = async () =>
    (await readFile(join(fakeDir, 'events'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((e) => e.replace(/ \d{15,}$/, ''));
  return {
    stderr: () => err,
    exited,
    events,
    jobLog: (run) => readFile(join(fakeDir, `job-${run}.log`), 'utf8').catch(() => ''),
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const completed = (w: Run, run: string) =>
  waitFor(`job ${run} completed`, async () => ((await w.events()).includes(`completed ${run}`) ? true : undefined), { timeoutMs: 20_000 });

describe("the runner's .env at the wrapper's start", { skip: process.getuid?.() !== 0 && 'needs root, as the wrapper runs in the image' }, () => {
  test(
    'what a job wrote there (RUNNER_FLEET_NODE=/bin/true, BASH_ENV, a hook behind a byte order mark) is gone at the next start: the next job takes the lock and no payload runs',
    limit,
    async () => {
      const home = await tempDir('envstart-home-');
      const marker = join(home, 'payload-ran');
      const payload = join(home, 'evil.sh');
      await writeFile(payload, `echo "$(id -u)" >> ${marker}\nexit 0\n`, { mode: 0o755 });
      // The job's writes: the fake runner applies the lines whose key is a shell name, the real one all of them.
      await writeFile(join(home, '.env'), `\uFEFFACTIONS_RUNNER_HOOK_JOB_STARTED=${payload}\nRUNNER_FLEET_NODE=/bin/true\nBASH_ENV=${payload}\n`);
      const w = await startWrapper(built, home, '100:0');
      await completed(w, '100');
      assert.match(await w.jobLog('100'), /board-a: lock acquired after/);
      assert.deepEqual(
        (await w.events()).filter((e) => /^(start|end|started-hook-failed)/.test(e)),
        ['start 100', 'end 100'],
      );
      await assert.rejects(stat(marker), 'a payload of the job ran');
      await assert.rejects(lstat(join(home, '.env')), 'the image has no .env: the runner has none');
      assert.match(w.stderr(), /removed .*\.env: the image has no \.env/);
      await w.stop();
    },
  );

  test("the image's own job hooks are left out of the runner's .env and chained by the lock hooks, at every start", limit, async () => {
    const home = await tempDir('envstart-home-');
    const probe = (tag: string) => join(home, `${tag}.sh`);
    for (const tag of ['image-started', 'image-completed', 'env-started']) {
      await writeFile(probe(tag), `#!/bin/sh\necho "${tag} run=$GITHUB_RUN_ID" >> "$FAKE_DIR/events"\n`, { mode: 0o755 });
    }
    const image = await imageWith(
      `# my runner\nLANG=C.UTF-8\nACTIONS_RUNNER_HOOK_JOB_STARTED=${probe('image-started')}\nACTIONS_RUNNER_HOOK_JOB_COMPLETED=${probe('image-completed')}\n`,
    );
    await cp(join(image, 'runner.env'), join(home, '.env')); // the image's home has it too
    for (const run of ['100', '101']) {
      // The container environment's hook loses to the image's .env, as it would in the runner.
      const w = await startWrapper(image, home, `${run}:0`, { ACTIONS_RUNNER_HOOK_JOB_STARTED: probe('env-started') });
      await completed(w, run);
      assert.deepEqual(
        (await w.events()).filter((e) => !e.startsWith('listening')),
        [`image-started run=${run}`, `start ${run}`, `end ${run}`, `image-completed run=${run}`, `completed ${run}`],
      );
      assert.match(await w.jobLog(run), /lock acquired/);
      const text = await readFile(join(home, '.env'), 'utf8');
      assert.match(text, /^# my runner\nLANG=C\.UTF-8\n# runner-fleet: [^=]*\n# runner-fleet: [^=]*\n$/);
      assert.doesNotMatch(w.stderr(), /rewrote/);
      await w.stop();
    }
  });

  test("refuses to start, in one line, when a .env it cannot replace is in the runner's home", limit, async () => {
    const base = await tempDir('envstart-ro-');
    const home = join(base, 'home');
    await mkdir(home, { mode: 0o755 }); // root's: 'nobody' cannot replace files in it
    await writeFile(join(home, '.env'), 'RUNNER_FLEET_NODE=/bin/true\n', { mode: 0o644 });
    const marker = join(base, 'runner-started');
    const runner = join(base, 'runner.sh');
    await writeFile(runner, `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    const r = spawnSync(join(built, 'entrypoint'), [], {
      encoding: 'utf8',
      uid: 65534,
      gid: 65534,
      timeout: 20_000,
      env: {
        ...process.env,
        RUNNER_RESOURCE_ID: 'board-a',
        RUNNER_LOCK_DIR: await tempDir('envstart-lock-'),
        RUNNER_HOME: home,
        RUNNER_SCRIPT: runner,
        RUNNER_FLEET_SOCKET: join(base, 'wrapper.sock'),
      },
    });
    assert.equal(r.status, 2, `exit ${r.status} ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /the runner's .*\/home\/\.env cannot be replaced by uid 65534 \(EACCES\), .*: make .*\/home writable for uid 65534/);
    await assert.rejects(stat(marker), 'the runner was started');
    await rm(base, { recursive: true, force: true });
  });
});
