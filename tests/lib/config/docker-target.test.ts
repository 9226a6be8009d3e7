// DOCKER_HOST and DOCKER_CONTEXT (issue 23, several hosts): read like every
// setting (the environment wins over the env file), validated to one line
// naming the setting, at most one of them; and the several env files of
// make list/locks/report/status (--env-file repeated, or ENV_FILES).
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError } from '../../../core/errors.ts';
import { loadConfigs, loadLockHosts } from '../../../lib/config/config.ts';
import { deriveConfig, dockerTargetOf, type DeriveFacts } from '../../../lib/config/derive.ts';
import type { Settings } from '../../../lib/config/settings.ts';
import { envFilesArg } from '../../../lib/script-args.ts';

const facts: DeriveFacts = { cwd: '/lab', hostname: 'host1' };
const settings = (env: Record<string, string>, file: Record<string, string> = {}): Settings => ({ envFile: '/lab/.env', env, file });
const target = (env: Record<string, string>, file: Record<string, string> = {}) => dockerTargetOf(settings(env, file));

describe('DOCKER_HOST and DOCKER_CONTEXT', () => {
  test('neither: the docker CLI default; each form of DOCKER_HOST taken as written; a context by name', () => {
    assert.deepEqual(deriveConfig(settings({ ORG: 'acme' }), facts).docker, {});
    for (const host of ['unix:///run/docker-second.sock', 'tcp://10.0.0.5:2376', 'tcp://lab2', 'ssh://ci@lab2', 'ssh://ci@lab2:2222', 'ssh://[fd00::5]:22']) {
      assert.deepEqual(target({}, { DOCKER_HOST: host }), { host });
    }
    assert.deepEqual(target({}, { DOCKER_CONTEXT: 'lab2' }), { context: 'lab2' });
    assert.deepEqual(deriveConfig(settings({ ORG: 'acme' }, { DOCKER_HOST: ' ssh://ci@lab2 ' }), facts).docker, { host: 'ssh://ci@lab2' });
  });

  test('the environment wins over the env file; an empty value is unset', () => {
    assert.deepEqual(target({ DOCKER_HOST: 'unix:///env.sock' }, { DOCKER_HOST: 'unix:///file.sock' }), { host: 'unix:///env.sock' });
    assert.deepEqual(target({ DOCKER_CONTEXT: ' ' }, { DOCKER_CONTEXT: 'lab2' }), {});
  });

  test('a DOCKER_HOST docker would not take is one line naming the setting and its forms', () => {
    const forms = "set DOCKER_HOST to unix:///path/to/docker.sock, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT], or unset it for this machine's Docker";
    const cases: Array<[string, string]> = [
      ['/run/docker.sock', ''],
      ['http://lab2:2375', ''],
      ['npipe:////./pipe/docker_engine', ''],
      ['unix://run/docker.sock', ' (unix:// takes the absolute path of a socket)'],
      ['unix:///', ' (unix:// takes the absolute path of a socket)'],
      ['tcp://', ' (no host name)'],
      ['ssh://ci@lab2/var/run/docker.sock', ' (nothing may follow ssh://HOST:PORT)'],
      ['tcp://lab2:2375?x=1', ' (nothing may follow tcp://HOST:PORT)'],
    ];
    for (const [host, why] of cases) {
      assert.throws(() => target({}, { DOCKER_HOST: host }), new ConfigError(`DOCKER_HOST '${host}' is not a Docker host${why}: ${forms}`), host);
    }
  });

  test('a password in ssh:// is refused without being shown', () => {
    assert.throws(
      () => target({}, { DOCKER_HOST: 'ssh://ci:hunter2@lab2' }),
      (err: Error) => err instanceof ConfigError && /^DOCKER_HOST holds a password/.test(err.message) && !err.message.includes('hunter2'),
    );
  });

  test('a context name docker would refuse is one line', () => {
    assert.throws(
      () => target({ DOCKER_CONTEXT: 'lab 2' }),
      new ConfigError("DOCKER_CONTEXT 'lab 2' is not a docker context name (letters, digits and _.+-): set DOCKER_CONTEXT to one that docker context ls lists"),
    );
  });

  test('both set is one line saying where each is set', () => {
    assert.throws(
      () => target({ DOCKER_HOST: 'unix:///a.sock' }, { DOCKER_CONTEXT: 'lab2' }),
      new ConfigError(
        "DOCKER_HOST (in the environment) and DOCKER_CONTEXT (in /lab/.env) are both set: set one, DOCKER_HOST for a daemon's address or DOCKER_CONTEXT for a docker context that names one",
      ),
    );
    assert.throws(
      () => deriveConfig(settings({ ORG: 'acme' }, { DOCKER_HOST: 'unix:///a.sock', DOCKER_CONTEXT: 'lab2' }), facts),
      /^ConfigError: DOCKER_HOST \(in \/lab\/.env\) and DOCKER_CONTEXT \(in \/lab\/.env\) are both set/,
    );
  });
});

describe('several env files', () => {
  test('--env-file repeated wins; else ENV_FILES split on blanks; else none (ENV_FILE, default .env)', () => {
    assert.deepEqual(envFilesArg(['a.env', 'b.env'], { ENV_FILES: 'c.env' }), ['a.env', 'b.env']);
    assert.deepEqual(envFilesArg(undefined, { ENV_FILES: ' c.env\td.env  e.env ' }), ['c.env', 'd.env', 'e.env']);
    assert.deepEqual(envFilesArg([], { ENV_FILES: '' }), []);
    assert.deepEqual(envFilesArg(undefined, {}), []);
  });

  test('each file is loaded with its own DOCKER_HOST, in order; a bad one is named by its file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleet-hosts-'));
    await writeFile(join(dir, 'a.env'), 'ORG=acme\nRUNNER_NAME_PREFIX=lab-a\n');
    await writeFile(join(dir, 'b.env'), 'ORG=globex\nRUNNER_NAME_PREFIX=lab-b\nDOCKER_HOST=unix:///run/docker-second.sock\nRUNNER_LOCK_HOST_PATH=/srv/locks\n');
    await writeFile(join(dir, 'c.env'), 'ORG=initech\nDOCKER_HOST=docker.example:2375\n');
    const env = { PATH: process.env.PATH };
    const configs = await loadConfigs(['a.env', 'b.env'], { env, cwd: dir, credential: 'none' });
    assert.deepEqual(
      configs.map((c) => [c.scope.org, c.prefix, c.docker]),
      [
        ['acme', 'lab-a-', {}],
        ['globex', 'lab-b-', { host: 'unix:///run/docker-second.sock' }],
      ],
    );
    await assert.rejects(loadConfigs(['a.env', 'c.env'], { env, cwd: dir, credential: 'none' }), (err: Error) =>
      err.message.startsWith("c.env: DOCKER_HOST 'docker.example:2375' is not a Docker host:"),
    );
    // One file: its error as loadConfig gives it.
    await assert.rejects(loadConfigs(['c.env'], { env, cwd: dir, credential: 'none' }), (err: Error) =>
      err.message.startsWith("DOCKER_HOST 'docker.example:2375'"),
    );
    const hosts = await loadLockHosts(['a.env', 'b.env'], { env, cwd: dir });
    assert.deepEqual(
      hosts.map((h) => [h.scope, h.docker, h.lockHostPath]),
      [
        ['acme', {}, '/tmp/github-runner-locks'],
        ['globex', { host: 'unix:///run/docker-second.sock' }, '/srv/locks'],
      ],
    );
  });
});
