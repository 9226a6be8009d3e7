// The GitHub stand-in's just-in-time runners (issue 21): generate-jitconfig
// for orgs and repos, the runner groups an org lists, the encoded config in
// the format actions/runner's Runner.cs decodes, and the ephemeral life of
// such a runner on the runner protocol. Every answer is checked against the
// pinned OpenAPI description (the stand-in records violations; none allowed
// unless a test sends a bad request on purpose).
import assert from 'node:assert/strict';
import { createPrivateKey, sign } from 'node:crypto';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { Octokit } from '@octokit/rest';
import { startGitHubStandIn, type GitHubStandIn } from '../../../standins/github/server.ts';
import { request, type HttpAnswer, type HttpOptions } from '../../support/standin-http.ts';

const ADMIN = 'ghp_jit_admin';
const REPO_ONLY = 'ghp_jit_repo_admin';
const OTHER = 'ghp_jit_other_org';

let github: GitHubStandIn;
let expectViolations = false;

beforeEach(async () => {
  github = await startGitHubStandIn({ portless: false });
  github.addScope('acme');
  github.addScope('acme/widgets');
  github.addScope('other');
  github.addPat({ token: ADMIN, admin: ['acme'] });
  github.addPat({ token: REPO_ONLY, admin: ['acme/widgets'] });
  github.addPat({ token: OTHER, admin: ['other'] });
});

afterEach(async () => {
  if (!expectViolations) assert.deepEqual(github.violations, [], 'the stand-in recorded spec violations');
  expectViolations = false;
  await github.close();
});

const http = (method: string, path: string, opts: HttpOptions = {}): Promise<HttpAnswer> => request(github.url, method, path, opts);

const ORG_JIT = '/api/v3/orgs/acme/actions/runners/generate-jitconfig';
const REPO_JIT = '/api/v3/repos/acme/widgets/actions/runners/generate-jitconfig';
const jit = (path: string, body: unknown, auth = `token ${ADMIN}`) => http('POST', path, { auth, body });
const groups = (query = '', auth = `token ${ADMIN}`) => http('GET', `/api/v3/orgs/acme/actions/runner-groups${query}`, { auth });

/** The files of an encoded JIT config: name → text. */
function decode(encoded: string): Record<string, string> {
  const outer = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as Record<string, string>;
  return Object.fromEntries(Object.entries(outer).map(([name, b64]) => [name, Buffer.from(b64, 'base64').toString('utf8')]));
}
const json = (text: string | undefined) => JSON.parse((text ?? '').replace(/^\uFEFF/, ''));

