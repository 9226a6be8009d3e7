// The GitHub stand-in's REST side (PROTOCOL.md §1), its spec validation and
// fault injection, and the control API (§3); exercised with plain fetch and
// with @octokit/rest exactly as the toolkit uses it.
import assert from 'node:assert/strict';
import { createPrivateKey, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import { SERVED_OPERATIONS, EXCERPT_PATH, generateExcerptText } from '../../../standins/github/generate-openapi-excerpt.ts';
import { startGitHubStandIn, type GitHubStandIn } from '../../../standins/github/server.ts';
import { convertNullable, Spec } from '../../../standins/github/spec.ts';
import { request, type HttpAnswer, type HttpOptions } from '../../support/standin-http.ts';

const ADMIN = 'ghp_admin_both';
const OTHER = 'ghp_admin_other_org';
const REPO_ONLY = 'ghp_admin_repo_only';

type Scope = { label: string; org: string; repo?: string; prefix: string; ops: string };
const ORG_SCOPE: Scope = { label: 'org', org: 'acme', prefix: '/orgs/acme/actions/runners', ops: 'org' };
const REPO_SCOPE: Scope = { label: 'repo', org: 'acme', repo: 'widgets', prefix: '/repos/acme/widgets/actions/runners', ops: 'repo' };

let github: GitHubStandIn;

const http = (method: string, path: string, opts: HttpOptions = {}): Promise<HttpAnswer> => request(github.url, method, path, opts);

const api = (method: string, path: string, auth = `token ${ADMIN}`) => http(method, `/api/v3${path}`, { auth });

function octokit(auth = ADMIN): Octokit {
  return new Octokit({ auth, baseUrl: github.apiUrl, log: { debug() {}, info() {}, warn() {}, error() {} } });
}

async function expectStatus(promise: Promise<unknown>, status: number): Promise<any> {
  try {
    await promise;
  } catch (err: any) {
    assert.equal(err.status, status, `expected HTTP ${status}, got ${err.status}: ${err.message}`);
    return err;
  }
  assert.fail(`expected HTTP ${status}, the call succeeded`);
}

before(async () => {
  github = await startGitHubStandIn();
});
after(async () => {
  await github.close();
});

// A fresh world per test keeps call counts and runner ids independent.
beforeEach(async () => {
  await github.close();
  github = await startGitHubStandIn();
  github.addScope({ org: 'acme' });
  github.addScope('acme/widgets');
  github.addScope({ org: 'other' });
  github.addPat({ token: ADMIN, admin: ['acme'] });
  github.addPat({ token: OTHER, admin: ['other'] });
  github.addPat({ token: REPO_ONLY, admin: ['acme/widgets'] });
});

let expectViolations = false;
afterEach(() => {
  if (!expectViolations) assert.deepEqual(github.violations, [], 'the stand-in recorded spec violations');
  expectViolations = false;
});

for (const s of [ORG_SCOPE, REPO_SCOPE]) {
  describe(`REST runners, ${s.label} scope`, () => {
    test('lists runners with GitHub headers, runner objects and absolute Link URLs', async () => {
      github.seedRunners({ org: s.org, repo: s.repo, count: 75, name_prefix: 'r-', labels: ['self-hosted', 'gpu'] });
      const res = await api('GET', `${s.prefix}?per_page=30&page=2`);
      assert.equal(res.status, 200);
      assert.equal(res.json.total_count, 75);
      assert.deepEqual(
        res.json.runners.map((r: any) => r.name),
        Array.from({ length: 30 }, (_, i) => `r-${31 + i}`),
      );
      const first = res.json.runners[0];
      assert.deepEqual(Object.keys(first).sort(), ['busy', 'ephemeral', 'id', 'labels', 'name', 'os', 'runner_group_id', 'status']);
      assert.equal(first.status, 'online');
      assert.equal(first.busy, false);
      assert.deepEqual(
        first.labels.map((l: any) => [l.name, l.type]),
        [
          ['self-hosted', 'read-only'],
          ['gpu', 'custom'],
        ],
      );
      assert.ok(first.labels.every((l: any) => Number.isInteger(l.id)));
      const base = `${github.apiUrl}${s.prefix}`;
      assert.equal(
        res.headers.get('link'),
        `<${base}?per_page=30&page=1>; rel="prev", <${base}?per_page=30&page=3>; rel="next", ` +
          `<${base}?per_page=30&page=3>; rel="last", <${base}?per_page=30&page=1>; rel="first"`,
      );
      assert.equal(res.headers.get('x-ratelimit-limit'), '5000');
      assert.equal(res.headers.get('x-ratelimit-remaining'), '4999');
      assert.equal(res.headers.get('x-ratelimit-used'), '1');
      assert.equal(res.headers.get('x-ratelimit-resource'), 'core');
      const reset = Number(res.headers.get('x-ratelimit-reset'));
      assert.ok(Math.abs(reset - (Date.now() / 1000 + 3600)) < 10, `reset ${reset} should be ~1 h ahead`);
      assert.equal((await api('GET', s.prefix)).headers.get('x-ratelimit-remaining'), '4998');
    });

    test('per_page defaults to 30 and is capped at 100; a single page has no Link', async () => {
      github.seedRunners({ org: s.org, repo: s.repo, count: 150, name_prefix: 'r-' });
      const dflt = await api('GET', s.prefix);
      assert.equal(dflt.json.runners.length, 30);
      assert.match(dflt.headers.get('link') ?? '', /page=5>; rel="last"/);
      const capped = await api('GET', `${s.prefix}?per_page=500`);
      assert.equal(capped.json.runners.length, 100);
      assert.match(capped.headers.get('link') ?? '', /per_page=500&page=2>; rel="last"/);
      const one = await api('GET', `${s.prefix}?name=r-7`);
      assert.equal(one.headers.get('link'), null);
    });

    test('octokit.paginate fetches 250 runners in 3 calls', async () => {
      github.seedRunners({ org: s.org, repo: s.repo, count: 250, name_prefix: 'fleet-' });
      const ok = octokit();
      const runners =
        s.repo === undefined
          ? await ok.paginate(ok.actions.listSelfHostedRunnersForOrg, { org: s.org, per_page: 100 })
          : await ok.paginate(ok.actions.listSelfHostedRunnersForRepo, { owner: s.org, repo: s.repo, per_page: 100 });
      assert.equal(runners.length, 250);
      assert.equal(new Set(runners.map((r) => r.name)).size, 250);
      assert.deepEqual(github.calls(), { total: 3, by_operation: { [`actions/list-self-hosted-runners-for-${s.ops}`]: 3 } });
    });

    test('?name= filters on the exact runner name', async () => {
      github.seedRunners({ org: s.org, repo: s.repo, count: 12, name_prefix: 'r-' });
      const ok = octokit();
      const list = (name: string) =>
        s.repo === undefined
          ? ok.actions.listSelfHostedRunnersForOrg({ org: s.org, name })
          : ok.actions.listSelfHostedRunnersForRepo({ owner: s.org, repo: s.repo, name });
      const hit = await list('r-1');
      assert.equal(hit.data.total_count, 1);
      assert.deepEqual(
        hit.data.runners.map((r) => r.name),
        ['r-1'],
      );
      assert.equal((await list('nope')).data.total_count, 0);
    });

    test('get and delete a runner; 404 for unknown ids and runners of another scope', async () => {
      const [mine] = github.seedRunners({ org: s.org, repo: s.repo, name: 'mine' });
      const [elsewhere] = github.seedRunners(s.repo === undefined ? { org: 'acme', repo: 'widgets', name: 'x' } : { org: 'acme', name: 'x' });
      assert.ok(mine && elsewhere);
      const ok = octokit();
      const get = (id: number) =>
        s.repo === undefined
          ? ok.actions.getSelfHostedRunnerForOrg({ org: s.org, runner_id: id })
          : ok.actions.getSelfHostedRunnerForRepo({ owner: s.org, repo: s.repo, runner_id: id });
      const del = (id: number) =>
        s.repo === undefined
          ? ok.actions.deleteSelfHostedRunnerFromOrg({ org: s.org, runner_id: id })
          : ok.actions.deleteSelfHostedRunnerFromRepo({ owner: s.org, repo: s.repo, runner_id: id });
      assert.equal((await get(mine.id)).data.name, 'mine');
      await expectStatus(get(elsewhere.id), 404);
      await expectStatus(get(999_999), 404);
      assert.equal((await del(mine.id)).status, 204);
      await expectStatus(get(mine.id), 404);
      await expectStatus(del(mine.id), 404);
      assert.equal(github.runners(s.repo === undefined ? 'acme/widgets' : 'acme').length, 1, 'the other scope is untouched');
    });

    test('deleting a busy runner answers 422 and keeps it', async () => {
      const [busy] = github.seedRunners({ org: s.org, repo: s.repo, name: 'busy-1', busy: true });
      assert.ok(busy);
      const ok = octokit();
      const err = await expectStatus(
        s.repo === undefined
          ? ok.actions.deleteSelfHostedRunnerFromOrg({ org: s.org, runner_id: busy.id })
          : ok.actions.deleteSelfHostedRunnerFromRepo({ owner: s.org, repo: s.repo, runner_id: busy.id }),
        422,
      );
      assert.match(err.message, /still running a job/);
      assert.equal(github.runners(s).length, 1);
    });

    test('registration and remove tokens: 201 {token, expires_at} one hour ahead', async () => {
      const ok = octokit();
      const reg =
        s.repo === undefined
          ? await ok.actions.createRegistrationTokenForOrg({ org: s.org })
          : await ok.actions.createRegistrationTokenForRepo({ owner: s.org, repo: s.repo });
      const rm =
        s.repo === undefined
          ? await ok.actions.createRemoveTokenForOrg({ org: s.org })
          : await ok.actions.createRemoveTokenForRepo({ owner: s.org, repo: s.repo });
      for (const res of [reg, rm]) {
        assert.equal(res.status, 201);
        assert.match(res.data.token, /^[A-Z2-7]{29}$/);
        assert.match(res.data.expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        const ahead = Date.parse(res.data.expires_at) - Date.now();
        assert.ok(ahead > 3590_000 && ahead <= 3600_000, `expires ${ahead} ms ahead`);
      }
      assert.notEqual(reg.data.token, rm.data.token);
      assert.deepEqual(github.calls().by_operation, {
        [`actions/create-registration-token-for-${s.ops}`]: 1,
        [`actions/create-remove-token-for-${s.ops}`]: 1,
      });
    });

    test('401 for an unknown PAT, 403 without admin, 404 for an unknown org/repo', async () => {
      const bad = await api('GET', s.prefix, 'token ghp_unknown');
      assert.equal(bad.status, 401);
      assert.equal(bad.json.message, 'Bad credentials');
      assert.match(bad.json.documentation_url, /^https:\/\/docs\.github\.com\//);
      assert.equal(bad.headers.get('x-ratelimit-limit'), '60', 'unauthenticated callers get the anonymous limit');
      const none = await http('GET', `/api/v3${s.prefix}`);
      assert.equal(none.status, 401);
      await expectStatus(octokit('ghp_unknown').actions.listSelfHostedRunnersForOrg({ org: 'acme' }), 401);

      const forbidden = await api('POST', `${s.prefix}/registration-token`, `token ${OTHER}`);
      assert.equal(forbidden.status, 403);
      assert.ok(forbidden.json.message.length > 0);
      const bearer = await api('GET', s.prefix, `Bearer ${ADMIN}`);
      assert.equal(bearer.status, 200, 'Bearer works like token');

      const unknown = s.repo === undefined ? '/orgs/nope/actions/runners' : '/repos/acme/nope/actions/runners';
      assert.equal((await api('GET', unknown)).status, 404);
      assert.equal((await api('GET', `${s.prefix}/registration-token`)).status, 404, 'wrong method: no such route');
      assert.equal((await api('GET', `${s.prefix}/abc`)).status, 404, 'runner ids are numeric');
    });
  });
}

describe('REST permissions across scopes', () => {
  test('an org admin administers its repos; a repo admin cannot touch the org', async () => {
    assert.equal((await api('GET', REPO_SCOPE.prefix, `token ${ADMIN}`)).status, 200);
    assert.equal((await api('GET', REPO_SCOPE.prefix, `token ${REPO_ONLY}`)).status, 200);
    assert.equal((await api('GET', ORG_SCOPE.prefix, `token ${REPO_ONLY}`)).status, 403);
    const org = octokit(REPO_ONLY);
    await expectStatus(org.actions.createRegistrationTokenForOrg({ org: 'acme' }), 403);
  });

  test('org listings do not include repo runners and vice versa', async () => {
    github.seedRunners({ org: 'acme', name: 'org-runner' });
    github.seedRunners({ org: 'acme', repo: 'widgets', name: 'repo-runner' });
    assert.deepEqual(
      (await api('GET', ORG_SCOPE.prefix)).json.runners.map((r: any) => r.name),
      ['org-runner'],
    );
    assert.deepEqual(
      (await api('GET', REPO_SCOPE.prefix)).json.runners.map((r: any) => r.name),
      ['repo-runner'],
    );
  });
});

describe('OpenAPI excerpt and validation', () => {
  test('the committed excerpt matches a fresh extraction from the pinned spec (no drift)', () => {
    const committed = readFileSync(EXCERPT_PATH, 'utf8');
    const fresh = generateExcerptText();
    assert.equal(fresh, committed, 'run: npx tsx standins/github/generate-openapi-excerpt.ts');
    const ops = Object.values(JSON.parse(committed).paths as Record<string, Record<string, { operationId: string }>>)
      .flatMap((item) => Object.values(item).map((op) => op.operationId))
      .sort();
    assert.deepEqual(ops, [...SERVED_OPERATIONS].sort());
    assert.ok(!committed.includes('"$ref"'), 'every $ref is inlined');
  });

  test('nullable becomes a JSON-schema type union', () => {
    assert.deepEqual(convertNullable({ type: 'string', nullable: true, example: 'x' }), { type: ['string', 'null'] });
    assert.deepEqual(convertNullable({ type: 'string', enum: ['a'], nullable: true }), { type: ['string', 'null'], enum: ['a', null] });
    assert.deepEqual(convertNullable({ allOf: [{ type: 'object' }], nullable: true }), { anyOf: [{ allOf: [{ type: 'object' }] }, { type: 'null' }] });
    const spec = Spec.load();
    const get = spec.operations.find((o) => o.operationId === 'actions/get-self-hosted-runner-for-org');
    assert.ok(get);
    const runner = { id: 1, name: 'a', os: 'Linux', status: 'online', busy: false, labels: [] };
    assert.deepEqual(spec.validateResponse(get, 200, { ...runner, version: null }), [], 'version is nullable');
    assert.notDeepEqual(spec.validateResponse(get, 200, { ...runner, version: 5 }), []);
    assert.notDeepEqual(spec.validateResponse(get, 201, runner), [], '201 is not documented for get');
  });

  test('a wrong response shape is caught: recorded as a violation and answered 500', async () => {
    expectViolations = true;
    const [r] = github.seedRunners({ org: 'acme', name: 'shape' });
    assert.ok(r);
    github.corruptNextResponse('actions/get-self-hosted-runner-for-org', (body: any) => ({ ...body, busy: 'yes', labels: undefined }));
    const res = await api('GET', `/orgs/acme/actions/runners/${r.id}`);
    assert.equal(res.status, 500);
    assert.match(res.json.message, /violates the OpenAPI spec/);
    const [v, ...rest] = github.violations;
    assert.equal(rest.length, 0);
    assert.ok(v);
    assert.equal(v.kind, 'response');
    assert.equal(v.operation_id, 'actions/get-self-hosted-runner-for-org');
    assert.equal(v.status, 200);
    assert.match(v.errors.join(' '), /busy/);
    assert.match(v.errors.join(' '), /labels/);
    // Visible over HTTP too, and the next (uncorrupted) answer is fine again.
    assert.equal((await http('GET', '/_standin/violations')).json.length, 1);
    assert.equal((await api('GET', `/orgs/acme/actions/runners/${r.id}`)).status, 200);

    github.corruptNextResponse('actions/create-registration-token-for-org', (body: any) => ({ ...body, expires_at: 'tomorrow' }));
    assert.equal((await api('POST', '/orgs/acme/actions/runners/registration-token')).status, 500);
    assert.match(github.violations[1]?.errors.join(' ') ?? '', /date-time/);
  });

  test('an invalid request is recorded and answered 422', async () => {
    expectViolations = true;
    const res = await api('GET', '/orgs/acme/actions/runners?per_page=lots');
    assert.equal(res.status, 422);
    assert.match(res.json.message, /per_page/);
    const body = await http('POST', '/api/v3/orgs/acme/actions/runners/registration-token', { auth: `token ${ADMIN}`, body: { name: 'x' } });
    assert.equal(body.status, 422);
    const bad = await http('POST', '/api/v3/orgs/acme/actions/runners/registration-token', { auth: `token ${ADMIN}`, body: '{oops' });
    assert.equal(bad.status, 400);
    assert.deepEqual(
      github.violations.map((v) => [v.kind, v.operation_id]),
      [
        ['request', 'actions/list-self-hosted-runners-for-org'],
        ['request', 'actions/create-registration-token-for-org'],
        ['request', 'actions/create-registration-token-for-org'],
      ],
    );
  });
});

describe('fault injection', () => {
  test('rate_limit: 403 with x-ratelimit-remaining 0, x-ratelimit-reset and retry-after, then recovers', async () => {
    github.injectFault({ kind: 'rate_limit', times: 2, retry_after: 7 });
    for (let i = 0; i < 2; i++) {
      const res = await api('GET', ORG_SCOPE.prefix);
      assert.equal(res.status, 403);
      assert.match(res.json.message, /API rate limit exceeded/);
      assert.equal(res.headers.get('x-ratelimit-remaining'), '0');
      assert.equal(res.headers.get('retry-after'), '7');
      const reset = Number(res.headers.get('x-ratelimit-reset'));
      assert.ok(Math.abs(reset - (Date.now() / 1000 + 7)) < 3);
    }
    assert.equal((await api('GET', ORG_SCOPE.prefix)).status, 200);
    assert.equal(github.calls().total, 3, 'faulted calls are counted');
  });

  test('octokit with the throttling plugin waits out a secondary rate limit and retries', async () => {
    github.injectFault({ operation: 'actions/create-registration-token-for-org', kind: 'secondary_rate_limit', retry_after: 1 });
    const seen: number[] = [];
    const Throttled = Octokit.plugin(throttling);
    const ok = new Throttled({
      auth: ADMIN,
      baseUrl: github.apiUrl,
      log: { debug() {}, info() {}, warn() {}, error() {} },
      throttle: {
        onRateLimit: () => false,
        onSecondaryRateLimit: (retryAfter: number) => {
          seen.push(retryAfter);
          return true;
        },
      },
    });
    const started = Date.now();
    assert.equal((await ok.actions.listSelfHostedRunnersForOrg({ org: 'acme' })).status, 200, 'other operations are not faulted');
    const res = await ok.actions.createRegistrationTokenForOrg({ org: 'acme' });
    assert.equal(res.status, 201);
    assert.deepEqual(seen, [1]);
    assert.ok(Date.now() - started >= 900, 'waited for retry-after');
    assert.equal(github.calls().by_operation['actions/create-registration-token-for-org'], 2);
  });

  test('server_error, slow and bad_credentials', async () => {
    github.injectFault({ kind: 'server_error', status: 502 });
    github.injectFault({ kind: 'slow', delay_ms: 300, operation: 'actions/list-self-hosted-runners-for-repo' });
    const failed = await api('GET', ORG_SCOPE.prefix);
    assert.equal(failed.status, 502);
    assert.equal((await api('GET', ORG_SCOPE.prefix)).status, 200, 'times defaults to 1');
    const t0 = Date.now();
    assert.equal((await api('GET', REPO_SCOPE.prefix)).status, 200);
    assert.ok(Date.now() - t0 >= 290, 'slow answer took its delay');

    github.injectFault({ kind: 'bad_credentials' });
    assert.equal((await api('GET', ORG_SCOPE.prefix)).status, 401);
    assert.equal((await api('GET', ORG_SCOPE.prefix)).status, 200);
  });

  test('wrong_token: the token call succeeds but the runner protocol rejects the token', async () => {
    const inject = await http('POST', '/_standin/faults', { body: { kind: 'wrong_token' } });
    assert.equal(inject.status, 201);
    assert.equal((await api('GET', ORG_SCOPE.prefix)).status, 200, 'non-token operations do not consume it');
    const bad = await api('POST', '/orgs/acme/actions/runners/registration-token');
    assert.equal(bad.status, 201);
    const good = await api('POST', '/orgs/acme/actions/runners/registration-token');
    const register = (token: string) =>
      http('POST', '/api/v3/actions/runner-registration', {
        auth: `RemoteAuth ${token}`,
        body: { url: `${github.url}/acme`, runner_event: 'register' },
      });
    assert.equal((await register(bad.json.token)).status, 404);
    assert.equal((await register(good.json.token)).status, 200);
  });

  test('bad fault specs are refused', async () => {
    assert.equal((await http('POST', '/_standin/faults', { body: { kind: 'meteor' } })).status, 400);
    assert.equal((await http('POST', '/_standin/faults', { body: { kind: 'slow', times: 0 } })).status, 400);
    assert.throws(() => github.injectFault({ kind: 'server_error', status: 418 }));
  });
});

describe('control API over HTTP', () => {
  test('scopes, PATs, seeded runners, calls and reset', async () => {
    assert.equal((await http('POST', '/_standin/scopes', { body: { org: 'beta', repo: 'app' } })).status, 201);
    assert.equal((await http('POST', '/_standin/pats', { body: { token: 'ghp_beta', admin: ['beta/app'] } })).status, 201);
    const seeded = await http('POST', '/_standin/runners', {
      body: { org: 'beta', repo: 'app', name: 'b1', labels: ['self-hosted', 'x'], status: 'offline', busy: false },
    });
    assert.equal(seeded.status, 201);
    assert.equal(seeded.json.runners[0].status, 'offline');
    const list = await api('GET', '/repos/beta/app/actions/runners', 'token ghp_beta');
    assert.deepEqual(
      list.json.runners.map((r: any) => [r.name, r.status]),
      [['b1', 'offline']],
    );
    assert.equal((await http('POST', '/_standin/runners', { body: { org: 'beta', repo: 'app', name: 'b1' } })).status, 409);
    assert.equal((await http('POST', '/_standin/runners', { body: { org: 'ghost', name: 'g' } })).status, 404);
    assert.equal((await http('POST', '/_standin/scopes', { body: {} })).status, 400);

    const calls = await http('GET', '/_standin/calls');
    assert.deepEqual(calls.json, { total: 1, by_operation: { 'actions/list-self-hosted-runners-for-repo': 1 } });
    assert.equal((await http('DELETE', '/_standin/calls')).status, 204);
    assert.deepEqual((await http('GET', '/_standin/calls')).json, { total: 0, by_operation: {} });
    assert.deepEqual((await http('GET', '/_standin/violations')).json, []);
  });

  test('jobs: create, read, cancel while queued; unknown jobs are 404', async () => {
    const created = await http('POST', '/_standin/jobs', {
      body: {
        org: 'acme',
        repo: 'widgets',
        repository: 'acme/widgets',
        runs_on: ['self-hosted', 'nobody-has-this'],
        job: 'build',
        workflow: 'ci',
        steps: [{ name: 's', run: 'true' }],
        env: {},
      },
    });
    assert.equal(created.status, 201);
    assert.deepEqual(Object.keys(created.json).sort(), ['job_id', 'run_attempt', 'run_id']);
    const id = created.json.job_id;
    const view = await http('GET', `/_standin/jobs/${id}`);
    assert.equal(view.json.status, 'queued');
    assert.equal(view.json.conclusion, null);
    assert.equal(view.json.runner_name, null);
    assert.deepEqual(view.json.events, []);
    assert.equal((await http('POST', `/_standin/jobs/${id}/cancel`)).status, 202);
    const done = await github.waitForJob(id, (j) => j.status === 'completed', 1000);
    assert.equal(done.conclusion, 'cancelled');
    assert.equal((await http('POST', `/_standin/jobs/${id}/cancel`)).status, 409);
    assert.equal((await http('GET', '/_standin/jobs/4242')).status, 404);
    assert.equal((await http('POST', '/_standin/jobs', { body: { org: 'acme', steps: 'nope' } })).status, 400);
    await assert.rejects(
      github.waitForJob(id, (j) => j.status === 'queued', 50),
      /timed out/,
    );
  });

  test('unknown paths are 404 everywhere', async () => {
    assert.equal((await http('GET', '/nothing')).status, 404);
    assert.equal((await http('GET', '/_standin/nothing')).status, 404);
    assert.equal((await api('GET', '/user')).status, 404);
  });
});

describe('CLI', () => {
  /** Starts main.ts with `args`; resolves once it printed its first lines. */
  async function startCli(args: string[]) {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['--import', 'tsx', 'standins/github/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let out = '';
    const urls = await new Promise<{ url: string; api: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URLs printed: ${out}`)), 15_000);
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const m = /GITHUB_URL=(\S+)\nGITHUB_API_URL=(\S+)\n[^]*Ctrl-C/.exec(out);
        if (m?.[1] && m[2]) {
          clearTimeout(timer);
          resolve({ url: m[1], api: m[2] });
        }
      });
    });
    return { ...urls, output: () => out, stop: async () => (child.kill('SIGTERM'), exited) };
  }

  test('main.ts --port 0 prints the URLs, serves, and exits 0 on SIGTERM', async () => {
    const cli = await startCli(['--port', '0', '--scope', 'acme', '--pat', 'ghp_cli:acme']);
    assert.match(cli.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(cli.api, `${cli.url}/api/v3`);
    assert.match(cli.output(), /a runner cannot register/, 'an address with a port is said to be unusable for runners');
    const res = await fetch(`${cli.api}/orgs/acme/actions/runners`, { headers: { authorization: 'token ghp_cli' } });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { total_count: 0, runners: [] });
    assert.equal(await cli.stop(), 0);
  });

  test('main.ts without --port listens portless as root, and prints the env file lines that point a fleet at it', async (t) => {
    const cli = await startCli(['--scope', 'acme/widgets', '--pat', 'ghp_cli:acme/widgets']);
    try {
      if (process.getuid?.() === 0) {
        assert.match(cli.url, /^http:\/\/127\.\d+\.\d+\.\d+$/, 'no port: a runner can register with it');
        assert.doesNotMatch(cli.output(), /a runner cannot register/);
      } else {
        t.diagnostic('not root: a free port, and the note saying runners cannot register');
        assert.match(cli.output(), /a runner cannot register/);
      }
      for (const line of [`GITHUB_URL=${cli.url}`, `GITHUB_API_URL=${cli.api}`, 'ORG=acme', 'REPO=widgets', 'GH_PAT=ghp_cli']) {
        assert.match(cli.output(), new RegExp(`^#\\s+${line.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm'), line);
      }
      const res = await fetch(`${cli.api}/repos/acme/widgets/actions/runners`, { headers: { authorization: 'token ghp_cli' } });
      assert.equal(res.status, 200);
    } finally {
      assert.equal(await cli.stop(), 0);
    }
  });
});

describe('GitHub Apps', () => {
  /** An RS256 JWT as an App makes it, with claims to vary. */
  function jwt(privateKey: string, claims: Record<string, unknown>): string {
    const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const input = `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}`;
    return `${input}.${sign('sha256', Buffer.from(input), createPrivateKey(privateKey)).toString('base64url')}`;
  }
  const now = () => Math.floor(Date.now() / 1000);

  test("JWT checks: signature, issuer, iat and exp, each refused with 401 and GitHub's message", async () => {
    const app = github.createApp('checks');
    const stranger = github.createApp('stranger');
    github.installApp({ app_id: app.app_id, org: 'acme' });
    const good = { iss: app.app_id, iat: now() - 60, exp: now() + 540 };
    const asApp = (token: string) => http('GET', '/api/v3/orgs/acme/installation', { auth: `Bearer ${token}` });
    assert.equal((await asApp(jwt(app.private_key, good))).status, 200);
    assert.equal((await asApp(jwt(app.private_key, { ...good, iss: app.client_id }))).status, 200, 'the client ID is an issuer too');
    const refused: Array<[string, string, RegExp]> = [
      ['signed by another key', jwt(stranger.private_key, good), /could not be decoded/],
      ['unknown issuer', jwt(app.private_key, { ...good, iss: 999 }), /Integration not found/],
      ['expired', jwt(app.private_key, { ...good, iat: now() - 700, exp: now() - 10 }), /'Expiration time' claim \('exp'\) must be a numeric value/],
      ['exp more than 10 minutes ahead', jwt(app.private_key, { ...good, exp: now() + 1200 }), /too far in the future/],
      ['issued in the future', jwt(app.private_key, { ...good, iat: now() + 300, exp: now() + 600 }), /'Issued at' claim/],
      ['not a JWT', 'abc', /could not be decoded/],
    ];
    for (const [what, token, message] of refused) {
      const res = await asApp(token);
      assert.equal(res.status, 401, what);
      assert.match(res.json.message, message, what);
    }
    assert.equal((await api('GET', '/orgs/acme/installation')).status, 401, 'a PAT is not an App');
  });

  test('installation lookup by org and repo, access token, and the token on the runner operations', async () => {
    const app = github.createApp('lookup');
    const auth = `Bearer ${jwt(app.private_key, { iss: app.app_id, iat: now() - 60, exp: now() + 540 })}`;
    assert.equal((await http('GET', '/api/v3/orgs/acme/installation', { auth })).status, 404, 'not installed yet');
    const { installation_id } = github.installApp({ app_id: app.app_id, org: 'acme', permissions: { organization_self_hosted_runners: 'write' } });
    const org = await http('GET', '/api/v3/orgs/acme/installation', { auth });
    assert.equal(org.json.id, installation_id);
    assert.deepEqual(org.json.permissions, { metadata: 'read', organization_self_hosted_runners: 'write' });
    assert.equal(
      (await http('GET', '/api/v3/repos/acme/widgets/installation', { auth })).json.id,
      installation_id,
      'an all-repositories installation covers its repos',
    );
    assert.equal((await http('GET', '/api/v3/orgs/other/installation', { auth })).status, 404);

    const created = await http('POST', `/api/v3/app/installations/${installation_id}/access_tokens`, { auth });
    assert.equal(created.status, 201);
    assert.ok(Date.parse(created.json.expires_at) - Date.now() > 59 * 60 * 1000, 'an hour ahead');
    const token = created.json.token as string;
    assert.equal((await api('GET', '/orgs/acme/actions/runners', `token ${token}`)).status, 200);
    assert.equal((await api('POST', '/orgs/acme/actions/runners/registration-token', `token ${token}`)).status, 201);
    assert.equal((await api('GET', '/orgs/other/actions/runners', `token ${token}`)).status, 404, 'another org does not exist for it');
    assert.equal((await http('POST', '/api/v3/app/installations/99/access_tokens', { auth })).status, 404);
    assert.equal(
      (await http('POST', `/api/v3/app/installations/${installation_id}/access_tokens`, { auth: `token ${token}` })).status,
      401,
      'an installation token cannot make tokens',
    );

    github.expireToken(token);
    const expired = await api('GET', '/orgs/acme/actions/runners', `token ${token}`);
    assert.equal(expired.status, 401);
    assert.equal(expired.json.message, 'Bad credentials');
  });

  test('a missing permission: 403 with X-Accepted-GitHub-Permissions naming it (org: self-hosted runners; repo: administration)', async () => {
    const app = github.createApp('narrow');
    const auth = `Bearer ${jwt(app.private_key, { iss: app.app_id, iat: now() - 60, exp: now() + 540 })}`;
    const { installation_id } = github.installApp({ app_id: app.app_id, org: 'acme', permissions: { organization_self_hosted_runners: 'read' } });
    const token = (await http('POST', `/api/v3/app/installations/${installation_id}/access_tokens`, { auth })).json.token as string;
    assert.equal((await api('GET', '/orgs/acme/actions/runners', `token ${token}`)).status, 200, 'read lists');
    const write = await api('POST', '/orgs/acme/actions/runners/registration-token', `token ${token}`);
    assert.equal(write.status, 403);
    assert.equal(write.json.message, 'Resource not accessible by integration');
    assert.equal(write.headers.get('x-accepted-github-permissions'), 'organization_self_hosted_runners=write');
    const repo = await api('GET', '/repos/acme/widgets/actions/runners', `token ${token}`);
    assert.equal(repo.headers.get('x-accepted-github-permissions'), 'administration=read');
    github.setInstallationPermissions(installation_id, { organization_self_hosted_runners: 'write' });
    assert.equal(
      (await api('POST', '/orgs/acme/actions/runners/registration-token', `token ${token}`)).status,
      201,
      'granted permissions apply to live tokens',
    );
  });

  test('control API over HTTP: apps, installations, permissions, issued tokens', async () => {
    const app = await http('POST', '/_standin/apps', { body: { name: 'http-app' } });
    assert.equal(app.status, 201);
    assert.match(app.json.private_key, /^-----BEGIN RSA PRIVATE KEY-----/);
    const inst = await http('POST', '/_standin/installations', { body: { app_id: app.json.app_id, org: 'acme', permissions: { administration: 'write' } } });
    assert.equal(inst.status, 201);
    assert.equal((await http('POST', '/_standin/installations', { body: { app_id: 1, org: 'acme' } })).status, 404);
    assert.equal(
      (await http('POST', '/_standin/installations', { body: { app_id: app.json.app_id, org: 'acme', permissions: { administration: 'admin' } } })).status,
      400,
    );
    const changed = await http('POST', `/_standin/installations/${inst.json.installation_id}/permissions`, { body: { permissions: {} } });
    assert.deepEqual(changed.json.permissions, { metadata: 'read' });
    assert.deepEqual((await http('GET', '/_standin/installation-tokens')).json, { tokens: [] });
  });
});
