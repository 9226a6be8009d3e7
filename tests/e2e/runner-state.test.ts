// End to end on a real Docker engine (issue 10): the runner root comes from
// the image at every recreation, the registration lives in the runner's state
// volume. A Dockerfile change reaches a registered runner at the next init and
// restart, under the same GitHub id and without a registration token; a fleet
// of the old layout (one volume over the whole /home/runner) is carried over by
// init. The runners are the runner simulator (standins/runner), which stands
// in for actions/runner; GitHub is the stand-in.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import type { GitHubStandIn } from '../../standins/github/server.ts';
import { containerState, dockerOk, dockerUnavailable, execIn, readVolumeFile, SIM_IMAGE } from './helpers.ts';
import { waitFor } from '../support/wait.ts';
import type { ScriptResult } from '../support/cli.ts';
import { customImage, startGround, type Ground } from '../support/ground.ts';
import { STATE_DIR, STATE_FILES, WRAPPER_ENTRYPOINT } from '../../core/constants.ts';

const skip = await dockerUnavailable();
if (skip) console.log(`# skipping the runner-state e2e tests: ${skip}`);

const ORG = 'acme';
const TOKEN_CALL = 'actions/create-registration-token-for-org';

/** One fleet on a ground of its own: its directory (env file, Dockerfile, compose file) and stand-in. */
class Fleet {
  private constructor(
    readonly ground: Ground,
    readonly prefix: string,
  ) {}
  static async start(test: string, dockerfile?: string): Promise<Fleet> {
    const ground = await startGround('runner-state', { scriptTimeoutMs: 300_000 });
    try {
      const prefix = ground.prefix(test);
      await ground.writeEnv(prefix, [`RUNNER_CUSTOM_IMAGE=${customImage(prefix)}`]);
      const fleet = new Fleet(ground, prefix);
      if (dockerfile !== undefined) await fleet.dockerfile(dockerfile);
      return fleet;
    } catch (err) {
      await ground.close();
      throw err;
    }
  }
  get github(): GitHubStandIn {
    return this.ground.github;
  }
  get dir() {
    return this.ground.dir;
  }
  get composeFile() {
    return join(this.dir, `docker-compose.${ORG}.yml`);
  }
  get image() {
    return `gh-runner-fleet:${this.prefix.replace(/-$/, '')}`;
  }
  runner(short: string) {
    return `${this.prefix}runner-${short}`;
  }
  /** The lab's own Dockerfile, beside the env file. */
  async dockerfile(text: string): Promise<void> {
    await writeFile(join(this.dir, 'Dockerfile'), text);
  }
  async run(script: string, args: string[] = []): Promise<ScriptResult> {
    const result = await this.ground.run(script, args);
    for (const stream of [result.stdout, result.stderr]) assert.ok(!stream.includes(this.ground.pat), `${script} printed the PAT`);
    return result;
  }
  async ok(script: string, args: string[] = []): Promise<ScriptResult> {
    const result = await this.run(script, args);
    assert.equal(result.code, 0, `${script} ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
    return result;
  }
  registration(name: string) {
    return this.github.runners(ORG).find((r) => r.name === name);
  }
  async volumes(): Promise<string[]> {
    return (await dockerOk(['volume', 'ls', '-q']))
      .split('\n')
      .filter((v) => v.startsWith(this.prefix))
      .sort();
  }
}

/** A file the lab's Dockerfile writes under /home/runner as the runner user (the simulator image's USER), like rustup into ~/.cargo. */
const toolchainDockerfile = (version: string) =>
  [`FROM ${SIM_IMAGE}`, `RUN mkdir -p /home/runner/.cargo/bin && echo ${version} > /home/runner/.cargo/bin/toolchain-version`, ''].join('\n');

async function readInContainer(container: string, path: string): Promise<string> {
  const res = await execIn(container, ['cat', path]);
  assert.equal(res.code, 0, `cat ${path} in ${container}: ${res.stderr}`);
  return res.stdout.trim();
}

describe('runner state apart from the image', { skip, timeout: 600_000 }, () => {
  const started = Date.now();
  const fleets: Fleet[] = [];

  after(async () => {
    for (const fleet of fleets) await fleet.ground.close();
    console.log(`# runner-state e2e wall time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  describe('a Dockerfile change reaches a registered runner', () => {
    let fleet: Fleet;
    let github: GitHubStandIn;
    let name: string;
    let id: number;

    before(async () => {
      fleet = await Fleet.start('state', toolchainDockerfile('v1'));
      fleets.push(fleet);
      github = fleet.github;
      name = fleet.runner('1');
    });

    test('init: the runner sees the file its Dockerfile wrote under /home/runner; its registration is in its state volume', async () => {
      await fleet.ok('init.ts', ['-n', '1']);
      await waitFor(`${name} online`, () => fleet.registration(name)?.status === 'online', { timeoutMs: 30_000 });
      id = fleet.registration(name)!.id;
      assert.equal(await readInContainer(name, '/home/runner/.cargo/bin/toolchain-version'), 'v1');
      assert.deepEqual(await fleet.volumes(), [`${name}-state`, `${name}-udev-rules`, `${name}-work`]);
      const settings = JSON.parse((await readVolumeFile(`${name}-state`, '.runner')).replace(/^\uFEFF/, ''));
      assert.equal(settings.agentName ?? settings.AgentName, name);
      // Copies of root's registration in the runner root, the runner user's own files (no links into the state).
      for (const file of STATE_FILES) {
        const copy = await execIn(name, ['/usr/bin/stat', '-c', '%F %U %a', `/home/runner/${file}`]);
        assert.equal(copy.stdout.trim(), 'regular file runner 600', file);
        assert.equal((await execIn(name, ['/usr/bin/cat', `/home/runner/${file}`])).stdout, await readVolumeFile(`${name}-state`, file), file);
      }
      const stateMode = await execIn(name, ['/usr/bin/stat', '-c', '%a %U', STATE_DIR]);
      assert.equal(stateMode.stdout.trim(), '700 root', 'the state directory is root’s alone: no job reads or changes it');
    });

    test('Dockerfile changed, init again: the running runner sees the new file, same GitHub id, no registration token', async () => {
      const rsaBefore = await readVolumeFile(`${name}-state`, '.credentials_rsaparams');
      await fleet.dockerfile(toolchainDockerfile('v2'));
      github.resetCalls();
      const result = await fleet.ok('init.ts', ['-n', '1']);
      assert.match(result.stderr, /Building your Dockerfile/);
      assert.match(result.stdout, /already configured, skipped/);
      assert.equal((await containerState(name))?.running, true);
      assert.equal(await readInContainer(name, '/home/runner/.cargo/bin/toolchain-version'), 'v2', 'the image’s new content reaches the runner root');
      await waitFor(`${name} online after the recreation`, () => fleet.registration(name)?.status === 'online', { timeoutMs: 30_000 });
      assert.equal(fleet.registration(name)?.id, id, 'same runner on GitHub');
      assert.equal(github.runners(ORG).filter((r) => r.name === name).length, 1);
      assert.equal(github.calls().by_operation[TOKEN_CALL] ?? 0, 0, 'no registration token was requested');
      assert.equal(await readVolumeFile(`${name}-state`, '.credentials_rsaparams'), rsaBefore, 'the runner kept its key');
    });

    test('a job runs on the recreated runner', async () => {
      const { job_id } = github.enqueueJob({
        org: ORG,
        repository: `${ORG}/kernel`,
        runs_on: ['intel'],
        job: 'build',
        steps: [{ name: 'hi', run: 'cat ~/.cargo/bin/toolchain-version' }],
      });
      const done = await github.waitForJob(job_id, (j) => j.status === 'completed', 30_000);
      assert.equal(done.conclusion, 'success');
      assert.equal(done.runner_name, name);
    });

    test('restart recreates from the current image: Dockerfile change seen, leftovers in the home gone (a .runner_migrated too), _work kept, same id, no token', async () => {
      const leftover = await execIn(name, ['sh', '-c', 'echo junk > /home/runner/leftover && echo kept > /home/runner/_work/checkout-marker']);
      assert.equal(leftover.code, 0, leftover.stderr);
      // What RunnerConfigUpdater.cs does when GitHub refreshes the runner's settings, and a job can do as well: a file the Listener prefers to .runner.
      const migrated = await execIn(name, ['sh', '-c', 'cp /home/runner/.runner /home/runner/.runner_migrated'], { user: 'runner' });
      assert.equal(migrated.code, 0, migrated.stderr);
      await fleet.dockerfile(toolchainDockerfile('v3'));
      github.resetCalls();
      await fleet.ok('restart.ts');
      assert.equal(await readInContainer(name, '/home/runner/.cargo/bin/toolchain-version'), 'v3');
      assert.notEqual((await execIn(name, ['test', '-e', '/home/runner/leftover'])).code, 0, 'what a job left in the runner root is gone');
      assert.equal(await readInContainer(name, '/home/runner/_work/checkout-marker'), 'kept', 'the work directory (checkouts, tool cache) outlives recreation');
      // Root keeps only what config.sh wrote: the runner falls back to .runner, as before any refresh.
      await assert.rejects(readVolumeFile(`${name}-state`, '.runner_migrated'), 'a file written while running was taken into the state');
      assert.notEqual((await execIn(name, ['/usr/bin/test', '-e', '/home/runner/.runner_migrated'])).code, 0);
      await waitFor(`${name} online after restart`, () => fleet.registration(name)?.status === 'online', { timeoutMs: 30_000 });
      assert.equal(fleet.registration(name)?.id, id);
      assert.equal(github.calls().by_operation[TOKEN_CALL] ?? 0, 0);
    });

    test('rm removes the state, work and udev volumes with the runner', async () => {
      await fleet.ok('remove.ts', ['-y', name]);
      assert.equal(await containerState(name), undefined);
      assert.deepEqual(await fleet.volumes(), []);
      assert.equal(fleet.registration(name), undefined);
      assert.deepEqual(github.violations, []);
    });
  });

