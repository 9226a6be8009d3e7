// The runner's .env as Runner.Listener reads it, and the wrapper writing it
// afresh from the image's at every start (wrapper/runner-env-file.ts): what a
// job wrote there never reaches the runner's environment, nor is followed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstat, mkdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadRunnerEnvFile } from '../../standins/runner/env-file.ts';
import { decodeEnvFile, restoreRunnerEnvFile, runnerAssignment, runnerEnvFromImage, wrapperSettingOf } from '../../wrapper/runner-env-file.ts';
import { collecting } from '../../core/reporter.ts';
import { tempDir } from '../support/lock-helpers.ts';

const ours = { started: '/opt/runner-fleet/hooks/job-started.sh', completed: '/opt/runner-fleet/hooks/job-completed.sh' };

/** What the Listener sets from a text, in order (Program.cs LoadAndSetEnv). */
function applied(text: string): Record<string, string | null> {
  const env: Record<string, string | null> = {};
  for (const line of text.split(/\r\n|\n|\r/)) {
    const a = runnerAssignment(line);
    if (a) env[a.key] = a.value;
  }
  return env;
}

describe("the runner's .env as the Listener reads it", () => {
  test('lines are read as the runner reads them', () => {
    assert.deepEqual(runnerAssignment('A=b=c'), { key: 'A', value: 'b=c' });
    assert.deepEqual(runnerAssignment('A="quoted"'), { key: 'A', value: '"quoted"' });
    assert.deepEqual(runnerAssignment('A='), { key: 'A', value: null }); // unsets
    assert.deepEqual(runnerAssignment(' A=1'), { key: ' A', value: '1' }); // untrimmed: another key
    assert.equal(runnerAssignment('=x'), undefined);
    assert.equal(runnerAssignment('# just a comment'), undefined);
  });

  test('decoded as File.ReadAllLines does: a byte order mark of any encoding is dropped, so a first line behind one sets its key', () => {
    const line = 'ACTIONS_RUNNER_HOOK_JOB_STARTED=/x.sh\n';
    const utf16be = Buffer.from(line, 'utf16le').swap16();
    const utf32 = (le: boolean) =>
      Buffer.concat(
        [...line].map((c) => {
          const b = Buffer.alloc(4);
          if (le) b.writeUInt32LE(c.codePointAt(0)!);
          else b.writeUInt32BE(c.codePointAt(0)!);
          return b;
        }),
      );
    for (const [what, bytes] of [
      ['UTF-8', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(line)])],
      ['UTF-16 LE', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(line, 'utf16le')])],
      ['UTF-16 BE', Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be])],
      ['UTF-32 LE', Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), utf32(true)])],
      ['UTF-32 BE', Buffer.concat([Buffer.from([0, 0, 0xfe, 0xff]), utf32(false)])],
    ] as const) {
      assert.deepEqual(applied(decodeEnvFile(bytes)), { ACTIONS_RUNNER_HOOK_JOB_STARTED: '/x.sh' }, what);
    }
    // One mark only; a second is part of the key, as for .NET. Invalid UTF-8 reads as U+FFFD.
    assert.equal(decodeEnvFile(Buffer.from('\uFEFF\uFEFFA=1')), '\uFEFFA=1');
    assert.equal(decodeEnvFile(Buffer.from([0x41, 0xff, 0x3d, 0x31])), 'A\uFFFD=1');
  });

  test('the runner simulator reads a .env as the Listener does: a first line behind a byte order mark sets its key', async () => {
    const root = await tempDir('envfile-sim-');
    await writeFile(join(root, '.env'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('ACTIONS_RUNNER_HOOK_JOB_STARTED=/x.sh\nB=2\n')]));
    const env: NodeJS.ProcessEnv = {};
    loadRunnerEnvFile(root, env);
    assert.deepEqual(env, { ACTIONS_RUNNER_HOOK_JOB_STARTED: '/x.sh', B: '2' });
  });

  test("the wrapper's settings are recognised however a line spells them", () => {
    for (const key of [
      'RUNNER_FLEET_NODE',
      '\uFEFFRUNNER_FLEET_NODE',
      'export RUNNER_FLEET_SOCKET',
      '"ACTIONS_RUNNER_HOOK_JOB_STARTED"',
      " 'RUNNER_LOCK_POLL_MS' ",
      'runner_fleet_user_hook_job_started',
      'RUNNER_WORKER_MATCH',
      'EXPORT\tACTIONS_RUNNER_HOOK_JOB_COMPLETED',
    ]) {
      assert.ok(wrapperSettingOf(key), JSON.stringify(key));
    }
    for (const key of ['LANG', 'RUNNER_NAME', 'RUNNER_TEMP', 'JAVA_HOME', 'MY_RUNNER_FLEET_NODE']) assert.equal(wrapperSettingOf(key), undefined, key);
  });
});

