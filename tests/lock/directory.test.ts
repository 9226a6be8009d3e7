// What the toolkit does on the host before any container starts: the shared
// lock directory (root's, 0755), and one clear line when Docker is missing or not answering.
import assert from 'node:assert/strict';
import { chmod, chown, mkdir, mkdtemp, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CliError, ExitCode } from '../../core/errors.ts';
import { prepareLockDir } from '../../lock/directory.ts';
import { runScript } from '../support/cli.ts';

const asRoot = process.getuid?.() === 0;

test(
  'the lock directory is created root-owned 0755, and one left world-writable is made so: no job can write it',
  { skip: !asRoot && 'needs root' },
  async () => {
    const base = await mkdtemp(join(tmpdir(), 'fleet-lockdir-'));
    const lines: string[] = [];
    const dir = join(base, 'nested', 'locks');
    await prepareLockDir(dir, (line) => lines.push(line));
    const made = await stat(dir);
    assert.equal(made.mode & 0o7777, 0o755);
    assert.equal(made.uid, 0);
    assert.deepEqual(lines, [`Created the shared lock directory ${dir} (root, mode 0755)`]);

    await prepareLockDir(dir, (line) => lines.push(line));
    assert.equal(lines.length, 1, 'a directory already right is left as it is');

    // An older version left it 0777 (sticky for some); a user may have chowned it.
    for (const [wrong, owner] of [
      [0o777, 0],
      [0o1777, 0],
      [0o755, 1001],
    ] as const) {
      await chmod(dir, wrong);
      await chown(dir, owner, owner);
      await prepareLockDir(dir, (line) => lines.push(line));
      const info = await stat(dir);
      assert.equal(info.mode & 0o7777, 0o755);
      assert.equal(info.uid, 0);
      assert.equal(
        lines.at(-1),
        `Made the shared lock directory ${dir} root's, mode 0755 (was owner ${owner}:${owner}, mode ${wrong.toString(8).padStart(4, '0')}): jobs can no longer write it`,
      );
    }
  },
);

test('RUNNER_LOCK_HOST_PATH through a symlink or at a file is refused, and the target keeps its mode (no chmod of /tmp)', async () => {
  const base = await mkdtemp(join(tmpdir(), 'fleet-lockdir-'));
  const target = join(base, 'shared-tmp');
  await mkdir(target);
  await chmod(target, 0o1777);
  const link = join(base, 'locks');
  await symlink(target, link);
  const file = join(base, 'not-a-dir');
  await writeFile(file, '');
  for (const [path, reason] of [
    [link, 'is a symbolic link'],
    [file, 'is not a directory'],
  ] as const) {
    await assert.rejects(
      prepareLockDir(path, () => {}),
      (err: unknown) => {
        assert.ok(err instanceof CliError);
        assert.equal(err.exitCode, ExitCode.config);
        assert.match(err.message, new RegExp(`^RUNNER_LOCK_HOST_PATH .* ${reason}`));
        return true;
      },
    );
  }
  assert.equal((await stat(target)).mode & 0o7777, 0o1777);
});

test('a Docker daemon that does not answer is one line and exit 7', async () => {
  const result = await runScript('ps.ts', [], { env: { ORG: 'acme', DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
  assert.equal(result.code, ExitCode.docker);
  assert.equal(
    result.stderr,
    'error: the Docker daemon at unix:///nonexistent/docker.sock does not answer: start it (systemctl start docker) or fix DOCKER_HOST\n',
  );
});

test('no docker on PATH is one line naming what to install', async () => {
  const result = await runScript('ps.ts', [], { env: { ORG: 'acme', PATH: '/nonexistent' } });
  assert.equal(result.code, ExitCode.docker);
  assert.match(result.stderr, /^error: docker is not installed: install Docker/);
  assert.equal(result.stderr.trim().split('\n').length, 1);
});
