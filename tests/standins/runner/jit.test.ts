// The runner simulator's just-in-time and run-once behaviour (issue 21),
// against the GitHub stand-in, on the host (no Docker: tests/e2e has the
// container version through run.sh). What each case follows in actions/runner
// is named in standins/runner/PROTOCOL.md (Runner.cs, CommandSettings.cs,
// MessageListener.cs, ConfigurationManager.cs).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import { eventOutput, startGitHubStandIn, type GitHubStandIn } from '../../../standins/github/server.ts';
import { cleanupSimRoots, runSim, simRoot, startSim, type SimProcess } from './sim-host.ts';

const PAT = 'ghp_sim_jit';
const CONFIG_FILES = ['.runner', '.credentials', '.credentials_rsaparams'];
const DELETED = /Failed to create a session\. The runner registration has been deleted from the server, please re-configure\./;
let github: GitHubStandIn;
const running: SimProcess[] = [];

beforeEach(async () => {
  github = await startGitHubStandIn({ portless: false });
  github.addScope('acme');
  github.addPat({ token: PAT, admin: ['acme'] });
});
afterEach(async () => {
  for (const sim of running.splice(0)) sim.kill('SIGKILL');
  assert.deepEqual(github.violations, []);
  await github.close();
});
after(() => cleanupSimRoots());

