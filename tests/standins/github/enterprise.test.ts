// The GitHub stand-in's enterprise runners (issue 23): the enterprise runner
// operations of GitHub Enterprise Cloud's OpenAPI description (ghec.json) under
// /api/v3/enterprises/{enterprise}/actions/…, served and validated like the
// org and repo ones; PATs administering an enterprise (`enterprise:<slug>`),
// never a GitHub App; registration through `<GITHUB_URL>/enterprises/<slug>`
// on the runner protocol; the enterprise's runner groups; and its runners
// taking the jobs of the orgs in it.
import assert from 'node:assert/strict';
import { createPrivateKey, sign } from 'node:crypto';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { ENTERPRISE_OPERATIONS } from '../../../standins/github/generate-openapi-excerpt.ts';
import { startGitHubStandIn, type GitHubStandIn } from '../../../standins/github/server.ts';
import { Spec } from '../../../standins/github/spec.ts';
import { request, type HttpAnswer, type HttpOptions } from '../../support/standin-http.ts';

const OWNER = 'ghp_enterprise_owner';
const ORG_ADMIN = 'ghp_org_admin_only';
const BASE = '/api/v3/enterprises/octo/actions';

let github: GitHubStandIn;
let expectViolations = false;

beforeEach(async () => {
  github = await startGitHubStandIn({ portless: false });
  github.addScope({ enterprise: 'octo', orgs: ['acme'] });
  github.addScope('other');
  github.addScope('acme/widgets');
  github.addPat({ token: OWNER, admin: ['enterprise:octo'] });
  github.addPat({ token: ORG_ADMIN, admin: ['acme'] });
});

afterEach(async () => {
  if (!expectViolations) assert.deepEqual(github.violations, [], 'the stand-in recorded spec violations');
  expectViolations = false;
  await github.close();
});

const http = (method: string, path: string, opts: HttpOptions = {}): Promise<HttpAnswer> => request(github.url, method, path, opts);

const api = (method: string, path: string, body?: unknown, auth = `token ${OWNER}`) =>
  http(method, `${BASE}${path}`, { auth, ...(body === undefined ? {} : { body }) });

/** Registers a runner as config.sh does, with a token from the REST API; the runner protocol's answers. */
async function register(name: string, url = `${github.url}/enterprises/octo`, group = 'Default') {
  const token = (await api('POST', '/runners/registration-token')).json.token as string;
  const reg = await http('POST', '/api/v3/actions/runner-registration', { auth: `RemoteAuth ${token}`, body: { url, runner_event: 'register' } });
  if (reg.status !== 200) return { reg };
  const agent = await http('POST', `${reg.json.url}/agents`, {
    auth: `Bearer ${reg.json.token}`,
    body: { name, labels: ['build'], runner_group: group, replace: false, ephemeral: false, no_default_labels: false, os: 'Linux', work_folder: '_work' },
  });
  return { reg, agent, serverUrl: reg.json.url as string };
}

describe('the enterprise operations of the excerpt', () => {
  test('served from ghec.json, by their own operationIds and path templates', () => {
    const spec = Spec.load();
    const served = spec.operations.filter((op) => op.pathTemplate.startsWith('/enterprises/')).map((op) => `${op.method} ${op.pathTemplate} ${op.operationId}`);
    assert.deepEqual(served.sort(), [
      'DELETE /enterprises/{enterprise}/actions/runners/{runner_id} enterprise-admin/delete-self-hosted-runner-from-enterprise',
      'GET /enterprises/{enterprise}/actions/runner-groups enterprise-admin/list-self-hosted-runner-groups-for-enterprise',
      'GET /enterprises/{enterprise}/actions/runners enterprise-admin/list-self-hosted-runners-for-enterprise',
      'GET /enterprises/{enterprise}/actions/runners/{runner_id} enterprise-admin/get-self-hosted-runner-for-enterprise',
      'POST /enterprises/{enterprise}/actions/runners/generate-jitconfig actions/generate-runner-jitconfig-for-enterprise',
      'POST /enterprises/{enterprise}/actions/runners/registration-token enterprise-admin/create-registration-token-for-enterprise',
      'POST /enterprises/{enterprise}/actions/runners/remove-token enterprise-admin/create-remove-token-for-enterprise',
    ]);
    assert.equal(served.length, ENTERPRISE_OPERATIONS.length);
  });
});

