// The built entrypoint and hooks (image/build.ts layout) choose what they run:
// as root, never a node or any other command from a place the runner user can
// write (its externals/, a directory on the image's PATH, RUNNER_FLEET_NODE);
// the job hooks run the wrapper's own node and bundle whatever the job's
// environment says. Payloads record the uid they ran as: none may run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { before, describe, test } from 'node:test';
import { ROOT_PATH } from '../../core/constants.ts';
import { ConfigError } from '../../core/errors.ts';
import { asAccount, lookupAccount, systemCommand } from '../../wrapper/run-as.ts';
import { buildTestWrapper } from './harness.ts';

const asRoot = { timeout: 60_000, skip: process.getuid?.() !== 0 && 'needs root' };

let built = '';
let base = '';
/** Directory of payloads named as the commands root scripts use; each records "<name> <uid>" in marks, then runs the real one. */
let payloads = '';
let marks = '';
/** A runner home whose externals hold a newer "node" a job planted. */
let home = '';

before(async () => {
  built = await buildTestWrapper();
  base = dirname(built);
  marks = join(base, 'marks');
  await writeFile(marks, '', { mode: 0o666 });
  await chmod(marks, 0o666);
  payloads = join(base, 'job-bin');
  await mkdir(payloads);
  for (const name of ['node', 'dirname', 'setpriv', 'id', 'cat', 'env', 'sh', 'bash', 'stat', 'mktemp', 'chown', 'mv', 'rm']) {
    await writeFile(join(payloads, name), `#!/bin/sh\necho "${name} $(/usr/bin/id -u)" >> ${marks}\nexec /usr/bin/${name} "$@"\n`, { mode: 0o755 });
  }
  home = join(base, 'home');
  await mkdir(join(home, 'externals', 'node99', 'bin'), { recursive: true });
  await writeFile(
    join(home, 'externals', 'node99', 'bin', 'node'),
    `#!/bin/sh\necho "externals-node $(/usr/bin/id -u)" >> ${marks}\nexec ${process.execPath} "$@"\n`,
    { mode: 0o755 },
  );
});

async function payloadMarks(): Promise<string[]> {
  const lines = (await readFile(marks, 'utf8')).split('\n').filter(Boolean);
  await writeFile(marks, '');
  return lines;
}

function runEntrypoint(env: Record<string, string>) {
  return spawnSync(join(built, 'entrypoint'), [], { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL', env });
}

describe('what root runs', () => {
  test(
    "as root the wrapper runs on the node beside it, not RUNNER_FLEET_NODE, the runner's externals or anything on the image's PATH; the runner keeps that PATH",
    asRoot,
    async () => {
      const node = join(built, 'node');
      await writeFile(node, `#!/bin/sh\necho "beside $(/usr/bin/id -u)" >> ${marks}\nexec ${process.execPath} "$@"\n`, { mode: 0o755 });
      const out = join(base, 'runner-saw');
      await mkdir(out, { mode: 0o777 });
      await chmod(out, 0o777);
      const runner = join(base, 'run.sh');
      await writeFile(runner, `#!/bin/sh\necho "$PATH" > ${out}/path\n/usr/bin/id -u > ${out}/uid\n`, { mode: 0o755 });
      const imagePath = `${payloads}:/usr/local/bin:/usr/bin:/bin`;
      try {
        const r = runEntrypoint({
          PATH: imagePath,
          RUNNER_FLEET_NODE: join(payloads, 'node'),
          RUNNER_HOME: home,
          RUNNER_SCRIPT: runner,
          RUNNER_FLEET_USER: 'nobody',
        });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(await payloadMarks(), ['beside 0']);
        assert.equal((await readFile(join(out, 'path'), 'utf8')).trim(), imagePath, 'the runner gets the image’s PATH');
        assert.equal((await readFile(join(out, 'uid'), 'utf8')).trim(), String(lookupAccount('nobody').uid));
      } finally {
        await rm(node, { force: true });
      }
    },
  );

  test("as root with no node beside it (outside an image), the system's node: not one on the PATH given or in the runner's externals", asRoot, async () => {
    const r = runEntrypoint({ PATH: `${payloads}:/usr/bin:/bin`, RUNNER_HOME: home, RUNNER_SCRIPT: '/bin/true' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(await payloadMarks(), []);
  });

  test('with arguments it runs them on the PATH given, as before', () => {
    const r = spawnSync(join(built, 'entrypoint'), ['sh', '-c', 'echo "ran $0 $PATH"', 'x'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'ran x /usr/bin:/bin');
  });

  test('root runs setpriv from the system directories only, and says so in one line when it is missing', () => {
    const found = systemCommand('setpriv');
    assert.ok(found && ROOT_PATH.split(':').some((dir) => found.startsWith(`${dir}/`)), String(found));
    assert.equal(systemCommand('setpriv', payloads), join(payloads, 'setpriv'), 'the look-up itself works');
    assert.equal(systemCommand('setpriv', join(base, 'nowhere')), undefined);
    const account = { name: 'runner', uid: 1001, gid: 1001, home: '/home/runner', groups: [] };
    assert.throws(
      () => asAccount(account, '/home/runner/run.sh', [], null),
      (err: unknown) =>
        err instanceof ConfigError &&
        /^setpriv \(util-linux\) is missing from \/usr\/sbin, \/usr\/bin, \/sbin, \/bin, .*install util-linux in your Dockerfile$/.test(err.message),
    );
  });
});

describe('what the job hooks run', () => {
  test("RUNNER_FLEET_NODE=/bin/true or a node on the job's PATH cannot make the started hook succeed without the lock", { timeout: 30_000 }, async () => {
    const r = spawnSync('/usr/bin/bash', [join(built, 'hooks', 'job-started.sh')], {
      encoding: 'utf8',
      timeout: 20_000,
      env: {
        PATH: `${payloads}:/usr/bin:/bin`,
        RUNNER_FLEET_NODE: '/bin/true',
        RUNNER_FLEET_SOCKET: join(base, 'no-wrapper.sock'),
        RUNNER_NAME: 'runner-1',
        GITHUB_RUN_ID: '7',
      },
    });
    assert.equal(r.status, 1, `the hook succeeded without a wrapper: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /error: the runner-fleet wrapper is not reachable at .*no-wrapper\.sock/);
    assert.deepEqual(await payloadMarks(), []);
  });
});