async function jitConfig(name: string, labels = ['jit']): Promise<{ id: number; encoded: string }> {
  const res = await fetch(`${github.apiUrl}/orgs/acme/actions/runners/generate-jitconfig`, {
    method: 'POST',
    headers: { authorization: `token ${PAT}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, runner_group_id: 1, labels }),
  });
  assert.equal(res.status, 201);
  const body = (await res.json()) as { runner: { id: number }; encoded_jit_config: string };
  return { id: body.runner.id, encoded: body.encoded_jit_config };
}

function start(root: string, args: string[], env: Record<string, string> = {}): SimProcess {
  const sim = startSim(root, args, env);
  running.push(sim);
  return sim;
}

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const online = (name: string) => until(`${name} online`, () => github.runners('acme').find((r) => r.name === name && r.status === 'online'));
const present = (root: string) => CONFIG_FILES.filter((f) => existsSync(join(root, f)));
const stepOutputs = (jobId: number) => (github.job(jobId)?.events ?? []).filter((e) => e.event === 'step').map((e) => eventOutput(e));

describe('run --jitconfig / ACTIONS_RUNNER_INPUT_JITCONFIG (Runner.cs)', () => {
  test('from the environment: the files are written, one job runs, the runner exits 0 and deletes its local config; the variable is gone from the job', async () => {
    const root = await simRoot();
    const { encoded } = await jitConfig('jit-env');
    const sim = start(root, ['run'], { ACTIONS_RUNNER_INPUT_JITCONFIG: encoded, ACTIONS_RUNNER_PRINT_LOG_TO_STDOUT: '1' });
    await online('jit-env');
    assert.deepEqual(present(root), CONFIG_FILES, 'the JIT config was written into the root');
    assert.equal(statSync(join(root, '.credentials')).mode & 0o777, 0o666 & ~process.umask(), 'File.WriteAllBytes: default mode');

    const first = github.enqueueJob({
      org: 'acme',
      runs_on: ['jit'],
      steps: [
        { name: 'inputs', run: 'env | grep -c ACTIONS_RUNNER_INPUT_ || true' },
        { name: 'config', run: `env | grep -c '${encoded.slice(0, 40)}' || true` },
      ],
    });
    const second = github.enqueueJob({ org: 'acme', runs_on: ['jit'], steps: [{ name: 'never', run: 'true' }] });
    const code = await sim.exited;
    assert.equal(code, 0, sim.stdout() + sim.stderr());
    assert.equal(github.job(first.job_id)?.conclusion, 'success');
    assert.deepEqual(
      stepOutputs(first.job_id).map((o) => o.trim()),
      ['0', '0'],
      'ACTIONS_RUNNER_INPUT_JITCONFIG never reaches the job',
    );
    assert.equal(github.job(second.job_id)?.status, 'queued', 'one job only');
    assert.deepEqual(github.runners('acme'), [], 'GitHub deleted the ephemeral runner');
    assert.deepEqual(present(root), [], 'DeleteLocalRunnerConfig after the job');
    assert.match(sim.stdout(), /√ Removed \.credentials\n√ Removed \.runner/);
    for (const text of [sim.stdout(), sim.stderr(), ...readdirSync(join(root, '_diag')).map((f) => readFileSync(join(root, '_diag', f), 'utf8'))]) {
      assert.ok(!text.includes(encoded), 'the JIT config is never printed');
    }
  });

  test('as an argument; used again after its job: written again, the registration is gone → "deleted" message, exit 1', async () => {
    const root = await simRoot();
    const { encoded } = await jitConfig('jit-arg');
    const sim = start(root, ['run', '--jitconfig', encoded]);
    await online('jit-arg');
    const job = github.enqueueJob({ org: 'acme', runs_on: ['jit'], steps: [{ name: 'one', run: 'echo ran' }] });
    assert.equal(await sim.exited, 0, sim.stdout() + sim.stderr());
    assert.equal(github.job(job.job_id)?.runner_name, 'jit-arg');

    const again = await runSim(root, ['run', '--jitconfig', encoded]);
    assert.equal(again.code, 1, 'TerminatedError (run-helper.sh turns it into 0)');
    assert.match(again.stderr, DELETED);
    assert.deepEqual(present(root), CONFIG_FILES, 'the files were written again and are left (no job completed)');
  });

  test("a local config is overwritten by the JIT config's files (File.WriteAllBytes)", async () => {
    const root = await simRoot();
    const stale = await jitConfig('stale');
    const fresh = await jitConfig('fresh');
    // The stale runner's files, as an earlier start would have left them.
    for (const [name, b64] of Object.entries(JSON.parse(Buffer.from(stale.encoded, 'base64').toString()) as Record<string, string>)) {
      writeFileSync(join(root, name), Buffer.from(b64, 'base64'));
    }
    const sim = start(root, ['run', '--jitconfig', fresh.encoded]);
    await online('fresh');
    assert.equal(github.runners('acme').find((r) => r.name === 'stale')?.status, 'offline');
    github.enqueueJob({ org: 'acme', runs_on: ['jit'] });
    assert.equal(await sim.exited, 0);
    assert.deepEqual(
      github.runners('acme').map((r) => r.name),
      ['stale'],
    );
  });

  test("a bad JIT config: the exception's message and exit 1, before any connection; unknown run options only warn", async () => {
    const root = await simRoot();
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const cases: Array<[string, string, RegExp]> = [
      ['a length that is not a multiple of 4', 'abcde', /^Invalid length for a Base-64 char array or string\.$/m],
      ['bad character', 'ab$c', /^The input is not a valid Base-64 string as it contains a non-base 64 character/m],
      ['the URL-safe alphabet (Node would take it, .NET does not)', 'ab-_', /not a valid Base-64 string/],
      ['not JSON', b64('hello'), /^Unexpected character encountered while parsing value: h\./m],
      ['a JSON array', b64('[1]'), /^Cannot deserialize the current JSON array/m],
      ['null', b64('null'), /^Object reference not set to an instance of an object\.$/m],
      ['a file that is not base64', b64(JSON.stringify({ '.runner': '%%%%' })), /not a valid Base-64 string/],
      ['a null file', b64(JSON.stringify({ '.runner': null })), /^Value cannot be null\. \(Parameter 's'\)$/m],
    ];
    for (const [what, value, message] of cases) {
      const res = await runSim(root, ['run', '--bogus', 'x', '--jitconfig', value]);
      assert.equal(res.code, 1, what);
      assert.match(res.stderr, message, what);
      assert.match(res.stderr, /Unrecognized command-line input arguments for command run: 'bogus'/, what);
      assert.doesNotMatch(res.stdout, /Connected to GitHub/, what);
    }
    // Valid base64 and JSON without a .runner: "Not configured" (ConfigurationManager.LoadSettings), exit 1.
    const res = await runSim(root, ['run', '--jitconfig', b64(JSON.stringify({ 'other.txt': b64('x') }))]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /An error occurred: Not configured\. Run config\.\(sh\/cmd\) to configure the runner\./);
    assert.equal(readFileSync(join(root, 'other.txt'), 'utf8'), 'x', 'whatever the config names is written');
  });

  test('deleted while idle (Runner.cs 2.336): "The runner no longer exists on the server. Cleaning up local configuration.", exit 0', async () => {
    const root = await simRoot();
    const { id, encoded } = await jitConfig('jit-deleted');
    const sim = start(root, ['run'], { ACTIONS_RUNNER_INPUT_JITCONFIG: encoded });
    await online('jit-deleted');
    const res = await fetch(`${github.apiUrl}/orgs/acme/actions/runners/${id}`, { method: 'DELETE', headers: { authorization: `token ${PAT}` } });
    assert.equal(res.status, 204);
    assert.equal(await sim.exited, 0, sim.stderr());
    assert.match(sim.stderr(), /The runner no longer exists on the server\. Cleaning up local configuration\./);
    assert.deepEqual(present(root), []);
  });
});

describe('config.sh --ephemeral and run --once', () => {
  test('--once: one job, exit 0, the deprecation warning; the local config and the registration stay (not ephemeral)', async (t) => {
    // config.sh needs a portless GitHub (the registration URL drops the port): root only.
    const portless = await startGitHubStandIn();
    try {
      if (portless.port !== 80) return t.skip('needs root to listen on port 80');
      portless.addScope('acme');
      portless.addPat({ token: PAT, admin: ['acme'] });
      const token = portless.issueToken({ org: 'acme', kind: 'registration' }).token;
      const root = await simRoot();
      const config = await runSim(root, ['configure', '--unattended', '--url', `${portless.url}/acme`, '--name', 'once', '--labels', 'once'], {
        ACTIONS_RUNNER_INPUT_TOKEN: token,
      });
      assert.equal(config.code, 0, config.stdout + config.stderr);
      assert.ok(!config.stdout.includes(token));
      const sim = start(root, ['run', '--once']);
      await until('online', () => portless.runners('acme').find((r) => r.status === 'online'));
      const job = portless.enqueueJob({ org: 'acme', runs_on: ['once'] });
      assert.equal(await sim.exited, 0);
      assert.match(sim.stdout(), /Warning: '--once' is going to be deprecated in the future/);
      assert.equal(portless.job(job.job_id)?.conclusion, 'success');
      assert.deepEqual(present(root), CONFIG_FILES);
      assert.equal(portless.runners('acme')[0]?.status, 'offline');

      // Registered --ephemeral: the same one job, then GitHub deletes it and the runner its files.
      const ephRoot = await simRoot();
      const eph = await runSim(ephRoot, ['configure', '--unattended', '--url', `${portless.url}/acme`, '--name', 'eph', '--labels', 'eph', '--ephemeral'], {
        ACTIONS_RUNNER_INPUT_TOKEN: token,
      });
      assert.equal(eph.code, 0, eph.stderr);
      const ephSim = start(ephRoot, ['run']);
      await until('eph online', () => portless.runners('acme').find((r) => r.name === 'eph' && r.status === 'online'));
      portless.enqueueJob({ org: 'acme', runs_on: ['eph'] });
      assert.equal(await ephSim.exited, 0);
      assert.deepEqual(present(ephRoot), []);
      assert.equal(
        portless.runners('acme').find((r) => r.name === 'eph'),
        undefined,
      );
      assert.deepEqual(portless.violations, []);
    } finally {
      await portless.close();
    }
  });
});
