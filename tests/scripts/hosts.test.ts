// make list and make locks over several env files (issue 23, several hosts),
// as a user runs them, against the GitHub stand-in without a Docker engine:
// each fleet's daemon is its env file's DOCKER_HOST (a socket nobody listens
// on here), named in the HOST column and in its warning; one env file keeps
// today's output (tests/scripts/list.test.ts, locks.test.ts).
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runScript } from '../support/cli.ts';
import { PAT, startFixture, type Fixture } from '../support/github-fixture.ts';

let fx: Fixture;
/** The fixture's environment without ENV_FILE, DOCKER_HOST and the prefix: the env files say them. */
let env: Record<string, string | undefined>;
const A = 'unix:///nonexistent-a.sock';
const B = 'unix:///nonexistent-b.sock';

before(async () => {
  fx = await startFixture();
  env = { ...fx.env, ENV_FILE: undefined, DOCKER_HOST: undefined, RUNNER_NAME_PREFIX: undefined };
  fx.github.seedRunners({ org: 'acme', count: 2, name_prefix: 'lab-a-runner-', labels: ['self-hosted', 'intel'] });
  fx.github.seedRunners({ org: 'acme', repo: 'widgets', name: 'lab-w-runner-1', busy: true, labels: ['self-hosted', 'arm64'] });
  await writeFile(join(fx.dir, 'a.env'), `ORG=acme\nGH_PAT=${PAT}\nRUNNER_NAME_PREFIX=lab-a\nDOCKER_HOST=${A}\nRUNNER_LOCK_HOST_PATH=${fx.dir}/locks\n`, {
    mode: 0o600,
  });
  await writeFile(
    join(fx.dir, 'w.env'),
    `ORG=acme\nREPO=widgets\nGH_PAT=${PAT}\nRUNNER_NAME_PREFIX=lab-w\nDOCKER_HOST=${B}\nRUNNER_LOCK_HOST_PATH=${fx.dir}/locks\n`,
    { mode: 0o600 },
  );
  await writeFile(join(fx.dir, 'ssh.env'), `ORG=acme\nDOCKER_HOST=ssh://ci@lab2.invalid\nRUNNER_LOCK_HOST_PATH=${fx.dir}/locks\n`, { mode: 0o600 });
  await mkdir(join(fx.dir, 'locks'));
});
after(async () => {
  assert.deepEqual(fx.github.violations, []);
  await fx.close();
});

const run = (script: string, args: string[], extra: Record<string, string> = {}) => runScript(script, args, { cwd: fx.dir, env: { ...env, ...extra } });

describe('list --env-file A --env-file B', () => {
  it("one table with each fleet's HOST and SCOPE, a summary and a Docker warning per fleet", async () => {
    const result = await run('list.ts', ['--env-file', 'a.env', '--env-file', 'w.env']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      result.stdout
        .trimEnd()
        .split('\n')
        .map((line) => line.split(/ {2,}/).slice(0, 6).join(' | ')),
      [
        'HOST | SCOPE | NAME | CONTAINER | GITHUB | BUSY',
        `${A} | acme | lab-a-runner-1 | ? | online | idle`,
        `${A} | acme | lab-a-runner-2 | ? | online | idle`,
        `${B} | acme/widgets | lab-w-runner-1 | ? | online | busy`,
        '',
        `acme on ${A}: 2 runner(s): 2 online, 0 busy, 0 orphan(s), 0 unregistered`,
        `acme/widgets on ${B}: 1 runner(s): 1 online, 1 busy, 0 orphan(s), 0 unregistered`,
      ],
    );
    assert.deepEqual(result.stderr.trimEnd().split('\n'), [
      `warning: acme on ${A}: the Docker daemon at ${A} does not answer: start it (systemctl start docker) or fix DOCKER_HOST (showing GitHub's side only)`,
      `warning: acme/widgets on ${B}: the Docker daemon at ${B} does not answer: start it (systemctl start docker) or fix DOCKER_HOST (showing GitHub's side only)`,
    ]);
  });

  it('ENV_FILES="a w" is the same; --json rows gain host and scope', async () => {
    const result = await run('list.ts', ['--json'], { ENV_FILES: 'a.env  w.env' });
    assert.equal(result.code, 0, result.stderr);
    const rows = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(
      rows.map((row) => [row.host, row.scope, row.name, row.busy]),
      [
        [A, 'acme', 'lab-a-runner-1', false],
        [A, 'acme', 'lab-a-runner-2', false],
        [B, 'acme/widgets', 'lab-w-runner-1', true],
      ],
    );
    assert.deepEqual(Object.keys(rows[0]!).slice(0, 3), ['host', 'scope', 'name']);
  });

  it('one env file given: the table of today, no HOST column', async () => {
    const result = await run('list.ts', ['--env-file', 'a.env']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^NAME +CONTAINER +GITHUB +BUSY +BOARD +LABELS +DEVICES +NOTE\nlab-a-runner-1 /);
  });

  it('a bad DOCKER_HOST in one of them: one line naming its file and the setting', async () => {
    await writeFile(join(fx.dir, 'bad.env'), `ORG=acme\nGH_PAT=${PAT}\nDOCKER_HOST=lab2:2375\n`, { mode: 0o600 });
    const result = await run('list.ts', ['--env-file', 'a.env', '--env-file', 'bad.env']);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.match(
      result.stderr,
      /^error: bad\.env: DOCKER_HOST 'lab2:2375' is not a Docker host: set DOCKER_HOST to unix:\/\/\/path\/to\/docker\.sock, tcp:\/\/HOST:PORT or ssh:\/\/\[USER@\]HOST\[:PORT\], or unset it for this machine's Docker\n$/,
    );
  });
});