describe('REST: an enterprise owner’s PAT', () => {
  test('registration and remove tokens, 201 {token, expires_at} an hour ahead', async () => {
    for (const kind of ['registration', 'remove']) {
      const res = await api('POST', `/runners/${kind}-token`);
      assert.equal(res.status, 201, JSON.stringify(res.json));
      assert.match(res.json.token, /^[A-Z2-7]{29}$/);
      assert.ok(Math.abs(Date.parse(res.json.expires_at) - Date.now() - 3600_000) < 10_000);
    }
    assert.equal(github.calls().by_operation['enterprise-admin/create-registration-token-for-enterprise'], 1);
  });

  test('list (paged, ?name=), get and delete the enterprise’s runners; org runners are not among them', async () => {
    github.seedRunners({ enterprise: 'octo', count: 3, name_prefix: 'e-' });
    github.seedRunners({ org: 'acme', name: 'org-runner' });
    const page = await api('GET', '/runners?per_page=2');
    assert.equal(page.status, 200);
    assert.equal(page.json.total_count, 3);
    assert.deepEqual(
      page.json.runners.map((r: any) => r.name),
      ['e-1', 'e-2'],
    );
    assert.match(page.headers.get('link') ?? '', /\/api\/v3\/enterprises\/octo\/actions\/runners\?per_page=2&page=2>; rel="next"/);
    const one = await api('GET', '/runners?name=E-2');
    assert.deepEqual(
      one.json.runners.map((r: any) => r.name),
      ['e-2'],
    );
    const id = one.json.runners[0].id as number;
    assert.equal((await api('GET', `/runners/${id}`)).json.name, 'e-2');
    assert.equal((await api('DELETE', `/runners/${id}`)).status, 204);
    assert.equal((await api('GET', `/runners/${id}`)).status, 404);
    const orgRunner = github.runners('acme')[0]!.id;
    assert.equal((await api('GET', `/runners/${orgRunner}`)).status, 404, 'an org runner is not the enterprise’s');
    assert.deepEqual(
      github.runners('enterprise:octo').map((r) => r.name),
      ['e-1', 'e-3'],
    );
  });

  test('a busy runner is not deleted: 422', async () => {
    const [busy] = github.seedRunners({ enterprise: 'octo', name: 'busy', busy: true });
    const res = await api('DELETE', `/runners/${busy!.id}`);
    assert.equal(res.status, 422);
    assert.match(res.json.message, /is still running a job/);
  });

  test('runner groups: Default (id 1) and those added; visible_to_organization leaves out selected groups not naming the org', async () => {
    github.addRunnerGroup({ enterprise: 'octo', name: 'gpus' });
    github.addRunnerGroup({ enterprise: 'octo', name: 'secret', visibility: 'selected', organizations: ['other'] });
    const res = await api('GET', '/runner-groups');
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.json.runner_groups.map((g: any) => [g.id, g.name, g.default]),
      [
        [1, 'Default', true],
        [2, 'gpus', false],
        [3, 'secret', false],
      ],
    );
    assert.equal(res.json.runner_groups[2].selected_organizations_url, `${github.apiUrl}/enterprises/octo/actions/runner_groups/3/organizations`);
    assert.deepEqual(
      (await api('GET', '/runner-groups?visible_to_organization=acme')).json.runner_groups.map((g: any) => g.name),
      ['Default', 'gpus'],
    );
    assert.deepEqual(
      github.runnerGroups('enterprise:octo').map((g) => [g.enterprise, g.name]),
      [
        ['octo', 'Default'],
        ['octo', 'gpus'],
        ['octo', 'secret'],
      ],
    );
    assert.throws(() => github.addRunnerGroup({ enterprise: 'octo', name: 'GPUS' }), /enterprise enterprise:octo has a runner group named GPUS/);
  });

  test('generate-jitconfig: the runner in the enterprise, its config registering at <GITHUB_URL>/enterprises/<slug>', async () => {
    const group = github.addRunnerGroup({ enterprise: 'octo', name: 'jit' });
    const res = await api('POST', '/runners/generate-jitconfig', { name: 'jit-1', runner_group_id: group.id, labels: ['build'] });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.equal(res.json.runner.runner_group_id, group.id);
    assert.equal(res.json.runner.ephemeral, true);
    const files = JSON.parse(Buffer.from(res.json.encoded_jit_config, 'base64').toString('utf8')) as Record<string, string>;
    const settings = JSON.parse(
      Buffer.from(files['.runner']!, 'base64')
        .toString('utf8')
        .replace(/^\uFEFF/, ''),
    );
    assert.equal(settings.gitHubUrl, `${new URL(github.url).origin}/enterprises/octo`);
    assert.deepEqual(
      github.runners('enterprise:octo').map((r) => r.name),
      ['jit-1'],
    );
    assert.equal((await api('POST', '/runners/generate-jitconfig', { name: 'jit-1', runner_group_id: 1, labels: ['build'] })).status, 409);
    assert.equal(
      (await api('POST', '/runners/generate-jitconfig', { name: 'jit-2', runner_group_id: 99, labels: ['build'] })).status,
      404,
      'a group the enterprise does not have',
    );
  });
});