  describe('a fleet of the old layout (a volume over the whole /home/runner)', () => {
    let fleet: Fleet;
    let github: GitHubStandIn;
    let name: string;
    let id: number;

    before(async () => {
      fleet = await Fleet.start('migr');
      fleets.push(fleet);
      github = fleet.github;
      name = fleet.runner('1');
    });

    test('made as the toolkit made it before: compose file with <runner>-data at /home/runner, config.sh on it, up', async () => {
      await fleet.ok('compose.ts', ['-n', '1']);
      await fleet.ok('image.ts');
      // The compose file the previous layout wrote: the same service, one volume over the runner home, the wrapper as entrypoint.
      const file = parse(await readFile(fleet.composeFile, 'utf8'));
      const service = file.services[name];
      service.volumes = [`${name}-data:/home/runner`, `${name}-udev-rules:/etc/udev/rules.d`];
      service.entrypoint = [WRAPPER_ENTRYPOINT];
      service.user = '1001'; // the image's user then ran everything; the image now starts as root
      file.volumes = { [`${name}-data`]: { name: `${name}-data` }, [`${name}-udev-rules`]: { name: `${name}-udev-rules` } };
      await writeFile(fleet.composeFile, stringify(file));
      const { token } = github.issueToken({ org: ORG, kind: 'registration' });
      const compose = (args: string[]) =>
        promisify(execFile)('docker-compose', ['-p', fleet.prefix.replace(/-$/, ''), '-f', fleet.composeFile, ...args], {
          env: { ...process.env, ACTIONS_RUNNER_INPUT_TOKEN: token },
        });
      await compose([
        'run',
        '--rm',
        '--no-deps',
        '-T',
        '-e',
        'ACTIONS_RUNNER_INPUT_TOKEN',
        '--entrypoint',
        '/home/runner/config.sh',
        name,
        '--unattended',
        '--replace',
        '--url',
        `${github.url}/${ORG}`,
        '--name',
        name,
        '--labels',
        'intel',
        '--runnergroup',
        'Default',
        '--work',
        '_work',
      ]);
      await compose(['up', '-d']);
      await waitFor(`${name} online (old layout)`, () => fleet.registration(name)?.status === 'online', { timeoutMs: 30_000 });
      id = fleet.registration(name)!.id;
      assert.ok((await fleet.volumes()).includes(`${name}-data`));
      await readVolumeFile(`${name}-data`, '.runner');
    });

    test('init carries the registration over: online under the same id, no token, old volume gone, one line said', async () => {
      github.resetCalls();
      const result = await fleet.ok('init.ts', ['-n', '1']);
      assert.match(
        result.stdout,
        new RegExp(
          `^${name}: moved to the state-volume layout: registration \\(\\.runner, \\.credentials, \\.credentials_rsaparams\\) carried over from ${name}-data into ${name}-state; ${name}-data removed$`,
          'm',
        ),
      );
      assert.match(result.stdout, /already configured, skipped/);
      assert.equal(github.calls().by_operation[TOKEN_CALL] ?? 0, 0, 'no registration token was requested');
      await waitFor(`${name} online after migration`, () => fleet.registration(name)?.status === 'online', { timeoutMs: 30_000 });
      assert.equal(fleet.registration(name)?.id, id, 'same runner on GitHub');
      assert.deepEqual(await fleet.volumes(), [`${name}-state`, `${name}-udev-rules`, `${name}-work`]);
      for (const file of STATE_FILES) await readVolumeFile(`${name}-state`, file);
      const mounts = await dockerOk(['inspect', '--format', '{{range .Mounts}}{{.Name}}:{{.Destination}} {{end}}', name]);
      assert.ok(!mounts.includes(':/home/runner '), `nothing mounted over the runner root: ${mounts}`);
    });

    test('init once more: nothing to carry over, nothing said, still no token', async () => {
      github.resetCalls();
      const result = await fleet.ok('init.ts', ['-n', '1']);
      assert.doesNotMatch(result.stdout, /state-volume layout/);
      assert.equal(github.calls().by_operation[TOKEN_CALL] ?? 0, 0);
    });

    test('purge removes every volume of the fleet', async () => {
      await fleet.ok('purge.ts', ['-y']);
      assert.deepEqual(await fleet.volumes(), []);
      assert.deepEqual(github.violations, []);
    });
  });
});
