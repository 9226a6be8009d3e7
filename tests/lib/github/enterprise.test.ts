// lib/github for an enterprise scope (ENTERPRISE=slug, issue 23), against the
// GitHub stand-in serving GitHub Enterprise Cloud's enterprise runner
// operations: the same RunnerApi as for orgs and repos, the enterprise's
// runner groups, its registration-token cache, and the one line a person gets
// for each failure, naming the enterprise and the classic PAT it needs.
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Scope } from '../../../lib/config/config.ts';
import { CliError, ConfigError, ExitCode } from '../../../core/errors.ts';
import { DEFAULT_TIMINGS, type GitHubTimings } from '../../../lib/github/client.ts';
import { createRunnerApi, type RunnerApi } from '../../../lib/github/runner-api.ts';
import { getRegistrationToken } from '../../../lib/github/token-cache.ts';
import { startGitHubStandIn, type GitHubStandIn } from '../../../standins/github/server.ts';
import { cliFailure } from '../../support/github-fixture.ts';

const OWNER = 'ghp_fake_enterprise_owner_pat';
const ORG_ADMIN = 'ghp_fake_org_admin_pat';
const OCTO: Scope = { enterprise: 'octo' };
const FAST: GitHubTimings = { ...DEFAULT_TIMINGS, writeIntervalMs: 10, retryBaseMs: 10 };
let github: GitHubStandIn;

before(async () => {
  github = await startGitHubStandIn();
  github.addScope({ enterprise: 'octo', orgs: ['acme'] });
  github.addPat({ token: OWNER, admin: ['enterprise:octo'] });
  github.addPat({ token: ORG_ADMIN, admin: ['acme'] });
});
after(async () => {
  assert.deepEqual(github.violations, [], "every request and response matched GitHub Enterprise Cloud's OpenAPI description");
  await github.close();
});
beforeEach(() => github.resetCalls());

function api(scope: Scope = OCTO, pat = OWNER): RunnerApi {
  return createRunnerApi({ scope, credential: { kind: 'pat', token: pat }, githubApiUrl: github.apiUrl }, { timings: FAST, env: {} });
}

const failure = (promise: Promise<unknown>): Promise<CliError> => cliFailure(promise, [OWNER, ORG_ADMIN]);

