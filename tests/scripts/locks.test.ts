// `make locks` as an operator uses it: holder and queue in order, JSON, a
// forced release that is logged and lets the next waiter in.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstat, mkdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startContender, tempDir, type Contender } from '../support/lock-helpers.ts';
import { waitFor } from '../support/wait.ts';
import { REPO_ROOT, runScript } from '../support/cli.ts';

const contenders: Contender[] = [];
after(() => {
  for (const contender of contenders) contender.kill();
});

const asRoot = { skip: process.getuid?.() !== 0 && "needs root: the lock records are root's, and only root releases a lock" };

function contender(dir: string, name: string): Contender {
  const started = startContender(dir, { name, holdMs: -1, staleMs: 4000, pollMs: 100 });
  contenders.push(started);
  return started;
}

test('locks shows the holder and the queue in order; release needs --force and is logged', async (t) => {
  const dir = await tempDir('fleet-locks-');
  const cwd = await tempDir('fleet-locks-cwd-');
  // The lock directory comes from the env file, like every other setting.
  await writeFile(join(cwd, '.env'), `RUNNER_LOCK_HOST_PATH=${dir}\n`);
  const holder = contender(dir, 'board-runner-a');
  await holder.waitFor('acquired');
  const second = contender(dir, 'board-runner-b');
  await second.waitFor('queued');
  const third = contender(dir, 'board-runner-c');
  await third.waitFor('queued');

  const json = await runScript('locks.ts', ['--json'], { cwd });
  assert.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout) as {
    lockDir: string;
    resources: Array<{ resource: string; holder: { runner: string } | null; queue: Array<{ runner: string }> }>;
  };
  assert.equal(report.lockDir, dir);
  assert.equal(report.resources.length, 1);
  assert.equal(report.resources[0]?.holder?.runner, 'board-runner-a');
  assert.deepEqual(
    report.resources[0]?.queue.map((t) => t.runner),
    ['board-runner-b', 'board-runner-c'],
  );

  const text = await runScript('locks.ts', [], { cwd });
  assert.match(text.stdout, /^board-a: held by board-runner-a \(org\/repo, run 0 attempt 1\) since /m);
  assert.match(text.stdout, /^ {2}1\. board-runner-b .*\n {2}2\. board-runner-c /m);

  const refused = await runScript('locks.ts', ['release', 'board-a'], { cwd });
  assert.equal(refused.code, 8);
  assert.match(refused.stderr, /^error: releasing board-a lets the next job use it .*: add --force\n$/);
  if (asRoot.skip) return t.skip(asRoot.skip);

  const released = await runScript('locks.ts', ['release', 'board-a', '--force'], { cwd });
  assert.equal(released.code, 0, released.stderr);
  assert.match(released.stdout, /^board-a: released \(was held by board-runner-a/);
  await second.waitFor('acquired');
  const log = await readFile(join(dir, 'locks.log'), 'utf8');
  assert.match(log, /board-a/);
  assert.match(log, /board-runner-a/);
  await waitFor(
    'board-runner-b shown as holder',
    async () => {
      const after = JSON.parse((await runScript('locks.ts', ['--json'], { cwd })).stdout);
      return after.resources[0]?.holder?.runner === 'board-runner-b' ? true : undefined;
    },
    { timeoutMs: 15_000 },
  );
});

test('a missing lock directory is one line naming RUNNER_LOCK_HOST_PATH', async () => {
  const result = await runScript('locks.ts', [], { env: { RUNNER_LOCK_HOST_PATH: '/nonexistent/locks' } });
  assert.equal(result.code, 2);
  assert.equal(result.stderr, 'error: lock directory RUNNER_LOCK_HOST_PATH=/nonexistent/locks does not exist: run make init, or set RUNNER_LOCK_HOST_PATH\n');
});

// Issue 11: the lock directory is writable by jobs; `make locks` and a forced
// release run as the operator (often root) and must treat it as untrusted.
async function hostileDir(): Promise<{ dir: string; cwd: string; base: string }> {
  const base = await tempDir('fleet-locks-hostile-');
  const dir = join(base, 'locks');
  await mkdir(dir, { mode: 0o777 });
  const cwd = await tempDir('fleet-locks-cwd-');
  await writeFile(join(cwd, '.env'), `RUNNER_LOCK_HOST_PATH=${dir}\n`);
  return { dir, cwd, base };
}

