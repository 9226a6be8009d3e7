// The everyday commands on an ephemeral fleet (RUNNER_MODE=ephemeral), on the
// real engine, WITHOUT the supervisor: the test fills the slots itself exactly
// as the supervisor does (`compose up` of the slot's service, a JIT config from
// generate-jitconfig handed in through `docker exec`'s stdin), so what is
// checked is what the commands make of a fleet of slots: make list and make ps
// show each slot's container age and job, make stop leaves a busy slot to
// finish its job and empties the idle ones, make start/restart/register refuse,
// and make stop/rm/purge stop a running supervisor first. GitHub is the
// stand-in; the runners are the runner simulator (standins/runner), which
// STANDS IN for actions/runner and runs a JIT config as Runner.cs does.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { JIT_FILE } from '../../core/constants.ts';
import { silent } from '../../core/reporter.ts';
import { loadConfig, type Config } from '../../lib/config/config.ts';
import { compose } from '../../lib/docker/compose.ts';
import { execWithInput } from '../../lib/docker/containers.ts';
import { supervisorPidFile } from '../../lib/fleet/supervisor-pid.ts';
import { createRunnerApi, DEFAULT_RUNNER_GROUP_ID, type RunnerApi } from '../../lib/github/runner-api.ts';
import type { ScriptResult } from '../support/cli.ts';
import { startGround, type Ground } from '../support/ground.ts';
import { waitFor } from '../support/wait.ts';
import { containerLogs, containerState, docker, dockerOk, dockerUnavailable } from './helpers.ts';

const skip = await dockerUnavailable();
if (skip) console.log(`# skipping the ephemeral commands e2e test: ${skip}`);