describe('generate-jitconfig', () => {
  for (const [label, path, scope] of [
    ['org', ORG_JIT, { org: 'acme' }],
    ['repo', REPO_JIT, { org: 'acme', repo: 'widgets' }],
  ] as const) {
    test(`${label} scope: 201 with the new runner (offline, ephemeral, exactly the labels given) and its config`, async () => {
      const res = await jit(path, { name: 'jit-1', runner_group_id: 1, labels: ['self-hosted', 'X64', 'gpu', 'GPU'], work_folder: 'work' });
      assert.equal(res.status, 201, JSON.stringify(res.json));
      const { runner } = res.json;
      assert.deepEqual(Object.keys(res.json).sort(), ['encoded_jit_config', 'runner']);
      assert.equal(runner.name, 'jit-1');
      assert.equal(runner.status, 'offline');
      assert.equal(runner.busy, false);
      assert.equal(runner.ephemeral, true);
      assert.equal(runner.runner_group_id, 1);
      assert.equal(runner.os, 'unknown', 'not connected yet (as the spec example shows)');
      assert.deepEqual(
        runner.labels.map((l: any) => [l.name, l.type]),
        [
          ['self-hosted', 'read-only'],
          ['X64', 'read-only'],
          ['gpu', 'custom'],
        ],
        "no default labels added; duplicates (any case) dropped; GitHub's own names read-only",
      );
      assert.deepEqual(
        github.runners(scope).map((r) => r.id),
        [runner.id],
        'listed in its scope',
      );

      const files = decode(res.json.encoded_jit_config);
      assert.deepEqual(Object.keys(files).sort(), ['.credentials', '.credentials_rsaparams', '.runner']);
      assert.ok(files['.runner']?.startsWith('\uFEFF'), '.runner as config.sh writes it (UTF-8 with BOM)');
      const settings = json(files['.runner']);
      assert.deepEqual(settings, {
        agentId: runner.id,
        agentName: 'jit-1',
        poolId: 1,
        poolName: 'Default',
        serverUrl: `${github.url}/_runner`,
        gitHubUrl: `${github.url}/acme${label === 'repo' ? '/widgets' : ''}`,
        workFolder: 'work',
        disableUpdate: false,
        ephemeral: true,
        isHostedServer: false,
      });
      const credentials = json(files['.credentials']);
      assert.equal(credentials.scheme, 'OAuth');
      assert.equal(credentials.data.clientId, String(runner.id));
      const rsa = json(files['.credentials_rsaparams']);
      assert.deepEqual(Object.keys(rsa).sort(), ['d', 'dp', 'dq', 'exponent', 'inverseQ', 'modulus', 'p', 'q']);

      // The credentials are the runner's: a session makes it online, with its OS.
      const session = await http('POST', `${settings.serverUrl}/sessions`, { auth: `Bearer ${credentials.data.runnerToken}`, body: { os: 'Linux' } });
      assert.equal(session.status, 200);
      assert.deepEqual([github.runners(scope)[0]?.status, github.runners(scope)[0]?.os], ['online', 'Linux']);
    });
  }

  test("work_folder defaults to _work; octokit's generateRunnerJitconfigFor* work as the toolkit calls them", async () => {
    const ok = new Octokit({ auth: ADMIN, baseUrl: github.apiUrl });
    const org = await ok.actions.generateRunnerJitconfigForOrg({ org: 'acme', name: 'o', runner_group_id: 1, labels: ['a'] });
    assert.equal(org.status, 201);
    assert.equal(json(decode(org.data.encoded_jit_config)['.runner']).workFolder, '_work');
    const repo = await ok.actions.generateRunnerJitconfigForRepo({ owner: 'acme', repo: 'widgets', name: 'r', runner_group_id: 1, labels: ['a'] });
    assert.equal(repo.data.runner.name, 'r');
  });

  test("409 with GitHub's message when the scope has a runner of that name (any case); other scopes are separate", async () => {
    assert.equal((await jit(ORG_JIT, { name: 'taken', runner_group_id: 1, labels: ['a'] })).status, 201);
    github.seedRunners({ org: 'acme', name: 'seeded' });
    for (const name of ['taken', 'TAKEN', 'seeded']) {
      const res = await jit(ORG_JIT, { name, runner_group_id: 1, labels: ['a'] });
      assert.equal(res.status, 409, name);
      assert.equal(res.json.message, `Already exists - A runner with the name ${name} already exists.`);
    }
    assert.equal((await jit(REPO_JIT, { name: 'taken', runner_group_id: 1, labels: ['a'] })).status, 201, "a repo runner may share an org runner's name");
    assert.equal(github.runners('acme').length, 2, 'nothing replaced');
  });

  test('422 for what the spec forbids (no or >100 labels, missing fields: recorded as violations) and for blank names or labels', async () => {
    expectViolations = true;
    const bad = [
      { name: 'x', runner_group_id: 1, labels: [] },
      { name: 'x', runner_group_id: 1, labels: Array.from({ length: 101 }, (_, i) => `l${i}`) },
      { name: 'x', labels: ['a'] },
      { runner_group_id: 1, labels: ['a'] },
      { name: 'x', runner_group_id: 'one', labels: ['a'] },
    ];
    for (const body of bad) {
      const res = await jit(ORG_JIT, body);
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.match(res.json.message, /^Invalid request/);
    }
    assert.equal(github.violations.length, bad.length);
    assert.ok(github.violations.every((v) => v.kind === 'request' && v.operation_id === 'actions/generate-runner-jitconfig-for-org'));
    const before = github.violations.length;
    for (const body of [
      { name: '  ', runner_group_id: 1, labels: ['a'] },
      { name: 'x', runner_group_id: 1, labels: ['a', ''] },
    ]) {
      assert.equal((await jit(ORG_JIT, body)).status, 422, JSON.stringify(body));
    }
    assert.equal(github.violations.length, before, 'valid by the spec: no violation, still refused');
    assert.equal(
      (await jit(ORG_JIT, { name: 'x', runner_group_id: 1, labels: Array.from({ length: 100 }, (_, i) => `l${i}`) })).status,
      201,
      '100 labels are fine',
    );
    assert.deepEqual(
      github.runners('acme').map((r) => r.name),
      ['x'],
      'nothing registered by the refused calls',
    );
  });

  test('404: unknown org or repo, or a runner group the scope does not have (a repository has only Default)', async () => {
    const group = github.addRunnerGroup({ org: 'acme', name: 'gpus' });
    const body = { name: 'x', runner_group_id: 1, labels: ['a'] };
    assert.equal((await jit('/api/v3/orgs/nope/actions/runners/generate-jitconfig', body)).status, 404);
    assert.equal((await jit('/api/v3/repos/acme/nope/actions/runners/generate-jitconfig', body)).status, 404);
    assert.equal((await jit(ORG_JIT, { ...body, runner_group_id: 99 })).status, 404);
    assert.equal((await jit(REPO_JIT, { ...body, runner_group_id: group.id })).status, 404, "org groups are not a repository's");
    const inGroup = await jit(ORG_JIT, { ...body, runner_group_id: group.id });
    assert.equal(inGroup.status, 201);
    assert.equal(inGroup.json.runner.runner_group_id, group.id);
    assert.deepEqual(
      [json(decode(inGroup.json.encoded_jit_config)['.runner']).poolId, json(decode(inGroup.json.encoded_jit_config)['.runner']).poolName],
      [group.id, 'gpus'],
    );
  });

  test('401 without or with unknown credentials; 403 without admin on the scope', async () => {
    const body = { name: 'x', runner_group_id: 1, labels: ['a'] };
    assert.equal((await http('POST', ORG_JIT, { body })).status, 401);
    assert.equal((await jit(ORG_JIT, body, 'token ghp_unknown')).status, 401);
    assert.equal((await jit(ORG_JIT, body, `token ${REPO_ONLY}`)).status, 403, 'a repo admin cannot make org runners');
    assert.equal((await jit(ORG_JIT, body, `token ${OTHER}`)).status, 403);
    assert.equal((await jit(REPO_JIT, body, `token ${REPO_ONLY}`)).status, 201);
    assert.equal((await jit(REPO_JIT, { ...body, name: 'y' }, `token ${ADMIN}`)).status, 201, 'an org admin administers its repos');
  });

  test('GitHub App installation tokens: write permission needed (org: self-hosted runners; repo: administration)', async () => {
    const app = github.createApp('jit');
    const now = Math.floor(Date.now() / 1000);
    const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const input = `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ iss: app.app_id, iat: now - 60, exp: now + 540 })}`;
    const appJwt = `${input}.${sign('sha256', Buffer.from(input), createPrivateKey(app.private_key)).toString('base64url')}`;
    const { installation_id } = github.installApp({
      app_id: app.app_id,
      org: 'acme',
      permissions: { organization_self_hosted_runners: 'read', administration: 'write' },
    });
    const token = async () =>
      (await http('POST', `/api/v3/app/installations/${installation_id}/access_tokens`, { auth: `Bearer ${appJwt}` })).json.token as string;
    const body = { name: 'app-jit', runner_group_id: 1, labels: ['a'] };
    const readOnly = await jit(ORG_JIT, body, `token ${await token()}`);
    assert.equal(readOnly.status, 403);
    assert.equal(readOnly.headers.get('x-accepted-github-permissions'), 'organization_self_hosted_runners=write');
    assert.equal((await groups('', `token ${await token()}`)).status, 200, 'listing groups needs read only');
    assert.equal((await jit(REPO_JIT, body, `token ${await token()}`)).status, 201, 'administration: write');
    github.setInstallationPermissions(installation_id, { organization_self_hosted_runners: 'write' });
    assert.equal((await jit(ORG_JIT, body, `token ${await token()}`)).status, 201);
  });
});

