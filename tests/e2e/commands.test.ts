// End to end on a real Docker engine, the commands' paths the lifecycle test
// does not walk: init without -n, make ps and make logs output, make image
// (--force), start on a running container that was never registered, and a
// registration that fails. The runners are the runner simulator
// (standins/runner), which STANDS IN for actions/runner; GitHub is the stand-in.
import assert from 'node:assert/strict';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { $ } from 'zx';
import { composeProjectName } from '../../lib/config/names.ts';
import type { GitHubStandIn } from '../../standins/github/server.ts';
import type { ScriptResult } from '../support/cli.ts';
import { startGround, type Ground } from '../support/ground.ts';
import { containerState, dockerOk, dockerUnavailable } from './helpers.ts';
import { waitFor } from '../support/wait.ts';

const skip = await dockerUnavailable();
if (skip) console.log(`# skipping the commands e2e test: ${skip}`);

describe('commands on a real engine', { skip, timeout: 420_000 }, () => {
  let ground: Ground;
  let github: GitHubStandIn;
  let dir: string;
  let PAT = '';
  let prefix = '';
  const runner = (short: string): string => `${prefix}runner-${short}`;
  const run = (script: string, args: string[] = []): Promise<ScriptResult> => ground.run(script, args);
  const ok = async (script: string, args: string[] = []): Promise<ScriptResult> => {
    const r = await run(script, args);
    assert.equal(r.code, 0, `${script} ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  const online = (name: string): boolean => ground.online(name);
  const project = (): string => composeProjectName(prefix);

  before(async () => {
    ground = await startGround('commands');
    ({ github, dir, pat: PAT } = ground);
    prefix = ground.prefix('cmd');
    await ground.writeEnv(prefix, ['BOARD_RUNNERS=pi:pi']);
  });

  after(() => ground?.close());

  test('a registration GitHub refuses: one line, exit non-zero, the token nowhere in the output, no container started', async () => {
    github.injectFault({ operation: 'actions/create-registration-token-for-org', kind: 'wrong_token', times: 1 });
    const r = await run('init.ts', ['-n', '1']);
    github.clearFaults();
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stdout, new RegExp(`^\\[\\d/2\\] ${runner('pi')}: registration failed \\(exit \\d+\\): `, 'm'));
    assert.match(r.stderr, /^error: registration failed for .*: see the lines above$/m);
    const cache = (await readdir(dir)).find((f) => f.startsWith('.reg_token.cache'));
    const token = cache ? (JSON.parse(await readFile(join(dir, cache), 'utf8')) as { token?: string }).token : undefined;
    assert.ok(token, 'the refused token was not cached, so the test cannot look for it');
    assert.ok(!`${r.stdout}${r.stderr}`.includes(token), 'the registration token was printed');
    assert.ok(!`${r.stdout}${r.stderr}`.includes(PAT), 'the PAT was printed');
    assert.notEqual((await containerState(runner('pi')))?.status, 'running', 'a runner started unregistered');
    // Start the next test from a new fleet: the refused token must not be reused, and the compose file goes too.
    await rm(join(dir, cache!));
    await rm(join(dir, 'docker-compose.acme.yml'));
  });

  test('init without -n on a new fleet: one generic runner plus the boards', async () => {
    await ok('init.ts');
    await waitFor('runner-1 and pi online', () => online(runner('1')) && online(runner('pi')), { timeoutMs: 60_000 });
    assert.deepEqual(
      github
        .runners('acme')
        .map((r) => r.name)
        .sort(),
      [runner('1'), runner('pi')].sort(),
    );
  });

  test('make ps: one row per container with state, kind, board, labels, resource and devices', async () => {
    const r = await ok('ps.ts');
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0]!, /^NAME\s+STATE\s+KIND\s+BOARD\s+LABELS\s+RESOURCE\s+DEVICES$/);
    assert.match(r.stdout, new RegExp(`^${runner('1')}\\s+running\\s+generic\\s+-\\s+\\S+\\s+-\\s+-$`, 'm'));
    assert.match(r.stdout, new RegExp(`^${runner('pi')}\\s+running\\s+board\\s+pi\\s`, 'm'));
    assert.equal(lines.length, 3, r.stdout);
    // --json (make ps JSON=1): the same containers as objects
    const json = JSON.parse((await ok('ps.ts', ['--json'])).stdout) as { name: string; state: string; kind: string; board?: string }[];
    assert.deepEqual(
      json.map((c) => [c.name, c.state, c.kind, c.board ?? '-']),
      [
        [runner('1'), 'running', 'generic', '-'],
        [runner('pi'), 'running', 'board', 'pi'],
      ],
    );
  });

  test("make logs: the runner's own output, by short name", async () => {
    const r = await ok('logs.ts', ['pi']);
    assert.match(r.stdout, /Listening for Jobs/);
    const bad = await run('logs.ts', ['nosuch']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown runner 'nosuch'/);
  });

  test('make image: unchanged inputs are not rebuilt; --force rebuilds', async () => {
    const image = `gh-runner-fleet:${project()}`;
    const before = await dockerOk(['image', 'inspect', '--format', '{{.Id}}', image]);
    const again = await ok('image.ts');
    assert.equal(await dockerOk(['image', 'inspect', '--format', '{{.Id}}', image]), before, `rebuilt without a change:\n${again.stdout}${again.stderr}`);
    await ok('image.ts', ['--force']);
    assert.notEqual(await dockerOk(['image', 'inspect', '--format', '{{.Id}}', image]), before, 'make image did not rebuild');
  });

  test('init without -n keeps the fleet at its size', async () => {
    await ok('init.ts', ['-n', '2']);
    await ok('init.ts');
    const compose = await readFile(join(dir, 'docker-compose.acme.yml'), 'utf8');
    assert.ok(compose.includes(`${runner('2')}:`), 'runner-2 dropped by init without -n');
    assert.ok(!compose.includes(`${runner('3')}:`));
  });

  test('make start registers a container that runs unconfigured and restarts it', async () => {
    // As someone who ran `docker compose up` by hand after `make compose -n 3`.
    await ok('compose.ts', ['-n', '3']);
    const [cli, ...sub] = (await $({ nothrow: true, quiet: true })`docker compose version`).exitCode === 0 ? ['docker', 'compose'] : ['docker-compose'];
    await $({ quiet: true, cwd: dir })`${cli} ${sub} -p ${project()} -f docker-compose.acme.yml up -d --no-deps ${runner('3')}`;
    assert.equal(online(runner('3')), false);
    const r = await ok('start.ts', ['3']);
    assert.match(r.stdout, new RegExp(`${runner('3')}`));
    await waitFor('runner-3 online after start', () => online(runner('3')), { timeoutMs: 45_000 });
  });
});
