import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig, registrationUrl } from '../../../lib/config/config.ts';
import { collecting } from '../../../core/reporter.ts';
import { ConfigError, ExitCode } from '../../../core/errors.ts';
import { createRunnerApi } from '../../../lib/github/runner-api.ts';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'fleet-config-'));
}

/** Loads config with only the given environment (no TTY, fixed hostname). */
async function load(env: Record<string, string>, cwd?: string) {
  return loadConfig({ env, cwd: cwd ?? (await tempDir()), interactive: false, hostname: 'host1' });
}

async function rejection(env: Record<string, string>, cwd?: string): Promise<ConfigError> {
  try {
    await load(env, cwd);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.exitCode, ExitCode.config);
    assert.ok(!err.message.includes('\n'), 'error is one line');
    return err;
  }
  assert.fail('expected loadConfig to reject');
}

const base = { ORG: 'acme', GH_PAT: 'ghp_test' };

describe('config sources', () => {
  test('the environment wins over ENV_FILE, which fills in the rest', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'org.env'), 'ORG=fromfile\nGH_PAT=filepat\nRUNNER_LABELS=gpu # comment\nUNKNOWN_KEY=x\n');
    const config = await load({ ENV_FILE: 'org.env', ORG: 'fromenv' }, dir);
    assert.equal(config.scope.org, 'fromenv');
    assert.deepEqual(config.credential, { kind: 'pat', token: 'filepat' });
    assert.deepEqual(config.labels, ['gpu']);
    assert.equal(config.envFile, join(dir, 'org.env'));
  });

  test('defaults follow the seed', async () => {
    const config = await load(base);
    assert.deepEqual(config.labels, ['intel']);
    assert.equal(config.group, 'Default');
    assert.equal(config.baseImage, 'ghcr.io/actions/actions-runner:latest');
    assert.equal(config.lockDir, '/tmp/github-runner-locks');
    assert.equal(config.lockHostPath, '/tmp/github-runner-locks');
    assert.equal(config.tokenCacheTtlSeconds, 300);
    assert.equal(config.githubUrl, 'https://github.com');
    assert.equal(config.githubApiUrl, 'https://api.github.com');
    assert.equal(config.disableAutoUpdate, false);
    assert.equal(registrationUrl(config), 'https://github.com/acme');
  });

  test('missing ORG or credential without a terminal names the settings and where to set them', async () => {
    const dir = await tempDir();
    const noOrg = await rejection({ GH_PAT: 'x' }, dir);
    assert.match(noOrg.message, /^ORG is not set: set it in the environment or in .*\.env/);
    const noPat = await rejection({ ORG: 'acme' }, dir);
    assert.match(
      noPat.message,
      /^no GitHub credential is set: set GH_PAT, or GH_APP_ID and GH_APP_PRIVATE_KEY_FILE for a GitHub App, in the environment or in .*\.env/,
    );
  });

  test('an env file holding GH_PAT that others can read gets one warning line naming the fix', async () => {
    const dir = await tempDir();
    const path = join(dir, '.env');
    await writeFile(path, 'ORG=acme\nGH_PAT=p\n', { mode: 0o644 });
    const reporter = collecting();
    await loadConfig({ env: {}, cwd: dir, interactive: false, hostname: 'h', reporter });
    assert.deepEqual(reporter.warnings, [`${path} holds GH_PAT and other users can read it: chmod 600 ${path}`]);
    await chmod(path, 0o600);
    await loadConfig({ env: {}, cwd: dir, interactive: false, hostname: 'h', reporter });
    assert.equal(reporter.warnings.length, 1, 'no warning once it is private');
  });

  test('compose generation runs without a credential; a GitHub call from such a config names the settings to set', async () => {
    const dir = await tempDir();
    const config = await loadConfig({ env: { ORG: 'acme' }, cwd: dir, interactive: false, credential: 'none', hostname: 'h' });
    assert.equal(config.credential, undefined);
    assert.throws(
      () => createRunnerApi(config),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(
          err.message,
          `no GitHub credential is set: set GH_PAT, or GH_APP_ID and GH_APP_PRIVATE_KEY_FILE for a GitHub App, in the environment or in ${join(dir, '.env')} (see README, Credentials)`,
        );
        return true;
      },
    );
  });

  test('a PAT set for a command that needs none is left out of its config', async () => {
    const config = await loadConfig({ env: base, cwd: await tempDir(), interactive: false, credential: 'none', hostname: 'h' });
    assert.equal(config.credential, undefined);
  });
});

