// lib/github with a GitHub App against the stand-in: the installation found
// from the org or repo, installation tokens renewed before their expiry and
// after a 401, the permission GitHub names in X-Accepted-GitHub-Permissions,
// and no key, JWT or token in any message.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { AppCredential, Scope } from '../../../lib/config/config.ts';
import { CliError, ExitCode } from '../../../core/errors.ts';
import { DEFAULT_TIMINGS, type GitHubTimings } from '../../../lib/github/client.ts';
import { acceptedPermissions, redact, toGitHubCliError } from '../../../lib/github/errors.ts';
import { createRunnerApi, type RunnerApi } from '../../../lib/github/runner-api.ts';
import { startGitHubStandIn, type AppCreated, type GitHubStandIn } from '../../../standins/github/server.ts';

const FAST: GitHubTimings = { ...DEFAULT_TIMINGS, writeIntervalMs: 10, retryBaseMs: 10 };
const RUNNERS_RW = { organization_self_hosted_runners: 'write' } as const;
let github: GitHubStandIn;
let app: AppCreated;
let installationId: number;

before(async () => {
  github = await startGitHubStandIn();
  github.addScope('acme');
  github.addScope('acme/widgets');
  github.addScope('acme/gadgets');
  github.addScope('other');
  app = github.createApp('fleet');
  installationId = github.installApp({ app_id: app.app_id, org: 'acme', permissions: { ...RUNNERS_RW, administration: 'write' } }).installation_id;
});
after(async () => {
  assert.deepEqual(github.violations, [], "every request and response matched GitHub's OpenAPI description");
  await github.close();
});
beforeEach(() => {
  github.resetCalls();
  github.clearFaults();
});

function appConfig(overrides: Partial<AppCredential> = {}, of: AppCreated = app): AppCredential {
  return { kind: 'app', appId: String(of.app_id), privateKeyFile: '/unused.pem', privateKey: of.private_key, ...overrides };
}

function api(scope: Scope = { org: 'acme' }, credential: AppCredential = appConfig()): RunnerApi {
  return createRunnerApi({ scope, credential, githubApiUrl: github.apiUrl }, { timings: FAST, env: {} });
}

/** The one line a failure gives; never a key, JWT or installation token. */
async function failure(promise: Promise<unknown>, keys: string[] = [app.private_key]): Promise<CliError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof CliError, `expected a CliError, got ${String(err)}`);
    assert.doesNotMatch(err.message, /\n/, 'one line');
    for (const secret of [...keys, ...github.installationTokens()]) assert.ok(!err.message.includes(secret), `a secret in: ${err.message}`);
    assert.doesNotMatch(err.message, /eyJ[\w-]+\.[\w-]+\./, 'no JWT');
    return err;
  }
  assert.fail('expected a failure');
}

const calls = (op: string): number => github.calls().by_operation[op] ?? 0;

describe('App authentication', () => {
  it('finds the installation on the org, gets one token, and lists, registers and removes with it', async () => {
    github.seedRunners({ org: 'acme', name: 'app-seeded' });
    const runnerApi = api();
    assert.ok((await runnerApi.listRunners()).some((r) => r.name === 'app-seeded'));
    const found = await runnerApi.findByName('app-seeded');
    assert.equal(await runnerApi.deleteRunner(found!), 'deleted');
    assert.match((await runnerApi.createRegistrationToken()).token, /\S/);
    assert.equal(calls('apps/get-org-installation'), 1, 'the installation is looked up once per command');
    assert.equal(calls('apps/create-installation-access-token'), 1, 'one installation token serves the whole command');
  });

  it('repo scope: finds the installation through the repository', async () => {
    github.seedRunners({ org: 'acme', repo: 'widgets', name: 'repo-seeded' });
    assert.ok((await api({ org: 'acme', repo: 'widgets' }).listRunners()).some((r) => r.name === 'repo-seeded'));
    assert.equal(calls('apps/get-repo-installation'), 1);
    assert.equal(calls('apps/get-org-installation'), 0);
  });

  it('GH_APP_INSTALLATION_ID set: no lookup', async () => {
    await api({ org: 'acme' }, appConfig({ installationId })).listRunners();
    assert.equal(calls('apps/get-org-installation'), 0);
    assert.equal(calls('apps/create-installation-access-token'), 1);
  });

  it('the App ID may be given as its client ID', async () => {
    await api({ org: 'acme' }, appConfig({ appId: app.client_id })).listRunners();
    assert.equal(calls('apps/create-installation-access-token'), 1);
  });

  it('a token GitHub expired early is renewed after the 401 and the call succeeds', async () => {
    const runnerApi = api();
    await runnerApi.listRunners();
    for (const token of github.installationTokens()) github.expireToken(token);
    await runnerApi.listRunners();
    assert.equal(calls('apps/create-installation-access-token'), 2, 'one new token after the 401');
    assert.equal(calls('actions/list-self-hosted-runners-for-org'), 3, 'the refused call was sent once more');
  });

  it('a token within 5 minutes of its expires_at is renewed before use', async () => {
    const other = github.createApp('short-lived');
    github.installApp({ app_id: other.app_id, org: 'acme', permissions: RUNNERS_RW, token_ttl_s: 240 });
    const runnerApi = api({ org: 'acme' }, appConfig({}, other));
    await runnerApi.listRunners();
    await runnerApi.listRunners();
    assert.equal(calls('apps/create-installation-access-token'), 2, 'a token 4 minutes from expiry is not reused');
    assert.equal(calls('actions/list-self-hosted-runners-for-org'), 2, 'no call was refused');
  });
});