describe("the runner's .env made from the image's", () => {
  const image = [
    '# my runner',
    'LANG=C.UTF-8',
    'ACTIONS_RUNNER_HOOK_JOB_STARTED=/hooks/old.sh',
    'JAVA_HOME=/opt/java',
    'ACTIONS_RUNNER_HOOK_JOB_STARTED=/hooks/start.sh',
    'ACTIONS_RUNNER_HOOK_JOB_COMPLETED=/hooks/done.sh',
    'RUNNER_FLEET_NODE=/bin/true',
    'export RUNNER_FLEET_SOCKET=/tmp/elsewhere.sock',
    ' ACTIONS_RUNNER_HOOK_JOB_STARTED=/not-applied-by-the-runner',
    '',
  ].join('\n');

  test('with a lock: no line sets a wrapper setting or hook; the hooks the runner would have applied are chained; every other line stays', () => {
    const env = runnerEnvFromImage(image, ours);
    assert.deepEqual(env.hooks, { started: '/hooks/start.sh', completed: '/hooks/done.sh' }); // the last one wins, as for the runner
    assert.deepEqual(Object.keys(applied(env.text)), ['LANG', 'JAVA_HOME']);
    const lines = env.text.split('\n');
    assert.deepEqual(
      lines.filter((l) => !l.startsWith('# runner-fleet:')),
      ['# my runner', 'LANG=C.UTF-8', 'JAVA_HOME=/opt/java', ''],
    );
    assert.equal(lines.filter((l) => l.startsWith('# runner-fleet:')).length, 6);
    assert.deepEqual(env.left.sort(), ['ACTIONS_RUNNER_HOOK_JOB_COMPLETED', 'ACTIONS_RUNNER_HOOK_JOB_STARTED', 'RUNNER_FLEET_NODE', 'RUNNER_FLEET_SOCKET']);
  });

  test('without a lock the hooks stay for the runner to apply; the wrapper settings still go', () => {
    const env = runnerEnvFromImage(image);
    assert.deepEqual(env.hooks, {});
    assert.deepEqual(applied(env.text), {
      LANG: 'C.UTF-8',
      ACTIONS_RUNNER_HOOK_JOB_STARTED: '/hooks/start.sh',
      JAVA_HOME: '/opt/java',
      ACTIONS_RUNNER_HOOK_JOB_COMPLETED: '/hooks/done.sh',
      ' ACTIONS_RUNNER_HOOK_JOB_STARTED': '/not-applied-by-the-runner',
    });
  });

  test('an emptied hook means no user hook, and so does our own hook path; CRLF stays CRLF', () => {
    const env = runnerEnvFromImage(`A=1\r\nACTIONS_RUNNER_HOOK_JOB_STARTED=\r\nACTIONS_RUNNER_HOOK_JOB_COMPLETED=${ours.completed}\r\nB=2`, ours);
    assert.deepEqual(env.hooks, { started: null, completed: null });
    assert.deepEqual(applied(env.text), { A: '1', B: '2' });
    assert.match(env.text, /^A=1\r\n# runner-fleet:[^=\r\n]*\r\n# runner-fleet:[^=\r\n]*\r\nB=2$/);
  });
});

describe('at every start the runner’s .env is written from the image’s, never from what a job left', () => {
  async function setUp(imageEnv?: string) {
    const dir = await tempDir('envfile-');
    const home = join(dir, 'home');
    await mkdir(home);
    const imageEnvFile = join(dir, 'runner.env');
    if (imageEnv !== undefined) await writeFile(imageEnvFile, imageEnv);
    const reporter = collecting();
    const restore = () => restoreRunnerEnvFile({ imageEnvFile, envFile: join(home, '.env'), ours, reporter });
    return { dir, home, envFile: join(home, '.env'), restore, logged: reporter.lines };
  }

  test("a job's own .env (the lock switched off, a hook behind a byte order mark, BASH_ENV) is replaced by the image's", async () => {
    const s = await setUp('LANG=C.UTF-8\n');
    await writeFile(
      s.envFile,
      '\uFEFFACTIONS_RUNNER_HOOK_JOB_STARTED=/home/runner/evil.sh\nRUNNER_FLEET_NODE=/bin/true\nBASH_ENV=/home/runner/evil-env.sh\nLD_PRELOAD=/home/runner/evil.so\n',
    );
    assert.deepEqual(await s.restore(), {});
    assert.equal(await readFile(s.envFile, 'utf8'), 'LANG=C.UTF-8\n');
    const info = await stat(s.envFile);
    assert.equal(info.mode & 0o7777, 0o644);
    assert.equal(info.uid, process.getuid!());
    assert.equal(s.logged.length, 1, s.logged.join('\n'));
    assert.match(s.logged[0]!, /rewrote .*\.env from the image's \.env: it had been changed since the image was built/);
    // The next start finds the image's: nothing to say, nothing rewritten.
    const before = (await stat(s.envFile)).ino;
    await s.restore();
    assert.equal((await stat(s.envFile)).ino, before);
    assert.equal(s.logged.length, 1);
  });

  test('a link, a FIFO or a directory planted as .env is replaced without being followed, read or blocking', async () => {
    for (const plant of ['symlink', 'fifo', 'directory'] as const) {
      const s = await setUp('LANG=C.UTF-8\n');
      const victim = join(s.dir, 'root-file');
      await writeFile(victim, 'ACTIONS_RUNNER_HOOK_JOB_STARTED=/x.sh\n', { mode: 0o600 });
      if (plant === 'symlink') await symlink(victim, s.envFile);
      if (plant === 'fifo') assert.equal(spawnSync('mkfifo', [s.envFile]).status, 0);
      if (plant === 'directory') await mkdir(join(s.envFile, 'sub'), { recursive: true });
      await s.restore();
      assert.ok((await lstat(s.envFile)).isFile(), plant);
      assert.equal(await readFile(s.envFile, 'utf8'), 'LANG=C.UTF-8\n', plant);
      assert.equal(await readFile(victim, 'utf8'), 'ACTIONS_RUNNER_HOOK_JOB_STARTED=/x.sh\n', `${plant}: the target was changed`);
      assert.equal((await stat(victim)).mode & 0o777, 0o600);
    }
  });

  test('an image without .env: a .env found in the home is removed (a link only unlinked)', async () => {
    const s = await setUp();
    await writeFile(s.envFile, 'RUNNER_FLEET_NODE=/bin/true\n');
    await s.restore();
    await assert.rejects(lstat(s.envFile));
    assert.match(s.logged[0]!, /removed .*\.env: the image has no \.env/);
    const victim = join(s.dir, 'victim');
    await writeFile(victim, 'kept\n');
    await symlink(victim, s.envFile);
    await s.restore();
    await assert.rejects(lstat(s.envFile));
    assert.equal(await readFile(victim, 'utf8'), 'kept\n');
  });

  test("the image's copy that is not a plain file is refused in one line", async () => {
    const s = await setUp();
    await symlink('/etc/hostname', join(s.dir, 'runner.env'));
    await assert.rejects(s.restore(), /the image's copy of the runner's \.env, .*runner\.env, is a symlink: rebuild the runner image \(make image\)$/);
    assert.equal(await readlink(join(s.dir, 'runner.env')), '/etc/hostname');
  });
});
