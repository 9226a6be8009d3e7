// What the toolkit does on the host before any container starts: the shared
// lock directory, and one clear line when Docker is missing or not answering.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CliError, ExitCode } from '../../lock/errors.ts';
import { prepareLockDir } from '../../lock/directory.ts';
import { runScript } from '../support/cli.ts';

test('the lock directory is created 0777 without the sticky bit, so every org’s runner can clear a stale lock', async () => {
  const base = await mkdtemp(join(tmpdir(), 'fleet-lockdir-'));
  const lines: string[] = [];
  const dir = join(base, 'nested', 'locks');
  await prepareLockDir(dir, (line) => lines.push(line));
  assert.equal((await stat(dir)).mode & 0o7777, 0o777);
  assert.deepEqual(lines, [`Created the shared lock directory ${dir} (mode 0777)`]);

  await prepareLockDir(dir, (line) => lines.push(line));
  assert.equal(lines.length, 1, 'a directory already right is left as it is');

  // After a reboot cleared /tmp, dockerd re-creates a bind source root-owned 0755; a sticky bit blocks other UIDs.
  for (const wrong of [0o755, 0o1777]) {
    await chmod(dir, wrong);
    await prepareLockDir(dir, (line) => lines.push(line));
    assert.equal((await stat(dir)).mode & 0o7777, 0o777);
    assert.match(lines.at(-1)!, new RegExp(`^Set the shared lock directory .* to mode 0777 \\(was ${wrong.toString(8).padStart(4, '0')}\\)$`));
  }

  const file = join(base, 'not-a-dir');
  await writeFile(file, '');
  await assert.rejects(prepareLockDir(file, () => {}), (err: unknown) => {
    assert.ok(err instanceof CliError);
    assert.equal(err.exitCode, ExitCode.config);
    assert.match(err.message, /^RUNNER_LOCK_HOST_PATH .* is not a directory/);
    return true;
  });
});

test('a Docker daemon that does not answer is one line and exit 7', async () => {
  const result = await runScript('ps.ts', [], { env: { ORG: 'acme', DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
  assert.equal(result.code, ExitCode.docker);
  assert.equal(result.stderr, 'error: the Docker daemon at unix:///nonexistent/docker.sock does not answer: start it (systemctl start docker) or fix DOCKER_HOST\n');
});

test('no docker on PATH is one line naming what to install', async () => {
  const result = await runScript('ps.ts', [], { env: { ORG: 'acme', PATH: '/nonexistent' } });
  assert.equal(result.code, ExitCode.docker);
  assert.match(result.stderr, /^error: docker is not installed: install Docker/);
  assert.equal(result.stderr.trim().split('\n').length, 1);
});