describe('App error lines', () => {
  it('403 names the permission from X-Accepted-GitHub-Permissions (org: Self-hosted runners)', async () => {
    const readOnly = github.createApp('read-only');
    github.installApp({ app_id: readOnly.app_id, org: 'acme', permissions: { organization_self_hosted_runners: 'read' } });
    const runnerApi = api({ org: 'acme' }, appConfig({}, readOnly));
    assert.ok(Array.isArray(await runnerApi.listRunners()), 'read is enough to list');
    const err = await failure(runnerApi.createRegistrationToken(), [readOnly.private_key]);
    assert.equal(err.exitCode, ExitCode.githubAuth);
    assert.equal(
      err.message,
      `the GitHub App (GH_APP_ID=${readOnly.app_id}) lacks a permission to manage runners of org acme: GitHub asks for organization permission "Self-hosted runners: Read and write" (organization_self_hosted_runners=write); add it in the App's settings (Permissions & events), then approve the new permissions on its installation in acme`,
    );
  });

  it('403 for repo scope names Administration', async () => {
    const orgOnly = github.createApp('org-only');
    github.installApp({ app_id: orgOnly.app_id, org: 'acme', permissions: RUNNERS_RW });
    const err = await failure(api({ org: 'acme', repo: 'widgets' }, appConfig({}, orgOnly)).listRunners(), [orgOnly.private_key]);
    assert.match(
      err.message,
      /lacks a permission to manage runners of repo acme\/widgets: GitHub asks for repository permission "Administration: Read-only" \(administration=read\)/,
    );
  });

  it('not installed on the org: exit 4, names the App, the org and GH_APP_INSTALLATION_ID', async () => {
    const err = await failure(api({ org: 'other' }).listRunners());
    assert.equal(err.exitCode, ExitCode.githubNotFound);
    assert.match(
      err.message,
      new RegExp(`^GitHub App GH_APP_ID=${app.app_id} is not installed on org other .*install the App there.*or set GH_APP_INSTALLATION_ID$`),
    );
  });

  it('installed on selected repositories only: a repo outside them is not found', async () => {
    const selected = github.createApp('selected');
    github.installApp({ app_id: selected.app_id, org: 'acme', repositories: ['widgets'], permissions: { administration: 'write' } });
    await api({ org: 'acme', repo: 'widgets' }, appConfig({}, selected)).listRunners();
    const err = await failure(api({ org: 'acme', repo: 'gadgets' }, appConfig({}, selected)).listRunners(), [selected.private_key]);
    assert.match(err.message, /is not installed on repo acme\/gadgets/);
  });

  it('a wrong GH_APP_INSTALLATION_ID: exit 4 naming it', async () => {
    const err = await failure(api({ org: 'acme' }, appConfig({ installationId: 99 })).listRunners());
    assert.equal(err.exitCode, ExitCode.githubNotFound);
    assert.match(err.message, /installation 99 of GitHub App .* was not found .*fix GH_APP_INSTALLATION_ID/);
  });

  it("a key that is not the App's: GitHub refuses the JWT, exit 3 naming both settings", async () => {
    const stranger = github.createApp('stranger');
    const err = await failure(api({ org: 'acme' }, appConfig({ privateKey: stranger.private_key })).listRunners(), [app.private_key, stranger.private_key]);
    assert.equal(err.exitCode, ExitCode.githubAuth);
    assert.match(err.message, /GitHub refused the JWT of GitHub App GH_APP_ID=\d+ .*401.*GH_APP_ID .*GH_APP_PRIVATE_KEY_FILE/);
  });

  it('a token refused even after renewal (installation gone): exit 3, one line', async () => {
    github.injectFault({ operation: 'actions/list-self-hosted-runners-for-org', kind: 'bad_credentials', times: 2 });
    const err = await failure(api().listRunners());
    assert.equal(err.exitCode, ExitCode.githubAuth);
    assert.match(err.message, /rejected the installation token of the GitHub App .* even after a new one/);
  });
});

describe('redaction and the permissions header', () => {
  it('redacts secrets by value, whatever their length or prefix, longest first', () => {
    const secrets = ['x7', 'v1.abcdefabcdef', 'abc'];
    assert.equal(redact('t=v1.abcdefabcdef s=x7 u=abc', secrets), 't=*** s=*** u=***');
    assert.equal(redact('nothing here', ['']), 'nothing here', 'an empty secret changes nothing');
    const err = toGitHubCliError(new Error('token 9f3c leaked'), { scope: { org: 'acme' }, apiUrl: 'http://x', secrets: new Set(['9f3c']) });
    assert.equal(err.message, 'GitHub API call failed: token *** leaked');
  });

  it('parses alternatives and sets of X-Accepted-GitHub-Permissions', () => {
    assert.equal(acceptedPermissions({}), undefined);
    assert.equal(
      acceptedPermissions({ 'x-accepted-github-permissions': 'administration=write,metadata=read; organization_self_hosted_runners=write' }),
      'repository permission "Administration: Read and write" (administration=write) and repository permission "Metadata: Read-only" (metadata=read), or organization permission "Self-hosted runners: Read and write" (organization_self_hosted_runners=write)',
    );
  });

  it('a fine-grained PAT gets the same permission line', () => {
    const err = toGitHubCliError(
      {
        status: 403,
        message: 'Resource not accessible by personal access token',
        response: { headers: { 'x-accepted-github-permissions': 'organization_self_hosted_runners=write' } },
      },
      { scope: { org: 'acme' }, apiUrl: 'http://x' },
    );
    assert.equal(
      err.message,
      'the PAT (GH_PAT) lacks a permission to manage runners of org acme: GitHub asks for organization permission "Self-hosted runners: Read and write" (organization_self_hosted_runners=write); edit the fine-grained token and grant it (a classic PAT needs the admin:org scope)',
    );
  });
});
