// End to end, on a real Docker engine: what a cancel and a stop do to a board
// runner, with the runner simulator (standins/runner), which STANDS IN for
// actions/runner (not downloadable here) and follows its source where it is
// inconvenient: a cancelled job's started hook is NOT cancelled (always(),
// StepsRunner.cs) and its Worker is killed only after the cancel timeout
// (≥ 45 s, JobDispatcher.cs; the simulator keeps the real value here). GitHub
// is the stand-in. Two board runners of one org share one board.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ResourceState } from '../../lock/inspect.ts';
import { eventOutput, type GitHubStandIn, type JobView } from '../../standins/github/server.ts';
import { runScript, type ScriptResult } from '../support/cli.ts';
import { startGround, type Ground } from '../support/ground.ts';
import { containerLogs, docker, dockerUnavailable } from './helpers.ts';
import { waitFor } from '../support/wait.ts';

const skip = await dockerUnavailable();
if (skip) console.log(`# skipping the cancel/stop e2e test: ${skip}`);

/** The real runner's shortest cancel window (JobDispatcher.cs): a job that ended sooner did not wait for it. */
const RUNNER_CANCEL_WINDOW_MS = 45_000;

/** A board job: prints when its step starts and ends (ms since the epoch), sleeping in between. */
function boardJob(github: GitHubStandIn, name: string, seconds: number): number {
  const run = ['echo "step-start $(date +%s%3N)"', `sleep ${seconds}`, 'echo "step-end $(date +%s%3N)"'].join('\n');
  return github.enqueueJob({ org: 'acme', repository: 'acme/firmware', runs_on: ['board-a'], job: name, workflow: 'ci', steps: [{ name, run }] }).job_id;
}

const hookOutput = (job: JobView | undefined, hook: 'job_started' | 'job_completed'): string =>
  eventOutput(job?.events.find((e) => e.event === 'hook' && e.hook === hook));
const stepEvents = (job: JobView | undefined) => (job?.events ?? []).filter((e) => e.event === 'step');
const acquired = (job: JobView | undefined): boolean => /lock acquired after/.test(hookOutput(job, 'job_started'));
const stepTime = (job: JobView | undefined, mark: 'step-start' | 'step-end'): number | undefined => {
  const m = new RegExp(`${mark} (\\d+)`).exec(eventOutput(stepEvents(job)[0]));
  return m ? Number(m[1]) : undefined;
};