describe('an enterprise’s runners', () => {
  it('lists 150 enterprise runners in 2 calls of 100 through the enterprise operation, and only those', async () => {
    github.seedRunners({ enterprise: 'octo', count: 150, name_prefix: 'ent-' });
    github.seedRunners({ org: 'acme', name: 'org-runner' });
    const runners = await api().listRunners();
    assert.equal(runners.length, 150);
    assert.ok(runners.every((r) => r.name.startsWith('ent-')));
    assert.deepEqual(github.calls().by_operation, { 'enterprise-admin/list-self-hosted-runners-for-enterprise': 2 });
    await api().checkAccess();
    assert.equal((await api().findByName('ent-77'))?.name, 'ent-77');
    assert.equal(await api().findByName('org-runner'), undefined);
  });

  it('deletes a runner; one already gone is absent; a busy one is "running a job" (runnerBusy)', async () => {
    const [idle, busy] = github.seedRunners({ enterprise: 'octo', count: 2, name_prefix: 'del-' });
    github.driveRunner(busy!.id, { busy: true });
    assert.equal(await api().deleteRunner(idle!), 'deleted');
    assert.equal(await api().deleteRunner(idle!), 'absent');
    const err = await failure(api().deleteRunner(busy!));
    assert.equal(err.exitCode, ExitCode.runnerBusy);
    assert.equal(github.calls().by_operation['enterprise-admin/delete-self-hosted-runner-from-enterprise'], 3);
  });

  it('registration and remove tokens of the enterprise, an hour ahead; the cache records the enterprise', async () => {
    for (const token of [await api().createRegistrationToken(), await api().createRemoveToken()]) {
      assert.match(token.token, /^[A-Z2-7]{29}$/);
      assert.ok(Math.abs(Date.parse(token.expiresAt) - Date.now() - 3600_000) < 10_000);
    }
    const tokenCacheFile = join(await mkdtemp(join(tmpdir(), 'fleet-enterprise-')), '.reg_token.cache.enterprises.octo');
    const config = { scope: OCTO, githubApiUrl: github.apiUrl, tokenCacheFile, tokenCacheTtlSeconds: 300 };
    const first = await getRegistrationToken(config, api());
    assert.equal((await getRegistrationToken(config, api())).token, first.token, 'the cached token is used again');
    assert.equal(JSON.parse(await readFile(tokenCacheFile, 'utf8')).scope, 'enterprises/octo');
    const asOrg = await getRegistrationToken({ ...config, scope: { org: 'octo' } }, api({ org: 'acme' }, ORG_ADMIN));
    assert.notEqual(asOrg.token, first.token, "an org's config does not take the enterprise's cached token");
  });

  it('RUNNER_GROUP among the enterprise’s groups; an unknown one is one line listing them', async () => {
    const gpus = github.addRunnerGroup({ enterprise: 'octo', name: 'gpus' });
    assert.equal(await api().runnerGroupId('Default'), 1);
    assert.equal(await api().runnerGroupId('gpus'), gpus.id);
    const err = await failure(api().runnerGroupId('nope'));
    assert.ok(err instanceof ConfigError);
    assert.equal(
      err.message,
      "RUNNER_GROUP 'nope' is not a runner group of enterprise octo (it has: Default, gpus): create it in the enterprise's settings (Policies → Actions → Runner groups) or set RUNNER_GROUP to one of these",
    );
    assert.ok(github.calls().by_operation['enterprise-admin/list-self-hosted-runner-groups-for-enterprise']! >= 3);
  });

  it('generate-jitconfig registers an ephemeral runner at the enterprise; a name it has is name-taken', async () => {
    const jit = await api().generateJitConfig({ name: 'ent-jit', labels: ['build'], runnerGroupId: 1, workFolder: '_work' });
    assert.notEqual(jit, 'name-taken');
    if (jit === 'name-taken') return;
    assert.deepEqual(jit.runner.labels, ['build']);
    assert.equal((await api().findByName('ent-jit'))?.id, jit.runner.id);
    assert.equal(await api().generateJitConfig({ name: 'ent-jit', labels: ['build'], runnerGroupId: 1, workFolder: '_work' }), 'name-taken');
    // 2 or more: octokit's retry plugin retries a 409, as it does for orgs and repos.
    assert.ok(github.calls().by_operation['actions/generate-runner-jitconfig-for-enterprise']! >= 2);
  });
});

describe('error lines name the enterprise', () => {
  it('403: a PAT that does not administer the enterprise — a classic PAT of an owner with manage_runners:enterprise', async () => {
    const err = await failure(api(OCTO, ORG_ADMIN).listRunners());
    assert.equal(err.exitCode, ExitCode.githubAuth);
    assert.equal(
      err.message,
      'the PAT (GH_PAT) lacks permission to manage runners of enterprise octo: it needs a classic PAT of an enterprise owner with the manage_runners:enterprise scope (GitHub Apps cannot manage enterprise runners)',
    );
  });

  it('404: an enterprise the PAT cannot see — check ENTERPRISE', async () => {
    const err = await failure(api({ enterprise: 'nosuch' }).listRunners());
    assert.equal(err.exitCode, ExitCode.githubNotFound);
    assert.match(
      err.message,
      /^enterprise nosuch not found or not visible to this PAT at http:\/\/\S+\/api\/v3: check ENTERPRISE and that the PAT's owner can see it \(an enterprise owner, with manage_runners:enterprise; on GitHub Enterprise Cloud or Server\)$/,
    );
  });

  it('401: the PAT was rejected', async () => {
    const err = await failure(api(OCTO, 'ghp_unknown').createRegistrationToken());
    assert.equal(err.exitCode, ExitCode.githubAuth);
    assert.match(err.message, /^GitHub rejected the PAT \(401 at /);
  });

  it('a GitHub App for an enterprise is refused before any call, in one line', () => {
    assert.throws(
      () => createRunnerApi({ scope: OCTO, credential: { kind: 'app', appId: '1', privateKeyFile: '/k.pem', privateKey: 'x' }, githubApiUrl: github.apiUrl }),
      new ConfigError('GitHub Apps cannot manage enterprise runners: use a classic PAT with manage_runners:enterprise (GH_PAT)'),
    );
  });
});
