// Smoke test of the e2e ground: the runner simulator image (which STANDS IN for
// actions/runner, not downloadable here) registers with the GitHub stand-in,
// goes online, runs jobs with hooks, honours cancel and `docker stop` as
// actions/runner does. Real Docker engine; skipped only when none answers
// (CI runs tests/e2e/setup.sh first, which provides one).
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startGitHubStandIn } from '../../standins/github/server.ts';
import {
  assertImages,
  containerLogs,
  containerState,
  docker,
  dockerOk,
  dockerUnavailable,
  readVolumeFile,
  removeByPrefix,
  runContainer,
  SIM_IMAGE,
  uniquePrefix,
} from './helpers.ts';
import { waitFor } from '../support/wait.ts';

const skip = await dockerUnavailable();
if (skip) console.log(`# skipping the runner simulator e2e test: ${skip}`);

const ORG = 'acme';
const PAT = 'ghp_e2e_runner_sim';
const RUNNER_NAME = 'sim-e2e-1';

// Hooks print the variables they must see; the started one fails for one job.
const STARTED_HOOK = `#!/bin/bash
echo "started-hook run=$GITHUB_RUN_ID attempt=$GITHUB_RUN_ATTEMPT job=$GITHUB_JOB repo=$GITHUB_REPOSITORY workflow=$GITHUB_WORKFLOW runner=$RUNNER_NAME temp=$RUNNER_TEMP"
if [ "$GITHUB_JOB" = "hook-fails" ]; then echo "refusing this job" >&2; exit 3; fi
`;
const COMPLETED_HOOK = `#!/bin/bash
echo "completed-hook run=$GITHUB_RUN_ID attempt=$GITHUB_RUN_ATTEMPT job=$GITHUB_JOB repo=$GITHUB_REPOSITORY workflow=$GITHUB_WORKFLOW runner=$RUNNER_NAME temp=$RUNNER_TEMP"
`;

interface JobEvent {
  event: string;
  hook?: string;
  name?: string;
  exit_code?: number;
  output?: string;
  conclusion?: string;
}
interface JobView {
  status: string;
  conclusion: string | null;
  runner_name: string | null;
  events: JobEvent[];
}
interface RestRunner {
  id: number;
  name: string;
  status: string;
  busy: boolean;
  labels: { name: string; type?: string }[];
}

