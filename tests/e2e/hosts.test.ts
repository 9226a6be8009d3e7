// End to end on two real Docker daemons (issue 23, several hosts): the test
// ground's own engine and its second one (tests/e2e/setup.sh: its own socket
// SECOND_DOCKER_HOST, data root, exec root and bridge). acme's fleet runs on
// the first, globex's on the second because its env file says
// DOCKER_HOST=unix:///run/docker-second.sock: init builds and starts each on
// its own engine, list over both env files shows each fleet's runners online
// with its HOST, ps of the second finds its containers there (and the first
// engine knows none of them), locks sees the one lock directory both hosts'
// board runners share on this machine, and purge of the second removes its
// fleet from the second engine. The runners are the runner simulator
// (standins/runner), which STANDS IN for actions/runner; GitHub is the stand-in.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { composeProjectName } from '../../lib/config/names.ts';
import type { ScriptResult } from '../support/cli.ts';
import { startGround, type Ground } from '../support/ground.ts';
import { waitFor } from '../support/wait.ts';
import { dockerOk, SECOND_DOCKER_HOST, secondDockerUnavailable } from './helpers.ts';

const skip = await secondDockerUnavailable();
if (skip) console.log(`# skipping the several-hosts e2e test: ${skip}`);

test("setup.sh starts the second daemon on helpers.ts's SECOND_DOCKER_HOST", () => {
  const setup = readFileSync(new URL('setup.sh', import.meta.url), 'utf8');
  const socket = /^SECOND_SOCKET=\$\{SECOND_SOCKET:-([^}]+)\}$/m.exec(setup)?.[1];
  assert.equal(`unix://${socket}`, SECOND_DOCKER_HOST);
});

