// End to end with a GitHub App as the credential, on a real Docker engine:
// init registers and starts the runners (the installation looked up, one
// installation token), a job runs, purge removes everything. The runner
// simulator stands in for actions/runner and the stand-in for GitHub. The
// App's private key and its installation tokens must reach no container
// environment, compose file, log or output: only registration tokens go
// into the one-off config.sh containers.
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AppCreated, GitHubStandIn } from '../../standins/github/server.ts';
import type { ScriptResult } from '../support/cli.ts';
import { startGround, type Ground } from '../support/ground.ts';
import { containerLogs, docker, dockerUnavailable } from './helpers.ts';
import { waitFor } from '../support/wait.ts';

const skip = await dockerUnavailable();
if (skip) console.log(`# skipping the GitHub App e2e test: ${skip}`);

describe('a fleet authenticated as a GitHub App, on a real engine', { skip, timeout: 300_000 }, () => {
  let ground: Ground;
  let github: GitHubStandIn;
  let app: AppCreated;
  let dir: string;
  let keyFile: string;
  let prefix = '';
  const outputs: string[] = [];
  const run = async (script: string, args: string[] = []): Promise<ScriptResult> => {
    const result = await ground.run(script, args);
    outputs.push(result.stdout, result.stderr);
    return result;
  };
  const runners = (): string[] =>
    github
      .runners('acme')
      .map((r) => r.name)
      .filter((name) => name.startsWith(prefix));
  /** The key (whole and each body line) and every installation token issued so far. */
  const secrets = (): string[] => [
    app.private_key,
    ...app.private_key.split('\n').filter((line) => line.length > 20 && !line.startsWith('-----')),
    ...github.installationTokens(),
  ];
  const assertNoSecret = (text: string, where: string): void => {
    for (const secret of secrets()) assert.ok(!text.includes(secret), `a key or installation token in ${where}`);
    assert.doesNotMatch(text, /GH_APP_PRIVATE_KEY_FILE|PRIVATE KEY/, `App settings in ${where}`);
  };

  before(async () => {
    ground = await startGround('github-app');
    ({ github, dir } = ground);
    app = github.createApp('fleet-lab');
    github.installApp({ app_id: app.app_id, org: 'acme', permissions: { organization_self_hosted_runners: 'write' } });
    keyFile = join(dir, 'fleet-lab.pem');
    await writeFile(keyFile, app.private_key, { mode: 0o600 });
    prefix = ground.prefix('app');
    // The App as the credential: no GH_PAT in the env file.
    await ground.writeEnv(prefix, [`GH_APP_ID=${app.app_id}`, `GH_APP_PRIVATE_KEY_FILE=${keyFile}`, `RUNNER_LOCK_HOST_PATH=${join(dir, 'locks')}`], {
      pat: false,
    });
  });

  after(() => ground?.close());

  test('init registers and starts the runners with the App; no key or installation token in the compose file or a container', async () => {
    const r = await run('init.ts', ['-n', '2']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    await waitFor('both runners online', () => github.runners('acme').filter((x) => x.name.startsWith(prefix) && x.status === 'online').length === 2, {
      timeoutMs: 60_000,
    });
    const calls = github.calls().by_operation;
    assert.equal(calls['apps/get-org-installation'], 1, 'the installation is looked up once');
    assert.equal(calls['apps/create-installation-access-token'], 1, 'one installation token for the whole command');
    assert.equal(calls['actions/create-registration-token-for-org'], 1);

    const composeFile = (await readdir(dir)).find((name) => name.startsWith('docker-compose.'));
    assert.ok(composeFile, 'a compose file was written');
    assertNoSecret(await readFile(join(dir, composeFile), 'utf8'), composeFile);
    for (const name of runners()) {
      const inspect = await docker(['inspect', '--format', '{{json .Config.Env}} {{json .HostConfig.Binds}} {{json .Mounts}}', name]);
      assert.equal(inspect.code, 0, inspect.stderr);
      assertNoSecret(inspect.stdout, `the container ${name}`);
      assert.doesNotMatch(inspect.stdout, /GH_APP_|GH_PAT/, `credential settings in ${name}`);
      assertNoSecret(await containerLogs(name), `the logs of ${name}`);
    }
  });

  test('a job runs on a runner registered with the App', async () => {
    const { job_id } = github.enqueueJob({
      org: 'acme',
      repository: 'acme/firmware',
      runs_on: ['self-hosted'],
      job: 'build',
      steps: [{ name: 'hello', run: 'echo built-with-app' }],
    });
    const done = await github.waitForJob(job_id, (j) => j.status === 'completed', 60_000);
    assert.equal(done.conclusion, 'success', JSON.stringify(done.events));
    assert.ok(done.runner_name?.startsWith(prefix), `ran on ${done.runner_name}`);
    assert.match(JSON.stringify(done.events), /built-with-app/);
  });

  test('purge unregisters every runner and removes the containers; nothing of the App in any output', async () => {
    const r = await run('purge.ts', ['-y']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.deepEqual(runners(), []);
    const left = await docker(['ps', '-a', '--filter', `name=^${prefix}`, '--format', '{{.Names}}']);
    assert.equal(left.stdout.trim(), '', 'no container left');
    for (const output of outputs) assertNoSecret(output, 'the output of a command');
    for (const entry of await readdir(dir, { recursive: true })) {
      const path = join(dir, entry);
      if (path === keyFile || entry.startsWith('locks')) continue;
      const text = await readFile(path, 'utf8').catch(() => '');
      for (const secret of github.installationTokens()) assert.ok(!text.includes(secret), `an installation token in ${path}`);
    }
  });
});
