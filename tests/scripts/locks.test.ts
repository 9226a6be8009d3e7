// `make locks` as an operator uses it: holder and queue in order, JSON, a
// forced release that is logged and lets the next waiter in.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { eventually, startContender, tempDir, type Contender } from '../support/lock-helpers.ts';
import { runScript } from '../support/cli.ts';

const contenders: Contender[] = [];
after(() => {
  for (const contender of contenders) contender.kill();
});

function contender(dir: string, name: string): Contender {
  const started = startContender(dir, { name, holdMs: -1, staleMs: 4000, pollMs: 100 });
  contenders.push(started);
  return started;
}

test('locks shows the holder and the queue in order; release needs --force and is logged', async () => {
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
  const report = JSON.parse(json.stdout) as { lockDir: string; resources: Array<{ resource: string; holder: { runner: string } | null; queue: Array<{ runner: string }> }> };
  assert.equal(report.lockDir, dir);
  assert.equal(report.resources.length, 1);
  assert.equal(report.resources[0]?.holder?.runner, 'board-runner-a');
  assert.deepEqual(report.resources[0]?.queue.map((t) => t.runner), ['board-runner-b', 'board-runner-c']);

  const text = await runScript('locks.ts', [], { cwd });
  assert.match(text.stdout, /^board-a: held by board-runner-a \(org\/repo, run 0 attempt 1\) since /m);
  assert.match(text.stdout, /^ {2}1\. board-runner-b .*\n {2}2\. board-runner-c /m);

  const refused = await runScript('locks.ts', ['release', 'board-a'], { cwd });
  assert.equal(refused.code, 8);
  assert.match(refused.stderr, /^error: releasing board-a lets the next job use it .*: add --force\n$/);

  const released = await runScript('locks.ts', ['release', 'board-a', '--force'], { cwd });
  assert.equal(released.code, 0, released.stderr);
  assert.match(released.stdout, /^board-a: released \(was held by board-runner-a/);
  await second.waitFor('acquired');
  const log = await readFile(join(dir, 'locks.log'), 'utf8');
  assert.match(log, /board-a/);
  assert.match(log, /board-runner-a/);
  await eventually('board-runner-b shown as holder', async () => {
    const after = JSON.parse((await runScript('locks.ts', ['--json'], { cwd })).stdout);
    return after.resources[0]?.holder?.runner === 'board-runner-b' ? true : undefined;
  });
});

test('a missing lock directory is one line naming RUNNER_LOCK_HOST_PATH', async () => {
  const result = await runScript('locks.ts', [], { env: { RUNNER_LOCK_HOST_PATH: '/nonexistent/locks' } });
  assert.equal(result.code, 2);
  assert.equal(result.stderr, 'error: lock directory RUNNER_LOCK_HOST_PATH=/nonexistent/locks does not exist: run make init, or set RUNNER_LOCK_HOST_PATH\n');
});