describe('REST: who may not', () => {
  test('an org admin’s PAT: 403, even for an org in the enterprise; an unknown enterprise: 404; no PAT: 401', async () => {
    const denied = await api('GET', '/runners', undefined, `token ${ORG_ADMIN}`);
    assert.equal(denied.status, 403);
    assert.equal(denied.json.message, 'You must be an enterprise owner to manage its self-hosted runners.');
    assert.equal((await http('GET', '/api/v3/enterprises/nosuch/actions/runners', { auth: `token ${OWNER}` })).status, 404);
    assert.equal((await http('GET', `${BASE}/runners`)).status, 401);
    assert.equal(
      (await http('GET', '/api/v3/orgs/acme/actions/runners', { auth: `token ${OWNER}` })).status,
      403,
      'an enterprise owner’s PAT administers no org by that',
    );
  });

  test('a GitHub App installation token: 403 Resource not accessible by integration (the operations are not enabled for Apps)', async () => {
    const app = github.createApp();
    const installation = github.installApp({ app_id: app.app_id, org: 'acme', permissions: { organization_self_hosted_runners: 'write' } });
    const now = Math.floor(Date.now() / 1000);
    const part = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const unsigned = `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ iat: now - 30, exp: now + 300, iss: String(app.app_id) })}`;
    const jwt = `${unsigned}.${sign('sha256', Buffer.from(unsigned), createPrivateKey(app.private_key)).toString('base64url')}`;
    const token = (await http('POST', `/api/v3/app/installations/${installation.installation_id}/access_tokens`, { auth: `Bearer ${jwt}` })).json
      .token as string;
    const res = await api('GET', '/runners', undefined, `token ${token}`);
    assert.equal(res.status, 403);
    assert.equal(res.json.message, 'Resource not accessible by integration');
  });

  test('a request the spec does not allow is a recorded violation (422)', async () => {
    expectViolations = true;
    const res = await api('POST', '/runners/generate-jitconfig', { name: 'x', runner_group_id: 1, labels: [] });
    assert.equal(res.status, 422);
    assert.equal(github.violations[0]?.operation_id, 'actions/generate-runner-jitconfig-for-enterprise');
  });
});