describe('derived names', () => {
  test('org scope: prefix, compose file, token cache', async () => {
    const dir = await tempDir();
    const config = await load(base, dir);
    assert.equal(config.prefix, 'host1-acme-');
    assert.equal(config.composeFile, join(dir, 'docker-compose.acme.yml'));
    assert.equal(config.tokenCacheFile, join(dir, '.reg_token.cache.acme'));
    assert.equal(config.projectName, 'host1-acme');
  });

  test('repo scope: names carry the repo, registration URL too', async () => {
    const dir = await tempDir();
    const config = await load({ ...base, REPO: 'widgets' }, dir);
    assert.deepEqual(config.scope, { org: 'acme', repo: 'widgets' });
    assert.equal(config.prefix, 'host1-acme_widgets-');
    assert.equal(config.composeFile, join(dir, 'docker-compose.acme.widgets.yml'));
    assert.equal(config.tokenCacheFile, join(dir, '.reg_token.cache.acme.widgets'));
    assert.equal(registrationUrl(config), 'https://github.com/acme/widgets');
  });

  test('two orgs on one host never share a file, prefix, project or image', async () => {
    const dir = await tempDir();
    const a = await load({ ...base, ORG: 'acme' }, dir);
    const b = await load({ ...base, ORG: 'globex' }, dir);
    for (const key of ['prefix', 'composeFile', 'tokenCacheFile', 'imageHashFile', 'projectName', 'fleetImage', 'customImage'] as const) {
      assert.notEqual(a[key], b[key], key);
    }
  });

  test('an explicit prefix gets its trailing dash', async () => {
    assert.equal((await load({ ...base, RUNNER_NAME_PREFIX: 'lab' })).prefix, 'lab-');
    assert.equal((await load({ ...base, RUNNER_NAME_PREFIX: 'lab-' })).prefix, 'lab-');
  });

  test('GHES URLs lose trailing slashes', async () => {
    const config = await load({ ...base, GITHUB_URL: 'https://ghe.example.com/', GITHUB_API_URL: 'https://ghe.example.com/api/v3/' });
    assert.equal(config.githubUrl, 'https://ghe.example.com');
    assert.equal(config.githubApiUrl, 'https://ghe.example.com/api/v3');
  });
});

describe('validation: one line naming the setting', () => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['org with a space', { ORG: 'ac me' }, /^ORG 'ac me' is not a GitHub organization name/],
    ['org with a leading hyphen', { ORG: '-acme' }, /^ORG '-acme'/],
    ['org too long', { ORG: 'a'.repeat(40) }, /^ORG 'a{40}'/],
    ['repo with a slash', { REPO: 'a/b' }, /^REPO 'a\/b' is not a GitHub repository name/],
    ['empty label', { RUNNER_LABELS: 'a,,b' }, /^RUNNER_LABELS has an empty label in 'a,,b'/],
    ['label with a space', { RUNNER_LABELS: 'big gpu' }, /^RUNNER_LABELS label 'big gpu' contains a space/],
    ['prefix Docker cannot use', { RUNNER_NAME_PREFIX: 'lab/x' }, /^RUNNER_NAME_PREFIX gives the name 'lab\/x-runner-1-data', which Docker cannot use/],
    ['TTL not a number', { REG_TOKEN_CACHE_TTL: '5m' }, /^REG_TOKEN_CACHE_TTL '5m' is not a non-negative integer/],
    ['boolean', { DISABLE_AUTO_UPDATE: 'maybe' }, /^DISABLE_AUTO_UPDATE 'maybe' is not a boolean/],
    ['URL', { GITHUB_API_URL: 'api.github.com' }, /^GITHUB_API_URL 'api.github.com' is not a URL/],
    [
      'compose command',
      { RUNNER_COMPOSE: 'podman-compose' },
      /^RUNNER_COMPOSE 'podman-compose' is not a compose command: set RUNNER_COMPOSE to 'docker compose' \(v2\) or docker-compose \(v1\)/,
    ],
    ['lock dir relative', { RUNNER_LOCK_DIR: 'locks' }, /^RUNNER_LOCK_DIR 'locks' must be an absolute path/],
    ['kvm gid', { RUNNER_KVM_GID: 'kvm' }, /^RUNNER_KVM_GID 'kvm' is not a non-negative integer/],
    ['device', { BOARD_RUNNER_DEVICES: 'ttyUSB0' }, /^BOARD_RUNNER_DEVICES item 'ttyUSB0' is not host\[:container\]/],
    ['resource id', { BOARD_RUNNERS: 'b:x', RUNNER_RESOURCE_ID: 'a b' }, /^RUNNER_RESOURCE_ID 'a b' is not a usable resource ID/],
    // the wrapper would refuse it: accepting it here would leave a board runner restart-looping
    [
      'resource id with a dot',
      { BOARD_RUNNERS: 'b:x', RUNNER_RESOURCE_ID_B: 'board.a' },
      /^RUNNER_RESOURCE_ID_B 'board.a' is not a usable resource ID \(letters, digits, '_', '-', at most 64\)/,
    ],
  ];
  for (const [name, env, expected] of cases) {
    test(name, async () => {
      const err = await rejection({ ...base, ...env });
      assert.match(err.message, expected);
    });
  }

  test('RUNNER_COMPOSE takes either compose command (extra spaces too); unset, the toolkit picks', async () => {
    assert.equal((await load({ ...base, RUNNER_COMPOSE: 'docker   compose' })).composeCommand, 'docker compose');
    assert.equal((await load({ ...base, RUNNER_COMPOSE: 'docker-compose' })).composeCommand, 'docker-compose');
    assert.equal((await load(base)).composeCommand, undefined);
  });

  test('labels are trimmed and de-duplicated case-insensitively', async () => {
    const config = await load({ ...base, RUNNER_LABELS: ' intel , x64,Intel,x64 ' });
    assert.deepEqual(config.labels, ['intel', 'x64']);
  });

  test('a broken setting in ENV_FILE leaves the file as it was', async () => {
    const dir = await tempDir();
    const text = '# my settings\nORG=acme\nGH_PAT=p\nRUNNER_LABELS=a,,b\n';
    await writeFile(join(dir, '.env'), text, { mode: 0o600 });
    await rejection({}, dir);
    assert.equal(await readFile(join(dir, '.env'), 'utf8'), text);
    assert.equal((await stat(join(dir, '.env'))).mode & 0o777, 0o600);
  });
});

