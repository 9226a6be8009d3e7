// The derive step: the Config from raw settings and the facts passed in
// (working directory, host name, an existing fleet's prefix, the
// credential). Pure, so no file is needed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../../core/errors.ts';
import { prefixInComposeText } from '../../../lib/config/compose-prefix.ts';
import { deriveConfig, lockPaths, type DeriveFacts } from '../../../lib/config/derive.ts';
import type { Settings } from '../../../lib/config/settings.ts';

const facts: DeriveFacts = { cwd: '/lab', hostname: 'host1' };
const settings = (env: Record<string, string>, file: Record<string, string> = {}): Settings => ({ envFile: '/lab/.env', env, file });

describe('deriveConfig', () => {
  test('ORG unset: one line saying where to set it', () => {
    assert.throws(
      () => deriveConfig(settings({ REPO: 'widgets' }), facts),
      new ConfigError("ORG is not set: set it in the environment or in /lab/.env (see .env.example; ENTERPRISE instead for an enterprise's runners)"),
    );
  });

  test('paths are taken from the working directory, names from ORG/REPO and the host', () => {
    const config = deriveConfig(settings({ ORG: 'acme', REPO: 'widgets', COMPOSE_FILE: 'fleet.yml' }), facts);
    assert.equal(config.composeFile, '/lab/fleet.yml');
    assert.equal(config.tokenCacheFile, '/lab/.reg_token.cache.acme.widgets');
    assert.equal(config.imageHashFile, '/lab/.image-hash.acme.widgets');
    assert.equal(config.prefix, 'host1-acme_widgets-');
    assert.equal(config.envFile, '/lab/.env');
  });

  test("an existing fleet's prefix is kept over the default; RUNNER_NAME_PREFIX wins over both", () => {
    assert.equal(deriveConfig(settings({ ORG: 'acme' }), { ...facts, composePrefix: 'host1-old-' }).prefix, 'host1-old-');
    assert.equal(deriveConfig(settings({ ORG: 'acme', RUNNER_NAME_PREFIX: 'lab' }), { ...facts, composePrefix: 'host1-old-' }).prefix, 'lab-');
  });

  test('the credential passed in is the config’s; none passed, none in the config', () => {
    const credential = { kind: 'pat', token: 'ghp_x' } as const;
    assert.deepEqual(deriveConfig(settings({ ORG: 'acme', GH_PAT: 'ghp_other' }), { ...facts, credential }).credential, credential);
    assert.equal(deriveConfig(settings({ ORG: 'acme', GH_PAT: 'ghp_x' }), facts).credential, undefined);
  });

  test('a per-board setting in the env file naming no board is refused, as one in the environment is', () => {
    assert.throws(
      () => deriveConfig(settings({ ORG: 'acme', BOARD_RUNNERS: 'roc:arm64' }, { RUNNER_RESOURCE_ID_ROCK: 'roc-1' }), facts),
      /^ConfigError: RUNNER_RESOURCE_ID_ROCK names no board of BOARD_RUNNERS \(the boards are roc \(RUNNER_RESOURCE_ID_ROC\)\)/,
    );
  });

  test('proxy settings are passed on only when set', () => {
    const config = deriveConfig(settings({ ORG: 'acme', HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: '' }, { no_proxy: 'localhost' }), facts);
    assert.deepEqual(config.proxy, { HTTPS_PROXY: 'http://proxy:3128', no_proxy: 'localhost' });
  });
});

describe('ephemeral settings', () => {
  test('RUNNER_MODE defaults to persistent; ephemeral is taken in any case; anything else is one line', () => {
    assert.equal(deriveConfig(settings({ ORG: 'acme' }), facts).mode, 'persistent');
    assert.equal(deriveConfig(settings({ ORG: 'acme', RUNNER_MODE: 'Ephemeral' }), facts).mode, 'ephemeral');
    assert.throws(
      () => deriveConfig(settings({ ORG: 'acme', RUNNER_MODE: 'jit' }), facts),
      new ConfigError("RUNNER_MODE 'jit' is not a runner mode: set RUNNER_MODE to persistent (the default) or ephemeral"),
    );
  });

  test('RUNNER_CACHE_VOLUMES: name:/path pairs; a bad entry, a path the container needs, or a name twice is one line', () => {
    const config = deriveConfig(settings({ ORG: 'acme', RUNNER_CACHE_VOLUMES: 'toolcache:/opt/hostedtoolcache, ccache:/home/runner/.ccache/' }), facts);
    assert.deepEqual(config.cacheVolumes, [
      { name: 'toolcache', path: '/opt/hostedtoolcache' },
      { name: 'ccache', path: '/home/runner/.ccache' },
    ]);
    assert.deepEqual(deriveConfig(settings({ ORG: 'acme' }), facts).cacheVolumes, []);
    assert.throws(
      () => deriveConfig(settings({ ORG: 'acme', RUNNER_CACHE_VOLUMES: '/opt/cache' }), facts),
      /^ConfigError: RUNNER_CACHE_VOLUMES entry '\/opt\/cache' is not name:\/path/,
    );
    assert.throws(
      () => deriveConfig(settings({ ORG: 'acme', RUNNER_CACHE_VOLUMES: 'x:/opt/runner-fleet' }), facts),
      /mounts over \/opt\/runner-fleet, which the runner container needs/,
    );
    assert.throws(() => deriveConfig(settings({ ORG: 'acme', RUNNER_CACHE_VOLUMES: 'a:/c,a:/d' }), facts), /names 'a' or \/d twice/);
  });
});

describe('lock paths', () => {
  test('the host path defaults to the container path; trailing slashes go', () => {
    assert.deepEqual(lockPaths(settings({ RUNNER_LOCK_DIR: '/srv/locks/' })), { lockDir: '/srv/locks', lockHostPath: '/srv/locks' });
    assert.deepEqual(lockPaths(settings({}, { RUNNER_LOCK_HOST_PATH: '/data/locks' })), { lockDir: '/tmp/github-runner-locks', lockHostPath: '/data/locks' });
  });
});

describe("an existing fleet's prefix in its compose file", () => {
  test('read from the prefix label, quoted or not; none without the label', () => {
    assert.equal(prefixInComposeText('services:\n  a:\n    labels:\n      dev.gh-runner-fleet.prefix: host1-acme-x-\n'), 'host1-acme-x-');
    assert.equal(prefixInComposeText("    labels:\n      dev.gh-runner-fleet.prefix: 'lab-'\n"), 'lab-');
    assert.equal(prefixInComposeText('services: {}\n'), undefined);
  });

  test('a value Docker could not use in a name is not taken', () => {
    assert.equal(prefixInComposeText('      dev.gh-runner-fleet.prefix: "lab/x-"\n'), undefined);
  });
});