describe('runner protocol: <GITHUB_URL>/enterprises/<slug>', () => {
  test('config.sh’s URL registers at the enterprise (any case of "enterprises"); the runner is the enterprise’s', async () => {
    const { reg, agent } = await register('e-runner', `${github.url}/Enterprises/octo`);
    assert.equal(reg.status, 200, JSON.stringify(reg.json));
    assert.equal(agent?.status, 200, JSON.stringify(agent?.json));
    assert.deepEqual(agent?.json.runner_group, { id: 1, name: 'Default' });
    assert.deepEqual(
      github.runners('enterprise:octo').map((r) => r.name),
      ['e-runner'],
    );
    assert.deepEqual(github.runners('acme'), []);
  });

  test('an enterprise token is not an org’s, nor an org token the enterprise’s: 404', async () => {
    assert.equal((await register('x', `${github.url}/acme`)).reg.status, 404);
    const orgToken = (await http('POST', '/api/v3/orgs/acme/actions/runners/registration-token', { auth: `token ${ORG_ADMIN}` })).json.token as string;
    const res = await http('POST', '/api/v3/actions/runner-registration', {
      auth: `RemoteAuth ${orgToken}`,
      body: { url: `${github.url}/enterprises/octo`, runner_event: 'register' },
    });
    assert.equal(res.status, 404);
  });

  test('--runnergroup is looked up among the enterprise’s groups', async () => {
    github.addRunnerGroup({ enterprise: 'octo', name: 'Builders' });
    assert.deepEqual((await register('grouped', undefined, 'builders')).agent?.json.runner_group, { id: 2, name: 'Builders' });
    assert.equal((await register('nogroup', undefined, 'nope')).agent?.status, 404);
  });

  test('an enterprise runner takes the jobs of the orgs in the enterprise, not of others', async () => {
    const { agent, serverUrl } = await register('e-builder');
    const auth = `Bearer ${agent!.json.credentials.runner_token}`;
    const session = await http('POST', `${serverUrl!}/sessions`, { auth, body: {} });
    const poll = () => http('GET', `${serverUrl!}/jobs/next?session_id=${session.json.session_id}&wait_ms=300`, { auth });
    github.enqueueJob({ org: 'other', runs_on: ['build'] });
    assert.equal((await poll()).status, 204, 'a job of an org outside the enterprise');
    const { job_id } = github.enqueueJob({ org: 'acme', repo: 'widgets', runs_on: ['build'] });
    const next = await poll();
    assert.equal(next.status, 200);
    assert.equal(next.json.job_id, job_id);
  });
});

describe('control API (§3) over HTTP', () => {
  test('scopes, PATs, seeded runners and groups of an enterprise; an enterprise scope with an org is 400', async () => {
    assert.equal((await http('POST', '/_standin/scopes', { body: { enterprise: 'globex', orgs: ['initech'] } })).status, 201);
    assert.equal((await http('POST', '/_standin/pats', { body: { token: 'ghp_globex', admin: ['enterprise:globex'] } })).status, 201);
    assert.equal((await http('POST', '/_standin/runners', { body: { enterprise: 'globex', name: 'g-1' } })).status, 201);
    assert.equal((await http('POST', '/_standin/runner-groups', { body: { enterprise: 'globex', name: 'lab' } })).json.enterprise, 'globex');
    assert.deepEqual(
      (await http('GET', '/_standin/runners?enterprise=globex')).json.runners.map((r: any) => r.name),
      ['g-1'],
    );
    assert.deepEqual(
      (await http('GET', '/_standin/runner-groups?enterprise=globex')).json.runner_groups.map((g: any) => g.name),
      ['Default', 'lab'],
    );
    assert.equal((await http('GET', '/api/v3/enterprises/globex/actions/runners', { auth: 'token ghp_globex' })).json.total_count, 1);
    assert.equal((await http('POST', '/_standin/tokens', { body: { enterprise: 'globex', kind: 'registration' } })).status, 201);
    assert.equal((await http('POST', '/_standin/runners', { body: { enterprise: 'globex', org: 'initech', name: 'x' } })).status, 400);
    assert.equal((await http('GET', '/_standin/runners?enterprise=nosuch')).status, 404);
  });
});