describe('settings that could collide or inject (issue 12)', () => {
  test('ORG=acme REPO=x and ORG=acme-x get different prefixes, projects, images and files', async () => {
    const repo = await load({ ...base, REPO: 'x' });
    const org = await load({ ...base, ORG: 'acme-x' });
    assert.equal(repo.prefix, 'host1-acme_x-');
    assert.equal(org.prefix, 'host1-acme-x-');
    assert.notEqual(repo.projectName, org.projectName);
    assert.notEqual(repo.fleetImage, org.fleetImage);
    assert.notEqual(repo.composeFile, org.composeFile);
    assert.notEqual(repo.tokenCacheFile, org.tokenCacheFile);
  });

  test('a fleet made with the former default prefix keeps it (read from its compose file)', async () => {
    const dir = await tempDir();
    await writeFile(
      join(dir, 'docker-compose.acme.x.yml'),
      'services:\n  host1-acme-x-runner-1:\n    labels:\n      dev.gh-runner-fleet.prefix: host1-acme-x-\n',
    );
    assert.equal((await load({ ...base, REPO: 'x' }, dir)).prefix, 'host1-acme-x-');
  });

  test("an unquoted value cut at '#' is named in a warning (never its value), a quoted one is not", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, '.env'), "ORG=acme\nGH_PAT=ghp_abc#def\nHTTPS_PROXY='http://u:p#w@proxy:3128'\nRUNNER_LABELS=gpu # a comment\n", { mode: 0o600 });
    const reporter = collecting();
    const config = await loadConfig({ env: {}, cwd: dir, interactive: false, hostname: 'host1', reporter });
    assert.deepEqual(config.credential, { kind: 'pat', token: 'ghp_abc' }, 'dotenv cuts the value');
    assert.deepEqual(reporter.warnings, [
      `GH_PAT in ${join(dir, '.env')} has a '#' in its unquoted value, which dotenv reads as the start of a comment, so the value is cut there: quote it, GH_PAT='…'`,
    ]);
    assert.equal(config.proxy.HTTPS_PROXY, 'http://u:p#w@proxy:3128');
  });

  test('an env file that is a directory or unreadable: exit 2 naming the file', async () => {
    const dir = await tempDir();
    const err = await rejection({ ENV_FILE: dir }, dir);
    assert.match(err.message, new RegExp(`^the env file ${dir} is not a regular file: point ENV_FILE at a file`));
    if (process.getuid?.() !== 0) {
      await writeFile(join(dir, 'locked.env'), 'ORG=acme\n', { mode: 0o000 });
      assert.match((await rejection({ ENV_FILE: 'locked.env' }, dir)).message, /^the env file .*locked\.env cannot be read \(EACCES\)/);
    }
  });

  test('RUNNER_LOCK_HOST_PATH with a ":" and RUNNER_WORKDIR outside the runner root are refused', async () => {
    assert.match((await rejection({ ...base, RUNNER_LOCK_HOST_PATH: '/a:/etc:rw' })).message, /^RUNNER_LOCK_HOST_PATH '\/a:\/etc:rw' contains ':'/);
    for (const workdir of ['../../etc', '/etc', 'a/../..', '.']) {
      assert.match((await rejection({ ...base, RUNNER_WORKDIR: workdir })).message, /^RUNNER_WORKDIR '.*' must be a folder under the runner's root/, workdir);
    }
    assert.equal((await load({ ...base, RUNNER_WORKDIR: 'work/jobs' })).workdir, 'work/jobs');
  });
});
