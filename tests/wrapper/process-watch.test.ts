// Which process is a job's worker (wrapper/process-watch.ts): the Runner.Worker
// child of the Listener in run.sh's tree, whatever a job names its own
// processes, and never anything outside that tree.
import assert from 'node:assert/strict';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { findWorker, isAlive, processRef } from '../../wrapper/process-watch.ts';
import { killChildren, spawnGroup, tempDir } from '../support/lock-helpers.ts';
import { waitFor } from '../support/wait.ts';

afterEach(killChildren);

/** A runner-like tree under a run.sh stand-in: Listener → Worker → a job naming its processes Runner.Worker and Runner.Listener. */
async function runnerTree(): Promise<{ dir: string; bin: string; runScript: number; worker: number }> {
  const dir = await tempDir('pwatch-');
  const bin = join(dir, 'bin');
  await writeFile(join(dir, 'sleep.sh'), 'sleep 60\n');
  await writeFile(join(dir, 'listener.sh'), `"${bin}/Runner.Worker" "${dir}/worker.sh" & wait\n`);
  // The job: decoys below the worker, named as the runner's programs are.
  await writeFile(
    join(dir, 'worker.sh'),
    `"${bin}/Runner.Worker" "${dir}/sleep.sh" & "${bin}/Runner.Listener" "${dir}/sleep.sh" & echo $$ > "${dir}/worker.pid"; wait\n`,
  );
  await mkdir(bin);
  for (const name of ['Runner.Listener', 'Runner.Worker']) await symlink('/bin/sh', join(bin, name));
  const run = spawnGroup('sh', ['-c', `"${bin}/Runner.Listener" "${dir}/listener.sh" & wait`], { stdio: 'ignore' });
  const worker = await waitFor('the worker', async () => Number(await readFile(join(dir, 'worker.pid'), 'utf8').catch(() => '')) || undefined, {
    timeoutMs: 15_000,
  });
  // the decoys are started before the pid is written; give them a moment to exist
  await new Promise((r) => setTimeout(r, 200));
  return { dir, bin, runScript: run.pid!, worker };
}

test("the worker is the Listener's Runner.Worker child, not a job process of the same name below it", async () => {
  const { runScript, worker } = await runnerTree();
  const found = findWorker(runScript);
  assert.equal(found?.pid, worker);
  assert.ok(found && isAlive(found));
});

test("a Runner.Worker outside run.sh's tree (left behind by an earlier job) is never found", async () => {
  const { dir, bin } = await runnerTree();
  const stray = spawnGroup(join(bin, 'Runner.Worker'), [join(dir, 'sleep.sh')], { stdio: 'ignore' });
  const noListener = spawnGroup('sh', ['-c', 'sleep 60 & wait'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(processRef(stray.pid!), 'the stray process is not running');
  assert.equal(findWorker(noListener.pid!), undefined);
});

test('a worker that exits, or a pid reused by another process, is not alive; only numeric pids are looked at', async () => {
  const { runScript, worker } = await runnerTree();
  const ref = findWorker(runScript)!;
  assert.equal(isAlive({ ...ref, startTime: String(Number(ref.startTime) + 1) }), false, 'another start time is another process');
  process.kill(worker, 'SIGKILL');
  await waitFor('the worker gone', () => (isAlive(ref) ? undefined : true), { timeoutMs: 15_000 });
  assert.equal(findWorker(runScript), undefined);
  for (const pid of [0, -1, 1.5, Number.NaN, '../../tmp/x' as unknown as number, '1/root' as unknown as number]) {
    assert.equal(processRef(pid), undefined, String(pid));
    assert.equal(findWorker(pid), undefined, String(pid));
  }
});
