// End to end with compose v1 (`docker-compose` 1.29, forced with
// RUNNER_COMPOSE=docker-compose) on a real engine: init, a board job that
// takes and releases the lock, restart, a job after it, purge. Every other
// suite runs on compose v2, which the toolkit picks when both are present;
// this one keeps v1 working for hosts that still have only it. The runners are
// the runner simulator (standins/runner), which STANDS IN for actions/runner;
// GitHub is the stand-in (standins/github).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { eventOutput, type JobView } from '../../standins/github/server.ts';
import type { ScriptResult } from '../support/cli.ts';
import { startGround, type Ground } from '../support/ground.ts';
import { dockerOk, dockerUnavailable } from './helpers.ts';
import { waitFor } from '../support/wait.ts';

/** Why this suite cannot run here: no engine, or no compose v1 (an error under CI, where the ground installs it). */
async function whyNot(): Promise<string | undefined> {
  const noDocker = await dockerUnavailable();
  if (noDocker) return noDocker;
  try {
    await promisify(execFile)('docker-compose', ['version']);
    return undefined;
  } catch {
    if (process.env.CI === 'true') throw new Error('CI=true, and docker-compose (compose v1) does not run: run tests/e2e/setup.sh as root');
    return 'docker-compose (compose v1) is not installed';
  }
}

const skip = await whyNot();
if (skip) console.log(`# skipping the compose v1 e2e test: ${skip}`);

const hookOutput = (job: JobView, hook: string): string => eventOutput(job.events.find((e) => e.event === 'hook' && e.hook === hook));

describe('compose v1 (RUNNER_COMPOSE=docker-compose) on a real engine', { skip, timeout: 300_000 }, () => {
  let ground: Ground;
  let prefix = '';
  const runner = (short: string): string => `${prefix}runner-${short}`;
  const ok = async (script: string, args: string[] = []): Promise<ScriptResult> => {
    const r = await ground.run(script, args);
    assert.equal(r.code, 0, `${script} ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  /** The compose version that made the container (compose labels every container it makes). */
  const madeBy = (name: string): Promise<string> => dockerOk(['inspect', '--format', '{{ index .Config.Labels "com.docker.compose.version" }}', name]);
  const boardJob = async (tag: string): Promise<JobView> => {
    const { job_id } = ground.github.enqueueJob({
      org: ground.org,
      repository: `${ground.org}/firmware`,
      runs_on: ['pi-v1'],
      job: tag,
      steps: [{ name: tag, run: `echo "${tag} on $RUNNER_NAME"` }],
    });
    const done = await ground.github.waitForJob(job_id, (j) => j.status === 'completed', 60_000);
    assert.equal(done.conclusion, 'success', JSON.stringify(done.events));
    assert.equal(done.runner_name, runner('pi'));
    assert.match(hookOutput(done, 'job_started'), /board-v1: lock acquired after/);
    assert.match(hookOutput(done, 'job_completed'), /board-v1: lock released/);
    return done;
  };

  before(async () => {
    ground = await startGround('compose-v1');
    prefix = ground.prefix('v1');
    await ground.writeEnv(prefix, [
      'RUNNER_COMPOSE=docker-compose',
      'BOARD_RUNNERS=pi:pi-v1',
      'RUNNER_RESOURCE_ID=board-v1',
      `RUNNER_LOCK_HOST_PATH=${ground.dir}/locks`,
    ]);
  });

  after(() => ground?.close());

  test('init: the runners are made by compose v1, registered and online', async () => {
    await ok('init.ts', ['-n', '1']);
    await waitFor('runner-1 and pi online', () => ground.online(runner('1')) && ground.online(runner('pi')), { timeoutMs: 60_000 });
    for (const name of [runner('1'), runner('pi')]) assert.match(await madeBy(name), /^1\./, `${name} was not made by compose v1`);
  });

  test('a board job takes and releases the lock', async () => {
    await boardJob('before-restart');
  });

  test('restart recreates the runners with v1, keeping their registration; a job runs after it', async () => {
    const before = await dockerOk(['inspect', '--format', '{{.Id}}', runner('pi')]);
    ground.github.resetCalls();
    await ok('restart.ts');
    assert.notEqual(await dockerOk(['inspect', '--format', '{{.Id}}', runner('pi')]), before, 'restart did not recreate the container');
    assert.match(await madeBy(runner('pi')), /^1\./);
    assert.equal(ground.github.calls().by_operation['actions/create-registration-token-for-org'] ?? 0, 0, 'restart registered again');
    await waitFor('pi online after restart', () => ground.online(runner('pi')), { timeoutMs: 60_000 });
    await boardJob('after-restart');
  });

  test('purge: runners unregistered, containers and volumes gone', async () => {
    await ok('purge.ts', ['--yes']);
    assert.deepEqual(
      ground.github.runners(ground.org).filter((r) => r.name.startsWith(prefix)),
      [],
    );
    assert.equal(await dockerOk(['ps', '-a', '-q', '--filter', `name=^${prefix}`]), '');
    const volumes = (await dockerOk(['volume', 'ls', '-q'])).split('\n').filter((v) => v.startsWith(prefix));
    assert.deepEqual(volumes, []);
  });
});
