// ENTERPRISE=slug (issue 23): an enterprise scope, PAT only. Its names, the
// registration URL, and the one-line refusals (ENTERPRISE with ORG or REPO,
// with a GitHub App, a slug GitHub would not make, ORG=enterprises); the
// names of org and repo fleets stay what they were.
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, ExitCode } from '../../../core/errors.ts';
import { loadConfig, registrationUrl, scopeName, type Scope } from '../../../lib/config/config.ts';
import { deriveConfig, scopeOf, type DeriveFacts } from '../../../lib/config/derive.ts';
import { completeSettings } from '../../../lib/config/prompt-credentials.ts';
import type { Settings } from '../../../lib/config/settings.ts';
import { buildCompose } from '../../../lib/docker/compose-file.ts';
import { labelledScope, labelsMatchScope, scopeLabels } from '../../../lib/docker/labels.ts';
import { scopeDescription } from '../../../lib/github/errors.ts';

const facts: DeriveFacts = { cwd: '/lab', hostname: 'host1' };
const settings = (env: Record<string, string>, file: Record<string, string> = {}): Settings => ({ envFile: '/lab/.env', env, file });
const APP_LINE = 'GitHub Apps cannot manage enterprise runners: use a classic PAT with manage_runners:enterprise (GH_PAT)';

/** The one-line ConfigError (exit 2) deriveConfig throws for these settings. */
function refusal(env: Record<string, string>, file: Record<string, string> = {}): string {
  try {
    deriveConfig(settings(env, file), facts);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.exitCode, ExitCode.config);
    assert.ok(!err.message.includes('\n'), 'one line');
    return err.message;
  }
  assert.fail(`expected ${JSON.stringify(env)} to be refused`);
}

describe('ENTERPRISE: the scope and its names', () => {
  test('an enterprise scope; names built from enterprises/<slug>, as its URL is', () => {
    const config = deriveConfig(settings({ ENTERPRISE: 'octo-corp', GH_PAT: 'ghp_x' }), facts);
    assert.deepEqual(config.scope, { enterprise: 'octo-corp' });
    assert.equal(config.prefix, 'host1-enterprises_octo-corp-');
    assert.equal(config.projectName, 'host1-enterprises_octo-corp');
    assert.equal(config.composeFile, '/lab/docker-compose.enterprises.octo-corp.yml');
    assert.equal(config.tokenCacheFile, '/lab/.reg_token.cache.enterprises.octo-corp');
    assert.equal(config.imageHashFile, '/lab/.image-hash.enterprises.octo-corp');
    assert.equal(config.fleetImage, 'gh-runner-fleet:host1-enterprises_octo-corp');
    assert.equal(registrationUrl(config), 'https://github.com/enterprises/octo-corp');
    assert.equal(registrationUrl({ ...config, githubUrl: 'https://ghe.example.com' }), 'https://ghe.example.com/enterprises/octo-corp');
    assert.equal(scopeName(config.scope), 'enterprises/octo-corp');
    assert.equal(scopeDescription(config.scope), 'enterprise octo-corp');
  });

  test('org and repo scopes keep their names, byte for byte', () => {
    const org = deriveConfig(settings({ ORG: 'acme' }), facts);
    assert.deepEqual(org.scope, { org: 'acme' });
    assert.deepEqual(
      [org.prefix, org.composeFile, org.tokenCacheFile, org.imageHashFile],
      ['host1-acme-', '/lab/docker-compose.acme.yml', '/lab/.reg_token.cache.acme', '/lab/.image-hash.acme'],
    );
    assert.equal(registrationUrl(org), 'https://github.com/acme');
    const repo = deriveConfig(settings({ ORG: 'acme', REPO: 'widgets' }), facts);
    assert.deepEqual(
      [repo.prefix, repo.composeFile, repo.tokenCacheFile],
      ['host1-acme_widgets-', '/lab/docker-compose.acme.widgets.yml', '/lab/.reg_token.cache.acme.widgets'],
    );
    assert.equal(registrationUrl(repo), 'https://github.com/acme/widgets');
    assert.equal(scopeName(repo.scope), 'acme/widgets');
  });

  test('an enterprise never shares a name with an org or repo (no org is called enterprises)', () => {
    const enterprise = deriveConfig(settings({ ENTERPRISE: 'acme' }), facts);
    const others: Record<string, string>[] = [
      { ORG: 'acme' },
      { ORG: 'enterprises-acme' },
      { ORG: 'enterprise', REPO: 'acme' },
      { ORG: 'acme', REPO: 'enterprises' },
    ];
    for (const env of others) {
      const other = deriveConfig(settings(env), facts);
      for (const key of ['prefix', 'composeFile', 'tokenCacheFile', 'imageHashFile', 'projectName', 'fleetImage'] as const) {
        assert.notEqual(enterprise[key], other[key], `${key} of ${JSON.stringify(env)}`);
      }
    }
    assert.match(
      refusal({ ORG: 'Enterprises', REPO: 'acme' }),
      /^ORG 'Enterprises' is GitHub's path for enterprises, not an organization: for an enterprise's runners unset ORG and set ENTERPRISE to its slug$/,
    );
  });

  test('an explicit RUNNER_NAME_PREFIX and COMPOSE_FILE are taken as for an org', () => {
    const config = deriveConfig(settings({ ENTERPRISE: 'octo', RUNNER_NAME_PREFIX: 'lab', COMPOSE_FILE: 'fleet.yml' }), facts);
    assert.equal(config.prefix, 'lab-');
    assert.equal(config.composeFile, '/lab/fleet.yml');
  });

  test('a slug GitHub would not make is one line naming ENTERPRISE', () => {
    for (const slug of ['octo corp', '-octo', 'octo-', 'octo_corp', 'octo/x', 'octo.corp', 'a'.repeat(101)]) {
      assert.match(
        refusal({ ENTERPRISE: slug }),
        /^ENTERPRISE '.*' is not a GitHub enterprise slug \(letters, digits and hyphens, as in https:\/\/github\.com\/enterprises\/<slug>\): fix ENTERPRISE/,
        slug,
      );
    }
    for (const slug of ['o', 'Octo-Corp', 'octo--corp', 'a'.repeat(100)]) assert.deepEqual(scopeOf(settings({ ENTERPRISE: slug })), { enterprise: slug });
  });
});