describe('cancel and stop of board jobs on a real engine', { skip, timeout: 300_000 }, () => {
  let ground: Ground;
  let github: GitHubStandIn;
  let lockDir: string;
  let prefix = '';
  const name = (board: string): string => `${prefix}runner-${board}`;
  const run = (script: string, args: string[] = []): Promise<ScriptResult> => ground.run(script, args);
  const board = async (): Promise<ResourceState | undefined> => {
    const r = await runScript('locks.ts', ['--json'], { cwd: ground.dir, env: { RUNNER_LOCK_HOST_PATH: lockDir } });
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { resources: ResourceState[] }).resources.find((s) => s.resource === 'board-a');
  };
  const online = (runner: string): boolean => ground.online(runner);

  before(async () => {
    ground = await startGround('cancel');
    github = ground.github;
    lockDir = join(ground.dir, 'locks');
    prefix = ground.prefix('cs');
    await ground.writeEnv(prefix, [`RUNNER_LOCK_HOST_PATH=${lockDir}`, 'BOARD_RUNNERS=b1:board-a;b2:board-a', 'RUNNER_RESOURCE_ID=board-a']);
  });

  after(() => ground?.close());

  test('init: two board runners online on one board', async () => {
    const r = await run('init.ts', ['-n', '0']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    await waitFor('both board runners online', () => online(name('b1')) && online(name('b2')), { timeoutMs: 60_000 });
  });

  test('a job cancelled while it waits for the board leaves the queue at once, never holds it, and the next job gets the board', async () => {
    const holder = boardJob(github, 'holder', 8);
    await github.waitForJob(holder, acquired, 30_000);
    const waiter = boardJob(github, 'waiter', 1);
    await waitFor('the waiter queued for the board', async () => (await board())?.queue.some((t) => t.runId === String(github.job(waiter)?.run_id)), {
      timeoutMs: 30_000,
    });

    const cancelledAt = Date.now();
    github.cancelJob(waiter);
    const ended = await github.waitForJob(waiter, (j) => j.status === 'completed', RUNNER_CANCEL_WINDOW_MS + 15_000);
    const cancelToEnd = Date.now() - cancelledAt;
    console.log(`# cancel while waiting -> job completed: ${cancelToEnd} ms`);
    assert.equal(ended.conclusion, 'cancelled');
    assert.ok(!acquired(ended), `the cancelled job got the board: ${hookOutput(ended, 'job_started')}`);
    assert.deepEqual(stepEvents(ended), [], 'the cancelled job ran its step');
    // The real runner would have kept the hook waiting for 45 s or more; a loaded machine still stays far below that.
    assert.ok(cancelToEnd < 10_000, `the cancelled job ended ${cancelToEnd} ms after the cancel`);
    const state = await board();
    assert.equal(state?.holder?.runId, String(github.job(holder)?.run_id), 'the holder kept the board');
    assert.deepEqual(
      state?.queue.map((t) => t.runId),
      [],
      'the cancelled job left the queue',
    );

    const next = boardJob(github, 'next', 1);
    const [heldBefore, nextDone] = await Promise.all([
      github.waitForJob(holder, (j) => j.status === 'completed', 60_000),
      github.waitForJob(next, (j) => j.status === 'completed', 60_000),
    ]);
    assert.equal(nextDone.conclusion, 'success', JSON.stringify(nextDone.events));
    assert.ok(acquired(nextDone), 'the next job did not get the board');
    assert.ok(stepTime(nextDone, 'step-start')! >= stepTime(heldBefore, 'step-end')!, 'the next job used the board while the holder still had it');
  });

  test('make stop in the middle of a job: the job is reported cancelled, the board freed, and make start comes back online without a session conflict', async () => {
    const job = boardJob(github, 'long', 120);
    const running = await github.waitForJob(job, (j) => stepEvents(j).length === 0 && acquired(j), 30_000);
    const runner = running.runner_name!;
    await new Promise((r) => setTimeout(r, 1000)); // into the step

    const stopAt = Date.now();
    const stopped = await run('stop.ts', [runner]);
    const stopMs = Date.now() - stopAt;
    console.log(`# make stop of a busy runner: ${stopMs} ms`);
    assert.equal(stopped.code, 0, `${stopped.stdout}\n${stopped.stderr}`);
    const ended = github.job(job);
    assert.equal(ended?.status, 'completed', 'the job was not reported before the runner stopped');
    assert.equal(ended?.conclusion, 'cancelled', JSON.stringify(ended?.events));
    assert.equal((await board())?.holder, undefined, 'the board is still held');
    assert.equal(online(runner), false, 'the stopped runner still shows online');

    const restartAt = Date.now();
    const started = await run('start.ts', [runner]);
    assert.equal(started.code, 0, `${started.stdout}\n${started.stderr}`);
    // A session left behind would be retried every 30 s (MessageListener.cs): online sooner means there was none.
    await waitFor(`${runner} online again`, () => online(runner), { timeoutMs: 25_000 });
    console.log(`# make start -> online: ${Date.now() - restartAt} ms`);
    assert.doesNotMatch(await containerLogs(runner), /session for this runner already exists/i);
    const after = boardJob(github, 'after-restart', 1);
    assert.equal((await github.waitForJob(after, (j) => j.status === 'completed', 60_000)).conclusion, 'success');
  });

  test('make rm FORCE=1 of a runner in the middle of a job: container removed, job ended, runner unregistered', async () => {
    const job = boardJob(github, 'doomed', 120);
    const running = await github.waitForJob(job, acquired, 30_000);
    const runner = running.runner_name!;
    const removed = await run('remove.ts', ['-y', '--force', runner]);
    assert.equal(removed.code, 0, `${removed.stdout}\n${removed.stderr}`);
    assert.match(removed.stdout, new RegExp(`^${runner}: job stopped, unregistered from GitHub$`, 'm'));
    assert.equal(
      github.runners('acme').some((r) => r.name === runner),
      false,
      'still registered',
    );
    assert.equal((await docker(['inspect', runner])).code !== 0, true, 'container still there');
    assert.equal(github.job(job)?.status, 'completed');
    // Killed with its container, the holder could not release: the next job takes the board over once the lock is stale.
    const next = boardJob(github, 'after-rm', 1);
    const done = await github.waitForJob(next, (j) => j.status === 'completed', 60_000);
    assert.equal(done.conclusion, 'success', JSON.stringify(done.events));
    assert.ok(acquired(done), 'the next job did not get the board');
  });
});