describe('runner simulator on a real Docker engine', { skip }, () => {
  const prefix = uniquePrefix('sim');
  const volume = `${prefix}home`;
  const container = `${prefix}runner`;
  const hooksDir = mkdtempSync(join(tmpdir(), 'rf-e2e-hooks-'));
  let github: Awaited<ReturnType<typeof startGitHubStandIn>>;
  let baseUrl: string;
  const jobIds: Record<string, number> = {};

  async function call(method: string, path: string, body?: unknown, auth?: string): Promise<{ status: number; json: any }> {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  }
  const rest = (method: string, path: string) => call(method, `/api/v3${path}`, undefined, `token ${PAT}`);
  const tokenFor = async (kind: 'registration' | 'remove') => {
    const res = await rest('POST', `/orgs/${ORG}/actions/runners/${kind}-token`);
    assert.equal(res.status, 201, JSON.stringify(res.json));
    return res.json.token as string;
  };
  const runners = async (): Promise<RestRunner[]> => (await rest('GET', `/orgs/${ORG}/actions/runners?per_page=100`)).json.runners;
  const ourRunner = async () => (await runners()).find((r) => r.name === RUNNER_NAME);
  const job = async (id: number): Promise<JobView> => (await call('GET', `/_standin/jobs/${id}`)).json;
  const enqueue = async (name: string, steps: { name: string; run: string }[]) => {
    const res = await call('POST', '/_standin/jobs', {
      org: ORG,
      repository: `${ORG}/widgets`,
      runs_on: ['self-hosted', 'sim-e2e'],
      job: name,
      workflow: 'ci',
      steps,
      env: { FROM_JOB: 'yes' },
    });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    jobIds[name] = res.json.job_id;
    return res.json as { job_id: number; run_id: number; run_attempt: number };
  };
  const completed = (id: number, timeoutMs = 30_000) =>
    waitFor(`job ${id} to complete`, async () => ((await job(id)).status === 'completed' ? job(id) : undefined), { timeoutMs });
  const hookEvent = (view: JobView, hook: string) => view.events.find((e) => e.event === 'hook' && e.hook === hook);

  before(async () => {
    await assertImages();
    github = await startGitHubStandIn();
    baseUrl = github.url.replace(/\/$/, '');
    assert.equal((await call('POST', '/_standin/scopes', { org: ORG })).status, 201);
    assert.equal((await call('POST', '/_standin/pats', { token: PAT, admin: [ORG] })).status, 201);
    writeFileSync(join(hooksDir, 'started.sh'), STARTED_HOOK);
    writeFileSync(join(hooksDir, 'completed.sh'), COMPLETED_HOOK);
    chmodSync(hooksDir, 0o755);
    for (const f of ['started.sh', 'completed.sh']) chmodSync(join(hooksDir, f), 0o755);
  });

  after(async () => {
    const logs = await containerLogs(container).catch(() => '');
    if (process.env.E2E_VERBOSE && logs) console.log(`# runner container logs:\n${logs}`);
    await removeByPrefix(prefix);
    rmSync(hooksDir, { recursive: true, force: true });
    await github?.close();
    const left = await docker(['ps', '-aq', '--filter', `name=^${prefix}`]);
    assert.equal(left.stdout.trim(), '', 'no container of this test is left behind');
  });

  const config = (args: string[], token: string) =>
    runContainer(['./config.sh', ...args], { volumes: [`${volume}:/home/runner`], env: { ACTIONS_RUNNER_INPUT_TOKEN: token } });

  test('config.sh with a bad or expired token fails like actions/runner', async () => {
    const expired = github.issueToken({ org: ORG, kind: 'registration', expires_in_s: 0 }).token;
    for (const token of ['NOT-A-TOKEN', expired]) {
      const res = await config(['--unattended', '--url', `${baseUrl}/${ORG}`, '--name', RUNNER_NAME], token);
      assert.notEqual(res.code, 0);
      assert.match(res.stdout + res.stderr, /Http response code: NotFound/);
      assert.ok(!(res.stdout + res.stderr).includes(token), 'the token must never be printed');
    }
  });

  test('config.sh registers the runner with its labels and writes .runner', async () => {
    const token = await tokenFor('registration');
    // Options as arguments and as ACTIONS_RUNNER_INPUT_* variables, as the real runner takes them.
    const res = await runContainer(['./config.sh', '--unattended', '--url', `${baseUrl}/${ORG}`, '--labels', 'sim-e2e,second', '--disableupdate'], {
      volumes: [`${volume}:/home/runner`],
      env: { ACTIONS_RUNNER_INPUT_TOKEN: token, ACTIONS_RUNNER_INPUT_NAME: RUNNER_NAME, ACTIONS_RUNNER_INPUT_REPLACE: 'true' },
    });
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.match(res.stdout, /Runner successfully added/);
    assert.match(res.stdout, /Settings Saved/);
    assert.ok(!(res.stdout + res.stderr).includes(token), 'the token must never be printed');

    const runner = await ourRunner();
    assert.ok(runner, 'the runner is registered');
    assert.deepEqual(runner.labels.map((l) => l.name).sort(), ['Linux', 'X64', 'second', 'self-hosted', 'sim-e2e'].sort());
    assert.equal(runner.status, 'offline', 'configured but not running yet');

    const settings = JSON.parse((await readVolumeFile(volume, '.runner')).replace(/^\uFEFF/, ''));
    assert.equal(settings.agentName, RUNNER_NAME);
    assert.equal(settings.agentId, runner.id);
    assert.equal(settings.gitHubUrl, `${baseUrl}/${ORG}`);
    assert.equal(settings.disableUpdate, true);
    assert.equal(settings.ephemeral, false);
    await readVolumeFile(volume, '.credentials');
    await readVolumeFile(volume, '.credentials_rsaparams');
  });

  test('config.sh refuses a runner that is already configured', async () => {
    const res = await config(['--unattended', '--url', `${baseUrl}/${ORG}`, '--name', RUNNER_NAME], await tokenFor('registration'));
    assert.notEqual(res.code, 0);
    assert.match(res.stdout + res.stderr, /Cannot configure the runner because it is already configured/);
  });

  test('run.sh brings the runner online', async () => {
    const res = await runContainer(['./run.sh'], {
      detach: true,
      name: container,
      volumes: [`${volume}:/home/runner`, `${hooksDir}:/hooks:ro`],
      env: {
        ACTIONS_RUNNER_INPUT_TOKEN: 'must-not-reach-jobs', // the runner scrubs ACTIONS_RUNNER_INPUT_*
        ACTIONS_RUNNER_HOOK_JOB_STARTED: '/hooks/started.sh',
        ACTIONS_RUNNER_HOOK_JOB_COMPLETED: '/hooks/completed.sh',
      },
    });
    assert.equal(res.code, 0, res.stderr);
    await waitFor('the runner to be online', async () => (await ourRunner())?.status === 'online', { timeoutMs: 20_000 });
  });

  test('a job runs on it, with both hooks seeing the job variables', async () => {
    const created = await enqueue('build', [
      { name: 'hello', run: 'echo "hello from $RUNNER_NAME in $(pwd) job-env=$FROM_JOB"' },
      { name: 'whoami', run: 'id -u' },
      { name: 'scrubbed', run: 'env | grep -c must-not-reach-jobs || true' },
    ]);
    const view = await completed(created.job_id);
    assert.equal(view.conclusion, 'success', JSON.stringify(view.events));
    assert.equal(view.runner_name, RUNNER_NAME);
    const expected = `run=${created.run_id} attempt=${created.run_attempt} job=build repo=${ORG}/widgets workflow=ci runner=${RUNNER_NAME} temp=/home/runner/_work/_temp`;
    assert.ok(hookEvent(view, 'job_started')?.output?.includes(`started-hook ${expected}`), JSON.stringify(view.events));
    assert.ok(hookEvent(view, 'job_completed')?.output?.includes(`completed-hook ${expected}`), JSON.stringify(view.events));
    const steps = view.events.filter((e) => e.event === 'step');
    assert.deepEqual(
      steps.map((s) => [s.name, s.exit_code]),
      [
        ['hello', 0],
        ['whoami', 0],
        ['scrubbed', 0],
      ],
    );
    assert.match(steps[0]?.output ?? '', /hello from sim-e2e-1 in \/home\/runner\/_work\/widgets\/widgets job-env=yes/);
    assert.equal(steps[1]?.output?.trim(), '1001');
    assert.equal(steps[2]?.output?.trim(), '0', 'ACTIONS_RUNNER_INPUT_* must not reach jobs');
    assert.deepEqual(
      view.events.map((e) => e.event),
      ['started', 'hook', 'step', 'step', 'step', 'hook', 'completed'],
    );
  });

  test('a failing started hook fails the job and skips its steps; the completed hook still runs', async () => {
    const created = await enqueue('hook-fails', [{ name: 'never', run: 'echo should-not-run' }]);
    const view = await completed(created.job_id);
    assert.equal(view.conclusion, 'failure');
    assert.equal(hookEvent(view, 'job_started')?.exit_code, 3);
    assert.match(hookEvent(view, 'job_started')?.output ?? '', /refusing this job/);
    assert.equal(view.events.filter((e) => e.event === 'step').length, 0, 'steps are skipped');
    assert.ok(hookEvent(view, 'job_completed'), 'the completed hook ran');
  });

  test('a cancel stops the step and still runs the completed hook', async () => {
    const created = await enqueue('cancel-me', [{ name: 'long', run: 'echo begun; sleep 120' }]);
    await waitFor('the job to start', async () => (await job(created.job_id)).events.some((e) => e.event === 'hook'));
    // Into the step: a cancel that comes before it would skip it (StepsRunner.cs), not stop it.
    await new Promise((r) => setTimeout(r, 1500));
    const started = Date.now();
    assert.equal((await call('POST', `/_standin/jobs/${created.job_id}/cancel`)).status, 202);
    const view = await completed(created.job_id, 20_000);
    assert.ok(Date.now() - started < 15_000, 'the cancel was prompt');
    assert.equal(view.conclusion, 'cancelled');
    assert.match(view.events.find((e) => e.event === 'step')?.output ?? '', /begun/);
    assert.ok(hookEvent(view, 'job_completed'), 'the completed hook ran after the cancel');
    await waitFor('the runner to be idle', async () => (await ourRunner())?.busy === false);
  });

  test('docker stop mid-job: no completed hook, the runner goes offline, run.sh exits cleanly', async () => {
    const created = await enqueue('stopped', [{ name: 'long', run: 'echo begun; sleep 120' }]);
    await waitFor('the job to run', async () => (await job(created.job_id)).events.some((e) => e.event === 'hook'));
    await waitFor('the runner to be busy', async () => (await ourRunner())?.busy === true);
    await dockerOk(['stop', '--time', '10', container], { timeoutMs: 30_000 });

    const state = await containerState(container);
    assert.equal(state?.running, false);
    // run.sh's trap: SIGTERM forwarded as SIGINT to the runner's group, then exit 128 + SIGTERM (run.sh)
    assert.equal(state?.exitCode, 143, await containerLogs(container));
    const view = await job(created.job_id);
    assert.equal(hookEvent(view, 'job_completed'), undefined, 'the completed hook must not run on shutdown (actions/runner#2595)');
    assert.equal(view.conclusion, 'cancelled', 'the Listener reports the job it stopped');
    const runner = await ourRunner();
    assert.equal(runner?.status, 'offline');
    assert.equal(runner?.busy, false);
    assert.match(await containerLogs(container), /Exiting\.\.\./);
  });

  test('config.sh remove unregisters the runner and deletes its files', async () => {
    const res = await runContainer(['./config.sh', 'remove', '--token', await tokenFor('remove')], {
      volumes: [`${volume}:/home/runner`],
    });
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.match(res.stdout, /Runner removed successfully/);
    assert.equal(await ourRunner(), undefined);
    const files = await runContainer(['ls', '-A', '/home/runner'], { volumes: [`${volume}:/home/runner`] });
    assert.doesNotMatch(files.stdout, /^\.runner$|^\.credentials/m);
  });

  test('an ephemeral runner takes one job, is removed by the server and exits 0', async () => {
    const ephVolume = `${prefix}eph-home`;
    const ephContainer = `${prefix}eph-runner`;
    const res = await runContainer(
      ['./config.sh', '--unattended', '--url', `${baseUrl}/${ORG}`, '--name', 'sim-e2e-eph', '--labels', 'sim-eph', '--ephemeral'],
      { volumes: [`${ephVolume}:/home/runner`], env: { ACTIONS_RUNNER_INPUT_TOKEN: await tokenFor('registration') } },
    );
    assert.equal(res.code, 0, res.stdout + res.stderr);
    await dockerOk(['run', '-d', '--name', ephContainer, '--network', 'host', '-v', `${ephVolume}:/home/runner`, SIM_IMAGE, './run.sh']);
    const created = await call('POST', '/_standin/jobs', {
      org: ORG,
      repository: `${ORG}/widgets`,
      runs_on: ['sim-eph'],
      job: 'once',
      steps: [{ name: 'one', run: 'true' }],
    });
    const view = await completed(created.json.job_id);
    assert.equal(view.conclusion, 'success');
    assert.equal(view.runner_name, 'sim-e2e-eph');
    const state = await waitFor('the ephemeral runner to exit', async () => {
      const s = await containerState(ephContainer);
      return s && !s.running ? s : undefined;
    });
    assert.equal(state.exitCode, 0, await containerLogs(ephContainer));
    assert.equal(
      (await runners()).find((r) => r.name === 'sim-e2e-eph'),
      undefined,
    );
  });

  test('a JIT runner (run.sh, ACTIONS_RUNNER_INPUT_JITCONFIG) takes exactly one job, exits 0, is gone from GitHub and leaves no config; used again it stops', async () => {
    const jitVolume = `${prefix}jit-home`;
    const jitContainer = `${prefix}jit-runner`;
    const name = 'sim-e2e-jit';
    const generated = await call(
      'POST',
      `/api/v3/orgs/${ORG}/actions/runners/generate-jitconfig`,
      { name, runner_group_id: 1, labels: ['sim-jit'] },
      `token ${PAT}`,
    );
    assert.equal(generated.status, 201, JSON.stringify(generated.json));
    const encoded = generated.json.encoded_jit_config as string;
    const started = await runContainer(['./run.sh'], {
      detach: true,
      name: jitContainer,
      volumes: [`${jitVolume}:/home/runner`],
      env: { ACTIONS_RUNNER_INPUT_JITCONFIG: encoded },
    });
    assert.equal(started.code, 0, started.stderr);
    await waitFor('the JIT runner to be online', async () => (await runners()).find((r) => r.name === name)?.status === 'online', { timeoutMs: 20_000 });
    const jitJob = async (job: string, steps: { name: string; run: string }[]) => {
      const res = await call('POST', '/_standin/jobs', { org: ORG, repository: `${ORG}/widgets`, runs_on: ['sim-jit'], job, steps });
      assert.equal(res.status, 201, JSON.stringify(res.json));
      return res.json.job_id as number;
    };
    const first = await jitJob('jit-once', [
      { name: 'inputs', run: 'env | grep -c ^ACTIONS_RUNNER_INPUT_ || true' },
      { name: 'config', run: `env | grep -cF '${encoded.slice(0, 40)}' || true` },
      { name: 'configured', run: 'ls -A /home/runner | grep -c "^\\.runner$" || true' },
    ]);
    const second = await jitJob('jit-never', [{ name: 'never', run: 'true' }]);
    const view = await completed(first);
    assert.equal(view.conclusion, 'success', JSON.stringify(view.events));
    assert.equal(view.runner_name, name);
    assert.deepEqual(
      view.events.filter((e) => e.event === 'step').map((e) => e.output?.trim()),
      ['0', '0', '1'],
      "ACTIONS_RUNNER_INPUT_JITCONFIG is not in the job's environment; the JIT config made .runner",
    );

    const state = await waitFor('the JIT runner to exit', async () => {
      const s = await containerState(jitContainer);
      return s && !s.running ? s : undefined;
    });
    const logs = await containerLogs(jitContainer);
    assert.equal(state.exitCode, 0, logs);
    assert.match(logs, /√ Removed \.credentials\n√ Removed \.runner/);
    assert.match(logs, /Runner listener exit with 0 return code, stop the service, no retry needed\.\nExiting runner\.\.\./);
    assert.ok(!logs.includes(encoded), 'the JIT config is never printed');
    assert.equal((await job(second)).status, 'queued', 'exactly one job');
    assert.equal((await call('POST', `/_standin/jobs/${second}/cancel`)).status, 202);
    assert.equal(
      (await runners()).find((r) => r.name === name),
      undefined,
      'GitHub deleted the ephemeral runner',
    );
    const files = await runContainer(['ls', '-A', '/home/runner'], { volumes: [`${jitVolume}:/home/runner`] });
    assert.doesNotMatch(files.stdout, /^\.runner$|^\.credentials/m, 'its local config is deleted');

    // The same config again, as an argument: written again, the session refused (the runner is gone): run.sh ends, 0.
    const again = await runContainer(['./run.sh', '--jitconfig', encoded], { volumes: [`${jitVolume}:/home/runner`], timeoutMs: 60_000 });
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stderr, /Failed to create a session\. The runner registration has been deleted from the server, please re-configure\./);
    assert.match(again.stdout, /Runner listener exit with terminated error, stop the service, no retry needed\./);
  });

  test('the stand-in saw no violation of the REST spec', () => {
    assert.deepEqual(github.violations, []);
  });
});
