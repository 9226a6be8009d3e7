// The runner simulator (standins/runner, STANDS IN for actions/runner) holds
// to actions/runner's behaviours listed in standins/runner/PROTOCOL.md:
// cancel leaves an always() hook running and kills the worker only after the
// cancel timeout, trace lines in _diag and on stdout, run.sh's signal trap,
// session conflicts, process names, root refusal, .env, self-update.
// Real Docker engine; skipped when none answers (fails under CI=true).
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startGitHubStandIn } from '../../standins/github/server.ts';
import { registrationUrl } from '../../standins/runner/config.ts';
import { loadRunnerEnvFile } from '../../standins/runner/env-file.ts';
import {
  assertImages,
  containerLogs,
  containerState,
  docker,
  dockerOk,
  dockerUnavailable,
  execIn,
  removeByPrefix,
  runContainer,
  uniquePrefix,
} from './helpers.ts';
import { waitFor } from '../support/wait.ts';

describe('runner simulator: pure rules', () => {
  test('registration URL: scheme://host (never the port) as ConfigurationManager.cs builds it', () => {
    assert.equal(registrationUrl('https://github.com/acme'), 'https://api.github.com/actions/runner-registration');
    assert.equal(registrationUrl('https://ghe.example.com:8443/acme'), 'https://ghe.example.com/api/v3/actions/runner-registration');
    assert.equal(registrationUrl('http://127.0.0.1:4321/acme/widgets'), 'http://127.0.0.1/api/v3/actions/runner-registration');
    assert.equal(registrationUrl('https://octo.ghe.com/acme'), 'https://api.octo.ghe.com/actions/runner-registration');
  });

  test('.env: KEY=value verbatim, KEY= unsets, lines without = or starting with = are ignored', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-env-'));
    try {
      writeFileSync(join(dir, '.env'), 'A=1\r\nB= spaced "quoted" \nGONE=\n# comment\n=x\nC=a=b\n');
      const env: NodeJS.ProcessEnv = { GONE: 'here', A: 'old' };
      loadRunnerEnvFile(dir, env);
      assert.deepEqual(env, { A: '1', B: ' spaced "quoted" ', C: 'a=b' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('github stand-in: the runner-protocol rules the simulator relies on', () => {
  test('session conflict while the old session lives, cancel/update messages on the poll, URL check, seeded runners driven', async () => {
    const em = await startGitHubStandIn({ offlineAfterMs: 300, sessionExpiryMs: 300 });
    try {
      em.addScope('acme');
      const call = async (method: string, path: string, body?: unknown, auth?: string) => {
        const res = await fetch(`${em.url}${path}`, {
          method,
          headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        return { status: res.status, json: text ? JSON.parse(text) : undefined };
      };
      const token = em.issueToken({ org: 'acme', kind: 'registration' }).token;
      const elsewhere = await call(
        'POST',
        '/api/v3/actions/runner-registration',
        { url: 'https://github.com/acme', runner_event: 'register' },
        `RemoteAuth ${token}`,
      );
      assert.equal(elsewhere.status, 404, 'a URL that is not this server is refused');
      const reg = await call('POST', '/api/v3/actions/runner-registration', { url: `${em.url}/acme`, runner_event: 'register' }, `RemoteAuth ${token}`);
      assert.equal(reg.status, 200);
      const agent = await call('POST', '/_runner/agents', { name: 'r', labels: ['x'] }, `Bearer ${reg.json.token}`);
      const auth = `Bearer ${agent.json.credentials.runner_token}`;
      const first = await call('POST', '/_runner/sessions', { version: '2.336.0' }, auth);
      assert.equal(first.status, 200);
      const conflict = await call('POST', '/_runner/sessions', {}, auth);
      assert.equal(conflict.status, 409);
      await new Promise((r) => setTimeout(r, 400));
      const second = await call('POST', '/_runner/sessions', {}, auth);
      assert.equal(second.status, 200, 'the silent session expired');
      const sid = second.json.session_id as string;

      const job = em.enqueueJob({ org: 'acme', runs_on: ['x'], cancel_timeout_minutes: 2 });
      assert.equal((await call('GET', `/_runner/jobs/next?session_id=${sid}&wait_ms=1000`, undefined, auth)).json.job_id, job.job_id);
      const poll = call('GET', `/_runner/jobs/next?session_id=${sid}&wait_ms=5000`, undefined, auth);
      await new Promise((r) => setTimeout(r, 50));
      em.cancelJob(job.job_id);
      assert.deepEqual((await poll).json, { type: 'cancel', job_id: job.job_id, timeout_minutes: 2 });
      em.updateRunner(agent.json.id, '2.400.0');
      assert.deepEqual((await call('GET', `/_runner/jobs/next?session_id=${sid}&wait_ms=0`, undefined, auth)).json, {
        type: 'update',
        target_version: '2.400.0',
      });

      const [seeded] = em.seedRunners({ org: 'acme', name: 'seeded', busy: true });
      assert.equal(seeded?.busy, true);
      assert.deepEqual((({ status, busy }) => ({ status, busy }))(em.driveRunner(seeded?.id ?? 0, { busy: false, status: 'offline' })), {
        status: 'offline',
        busy: false,
      });
      assert.throws(() => em.driveRunner(agent.json.id, { busy: true }), /follows what it does/);
      assert.deepEqual(em.violations, []);
    } finally {
      await em.close();
    }
  });
});

const skip = await dockerUnavailable();
if (skip && process.env.CI === 'true') throw new Error(`no Docker engine under CI: ${skip}`);

const ORG = 'acme';
// Hooks and steps are written into a directory mounted read-only at /hooks.
const WAITING_HOOK = `#!/bin/bash
echo "hook waiting for $GITHUB_JOB"
trap 'echo "hook got SIGINT"' INT
while [ ! -e /tmp/release-hook ]; do sleep 0.2; done
echo "hook released"
`;

describe('runner simulator behaves like actions/runner', { skip }, () => {
  const prefix = uniquePrefix('simbeh');
  const hooksDir = mkdtempSync(join(tmpdir(), 'rf-simbeh-hooks-'));
  let github: Awaited<ReturnType<typeof startGitHubStandIn>>;

  before(async () => {
    await assertImages();
    github = await startGitHubStandIn({ offlineAfterMs: 3000, sessionExpiryMs: 3000 });
    github.addScope(ORG);
    writeFileSync(join(hooksDir, 'wait.sh'), WAITING_HOOK);
    chmodSync(hooksDir, 0o755);
    chmodSync(join(hooksDir, 'wait.sh'), 0o755);
  });

  after(async () => {
    await removeByPrefix(prefix);
    rmSync(hooksDir, { recursive: true, force: true });
    await github?.close();
  });

  /** Configures a runner on a fresh volume and returns its volume name. */
  async function configure(name: string, extra: string[] = []): Promise<string> {
    const volume = `${prefix}${name}-home`;
    const token = github.issueToken({ org: ORG, kind: 'registration' }).token;
    const res = await runContainer(['./config.sh', '--unattended', '--url', `${github.url}/${ORG}`, '--name', name, '--labels', name, ...extra], {
      volumes: [`${volume}:/home/runner`],
      env: { ACTIONS_RUNNER_INPUT_TOKEN: token },
    });
    assert.equal(res.code, 0, res.stdout + res.stderr);
    return volume;
  }

  async function start(name: string, volume: string, env: Record<string, string> = {}): Promise<string> {
    const container = `${prefix}${name}`;
    await docker(['rm', '-f', container]);
    const res = await runContainer(['./run.sh'], { detach: true, name: container, volumes: [`${volume}:/home/runner`, `${hooksDir}:/hooks:ro`], env });
    assert.equal(res.code, 0, res.stderr);
    await waitFor(`${name} online`, () => github.runners(ORG).find((r) => r.name === name)?.status === 'online', { timeoutMs: 20_000 });
    return container;
  }

  test('cancel while the started hook runs: the hook is not cancelled; trace lines in _diag and on stdout; the worker is killed after the cancel timeout', async () => {
    const volume = await configure('cancel-hook');
    const container = await start('cancel-hook', volume, {
      ACTIONS_RUNNER_HOOK_JOB_STARTED: '/hooks/wait.sh',
      RUNNER_SIM_CANCEL_TIMEOUT_MS: '4000',
    });
    const job = github.enqueueJob({ org: ORG, runs_on: ['cancel-hook'], job: 'waits', steps: [{ name: 'never', run: 'echo step-ran' }] });
    await github.waitForJob(job.job_id, (j) => j.events.some((e) => e.event === 'started'), 15_000);
    // The worker is Runner.Worker, child of Runner.Listener; the hook is its child.
    const procs = await waitFor('the hook to run', async () => {
      const ps = await execIn(container, [
        'bash',
        '-c',
        'for p in /proc/[0-9]*; do echo "${p#/proc/} $(cut -d" " -f4 $p/stat) $(cat $p/comm) $(tr "\\0" " " < $p/cmdline)"; done',
      ]);
      return ps.stdout.includes('wait.sh') ? ps.stdout : undefined;
    });
    const rows = procs
      .trim()
      .split('\n')
      .map((l) => l.split(' '));
    const worker = rows.find((r) => r[2] === 'Runner.Worker');
    const listener = rows.find((r) => r[2] === 'Runner.Listener');
    assert.ok(worker && listener, procs);
    assert.equal(worker[1], listener[0], 'the worker is a child of the listener');
    assert.match(worker.slice(3).join(' '), /\/home\/runner\/bin\/Runner\.Worker .* spawnclient \d+ \d+/);
    const hook = rows.find((r) => r.join(' ').includes('/hooks/wait.sh'));
    assert.equal(hook?.[1], worker[0], 'the hook is a child of the worker');

    const cancelledAt = Date.now();
    github.cancelJob(job.job_id);
    await waitFor(
      'the cancel trace lines on stdout',
      async () => {
        const logs = await containerLogs(container);
        return (
          /\[RUNNER \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ INFO JobDispatcher\] Job cancellation request \d+ received, cancellation timeout 5 minutes\./.test(logs) &&
          /\[WORKER \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ INFO Worker\] Cancellation\/Shutdown message received\./.test(logs)
        );
      },
      { timeoutMs: 10_000 },
    );
    const diag = await execIn(container, ['bash', '-c', 'cat /home/runner/_diag/Worker_*-utc.log /home/runner/_diag/Runner_*-utc.log']);
    assert.match(diag.stdout, /^\[\S+ \S+Z INFO Worker\] Cancellation\/Shutdown message received\.$/m);
    assert.match(diag.stdout, /^\[\S+ \S+Z INFO JobDispatcher\] Job cancellation request \d+ received, cancellation timeout 5 minutes\.$/m);
    // The hook keeps running (always()): still there 2 s after the cancel.
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(github.job(job.job_id)?.status, 'in_progress', 'the job waits for its hook');
    const done = await github.waitForJob(job.job_id, (j) => j.status === 'completed', 20_000);
    const elapsed = Date.now() - cancelledAt;
    assert.ok(elapsed >= 3500, `the worker was killed after the cancel timeout, not at once (${elapsed} ms)`);
    assert.equal(done.conclusion, 'cancelled');
    assert.equal(done.events.filter((e) => e.event === 'step').length, 0, 'steps are skipped');
    assert.match(await containerLogs(container), /haven't exit within cancellation timout, kill running worker/);
    await dockerOk(['rm', '-f', container]);
  });

  test('cancel while the hook runs, hook ends by itself: steps skipped, completed hook runs, job cancelled', async () => {
    const volume = await configure('cancel-ends');
    const container = await start('cancel-ends', volume, {
      ACTIONS_RUNNER_HOOK_JOB_STARTED: '/hooks/wait.sh',
      ACTIONS_RUNNER_HOOK_JOB_COMPLETED: '/hooks/wait.sh',
    });
    const job = github.enqueueJob({ org: ORG, runs_on: ['cancel-ends'], job: 'waits', steps: [{ name: 'never', run: 'echo step-ran' }] });
    await github.waitForJob(job.job_id, (j) => j.events.some((e) => e.event === 'started'), 15_000);
    github.cancelJob(job.job_id);
    await new Promise((r) => setTimeout(r, 1000));
    await execIn(container, ['touch', '/tmp/release-hook']);
    const done = await github.waitForJob(job.job_id, (j) => j.status === 'completed', 15_000);
    assert.equal(done.conclusion, 'cancelled');
    assert.deepEqual(
      done.events.map((e) => (e.event === 'hook' ? `hook:${String(e.hook)}` : e.event)),
      ['started', 'hook:job_started', 'hook:job_completed', 'completed'],
    );
    await dockerOk(['rm', '-f', container]);
  });

  test('docker stop mid-job: SIGINT to the group, job reported cancelled, session deleted, run.sh exits 143; next start has no session conflict', async () => {
    const volume = await configure('stopped');
    let container = await start('stopped', volume);
    const job = github.enqueueJob({ org: ORG, runs_on: ['stopped'], steps: [{ name: 'long', run: 'echo begun; sleep 120' }] });
    await github.waitForJob(job.job_id, (j) => j.events.some((e) => e.event === 'started'), 15_000);
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    await dockerOk(['stop', '--time', '30', container], { timeoutMs: 60_000 });
    const stopMs = Date.now() - t0;
    assert.ok(stopMs < 10_000, `stopped in ${stopMs} ms`);
    assert.equal((await containerState(container))?.exitCode, 143);
    const view = github.job(job.job_id);
    assert.equal(view?.conclusion, 'cancelled', JSON.stringify(view));
    assert.equal(
      view?.events.find((e) => e.event === 'hook'),
      undefined,
    );
    const logs = await containerLogs(container);
    assert.match(logs, /Exiting\.\.\./);
    assert.match(logs, /Runner listener exit with 0 return code/);
    assert.equal(github.runners(ORG).find((r) => r.name === 'stopped')?.status, 'offline');
    container = await start('stopped', volume);
    assert.doesNotMatch(await containerLogs(container), /A session for this runner already exists/);
    await dockerOk(['rm', '-f', container]);
  });

  test('SIGKILL leaves the session: the next start gets a session conflict and retries until it expires', async () => {
    const volume = await configure('killed');
    let container = await start('killed', volume);
    await dockerOk(['kill', container]);
    container = `${prefix}killed`;
    await docker(['rm', '-f', container]);
    const res = await runContainer(['./run.sh'], {
      detach: true,
      name: container,
      volumes: [`${volume}:/home/runner`],
      env: { RUNNER_SIM_SESSION_RETRY_MS: '4000' },
    });
    assert.equal(res.code, 0, res.stderr);
    // (The killed runner still shows online until offlineAfterMs passes: wait for the new Listener itself.)
    const logs = await waitFor(
      'back online',
      async () => {
        const text = await containerLogs(container);
        return /Listening for Jobs/.test(text) ? text : undefined;
      },
      { timeoutMs: 30_000 },
    ).catch(async (err: unknown) => {
      throw new Error(`${String(err)}\n${await containerLogs(container)}`);
    });
    assert.equal(github.runners(ORG).find((r) => r.name === 'killed')?.status, 'online');
    assert.match(logs, /A session for this runner already exists\./);
    assert.match(logs, /Runner connect error: .*Retrying until reconnected\./);
    await dockerOk(['rm', '-f', container]);
  });

  test('root is refused unless RUNNER_ALLOW_RUNASROOT; unknown config.sh flags only warn', async () => {
    const asRoot = await runContainer(['./run.sh'], { user: '0' });
    assert.match(asRoot.stdout, /Must not run interactively with sudo/);
    const cfgRoot = await runContainer(['./config.sh', '--unattended'], { user: '0' });
    assert.equal(cfgRoot.code, 1);
    assert.match(cfgRoot.stdout, /Must not run with sudo/);
    const allowed = await runContainer(['./config.sh', '--unattended'], { user: '0', env: { RUNNER_ALLOW_RUNASROOT: '1' } });
    assert.doesNotMatch(allowed.stdout, /Must not run with sudo/);
    const token = github.issueToken({ org: ORG, kind: 'registration' }).token;
    const res = await runContainer(['./config.sh', '--unattended', '--url', `${github.url}/${ORG}`, '--name', 'flags', '--no-such-flag', '--color', 'blue'], {
      env: { ACTIONS_RUNNER_INPUT_TOKEN: token },
    });
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.match(res.stderr, /Unrecognized command-line input arguments for command configure: 'no-such-flag, color'/);
  });

  test('.env is re-read at every Listener start; an update message restarts the runner at the new version', async () => {
    const volume = await configure('updated');
    await runContainer(['bash', '-c', 'echo "ACTIONS_RUNNER_HOOK_JOB_STARTED=/hooks/env.sh" >> .env'], { volumes: [`${volume}:/home/runner`] });
    writeFileSync(join(hooksDir, 'env.sh'), '#!/bin/bash\necho "marker=$SIM_MARKER"\n');
    chmodSync(join(hooksDir, 'env.sh'), 0o755);
    const container = await start('updated', volume);
    const runJob = async () => {
      const job = github.enqueueJob({ org: ORG, runs_on: ['updated'], steps: [] });
      return (await github.waitForJob(job.job_id, (j) => j.status === 'completed', 15_000)).events.find((e) => e.event === 'hook');
    };
    assert.match(String((await runJob())?.output), /marker=$/m);
    await execIn(container, ['bash', '-c', 'echo "SIM_MARKER=second" >> /home/runner/.env']);
    const id = github.runners(ORG).find((r) => r.name === 'updated')?.id ?? 0;
    github.updateRunner(id, '2.400.0');
    await waitFor('the restart', async () => /Update finished successfully\.[\s\S]*Listening for Jobs/.test(await containerLogs(container)), {
      timeoutMs: 40_000,
    });
    await waitFor('online again', () => github.runners(ORG).find((r) => r.name === 'updated')?.status === 'online', { timeoutMs: 20_000 });
    assert.match(await containerLogs(container), /Current runner version: '2\.400\.0'/);
    assert.match(String((await runJob())?.output), /marker=second/);
    await dockerOk(['rm', '-f', container]);
  });

  test('with --disableupdate an outdated runner is refused and run.sh exits 0', async () => {
    const volume = await configure('outdated', ['--disableupdate']);
    github.setRunnerVersions({ minimum: '9.0.0' });
    try {
      const res = await runContainer(['./run.sh'], { volumes: [`${volume}:/home/runner`], timeoutMs: 60_000 });
      assert.equal(res.code, 0, res.stdout + res.stderr);
      assert.match(res.stderr, /deprecated/);
      assert.match(res.stdout, /Runner listener exit with terminated error, stop the service, no retry needed\./);
    } finally {
      github.setRunnerVersions({ minimum: null });
    }
  });

  test('the stand-in saw no violation of the REST spec', () => {
    assert.deepEqual(github.violations, []);
  });
});