describe('commands on an ephemeral fleet', { skip, timeout: 600_000 }, () => {
  let ground: Ground;
  let prefix = '';
  let config: Config;
  let api: RunnerApi;
  let longJob = 0;
  const slot = (short: string): string => `${prefix}runner-${short}`;
  const cache = (): string => `${prefix}cache-toolcache`;
  const run = (script: string, args: string[] = []): Promise<ScriptResult> => ground.run(script, args);
  const ok = async (script: string, args: string[] = []): Promise<ScriptResult> => {
    const r = await run(script, args);
    assert.equal(r.code, 0, `${script} ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  const registration = (name: string) => ground.github.runners('acme').find((r) => r.name === name);

  /** Fills a slot as the supervisor does: a fresh container of its service, then its JIT config through docker exec's stdin. */
  const fill = async (short: string, label: string): Promise<void> => {
    const name = slot(short);
    await compose(config, ['up', '-d', '--no-deps', '--force-recreate', name], { capture: true });
    const jit = await api.generateJitConfig({ name, labels: ['self-hosted', label], runnerGroupId: DEFAULT_RUNNER_GROUP_ID, workFolder: config.workdir });
    assert.notEqual(jit, 'name-taken');
    if (jit === 'name-taken') return;
    await execWithInput(name, ['sh', '-c', `umask 077 && head -c 65536 > ${JIT_FILE}.tmp && mv ${JIT_FILE}.tmp ${JIT_FILE}`], jit.encodedJitConfig);
    await waitFor(`${name} online`, () => ground.online(name), { timeoutMs: 60_000 });
  };

  /**
   * A stand-in for a running supervisor: a `sleep` whose pid is in the
   * fleet's pid file. The real one (make supervise) would fill again the
   * slots this test fills and empties by hand; the commands only read the pid
   * file and send that process SIGTERM, which is what is checked here.
   */
  const fakeSupervisor = async (): Promise<{ pid: number; ended: Promise<string | null> }> => {
    const child: ChildProcess = spawn('sleep', ['300'], { stdio: 'ignore' });
    const ended = new Promise<string | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    await writeFile(supervisorPidFile(config), `${child.pid}\n`);
    return { pid: child.pid!, ended };
  };

  before(async () => {
    ground = await startGround('eph-commands');
    prefix = ground.prefix('ephc');
    await ground.writeEnv(prefix, ['RUNNER_MODE=ephemeral', 'RUNNER_CACHE_VOLUMES=toolcache:/opt/hostedtoolcache']);
    config = await loadConfig({ env: ground.env, cwd: ground.dir, interactive: false, reporter: silent });
    api = createRunnerApi(config);
    await ok('image.ts');
    await ok('compose.ts', ['-n', '2']);
    await fill('1', 'ephc-busy');
    await fill('2', 'ephc-idle');
    // A job that runs until the test lets it end (a file it waits for).
    longJob = ground.github.enqueueJob({
      org: 'acme',
      repository: 'acme/app',
      runs_on: ['ephc-busy'],
      job: 'long-build',
      workflow: 'ci',
      steps: [{ name: 'wait', run: 'while [ ! -f /tmp/release ]; do sleep 0.2; done' }],
    }).job_id;
    await waitFor(`${slot('1')} busy`, () => registration(slot('1'))?.busy === true, { timeoutMs: 60_000 });
    await waitFor('the Running job line', async () => (await containerLogs(slot('1'))).includes('Running job: long-build'), { timeoutMs: 30_000 });
  });

  after(async () => {
    await docker(['exec', slot('1'), 'touch', '/tmp/release']).catch(() => undefined);
    await ground?.close();
  });

  test('make list: the slots under a line saying no supervisor runs, each with its container age and job', async () => {
    const r = await ok('list.ts');
    const lines = r.stdout.split('\n');
    assert.equal(
      lines[0],
      'ephemeral fleet: each row is a slot the supervisor fills with a fresh container per job; supervisor: not running — start it with make supervise',
    );
    assert.match(lines[1]!, /^NAME +CONTAINER +AGE +GITHUB +BUSY +JOB +BOARD +LABELS +DEVICES +NOTE$/);
    assert.match(r.stdout, new RegExp(`^${slot('1')} +running +\\d+[sm] +online +busy +long-build +- +self-hosted,ephc-busy +- *$`, 'm'));
    assert.match(r.stdout, new RegExp(`^${slot('2')} +running +\\d+[sm] +online +idle +- +- +self-hosted,ephc-idle +- *$`, 'm'));
    assert.match(r.stdout, /^2 slot\(s\): 2 container\(s\) running, 2 online, 1 busy, 0 orphan\(s\), 0 unregistered$/m);
    const rows = JSON.parse((await ok('list.ts', ['--json'])).stdout) as Array<{
      name: string;
      busy: boolean;
      ephemeral: boolean;
      age_s: number;
      job: string | null;
    }>;
    assert.deepEqual(
      rows.map((row) => [row.name, row.busy, row.ephemeral, typeof row.age_s, row.job]),
      [
        [slot('1'), true, true, 'number', 'long-build'],
        [slot('2'), false, true, 'number', null],
      ],
    );
  });

  test('make ps: AGE and JOB after STATE; JSON keeps the container fields and adds age_s and job', async () => {
    const r = await ok('ps.ts');
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0]!, /^ephemeral fleet: .*supervisor: not running — start it with make supervise$/);
    assert.match(lines[1]!, /^NAME +STATE +AGE +JOB +KIND +BOARD +LABELS +RESOURCE +DEVICES$/);
    assert.match(r.stdout, new RegExp(`^${slot('1')} +running +\\d+[sm] +long-build +generic +- `, 'm'));
    assert.match(r.stdout, new RegExp(`^${slot('2')} +running +\\d+[sm] +- +generic +- `, 'm'));
    assert.equal(lines.length, 4, r.stdout);
    const json = JSON.parse((await ok('ps.ts', ['--json'])).stdout) as Array<{
      name: string;
      state: string;
      kind: string;
      ephemeral: boolean;
      createdAt: string;
      age_s: number;
      job: string | null;
    }>;
    assert.deepEqual(
      json.map((c) => [c.name, c.state, c.kind, c.ephemeral, typeof c.createdAt, typeof c.age_s, c.job]),
      [
        [slot('1'), 'running', 'generic', true, 'string', 'number', 'long-build'],
        [slot('2'), 'running', 'generic', true, 'string', 'number', null],
      ],
    );
  });

  test('make start, restart and register: one line naming make supervise, exit 2, nothing started', async () => {
    for (const [script, command] of [
      ['start.ts', 'make start'],
      ['restart.ts', 'make restart'],
      ['register.ts', 'make register'],
    ]) {
      const r = await run(script!);
      assert.equal(r.code, 2, `${script}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(
        r.stderr,
        new RegExp(`^error: ${command} does not apply to an ephemeral fleet \\(RUNNER_MODE=ephemeral in \\.env\\): .*: make supervise\\n$`),
      );
    }
  });

  test('make stop: the supervisor stopped first; the busy slot left to finish its job, the idle one removed with its registration', async () => {
    const supervisor = await fakeSupervisor();
    const r = await ok('stop.ts');
    assert.equal(await supervisor.ended, 'SIGTERM', 'the supervisor got SIGTERM');
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], `stopped the supervisor (pid ${supervisor.pid}): it no longer fills the slots; make supervise starts it again`);
    assert.ok(
      lines.includes(
        `${slot('1')}: running a job: left running to finish it; it will not be replaced (the supervisor is stopped; make stop again removes what it leaves)`,
      ),
      r.stdout,
    );
    assert.ok(lines.includes(`${slot('2')}: container stopped and removed (single-use), registration deleted`), r.stdout);
    assert.equal(lines.length, 3, r.stdout);
    assert.equal((await containerState(slot('1')))?.running, true, 'the busy slot still runs its job');
    assert.equal(await containerState(slot('2')), undefined, 'the idle slot has no container any more');
    assert.equal(registration(slot('1'))?.busy, true);
    assert.equal(registration(slot('2')), undefined, 'the idle slot is unregistered');
    assert.equal(ground.github.job(longJob)?.status, 'in_progress', 'the job goes on');

    // Again, with nothing running: it says so, and the busy slot is left once more.
    const again = await ok('stop.ts');
    assert.match(again.stdout, /^no supervisor was running for this fleet$/m);
    assert.match(again.stdout, new RegExp(`^${slot('2')}: empty slot, nothing to stop$`, 'm'));
  });

  test('make rm: the supervisor stopped once confirmed; the idle slot removed, the busy one reported (exit 5)', async () => {
    await fill('2', 'ephc-idle');
    const supervisor = await fakeSupervisor();
    const r = await run('remove.ts', ['-y']);
    assert.equal(r.code, 5, `${r.stdout}${r.stderr}`);
    assert.equal(await supervisor.ended, 'SIGTERM');
    assert.match(
      r.stdout,
      new RegExp(`^stopped the supervisor \\(pid ${supervisor.pid}\\) so it does not fill the slots again; make supervise starts it again$`, 'm'),
    );
    assert.match(r.stdout, new RegExp(`^${slot('2')}: unregistered from GitHub$`, 'm'));
    assert.match(r.stdout, new RegExp(`^${slot('1')}: skipped, it is running a job`, 'm'));
    assert.match(r.stdout, new RegExp(`^removed containers and volumes: ${slot('2')}$`, 'm'));
    assert.ok(r.stdout.indexOf('stopped the supervisor') < r.stdout.indexOf(`${slot('2')}: unregistered`), 'the supervisor first');
    assert.equal(await containerState(slot('2')), undefined);
    assert.equal(registration(slot('2')), undefined);
    assert.equal((await containerState(slot('1')))?.running, true);
  });

  test('make purge: the supervisor stopped, the finished slot and its leftovers removed, the cache volume and the pid file gone', async () => {
    // The job ends: the ephemeral runner exits, GitHub deletes its registration, the container stays (restart: no).
    await dockerOk(['exec', slot('1'), 'touch', '/tmp/release']);
    assert.equal((await ground.github.waitForJob(longJob, (j) => j.status === 'completed', 60_000)).conclusion, 'success');
    await waitFor(`${slot('1')} exited`, async () => (await containerState(slot('1')))?.running === false, { timeoutMs: 60_000 });
    await waitFor(`${slot('1')} gone from GitHub`, () => registration(slot('1')) === undefined);
    assert.equal(await dockerOk(['volume', 'ls', '-q', '--filter', `name=${cache()}`]), cache());

    const supervisor = await fakeSupervisor();
    const r = await run('purge.ts', ['-y']);
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    assert.equal(await supervisor.ended, 'SIGTERM');
    assert.match(r.stdout, new RegExp(`^stopped the supervisor \\(pid ${supervisor.pid}\\)`, 'm'));
    assert.match(r.stdout, new RegExp(`^removed containers and volumes: ${slot('1')}$`, 'm'));
    assert.match(r.stdout, /^deleted \.supervisor\.[^ ]+\.pid$/m, 'the pid file the stopped (sleep) supervisor left');
    assert.match(r.stdout, new RegExp(`^removed cache volumes: ${cache()}$`, 'm'));
    assert.equal(await containerState(slot('1')), undefined);
    assert.equal(await dockerOk(['volume', 'ls', '-q', '--filter', `name=${cache()}`]), '');
    assert.deepEqual(await readdir(ground.dir), ['.env']);
    assert.deepEqual(ground.github.violations, []);
  });
});
