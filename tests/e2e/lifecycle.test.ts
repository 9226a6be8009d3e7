// End to end on a real Docker engine: init → jobs by label → stop/start/restart
// → rm → image rebuild on Dockerfile change → compose → purge. The runners
// are the runner simulator (standins/runner), which stands in for
// actions/runner (it cannot be downloaded here); GitHub is the stand-in.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import type { GitHubStandIn } from '../../standins/github/server.ts';
import { containerState, docker, dockerOk, dockerUnavailable, SIM_IMAGE } from './helpers.ts';
import { waitFor } from '../support/wait.ts';
import type { ScriptResult } from '../support/cli.ts';
import { customImage, startGround, type Ground } from '../support/ground.ts';

const skip = await dockerUnavailable();
if (skip) console.log(`# skipping the lifecycle e2e test: ${skip}`);

const ORG = 'acme';

describe('fleet lifecycle on a real engine', { skip, timeout: 600_000 }, () => {
  let ground: Ground;
  let github: GitHubStandIn;
  let dir: string;
  let prefix: string;
  const started = Date.now();

  const run = async (script: string, args: string[] = []): Promise<ScriptResult> => {
    const result = await ground.run(script, args);
    for (const stream of [result.stdout, result.stderr]) {
      assert.ok(!stream.includes(ground.pat), `${script} printed the PAT`);
    }
    return result;
  };
  const ok = async (script: string, args: string[] = []): Promise<ScriptResult> => {
    const result = await run(script, args);
    assert.equal(result.code, 0, `${script} ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
    return result;
  };
  const runner = (short: string) => `${prefix}runner-${short}`;
  const registered = () => github.runners(ORG);
  const online = (name: string) => registered().find((r) => r.name === name)?.status === 'online';
  const volumesOf = async () => (await dockerOk(['volume', 'ls', '-q'])).split('\n').filter((v) => v.startsWith(prefix));
  const containersOf = async () => (await dockerOk(['ps', '-a', '--format', '{{.Names}}'])).split('\n').filter((c) => c.startsWith(prefix));

  before(async () => {
    ground = await startGround('lifecycle', { scriptTimeoutMs: 300_000 });
    ({ github, dir } = ground);
    prefix = ground.prefix('life');
    await ground.writeEnv(prefix, [`RUNNER_CUSTOM_IMAGE=${customImage(prefix)}`, 'BOARD_RUNNERS=pi:pi;roc:roc,arm64']);
  });

  // The fleet's containers, volumes and images (the custom one too) go with the ground.
  after(async () => {
    await ground?.close();
    console.log(`# lifecycle e2e wall time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  test('init N=2 with two boards: four containers running, registered with their labels, one token call', async () => {
    const result = await ok('init.ts', ['-n', '2']);
    assert.match(result.stdout, /\[4\/4\]/, 'registration progress lines');
    const names = ['1', '2', 'pi', 'roc'].map(runner);
    for (const name of names) assert.equal((await containerState(name))?.status, 'running', name);
    const labels = Object.fromEntries(
      registered().map((r) => [r.name, r.labels.map((l) => l.name).filter((l) => !['self-hosted', 'Linux', 'X64'].includes(l))]),
    );
    assert.deepEqual(labels, { [runner('1')]: ['intel'], [runner('2')]: ['intel'], [runner('pi')]: ['pi'], [runner('roc')]: ['roc', 'arm64'] });
    assert.equal(github.calls().by_operation['actions/create-registration-token-for-org'], 1, 'one token for the fleet');
    assert.match(
      result.stdout,
      /4 runner\(s\): 4 online, 0 busy, 0 orphan\(s\), 0 unregistered/,
      'init waits for the runners to connect, then prints the table',
    );
    assert.ok(names.every(online));
    assert.deepEqual(github.violations, []);

    const composeFile = join(dir, `docker-compose.${ORG}.yml`);
    const { stdout } = await promisify(execFile)('docker-compose', ['-f', composeFile, 'config', '--services']);
    assert.deepEqual(stdout.trim().split('\n').sort(), names.sort());
  });

  test('init again: nothing to register, no new token, no rebuild', async () => {
    github.resetCalls();
    const result = await ok('init.ts', ['-n', '2']);
    assert.doesNotMatch(result.stderr, /Building/);
    assert.match(result.stdout, /already configured, skipped/);
    assert.equal(github.calls().by_operation['actions/create-registration-token-for-org'] ?? 0, 0);
  });

  test('a job for each label runs on the runner carrying it', async () => {
    const jobs = [
      { runs_on: ['intel'], expect: [runner('1'), runner('2')] },
      { runs_on: ['pi'], expect: [runner('pi')] },
      { runs_on: ['roc', 'arm64'], expect: [runner('roc')] },
    ].map((spec) => ({
      ...spec,
      id: github.enqueueJob({
        org: ORG,
        repository: `${ORG}/kernel`,
        runs_on: spec.runs_on,
        job: 'build',
        steps: [{ name: 'hi', run: 'echo "on $RUNNER_NAME"' }],
      }).job_id,
    }));
    for (const job of jobs) {
      const done = await github.waitForJob(job.id, (j) => j.status === 'completed', 30_000);
      assert.equal(done.conclusion, 'success');
      assert.ok(job.expect.includes(done.runner_name ?? ''), `${job.runs_on.join(',')} ran on ${done.runner_name}`);
    }
  });

  test('stop --drain lets the running job finish, then stops the runner', async () => {
    const { job_id } = github.enqueueJob({ org: ORG, repository: `${ORG}/kernel`, runs_on: ['pi'], job: 'flash', steps: [{ name: 'flash', run: 'sleep 4' }] });
    await github.waitForJob(job_id, (j) => j.status === 'in_progress', 20_000);
    const result = await ok('stop.ts', ['--drain', 'pi']);
    assert.match(result.stdout, /running a job; waiting until it is idle/);
    const job = github.job(job_id);
    assert.equal(job?.status, 'completed');
    assert.equal(job?.conclusion, 'success', 'the job was not cut short');
    assert.equal((await containerState(runner('pi')))?.running, false);
    await ok('start.ts', ['pi']);
    await waitFor('pi online again', () => online(runner('pi')), { timeoutMs: 20_000 });
  });

  test('stop, start and restart one runner; unknown names are reported', async () => {
    await ok('stop.ts', ['runner-1']);
    assert.equal((await containerState(runner('1')))?.running, false);
    await waitFor('runner-1 offline', () => !online(runner('1')), { timeoutMs: 15_000 });
    assert.equal((await containerState(runner('2')))?.running, true, 'the others keep running');

    await ok('start.ts', [runner('1')]);
    await waitFor('runner-1 online again', () => online(runner('1')), { timeoutMs: 20_000 });

    const before = await dockerOk(['inspect', '--format', '{{.State.StartedAt}}', runner('pi')]);
    await ok('restart.ts', ['pi']);
    assert.notEqual(await dockerOk(['inspect', '--format', '{{.State.StartedAt}}', runner('pi')]), before);
    await waitFor('pi online after restart', () => online(runner('pi')), { timeoutMs: 20_000 });

    const unknown = await run('stop.ts', ['nosuch']);
    assert.equal(unknown.code, 2, 'an unknown runner name is exit 2');
    assert.match(unknown.stderr, /unknown runner 'nosuch'/);
  });

  test('rm one runner: container, volumes and registration gone, the rest untouched', async () => {
    await ok('remove.ts', ['-y', runner('1')]);
    assert.equal(await containerState(runner('1')), undefined);
    assert.ok(!(await volumesOf()).some((v) => v.startsWith(`${runner('1')}-`)));
    assert.ok(!registered().some((r) => r.name === runner('1')));
    assert.equal(registered().length, 3);
    assert.equal((await containerState(runner('2')))?.running, true);
  });

  test('compose keeps the fleet’s generic runners (highest index, found by label): runner-2 is not dropped', async () => {
    await ok('compose.ts');
    const services = Object.keys(parse(await readFile(join(dir, `docker-compose.${ORG}.yml`), 'utf8')).services);
    assert.deepEqual(services, [runner('1'), runner('2'), runner('pi'), runner('roc')]);
  });

  test('a Dockerfile edit triggers exactly one rebuild; no edit, none', async () => {
    await writeFile(join(dir, 'Dockerfile'), `FROM ${SIM_IMAGE}\nCOPY board-tools.txt /opt/board-tools.txt\n`);
    await writeFile(join(dir, 'board-tools.txt'), 'v1\n');
    const first = await ok('image.ts');
    assert.match(first.stdout, /built/);
    assert.match(first.stderr, /Building your Dockerfile/);
    assert.match((await ok('image.ts')).stdout, /up to date/);
    const fleetImage = `gh-runner-fleet:${prefix.replace(/-$/, '')}`;
    const before = await dockerOk(['image', 'inspect', '--format', '{{.Id}}', fleetImage]);
    await writeFile(join(dir, 'board-tools.txt'), 'v2\n'); // a file the Dockerfile copies
    assert.match((await ok('image.ts')).stdout, / built /);
    assert.notEqual((await docker(['image', 'inspect', before])).code, 0, 'the replaced image is removed, not left dangling');
    assert.match((await ok('image.ts')).stdout, /up to date/);
    await docker(['rmi', '-f', `gh-runner-fleet:${prefix.replace(/-$/, '')}`]);
    assert.match((await ok('image.ts')).stdout, / built /, 'a deleted image is rebuilt');
  });

  test('purge -y leaves no container, volume, registration, image or generated file', async () => {
    const result = await ok('purge.ts', ['-y']);
    assert.match(result.stdout, /^removed images: /m);
    const project = prefix.replace(/-$/, '');
    assert.equal(
      await dockerOk(['images', '-q', '--filter', `label=dev.gh-runner-fleet.project=${project}`]),
      '',
      'no image of this scope is left, dangling ones included',
    );
    assert.deepEqual(await containersOf(), []);
    assert.deepEqual(await volumesOf(), []);
    assert.deepEqual(registered(), []);
    assert.deepEqual((await readdir(dir)).sort(), ['.env', 'Dockerfile', 'board-tools.txt']);
    assert.ok(existsSync(join(dir, '.env')), '.env is the user’s');
    assert.deepEqual(github.violations, []);
  });
});
