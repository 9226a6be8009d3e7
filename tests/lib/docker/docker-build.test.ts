// docker build through the toolkit, on the real engine (skipped without one):
// BuildKit where the buildx plugin runs, else the legacy builder without its
// deprecation banner; folded into one line per step (as make demo builds) with
// the whole log and a one-line error when a build fails; streamed as it is
// (make image, make init) otherwise. The PAT is never in what is printed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chooseBuilder } from '../../../lib/docker/build.ts';
import { REPO_ROOT, runNode, runScript, type ScriptResult } from '../../support/cli.ts';
import { docker, dockerUnavailable, removeFleetImages, SIM_IMAGE, uniquePrefix } from '../../e2e/helpers.ts';

const skip = await dockerUnavailable();
if (skip) console.log(`# skipping the docker build tests: ${skip}`);

const PAT = 'ghp_buildlog_secret_0123456789abcdef';
const FOLDED_BUILD = join(REPO_ROOT, 'tests/support/folded-build.ts');
const TSX = import.meta.resolve('tsx');
/** Where the docker CLI looks for plugins besides DOCKER_CONFIG's cli-plugins (docker/cli, cli-plugins/manager). */
const SYSTEM_PLUGIN_DIRS = [
  '/usr/local/lib/docker/cli-plugins',
  '/usr/local/libexec/docker/cli-plugins',
  '/usr/lib/docker/cli-plugins',
  '/usr/libexec/docker/cli-plugins',
];

const lines = (text: string): string[] => text.split('\n').filter(Boolean);
const noSecretOrBanner = (r: ScriptResult): void => {
  const all = r.stdout + r.stderr;
  assert.ok(!all.includes(PAT), 'the PAT is in the build output');
  assert.doesNotMatch(all, /DEPRECATED|legacy builder is deprecated|Install the buildx component|BuildKit is currently disabled/);
};