describe('two fleets on two Docker daemons', { skip, timeout: 420_000 }, () => {
  let ground: Ground;
  let first = '';
  let second = '';
  const SECOND = SECOND_DOCKER_HOST;
  const names = async (host?: string): Promise<string[]> =>
    (await dockerOk(['ps', '-a', '--format', '{{.Names}}'], host ? { host } : {})).split('\n').filter(Boolean);
  const ok = async (script: string, args: string[], envFile: string): Promise<ScriptResult> => {
    const r = await ground.run(script, args, { ENV_FILE: envFile });
    assert.equal(r.code, 0, `${script} ${args.join(' ')} (${envFile}):\n${r.stdout}\n${r.stderr}`);
    return r;
  };

  before(async () => {
    ground = await startGround('hosts', { orgs: { acme: 'ghp_e2e_hosts_acme_0123456789', globex: 'ghp_e2e_hosts_globex_0123456789' } });
    first = ground.prefix('one');
    second = ground.prefix('two', { host: SECOND });
    // One lock directory on this machine, which both daemons' board runners mount.
    const locks = `RUNNER_LOCK_HOST_PATH=${ground.dir}/locks`;
    await ground.writeEnv(first, [locks], { file: 'a.env', org: 'acme' });
    await ground.writeEnv(second, [`DOCKER_HOST=${SECOND}`, locks, 'BOARD_RUNNERS=pi:pi', 'RUNNER_RESOURCE_ID=board-hosts'], { file: 'b.env', org: 'globex' });
  });

  after(() => ground?.close());

  test('init with each env file: each fleet on its own engine, online', async () => {
    await ok('init.ts', ['-n', '1'], 'a.env');
    await ok('init.ts', ['-n', '1'], 'b.env');
    await waitFor(
      'all three runners online',
      () => ground.online(`${first}runner-1`, 'acme') && ground.online(`${second}runner-1`, 'globex') && ground.online(`${second}runner-pi`, 'globex'),
      { timeoutMs: 60_000 },
    );
    const [here, there] = [await names(), await names(SECOND)];
    assert.ok(here.includes(`${first}runner-1`) && !there.includes(`${first}runner-1`), "acme's runner on the first engine only");
    for (const name of [`${second}runner-1`, `${second}runner-pi`])
      assert.ok(there.includes(name) && !here.includes(name), `${name} on the second engine only`);
    const image = `gh-runner-fleet:${composeProjectName(second)}`;
    assert.equal(
      await dockerOk(['image', 'inspect', '--format', 'ok', image], { host: SECOND }).catch(() => 'missing'),
      'ok',
      "globex's runner image built on the second engine",
    );
  });

  test('list --env-file a.env --env-file b.env: one table, both hosts, every runner online', async () => {
    const r = await ok('list.ts', ['--env-file', 'a.env', '--env-file', 'b.env'], 'a.env');
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^HOST +SCOPE +NAME +CONTAINER +GITHUB +BUSY +BOARD +LABELS +DEVICES +NOTE$/);
    assert.match(r.stdout, new RegExp(`^local +acme +${first}runner-1 +running +online +idle +- `, 'm'));
    assert.match(r.stdout, new RegExp(`^${SECOND} +globex +${second}runner-1 +running +online +idle +- `, 'm'));
    assert.match(r.stdout, new RegExp(`^${SECOND} +globex +${second}runner-pi +running +online +idle +pi `, 'm'));
    assert.ok(lines.includes('acme on local: 1 runner(s): 1 online, 0 busy, 0 orphan(s), 0 unregistered'), r.stdout);
    assert.ok(lines.includes(`globex on ${SECOND}: 2 runner(s): 2 online, 0 busy, 0 orphan(s), 0 unregistered`), r.stdout);
    assert.equal(r.stderr, '');
    // ENV_FILES (make list ENV_FILES="a.env b.env") and --json: rows with their host.
    const json = JSON.parse((await ground.run('list.ts', ['--json'], { ENV_FILES: 'a.env b.env' })).stdout) as Array<{
      host: string;
      scope: string;
      name: string;
      container: string;
    }>;
    assert.deepEqual(
      json.map((row) => [row.host, row.scope, row.name, row.container]),
      [
        ['local', 'acme', `${first}runner-1`, 'running'],
        [SECOND, 'globex', `${second}runner-1`, 'running'],
        [SECOND, 'globex', `${second}runner-pi`, 'running'],
      ],
    );
  });

  test("ps with the second env file: its containers, found on the second engine; the first's one list is unchanged", async () => {
    const r = await ok('ps.ts', [], 'b.env');
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0]!, /^NAME\s+STATE\s+KIND\s+BOARD\s+LABELS\s+RESOURCE\s+DEVICES$/);
    assert.deepEqual(
      lines.slice(1).map((line) => line.split(/\s+/).slice(0, 3).join(' ')),
      [`${second}runner-1 running generic`, `${second}runner-pi running board`],
    );
    const one = await ok('list.ts', [], 'a.env');
    assert.match(one.stdout, /^NAME +CONTAINER +GITHUB +BUSY +BOARD +LABELS +DEVICES +NOTE\n/);
    assert.match(one.stdout, new RegExp(`^${first}runner-1 +running +online +idle `, 'm'));
  });

  test('locks over both env files: the lock directory on this machine, with both hosts', async () => {
    const r = await ok('locks.ts', ['--json'], 'a.env');
    assert.deepEqual(JSON.parse(r.stdout), { lockDir: `${ground.dir}/locks`, resources: [] }, 'one env file: as before');
    const both = await ok('locks.ts', ['--env-file', 'a.env', '--env-file', 'b.env'], 'a.env');
    assert.equal(
      both.stdout,
      `HOST local, ${SECOND} (acme, globex): lock directory ${ground.dir}/locks\n  no resource has been locked in ${ground.dir}/locks\n`,
    );
  });

  test('purge -y with the second env file removes its fleet from the second engine and leaves the first', async () => {
    await ok('purge.ts', ['--yes'], 'b.env');
    assert.deepEqual(
      (await names(SECOND)).filter((name) => name.startsWith(second)),
      [],
    );
    assert.deepEqual(ground.github.runners('globex'), []);
    assert.ok((await names()).includes(`${first}runner-1`), "acme's runner still there");
  });
});