describe('locks --env-file A --env-file B', () => {
  it('daemons of this machine naming one directory share it; an ssh:// host has its own, not read from here', async () => {
    const result = await run('locks.ts', ['--env-file', 'a.env', '--env-file', 'w.env', '--env-file', 'ssh.env']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.trimEnd().split('\n'), [
      `HOST ${A}, ${B} (acme, acme/widgets): lock directory ${fx.dir}/locks`,
      `  no resource has been locked in ${fx.dir}/locks`,
      `HOST ssh://ci@lab2.invalid (acme): lock directory ${fx.dir}/locks`,
      '  on ssh://ci@lab2.invalid, not this one: its board runners lock there, run make locks on that machine',
    ]);
    const json = JSON.parse((await run('locks.ts', ['--json'], { ENV_FILES: 'a.env w.env' })).stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(json, [{ hosts: [A, B], scopes: ['acme', 'acme/widgets'], lockDir: `${fx.dir}/locks`, resources: [] }]);
  });

  it('release takes one env file', async () => {
    const result = await run('locks.ts', ['release', 'board-a', '--force'], { ENV_FILES: 'a.env w.env' });
    assert.equal(result.code, 2);
    assert.equal(result.stderr, 'error: locks release frees a lock in one lock directory: give one env file (ENV_FILE=…), not several\n');
  });
});

describe('report --env-file A --env-file B', () => {
  it('each lock directory once under its heading; another machine said in a line; --json an array with hosts', async () => {
    const result = await run('report.ts', ['--env-file', 'a.env', '--env-file', 'w.env', '--env-file', 'ssh.env']);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.equal(lines[0], `HOST ${A}, ${B} (acme, acme/widgets): lock directory ${fx.dir}/locks`);
    assert.match(lines[1]!, new RegExp(`^ {2}board history from no locks\\.log in ${fx.dir}/locks, all of it, until `));
    assert.deepEqual(lines.slice(2), [
      '  no job held or waited for a board in that time',
      '',
      `HOST ssh://ci@lab2.invalid (acme): lock directory ${fx.dir}/locks`,
      '  on ssh://ci@lab2.invalid, not this one: its board runners lock there, run make report on that machine',
    ]);
    const json = JSON.parse((await run('report.ts', ['--json'], { ENV_FILES: 'a.env ssh.env' })).stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(
      json.map((entry) => [entry.hosts, entry.lock_dir ?? null, entry.note ?? null]),
      [
        [[A], `${fx.dir}/locks`, null],
        [['ssh://ci@lab2.invalid'], null, 'on ssh://ci@lab2.invalid, not this one: its board runners lock there, run make report on that machine'],
      ],
    );
  });
});