describe('docker build through the toolkit', { skip, timeout: 300_000 }, () => {
  let dir = '';
  let prefix = '';
  const custom = (): string => `${prefix}custom:latest`;
  const env = (extra: Record<string, string> = {}): Record<string, string> => ({ DOCKER_HOST: process.env.DOCKER_HOST ?? '', ...extra });
  /** The user's Dockerfile: FROM the simulator image, then `body`. */
  const dockerfile = (body: string): Promise<void> => writeFile(join(dir, 'Dockerfile'), `FROM ${SIM_IMAGE}\n${body}\n`);
  const folded = (extra: Record<string, string> = {}): Promise<ScriptResult> =>
    runNode(['--import', TSX, FOLDED_BUILD], { cwd: dir, env: env(extra), timeoutMs: 200_000 });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleet-build-'));
    prefix = uniquePrefix('build');
    await writeFile(join(dir, '.env'), `ORG=acme\nGH_PAT=${PAT}\nRUNNER_NAME_PREFIX=${prefix}\nRUNNER_CUSTOM_IMAGE=${custom()}\n`, { mode: 0o600 });
  });

  after(async () => {
    if (prefix) await removeFleetImages(prefix, [custom()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('with the buildx plugin the toolkit chooses BuildKit, and folds each build into one line per step', async () => {
    assert.equal((await docker(['buildx', 'version'])).code, 0, 'the test ground installs the buildx plugin (docker-buildx)');
    assert.equal(await chooseBuilder(), 'buildkit');
    await dockerfile('ENV FOLDED=buildkit\nRUN true');
    const r = await folded();
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const progress = lines(r.stdout).filter((line) => line.startsWith('progress: '));
    // BuildKit counts the steps that make layers (FROM, RUN), not ENV as the legacy builder does.
    assert.deepEqual(
      progress.filter((line) => line.startsWith(`progress: building ${custom()} `)),
      [`progress: building ${custom()} … step 1/2: FROM docker.io/${SIM_IMAGE}`, `progress: building ${custom()} … step 2/2: RUN true`],
    );
    assert.ok(
      progress.some((line) => /^progress: building gh-runner-fleet:\S+ … step 1\/\d+: FROM docker\.io\//.test(line)),
      r.stdout,
    );
    assert.equal(new Set(progress).size, progress.length, 'one line per step');
    // Nothing of the raw log: it is shown only when a build fails.
    assert.doesNotMatch(r.stdout + r.stderr, /^#\d+ |^Step \d+\/\d+ /m);
    noSecretOrBanner(r);
  });

  test('a failing build (BuildKit): the whole log on stderr, then one error line', async () => {
    await dockerfile('RUN false');
    const r = await folded();
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.deepEqual(
      lines(r.stdout).filter((line) => line.startsWith('progress: ')),
      [`progress: building ${custom()} … step 1/2: FROM docker.io/${SIM_IMAGE}`, `progress: building ${custom()} … step 2/2: RUN false`],
    );
    const err = lines(r.stderr);
    assert.equal(
      err.at(-1),
      `error: docker build of your Dockerfile (${join(dir, 'Dockerfile')}) failed (exit 1): failed to solve: process "/bin/sh -c false" did not complete successfully: exit code: 1; its log is above`,
    );
    assert.equal(err.filter((line) => line.startsWith('error:')).length, 1);
    assert.equal(err[0], `--- the log of the failed docker build of ${custom()} ---`);
    assert.match(r.stderr, /^#\d+ \[2\/2\] RUN false$/m);
    assert.match(r.stderr, /^#\d+ ERROR: process "\/bin\/sh -c false" did not complete successfully/m);
    assert.equal(err.at(-2), `--- end of the log of ${custom()} ---`);
    noSecretOrBanner(r);
  });

  test('a failing build with the legacy builder (DOCKER_BUILDKIT=0): its log without the deprecation banner, one error line', async () => {
    await dockerfile('ENV FOLDED=legacy\nRUN false');
    const containers = async (): Promise<string> => (await docker(['ps', '-a', '-q', '--no-trunc'])).stdout;
    const before = await containers();
    const r = await folded({ DOCKER_BUILDKIT: '0' });
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.equal(await containers(), before, 'the failed step left its container behind');
    // The legacy builder counts every instruction, the toolkit's two --label flags too.
    assert.deepEqual(
      lines(r.stdout).filter((line) => line.startsWith('progress: ')),
      [
        `progress: building ${custom()} … step 1/5: FROM ${SIM_IMAGE}`,
        `progress: building ${custom()} … step 2/5: ENV FOLDED=legacy`,
        `progress: building ${custom()} … step 3/5: RUN false`,
      ],
    );
    assert.match(r.stderr, /^Step 3\/5 : RUN false$/m);
    const err = lines(r.stderr);
    assert.equal(
      err.at(-1),
      `error: docker build of your Dockerfile (${join(dir, 'Dockerfile')}) failed (exit 1): The command '/bin/sh -c false' returned a non-zero code: 1; its log is above`,
    );
    assert.equal(err.filter((line) => line.startsWith('error:')).length, 1);
    noSecretOrBanner(r);
  });

  test('make image streams BuildKit’s own output; a failure ends in one error line', async () => {
    await dockerfile('RUN false');
    const r = await runScript('image.ts', [], { cwd: dir, env: env(), timeoutMs: 200_000 });
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /^#\d+ \[2\/2\] RUN false$/m);
    const err = lines(r.stderr);
    assert.equal(err.at(-1), `error: docker build of your Dockerfile (${join(dir, 'Dockerfile')}) failed (exit 1); see the output above`);
    noSecretOrBanner(r);
  });

  test('without the buildx plugin (its directories hidden in a mount namespace), make image uses the legacy builder and prints no banner', async (t) => {
    // DOCKER_CONFIG only adds a plugin directory (so does DOCKER_CLI_PLUGIN_EXTRA_DIRS);
    // the CLI always searches the system ones, so they are covered by an empty one.
    const empty = await mkdtemp(join(tmpdir(), 'no-plugins-'));
    const config = join(empty, 'config');
    await mkdir(config);
    try {
      const hide = SYSTEM_PLUGIN_DIRS.filter((d) => existsSync(d)).map((d) => `mount --bind ${empty} ${d} || exit 97`);
      const script = `${hide.join('; ')}${hide.length ? '; ' : ''}exec "$@"`;
      const inNamespace = (command: string[], extra: Record<string, string> = {}): Promise<ScriptResult> =>
        run('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', ...command], {
          cwd: dir,
          env: { ...env(), DOCKER_CONFIG: config, ...extra },
        });
      const probe = await inNamespace(['docker', 'buildx', 'version']).catch((err: Error) => ({ code: -1, stdout: '', stderr: err.message }));
      if (probe.code === 0 || probe.code === 97 || /unshare/.test(probe.stderr)) {
        console.log(`# no mount namespace without the buildx plugin here (unshare -m needs root): ${probe.stderr.trim() || `exit ${probe.code}`}`);
        t.skip('unshare -m is not available');
        return;
      }
      await dockerfile('ENV STREAMED=legacy\nRUN true');
      const r = await inNamespace([process.execPath, '--import', TSX, join(REPO_ROOT, 'scripts/image.ts')]);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, /^Step 3\/5 : RUN true$/m);
      assert.match(r.stderr, /^Step 2\/\d+ : FROM \$\{BASE_IMAGE\}$/m, 'the runner image too');
      assert.doesNotMatch(r.stderr, /^#\d+ /m);
      assert.match(r.stdout, /^gh-runner-fleet:\S+ built /m);
      noSecretOrBanner(r);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

/** Runs a command (not node) the way runScript runs a script: only PATH and HOME of this environment. */
function run(command: string, args: string[], options: { cwd: string; env: Record<string, string> }): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 200_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