describe('runner groups', () => {
  test('every org lists "Default" (id 1); groups added through the control API follow, paged, filtered by visible_to_repository', async () => {
    const first = await groups();
    assert.equal(first.status, 200);
    assert.equal(first.json.total_count, 1);
    const [dflt] = first.json.runner_groups;
    assert.deepEqual([dflt.id, dflt.name, dflt.default, dflt.visibility, dflt.inherited], [1, 'Default', true, 'all', false]);
    assert.match(dflt.runners_url, /\/api\/v3\/orgs\/acme\/actions\/runner_groups\/1\/runners$/);

    const made = await http('POST', '/_standin/runner-groups', { body: { org: 'acme', name: 'gpus', visibility: 'selected', repositories: ['widgets'] } });
    assert.equal(made.status, 201);
    github.addRunnerGroup({ org: 'acme', name: 'private-only', visibility: 'selected', repositories: ['secret'] });
    github.addRunnerGroup({ org: 'other', name: 'elsewhere' });
    assert.equal((await http('POST', '/_standin/runner-groups', { body: { org: 'acme', name: 'GPUS' } })).status, 409, 'names are unique per org, any case');
    assert.equal((await http('POST', '/_standin/runner-groups', { body: { org: 'nope', name: 'x' } })).status, 404);

    const all = await groups('?per_page=100');
    assert.deepEqual(
      all.json.runner_groups.map((g: any) => g.name),
      ['Default', 'gpus', 'private-only'],
    );
    assert.equal(all.json.runner_groups[1].id, made.json.id);
    assert.match(all.json.runner_groups[1].selected_repositories_url, /runner_groups\/\d+\/repositories$/);
    assert.deepEqual(
      (await groups('?visible_to_repository=widgets')).json.runner_groups.map((g: any) => g.name),
      ['Default', 'gpus'],
    );

    const page = await groups('?per_page=2&page=2');
    assert.deepEqual(
      page.json.runner_groups.map((g: any) => g.name),
      ['private-only'],
    );
    assert.equal(page.json.total_count, 3);
    assert.match(page.headers.get('link') ?? '', /rel="prev"/);
    assert.deepEqual(
      (await http('GET', '/_standin/runner-groups?org=acme')).json.runner_groups.map((g: any) => g.name),
      ['Default', 'gpus', 'private-only'],
    );
  });

  test('auth as the runner operations: 401, 403 for a repo admin, 404 for an unknown org', async () => {
    assert.equal((await http('GET', '/api/v3/orgs/acme/actions/runner-groups')).status, 401);
    assert.equal((await groups('', `token ${REPO_ONLY}`)).status, 403);
    assert.equal((await http('GET', '/api/v3/orgs/nope/actions/runner-groups', { auth: `token ${ADMIN}` })).status, 404);
  });

  test("config.sh's --runnergroup name is looked up among the org's groups (any case); the runner is in it", async () => {
    const group = github.addRunnerGroup({ org: 'acme', name: 'Builders' });
    const token = (await http('POST', '/api/v3/orgs/acme/actions/runners/registration-token', { auth: `token ${ADMIN}` })).json.token;
    const reg = await http('POST', '/api/v3/actions/runner-registration', {
      auth: `RemoteAuth ${token}`,
      body: { url: `${github.url}/acme`, runner_event: 'register' },
    });
    const agent = (name: string, runner_group: string) =>
      http('POST', `${reg.json.url}/agents`, { auth: `Bearer ${reg.json.token}`, body: { name, labels: [], runner_group } });
    const added = await agent('in-group', 'builders');
    assert.equal(added.status, 200);
    assert.deepEqual(added.json.runner_group, { id: group.id, name: 'Builders' });
    assert.equal(github.runners('acme')[0]?.runner_group_id, group.id);
    const missing = await agent('nowhere', 'nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.json.message, 'Could not find any self-hosted runner group named "nope".');
  });
});

describe("a JIT runner's life on the runner protocol", () => {
  test('one job, then GitHub deletes it: gone from REST, its poll answers TaskAgentNotFoundException, a new session 401', async () => {
    const res = await jit(ORG_JIT, { name: 'once', runner_group_id: 1, labels: ['jit'] });
    const settings = json(decode(res.json.encoded_jit_config)['.runner']);
    const auth = `Bearer ${json(decode(res.json.encoded_jit_config)['.credentials']).data.runnerToken}`;
    const session = (await http('POST', `${settings.serverUrl}/sessions`, { auth, body: {} })).json.session_id;
    const next = (waitMs: number) => http('GET', `${settings.serverUrl}/jobs/next?session_id=${session}&wait_ms=${waitMs}`, { auth });
    const job = github.enqueueJob({ org: 'acme', runs_on: ['jit'] });
    assert.equal((await next(2000)).json.job_id, job.job_id);
    assert.equal(github.runners('acme')[0]?.busy, true);

    // The Listener's poll stays open while it completes the job: GitHub does not end it when it retires the runner.
    const openPoll = next(1500);
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    assert.equal(
      (await http('POST', `${settings.serverUrl}/jobs/${job.job_id}/events`, { auth, body: { event: 'completed', conclusion: 'success' } })).status,
      200,
    );
    assert.deepEqual(github.runners('acme'), [], 'deleted after its job');
    assert.equal((await openPoll).status, 204);
    assert.ok(Date.now() - started >= 1200, 'the open poll ran to its own end');

    const gone = await next(0);
    assert.equal(gone.status, 404);
    assert.equal(gone.json.typeKey, 'TaskAgentNotFoundException');
    assert.equal((await http('POST', `${settings.serverUrl}/sessions`, { auth, body: {} })).status, 401, 'the config cannot be used again');
    assert.equal((await http('DELETE', `${settings.serverUrl}/sessions/${session}`, { auth })).status, 204);
  });

  test('a stale session id answers TaskAgentSessionExpiredException', async () => {
    const res = await jit(ORG_JIT, { name: 'stale', runner_group_id: 1, labels: ['jit'] });
    const settings = json(decode(res.json.encoded_jit_config)['.runner']);
    const auth = `Bearer ${json(decode(res.json.encoded_jit_config)['.credentials']).data.runnerToken}`;
    assert.equal((await http('POST', `${settings.serverUrl}/sessions`, { auth, body: {} })).status, 200);
    const stale = await http('GET', `${settings.serverUrl}/jobs/next?session_id=old&wait_ms=0`, { auth });
    assert.equal(stale.status, 404);
    assert.equal(stale.json.typeKey, 'TaskAgentSessionExpiredException');
  });
});
