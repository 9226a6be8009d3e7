// `make rm` as a user runs it: names resolved with one paginated listing,
// each unregistered, busy runners skipped (exit 5) unless forced, unknown
// names reported without stopping the others, and nothing without consent.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT } from '../support/cli.ts';
import { PAT, assertSecretNowhere, registered, startFixture, type Fixture } from '../support/github-fixture.ts';

let fx: Fixture;
before(async () => (fx = await startFixture()));
after(async () => {
  assert.deepEqual(fx.github.violations, []);
  await fx.close();
});

/** Seeds runners `${prefix}runner-1..count` and returns the env selecting that prefix. */
function fleet(prefix: string, count: number, busy: number[] = []): Record<string, string> {
  fx.github.seedRunners({ org: 'acme', count, name_prefix: `${prefix}runner-` });
  for (const index of busy) fx.github.seedRunners({ org: 'acme', name: `${prefix}busy-${index}`, busy: true });
  return { RUNNER_NAME_PREFIX: prefix };
}
const ours = (prefix: string) =>
  registered(fx.github)
    .filter((name) => name.startsWith(prefix))
    .sort();

describe('rm', () => {
  it('removes the named runners (with or without the prefix) using one listing call; the others stay', async () => {
    const env = fleet('named-', 150);
    fx.github.resetCalls();
    const result = await fx.run('remove.ts', ['-y', 'named-runner-3', 'runner-120'], env);
    assert.equal(result.code, 7, 'GitHub side done, containers not: Docker is unreachable here');
    assert.match(result.stdout, /^named-runner-3: unregistered from GitHub$/m);
    assert.match(result.stdout, /^named-runner-120: unregistered from GitHub$/m);
    assert.match(result.stderr, /^warning: containers and volumes not removed: the Docker daemon .* does not answer/m);
    assert.equal(ours('named-').length, 148);
    assert.ok(!ours('named-').includes('named-runner-3') && !ours('named-').includes('named-runner-120'));
    const calls = fx.github.calls().by_operation;
    // 150 named-* plus the other tests' runners: one paginated listing, never one call per name.
    assert.equal(calls['actions/list-self-hosted-runners-for-org'], Math.ceil((registered(fx.github).length + 2) / 100));
    assert.equal(calls['actions/delete-self-hosted-runner-from-org'], 2);
  });

  it('reports unknown names and still removes the known ones', async () => {
    const env = fleet('unk-', 2);
    fx.github.seedRunners({ org: 'acme', name: 'someone-else-1' });
    const result = await fx.run('remove.ts', ['--yes', 'unk-runner-1', 'unk-runner-9', 'someone-else-1'], env);
    assert.match(result.stderr, /^warning: unk-runner-9: not registered on GitHub/m);
    assert.match(result.stderr, /^warning: someone-else-1: not a runner of this fleet \(its names start with unk-\)$/m);
    assert.match(result.stdout, /^unk-runner-1: unregistered from GitHub$/m);
    assert.deepEqual(ours('unk-'), ['unk-runner-2']);
    assert.ok(registered(fx.github).includes('someone-else-1'), "never touches another fleet's runner");
    // Docker does not answer here, so the containers left behind (7) outrank the unknown names (4).
    assert.equal(result.code, 7, result.stderr);
  });

  it('only unknown names: nothing removed, exit 4', async () => {
    const env = fleet('none-', 1);
    const result = await fx.run('remove.ts', ['-y', 'none-runner-7'], env);
    assert.equal(result.code, 4);
    assert.match(result.stdout, /nothing to remove/);
    assert.deepEqual(ours('none-'), ['none-runner-1']);
  });

  it('skips a busy runner with a message and exit 5, removing the idle ones', async () => {
    const env = fleet('busy-', 2, [1]);
    const result = await fx.run('remove.ts', ['-y'], env);
    assert.equal(result.code, 5, result.stderr);
    assert.match(result.stdout, /^busy-busy-1: skipped, it is running a job .*--force/m);
    assert.deepEqual(ours('busy-'), ['busy-busy-1']);
  });

  it('--force with Docker unreachable: a busy runner is neither stopped nor unregistered, and nothing claims its container was removed; exit 5', async () => {
    const env = fleet('force-', 1, [1]);
    const result = await fx.run('remove.ts', ['-y', '--force'], env);
    assert.equal(result.code, 5);
    assert.doesNotMatch(result.stdout, /skipped|container removed/);
    assert.match(
      result.stdout,
      /^force-busy-1: not unregistered: its container could not be removed \(see above\), so its job goes on, and GitHub refuses to remove a runner while it runs a job$/m,
    );
    assert.match(result.stderr, /containers and volumes not removed: the Docker daemon .* does not answer/);
    assert.deepEqual(ours('force-'), ['force-busy-1']);
  });

  it('no names: every runner of this prefix, orphans included', async () => {
    const env = fleet('all-', 120);
    const result = await fx.run('remove.ts', ['-y'], env);
    assert.equal(result.code, 7, result.stderr);
    assert.deepEqual(ours('all-'), []);
    await assertSecretNowhere(PAT, [result.stdout, result.stderr], fx.dir, [fx.env.ENV_FILE!]);
  });

  it('refuses without a terminal and without -y: one clear line, exit 8, nothing removed', async () => {
    const env = fleet('ask-', 3);
    fx.github.resetCalls();
    const result = await fx.run('remove.ts', ['ask-runner-1'], env);
    assert.equal(result.code, 8);
    assert.equal(result.stderr.trim(), 'error: refusing to remove 1 runner(s) without confirmation: this is not a terminal; pass -y (make: YES=1) to confirm');
    assert.equal(ours('ask-').length, 3);
    assert.equal(fx.github.calls().by_operation['actions/delete-self-hosted-runner-from-org'], undefined);
  });

  for (const [answer, code, left] of [
    ['n', 8, 2],
    ['y', 7, 1],
  ] as const) {
    it(`on a terminal asks first; answering ${answer} ${answer === 'y' ? 'removes' : 'keeps'} the runner`, async () => {
      const prefix = `tty${answer}-`;
      const env = { ...fx.env, ...fleet(prefix, 2), PATH: process.env.PATH!, TERM: 'xterm' };
      const command = `${process.execPath} --import ${import.meta.resolve('tsx')} ${REPO_ROOT}scripts/remove.ts ${prefix}runner-1`;
      const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: fx.dir, env });
      let screen = '';
      let answered = false;
      child.stdout.on('data', (chunk: Buffer) => {
        screen += chunk.toString();
        if (!answered && /\(y\/N\)/.test(screen)) {
          answered = true;
          child.stdin.write(`${answer}\r`);
        }
      });
      const exit = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.ok(answered, screen);
      const text = screen.replace(/\x1B\[[0-9;?]*[A-Za-z]/g, '').replace(/\s+/g, ' ');
      assert.ok(text.includes(`Remove 1 runner(s) of org acme (unregister, delete container and volumes): ${prefix}runner-1? (y/N)`), text);
      assert.equal(exit, code, screen);
      assert.equal(ours(prefix).length, left);
    });
  }
});