function mkfifo(path: string): void {
  assert.equal(spawnSync('mkfifo', [path]).status, 0, `mkfifo ${path}`);
}

test('release --force with a holder record whose ticket is ../../x never touches a file outside the directory', asRoot, async () => {
  const { dir, cwd, base } = await hostileDir();
  const outside = join(base, 'x');
  await writeFile(outside, 'precious\n');
  await mkdir(join(dir, 'board-a.lock'));
  await mkdir(join(dir, 'board-a.queue'));
  await writeFile(join(dir, 'board-a.holder.json'), JSON.stringify({ runner: 'evil', runId: '1', attempt: '1', ticket: '../../x' }));
  const r = await runScript('locks.ts', ['release', 'board-a', '--force'], { cwd, timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await readFile(outside, 'utf8'), 'precious\n', 'a file outside the lock directory was removed');
  assert.match(r.stdout, /names no valid ticket/);
  await assert.rejects(lstat(join(dir, 'board-a.lock')), 'the lock was not released');
});

test('a locks.log symlink or FIFO: release neither appends to another file nor hangs, and says it did not record', asRoot, async () => {
  const { dir, cwd, base } = await hostileDir();
  const victim = join(base, 'victim');
  await writeFile(victim, 'untouched\n');
  await symlink(victim, join(dir, 'locks.log'));
  const viaLink = await runScript('locks.ts', ['release', 'board-a', '--force'], { cwd, timeoutMs: 20_000 });
  assert.equal(viaLink.code, 0, viaLink.stderr);
  assert.equal(await readFile(victim, 'utf8'), 'untouched\n', 'appended through the symlink');
  assert.match(viaLink.stdout, /NOT recorded in locks.log\n {2}! not recorded: .*locks.log is a symlink/);
  await rm(join(dir, 'locks.log'));
  mkfifo(join(dir, 'locks.log'));
  const viaFifo = await runScript('locks.ts', ['release', 'board-a', '--force'], { cwd, timeoutMs: 20_000 });
  assert.equal(viaFifo.code, 0, `release hung or failed on a FIFO locks.log: ${viaFifo.stderr}`);
  assert.match(viaFifo.stdout, /NOT recorded in locks.log/);
});

test('make locks skips and reports FIFOs, directories, symlinks, oversized records and future mtimes, without hanging', async () => {
  const { dir, cwd, base } = await hostileDir();
  const queue = join(dir, 'board-a.queue');
  await mkdir(queue);
  mkfifo(join(queue, '000000000001'));
  await mkdir(join(queue, '000000000002'));
  const secret = join(base, 'secret');
  await writeFile(secret, JSON.stringify({ runner: 'leaked-secret', runId: '1', attempt: '1' }));
  await symlink(secret, join(queue, '000000000003'));
  await writeFile(join(queue, '000000000004'), JSON.stringify({ runner: 'real-waiter', runId: '4', attempt: '1', staleMs: 4000 }));
  await writeFile(join(queue, '999999999999'), '{}');
  const future = new Date('2030-01-01T00:00:00Z');
  await writeFile(join(queue, '000000000005'), JSON.stringify({ runner: 'from-2030', runId: '5', attempt: '1', staleMs: 4000 }));
  await utimes(join(queue, '000000000005'), future, future);
  await mkdir(join(dir, 'board-a.lock'));
  await writeFile(join(dir, 'board-a.holder.json'), 'x'.repeat(1 << 20)); // 1 MiB: read no further than a few KiB
  mkfifo(join(dir, 'board-b.lock'));
  const r = await runScript('locks.ts', [], { cwd, timeoutMs: 20_000 });
  assert.equal(r.code, 0, `make locks hung or failed: ${r.stderr}`);
  assert.doesNotMatch(r.stdout, /leaked-secret/, 'a symlinked ticket was followed');
  assert.match(r.stdout, /^ {2}1\. real-waiter /m);
  assert.match(r.stdout, /^ {2}2\. from-2030 .*\[no heartbeat/m);
  for (const line of [
    /! board-a\.queue\/000000000001: a FIFO, not a ticket: skipped/,
    /! board-a\.queue\/000000000002: a directory, not a ticket: skipped/,
    /! board-a\.queue\/000000000003: a symlink, not a ticket: skipped/,
    /! board-a\.queue\/999999999999: not a valid ticket number: skipped/,
    /! board-a\.queue\/000000000005: mtime in the future/,
    /! board-a\.holder\.json: larger than \d+ bytes: skipped/,
    /! board-b\.lock: not a directory, not a lock: skipped/,
  ])
    assert.match(r.stdout, line);
  const json = await runScript('locks.ts', ['--json'], { cwd, timeoutMs: 20_000 });
  assert.equal(json.code, 0, json.stderr);
  assert.ok(JSON.parse(json.stdout).resources.every((res: { warnings: string[] }) => res.warnings.length > 0));
});

// Issue 19: records carry what jobs said about themselves (names of other
// orgs' repositories, once anything a job sent): never raw to a terminal, and
// not readable but by root.
test('make locks prints no escape sequence, control character or workflow command from a record; --json keeps the values, in printable ASCII', async () => {
  const { dir, cwd } = await hostileDir();
  await mkdir(join(dir, 'board-a.lock'));
  await mkdir(join(dir, 'board-a.queue'));
  const hostile = {
    runner: 'r\u001b]0;pwned\u0007',
    repository: '::warning::x/\u001b[2Jy',
    runId: '1\u009b31m',
    attempt: '1\u007f',
    ticket: '000000000001',
    since: new Date().toISOString(),
  };
  await writeFile(join(dir, 'board-a.holder.json'), JSON.stringify(hostile));
  await writeFile(join(dir, 'board-a.queue', '000000000002'), JSON.stringify({ runner: 'w\u202e', repository: 'o/::error::z', runId: '2', attempt: '1' }));
  const text = await runScript('locks.ts', [], { cwd, timeoutMs: 20_000 });
  assert.equal(text.code, 0, text.stderr);
  assert.doesNotMatch(text.stdout, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/, 'a control character reached the terminal');
  assert.doesNotMatch(text.stdout, /::/, 'a workflow command reached the output');
  assert.match(text.stdout, /^board-a: held by r \(:warning:x\/y, run 1 attempt 1\)/m, 'the OSC title sequence is dropped whole');
  const json = await runScript('locks.ts', ['--json'], { cwd, timeoutMs: 20_000 });
  assert.equal(json.code, 0, json.stderr);
  assert.match(json.stdout, /^[\n\x20-\x7e]*$/, 'a byte outside printable ASCII reached the terminal');
  const holder = (JSON.parse(json.stdout) as { resources: Array<{ holder: typeof hostile }> }).resources[0]?.holder;
  assert.equal(holder?.repository, hostile.repository, '--json changed a recorded value');
});

test(
  "as a non-root operator, make locks says in one line that the records are root's, and shows no name",
  { skip: process.getuid?.() !== 0 && 'needs root' },
  async () => {
    const dir = await tempDir('fleet-locks-');
    const cwd = await tempDir('fleet-locks-cwd-');
    await writeFile(join(cwd, '.env'), `RUNNER_LOCK_HOST_PATH=${dir}\n`);
    const holder = contender(dir, 'board-runner-a');
    await holder.waitFor('acquired');
    for (const args of [[], ['--json']]) {
      const r = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), join(REPO_ROOT, 'scripts/locks.ts'), ...args], {
        cwd,
        uid: 65534,
        gid: 65534,
        encoding: 'utf8',
        timeout: 20_000,
        env: { PATH: process.env.PATH, HOME: cwd },
      });
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(
        r.stderr,
        /^error: the lock records in .* are root's \(mode 0600: .*\), and uid 65534 cannot read them: run it as root \(sudo make locks\)\n$/,
      );
    }
  },
);