describe('ENTERPRISE: what it cannot be combined with', () => {
  test('ENTERPRISE with ORG or REPO: one line, choose one', () => {
    assert.equal(
      refusal({ ENTERPRISE: 'octo' }, { ORG: 'acme' }),
      "ENTERPRISE (in the environment) and ORG (in /lab/.env) are both set: choose one scope, unset ORG and REPO for the enterprise's runners or ENTERPRISE for the org's",
    );
    assert.equal(
      refusal({ ENTERPRISE: 'octo', REPO: 'widgets' }),
      "ENTERPRISE (in the environment) and REPO (in the environment) are both set: choose one scope, unset ORG and REPO for the enterprise's runners or ENTERPRISE for the repository's",
    );
  });

  test('ENTERPRISE with a GitHub App: the one line, from the settings alone (even for a command that calls no GitHub)', async () => {
    assert.equal(
      refusal({ ENTERPRISE: 'octo', GH_APP_ID: '123', GH_APP_PRIVATE_KEY_FILE: 'app.pem' }),
      `${APP_LINE} instead of GH_APP_ID, GH_APP_PRIVATE_KEY_FILE`,
    );
    const dir = await mkdtemp(join(tmpdir(), 'fleet-enterprise-'));
    await writeFile(join(dir, '.env'), 'ENTERPRISE=octo\nGH_APP_ID=123\nGH_APP_PRIVATE_KEY_FILE=missing.pem\n', { mode: 0o600 });
    // Before the credential is looked at: not the missing key file's line, nor 'both set: unset GH_PAT to use the GitHub App'.
    for (const [credential, env] of [
      ['none', {}],
      ['required', {}],
      ['required', { GH_PAT: 'ghp_x' }],
    ] as const) {
      await assert.rejects(loadConfig({ env, cwd: dir, interactive: false, credential, hostname: 'h' }), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.ok(err.message.startsWith(APP_LINE), err.message);
        return true;
      });
    }
  });

  test('neither ORG nor ENTERPRISE: the ORG line says ENTERPRISE is the other way', () => {
    assert.equal(
      refusal({ GH_PAT: 'x' }),
      "ORG is not set: set it in the environment or in /lab/.env (see .env.example; ENTERPRISE instead for an enterprise's runners)",
    );
  });

  test('ENTERPRISE set: ORG is not asked for; a missing PAT is the credential line', async () => {
    const complete = settings({ ENTERPRISE: 'octo', GH_PAT: 'ghp_x' });
    assert.equal(await completeSettings(complete, { credential: 'required', interactive: false }), complete);
    const noPat = settings({ ENTERPRISE: 'octo' });
    assert.equal(await completeSettings(noPat, { credential: 'none', interactive: false }), noPat);
    await assert.rejects(completeSettings(noPat, { credential: 'required', interactive: false }), /^ConfigError: no GitHub credential is set: set GH_PAT/);
  });

  test('loadConfig: ENTERPRISE and a PAT load as an enterprise fleet', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleet-enterprise-'));
    const config = await loadConfig({ env: { ENTERPRISE: 'octo', GH_PAT: 'ghp_x' }, cwd: dir, interactive: false, hostname: 'host1' });
    assert.deepEqual(config.scope, { enterprise: 'octo' });
    assert.deepEqual(config.credential, { kind: 'pat', token: 'ghp_x' });
    assert.equal(config.composeFile, join(dir, 'docker-compose.enterprises.octo.yml'));
  });
});

describe("the containers' scope labels", () => {
  const org: Scope = { org: 'acme' };
  const repo: Scope = { org: 'acme', repo: 'widgets' };
  const enterprise: Scope = { enterprise: 'octo' };

  test('org and repo: org and repo labels as before; enterprise: the enterprise label alone', () => {
    assert.deepEqual(scopeLabels(org), { 'dev.gh-runner-fleet.org': 'acme', 'dev.gh-runner-fleet.repo': '' });
    assert.deepEqual(scopeLabels(repo), { 'dev.gh-runner-fleet.org': 'acme', 'dev.gh-runner-fleet.repo': 'widgets' });
    assert.deepEqual(scopeLabels(enterprise), { 'dev.gh-runner-fleet.enterprise': 'octo' });
  });

  test("a container is a scope's only when its labels name that scope", () => {
    const labelsOf = (scope: Scope) => ({ 'dev.gh-runner-fleet.managed': 'true', ...scopeLabels(scope) });
    for (const [a, b] of [
      [org, repo],
      [org, enterprise],
      [repo, enterprise],
    ] as const) {
      assert.ok(labelsMatchScope(labelsOf(a), a) && labelsMatchScope(labelsOf(b), b));
      assert.ok(!labelsMatchScope(labelsOf(a), b) && !labelsMatchScope(labelsOf(b), a));
    }
    assert.ok(labelsMatchScope(labelsOf({ enterprise: 'Octo' }), enterprise), 'slugs in any case');
    assert.ok(!labelsMatchScope(labelsOf({ org: 'octo' }), enterprise), 'an org named like the enterprise is not it');
    assert.deepEqual(
      [labelledScope(labelsOf(org)), labelledScope(labelsOf(repo)), labelledScope(labelsOf(enterprise))],
      ['org acme', 'repo acme/widgets', 'enterprise octo'],
    );
  });

  test("an enterprise fleet's compose file carries the enterprise label, no org or repo label", () => {
    const config = deriveConfig(settings({ ENTERPRISE: 'octo', BOARD_RUNNERS: 'pi:pi' }), facts);
    const file = buildCompose(config, 1, { kvmGid: 108, sharedDevices: [], exists: () => false }, { info: () => undefined, warn: () => undefined });
    for (const service of Object.values(file.services)) {
      assert.equal(service.labels['dev.gh-runner-fleet.enterprise'], 'octo');
      assert.equal(service.labels['dev.gh-runner-fleet.org'], undefined);
      assert.equal(service.labels['dev.gh-runner-fleet.repo'], undefined);
    }
    assert.deepEqual(Object.keys(file.services), ['host1-enterprises_octo-runner-1', 'host1-enterprises_octo-runner-pi']);
  });
});
