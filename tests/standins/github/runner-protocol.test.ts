// The GitHub stand-in's runner protocol (PROTOCOL.md §2): registration with
// RemoteAuth tokens made through the REST API, agents, sessions and liveness,
// long-poll job assignment by labels and scope, events, cancel, removal.
import assert from 'node:assert/strict';
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import { Octokit } from '@octokit/rest';
import { startGitHubStandIn, type GitHubStandIn } from '../../../standins/github/server.ts';
import { request, type HttpAnswer, type HttpOptions } from '../../support/standin-http.ts';

const PAT = 'ghp_protocol';
let github: GitHubStandIn;

const http = (method: string, path: string, opts: HttpOptions = {}): Promise<HttpAnswer> => request(github.url, method, path, opts);

function octokit(): Octokit {
  return new Octokit({ auth: PAT, baseUrl: github.apiUrl });
}

type Scope = { org: string; repo?: string };
const ACME: Scope = { org: 'acme' };
const WIDGETS: Scope = { org: 'acme', repo: 'widgets' };

async function restToken(scope: Scope, kind: 'registration' | 'remove'): Promise<string> {
  const ok = octokit();
  const res =
    kind === 'registration'
      ? scope.repo === undefined
        ? await ok.actions.createRegistrationTokenForOrg({ org: scope.org })
        : await ok.actions.createRegistrationTokenForRepo({ owner: scope.org, repo: scope.repo })
      : scope.repo === undefined
        ? await ok.actions.createRemoveTokenForOrg({ org: scope.org })
        : await ok.actions.createRemoveTokenForRepo({ owner: scope.org, repo: scope.repo });
  return res.data.token;
}

const scopeUrl = (s: Scope) => `${github.url}/${s.org}${s.repo ? `/${s.repo}` : ''}`;

function registration(token: string, scope: Scope, event: 'register' | 'remove' = 'register') {
  return http('POST', '/api/v3/actions/runner-registration', { auth: `RemoteAuth ${token}`, body: { url: scopeUrl(scope), runner_event: event } });
}

/** A runner as the simulator drives it: registered, with a session. */
class TestRunner {
  constructor(
    readonly id: number,
    readonly name: string,
    readonly serverUrl: string,
    readonly token: string,
    public sessionId = '',
  ) {}

  get auth() {
    return `Bearer ${this.token}`;
  }

  static async register(scope: Scope, name: string, labels: string[], extra: Record<string, unknown> = {}): Promise<TestRunner> {
    const reg = await registration(await restToken(scope, 'registration'), scope);
    assert.equal(reg.status, 200, JSON.stringify(reg.json));
    const agent = await http('POST', `${reg.json.url}/agents`, {
      auth: `Bearer ${reg.json.token}`,
      body: { name, labels, runner_group: 'Default', replace: false, ephemeral: false, no_default_labels: false, os: 'Linux', work_folder: '_work', ...extra },
    });
    assert.equal(agent.status, 200, JSON.stringify(agent.json));
    return new TestRunner(agent.json.id, agent.json.name, reg.json.url, agent.json.credentials.runner_token);
  }

  async connect(): Promise<this> {
    const res = await http('POST', `${this.serverUrl}/sessions`, { auth: this.auth, body: {} });
    assert.equal(res.status, 200);
    this.sessionId = res.json.session_id;
    return this;
  }

  next(waitMs = 2000) {
    return http('GET', `${this.serverUrl}/jobs/next?session_id=${encodeURIComponent(this.sessionId)}&wait_ms=${waitMs}`, { auth: this.auth });
  }

  event(jobId: number, body: Record<string, unknown>) {
    return http('POST', `${this.serverUrl}/jobs/${jobId}/events`, { auth: this.auth, body });
  }

  cancelled(jobId: number) {
    return http('GET', `${this.serverUrl}/jobs/${jobId}`, { auth: this.auth });
  }

  disconnect() {
    return http('DELETE', `${this.serverUrl}/sessions/${this.sessionId}`, { auth: this.auth });
  }
}

const restRunner = async (scope: Scope, id: number) => {
  const ok = octokit();
  return scope.repo === undefined
    ? (await ok.actions.getSelfHostedRunnerForOrg({ org: scope.org, runner_id: id })).data
    : (await ok.actions.getSelfHostedRunnerForRepo({ owner: scope.org, repo: scope.repo, runner_id: id })).data;
};

async function start(offlineAfterMs?: number): Promise<void> {
  await github?.close();
  github = await startGitHubStandIn(offlineAfterMs === undefined ? {} : { offlineAfterMs });
  github.addScope(ACME);
  github.addScope(WIDGETS);
  github.addScope({ org: 'acme', repo: 'gadgets' });
  github.addPat({ token: PAT, admin: ['acme'] });
}

beforeEach(() => start());
afterEach(() => assert.deepEqual(github.violations, []));
after(() => github.close());

for (const scope of [ACME, WIDGETS]) {
  const label = scope.repo === undefined ? 'org' : 'repo';
  test(`full flow (${label} scope): register → session → job by labels → events → completed`, async () => {
    const reg = await registration(await restToken(scope, 'registration'), scope);
    assert.equal(reg.status, 200);
    assert.equal(reg.json.url, `${github.url}/_runner`);
    assert.equal(reg.json.token_schema, 'OAuthAccessToken');
    assert.equal(typeof reg.json.token, 'string');

    const agent = await http('POST', '/_runner/agents', {
      auth: `Bearer ${reg.json.token}`,
      body: {
        name: 'sim-1',
        labels: ['gpu', 'big'],
        runner_group: 'Default',
        replace: false,
        ephemeral: false,
        no_default_labels: false,
        os: 'Linux',
        work_folder: '_work',
      },
    });
    assert.equal(agent.status, 200);
    assert.equal(agent.json.name, 'sim-1');
    assert.deepEqual(agent.json.labels, ['self-hosted', 'Linux', 'X64', 'gpu', 'big']);
    const runner = new TestRunner(agent.json.id, 'sim-1', reg.json.url, agent.json.credentials.runner_token);

    // Registered but not connected: listed, offline, with its labels.
    let rest = await restRunner(scope, runner.id);
    assert.equal(rest.name, 'sim-1');
    assert.equal(rest.status, 'offline');
    assert.deepEqual(
      rest.labels.map((l) => [l.name, l.type]),
      [
        ['self-hosted', 'read-only'],
        ['Linux', 'read-only'],
        ['X64', 'read-only'],
        ['gpu', 'custom'],
        ['big', 'custom'],
      ],
    );
    await runner.connect();
    rest = await restRunner(scope, runner.id);
    assert.equal(rest.status, 'online');
    assert.equal(rest.busy, false);

    const created = github.enqueueJob({
      ...scope,
      repository: 'acme/widgets',
      runs_on: ['self-hosted', 'GPU'],
      job: 'build',
      workflow: 'ci',
      steps: [{ name: 'hello', run: 'echo hi' }],
      env: { A: '1' },
    });
    const msg = await runner.next();
    assert.equal(msg.status, 200);
    assert.deepEqual(msg.json, {
      job_id: created.job_id,
      run_id: created.run_id,
      run_attempt: 1,
      job: 'build',
      repository: 'acme/widgets',
      workflow: 'ci',
      steps: [{ name: 'hello', run: 'echo hi' }],
      env: { A: '1' },
    });
    assert.equal(github.job(created.job_id)?.status, 'in_progress');
    assert.equal(github.job(created.job_id)?.runner_name, 'sim-1');
    assert.equal((await restRunner(scope, runner.id)).busy, true);

    // Busy: REST delete is refused.
    const ok = octokit();
    await assert.rejects(
      scope.repo === undefined
        ? ok.actions.deleteSelfHostedRunnerFromOrg({ org: scope.org, runner_id: runner.id })
        : ok.actions.deleteSelfHostedRunnerFromRepo({ owner: scope.org, repo: scope.repo, runner_id: runner.id }),
      (err: any) => err.status === 422,
    );

    const events = [
      { event: 'started' },
      { event: 'hook', hook: 'job_started', exit_code: 0, output: 'started-hook' },
      { event: 'step', name: 'hello', exit_code: 0, output: 'hi' },
      { event: 'hook', hook: 'job_completed', exit_code: 0, output: 'completed-hook' },
      { event: 'completed', conclusion: 'success' },
    ];
    for (const e of events) assert.equal((await runner.event(created.job_id, e)).status, 200);
    const done = await github.waitForJob(created.job_id, (j) => j.status === 'completed', 1000);
    assert.equal(done.conclusion, 'success');
    assert.deepEqual(done.events, events);
    assert.deepEqual((await http('GET', `/_standin/jobs/${created.job_id}`)).json, { ...done, cancel_requested: false });
    assert.equal((await restRunner(scope, runner.id)).busy, false);
  });
}

describe('job assignment', () => {
  test('jobs go, in enqueue order, to an idle runner carrying all runs_on labels', async () => {
    const gpu = await (await TestRunner.register(ACME, 'gpu-1', ['gpu'])).connect();
    const plain = await (await TestRunner.register(ACME, 'plain-1', [])).connect();
    const j1 = github.enqueueJob({ org: 'acme', runs_on: ['self-hosted', 'gpu'], job: 'j1' });
    const j2 = github.enqueueJob({ org: 'acme', runs_on: ['self-hosted'], job: 'j2' });
    const j3 = github.enqueueJob({ org: 'acme', runs_on: ['self-hosted'], job: 'j3' });
    // plain cannot run j1 (no gpu label): it gets the oldest job it can run.
    assert.equal((await plain.next()).json.job, 'j2');
    assert.equal((await gpu.next()).json.job, 'j1');
    // Both busy now: nothing more for either, j3 waits.
    const t0 = Date.now();
    assert.equal((await plain.next(200)).status, 204);
    assert.ok(Date.now() - t0 >= 190, 'the long poll waited wait_ms');
    assert.equal(github.job(j3.job_id)?.status, 'queued');
    await plain.event(j2.job_id, { event: 'completed', conclusion: 'failure' });
    assert.equal((await plain.next()).json.job, 'j3');
    assert.equal(github.job(j1.job_id)?.runner_name, 'gpu-1');
    assert.equal(github.job(j2.job_id)?.conclusion, 'failure');
  });

  test('a long poll is answered as soon as a matching job is enqueued', async () => {
    const r = await (await TestRunner.register(ACME, 'waiter', ['linux-big'])).connect();
    const poll = r.next(5000);
    await new Promise((res) => setTimeout(res, 100));
    github.enqueueJob({ org: 'acme', runs_on: ['other-label'], job: 'not-mine' });
    const t0 = Date.now();
    const mine = github.enqueueJob({ org: 'acme', runs_on: ['linux-big'], job: 'mine' });
    const res = await poll;
    assert.equal(res.status, 200);
    assert.equal(res.json.job_id, mine.job_id);
    assert.ok(Date.now() - t0 < 1000);
  });

  test('scope: repo runners take only their repo’s jobs; org runners take the org’s repos’ jobs', async () => {
    const repoRunner = await (await TestRunner.register(WIDGETS, 'w-1', [])).connect();
    const gadgets = github.enqueueJob({ org: 'acme', repo: 'gadgets', runs_on: ['self-hosted'], job: 'g' });
    assert.equal((await repoRunner.next(200)).status, 204, 'not a job of acme/widgets');
    const widgets = github.enqueueJob({ org: 'acme', repo: 'widgets', runs_on: ['self-hosted'], job: 'w' });
    assert.equal((await repoRunner.next()).json.job_id, widgets.job_id);
    const orgRunner = await (await TestRunner.register(ACME, 'o-1', [])).connect();
    assert.equal((await orgRunner.next()).json.job_id, gadgets.job_id);
    const orgOnly = github.enqueueJob({ org: 'acme', runs_on: ['self-hosted'], job: 'org-level' });
    await repoRunner.event(widgets.job_id, { event: 'completed', conclusion: 'success' });
    assert.equal((await repoRunner.next(200)).status, 204, 'an org-level job is not for a repo runner');
    assert.equal(github.job(orgOnly.job_id)?.status, 'queued');
  });

  test('events are refused from another runner and for malformed bodies', async () => {
    const a = await (await TestRunner.register(ACME, 'a', [])).connect();
    const b = await (await TestRunner.register(ACME, 'b', [])).connect();
    const job = github.enqueueJob({ org: 'acme', job: 'x' });
    assert.equal((await a.next()).json.job_id, job.job_id);
    assert.equal((await b.event(job.job_id, { event: 'started' })).status, 404);
    assert.equal((await a.event(job.job_id, { event: 'completed', conclusion: 'meh' })).status, 400);
    assert.equal((await a.event(job.job_id, { event: 'hook', hook: 'job_started' })).status, 400);
    assert.equal((await http('GET', `/_runner/jobs/next?session_id=${a.sessionId}`, { auth: 'Bearer nope' })).status, 401);
    assert.equal((await http('GET', `/_runner/jobs/next?session_id=wrong&wait_ms=0`, { auth: a.auth })).status, 404);
    assert.deepEqual(github.job(job.job_id)?.events, []);
  });
});

describe('cancel, liveness, ephemeral', () => {
  test('cancel of a running job: the runner sees cancelled and reports it', async () => {
    const r = await (await TestRunner.register(ACME, 'c-1', [])).connect();
    const job = github.enqueueJob({ org: 'acme', job: 'long' });
    assert.equal((await r.next()).json.job_id, job.job_id);
    assert.deepEqual((await r.cancelled(job.job_id)).json, { cancelled: false });
    assert.equal((await http('POST', `/_standin/jobs/${job.job_id}/cancel`)).status, 202);
    assert.deepEqual((await r.cancelled(job.job_id)).json, { cancelled: true });
    assert.equal(github.job(job.job_id)?.status, 'in_progress', 'still running until the runner says so');
    await r.event(job.job_id, { event: 'hook', hook: 'job_completed', exit_code: 0, output: '' });
    await r.event(job.job_id, { event: 'completed', conclusion: 'cancelled' });
    const done = await github.waitForJob(job.job_id, (j) => j.status === 'completed', 1000);
    assert.equal(done.conclusion, 'cancelled');
    assert.equal(done.cancel_requested, true);
  });

  test('online from a session, offline after offlineAfterMs of silence; a silent busy runner loses its job', async () => {
    await start(300);
    const r = await (await TestRunner.register(ACME, 'quiet', [])).connect();
    assert.equal(github.runners(ACME)[0]?.status, 'online');
    const job = github.enqueueJob({ org: 'acme', job: 'j' });
    assert.equal((await r.next()).json.job_id, job.job_id);
    assert.equal(github.runners(ACME)[0]?.busy, true);
    const lost = await github.waitForJob(job.job_id, (j) => j.status === 'completed', 3000);
    assert.equal(lost.conclusion, 'failure');
    assert.equal(lost.events[0]?.event, 'runner_lost');
    assert.deepEqual(
      github.runners(ACME).map((x) => [x.status, x.busy]),
      [['offline', false]],
    );
  });

  test('a long poll keeps the runner online; ending the session makes it offline', async () => {
    await start(200);
    const r = await (await TestRunner.register(ACME, 'poller', [])).connect();
    const poll = r.next(600);
    await new Promise((res) => setTimeout(res, 450));
    assert.equal(github.runners(ACME)[0]?.status, 'online', 'polling for longer than offlineAfterMs');
    assert.equal((await poll).status, 204);
    assert.equal((await r.disconnect()).status, 204);
    assert.equal(github.runners(ACME)[0]?.status, 'offline');
  });

  test('an ephemeral runner is gone after its one job', async () => {
    const r = await (await TestRunner.register(ACME, 'eph-1', [], { ephemeral: true })).connect();
    assert.equal(github.runners(ACME)[0]?.ephemeral, true);
    const job = github.enqueueJob({ org: 'acme', job: 'once' });
    assert.equal((await r.next()).json.job_id, job.job_id);
    await r.event(job.job_id, { event: 'completed', conclusion: 'success' });
    assert.deepEqual(github.runners(ACME), []);
    const gone = await r.next(0);
    assert.equal(gone.status, 404, 'a deleted runner polling: TaskAgentNotFoundException');
    assert.equal(gone.json.typeKey, 'TaskAgentNotFoundException');
    assert.equal((await http('POST', `${r.serverUrl}/sessions`, { auth: r.auth, body: {} })).status, 401, 'its credentials are gone');
    assert.equal((await r.disconnect()).status, 204, 'saying goodbye still works');
  });
});

describe('registration and removal', () => {
  test('bad, expired, wrong-scope and wrong-kind tokens → 404 Not Found', async () => {
    const good = await restToken(ACME, 'registration');
    const remove = await restToken(ACME, 'remove');
    const expired = github.issueToken({ org: 'acme', kind: 'registration', expires_in_s: 0 }).token;
    const viaRest = await restToken(WIDGETS, 'registration');
    assert.equal(github.expireToken(viaRest), true);
    for (const [token, scope, event] of [
      ['NOTATOKEN', ACME, 'register'],
      [expired, ACME, 'register'],
      [viaRest, WIDGETS, 'register'],
      [good, WIDGETS, 'register'], // org token, repo URL
      [remove, ACME, 'register'], // remove token used to register
      [good, ACME, 'remove'], // registration token used to remove
    ] as const) {
      const res = await registration(token, scope, event);
      assert.equal(res.status, 404, `${token.slice(0, 4)} ${scope.repo ?? scope.org} ${event}`);
      assert.deepEqual(res.json, { message: 'Not Found' });
    }
    assert.equal((await registration(good, ACME)).status, 200, 'a registration token is reusable within its hour');
    assert.equal((await registration(good, ACME)).status, 200);
  });

  test('name conflicts: 409 without replace; replace swaps the runner', async () => {
    const first = await TestRunner.register(ACME, 'dup', ['a']);
    const reg = await registration(await restToken(ACME, 'registration'), ACME);
    const again = (replace: boolean) => http('POST', '/_runner/agents', { auth: `Bearer ${reg.json.token}`, body: { name: 'dup', labels: ['b'], replace } });
    const conflict = await again(false);
    assert.equal(conflict.status, 409);
    assert.deepEqual(conflict.json, { message: 'A runner exists with the same name' });
    const replaced = await again(true);
    assert.equal(replaced.status, 200);
    assert.notEqual(replaced.json.id, first.id);
    const list = github.runners(ACME);
    assert.deepEqual(
      list.map((r) => [r.id, r.name]),
      [[replaced.json.id, 'dup']],
    );
    assert.ok(list[0]?.labels.some((l) => l.name === 'b'));
    assert.equal((await http('POST', '/_runner/sessions', { auth: first.auth })).status, 401, 'the replaced runner’s credentials are void');
  });

  test('no_default_labels: only the given labels, as custom', async () => {
    const r = await TestRunner.register(ACME, 'bare', ['only-this'], { no_default_labels: true });
    assert.deepEqual(
      github
        .runners(ACME)
        .find((x) => x.id === r.id)
        ?.labels.map((l) => [l.name, l.type]),
      [['only-this', 'custom']],
    );
  });

  test('remove flow: remove token → registration(remove) → DELETE agent → gone from REST', async () => {
    const r = await TestRunner.register(WIDGETS, 'to-remove', []);
    const reg = await registration(await restToken(WIDGETS, 'remove'), WIDGETS, 'remove');
    assert.equal(reg.status, 200);
    // A register grant cannot delete, a remove grant cannot create.
    const regGrant = await registration(await restToken(WIDGETS, 'registration'), WIDGETS);
    assert.equal((await http('DELETE', `/_runner/agents/${r.id}`, { auth: `Bearer ${regGrant.json.token}` })).status, 401);
    assert.equal((await http('POST', '/_runner/agents', { auth: `Bearer ${reg.json.token}`, body: { name: 'x' } })).status, 401);
    assert.equal((await http('DELETE', `/_runner/agents/${r.id}`, { auth: `Bearer ${reg.json.token}` })).status, 204);
    await assert.rejects(restRunner(WIDGETS, r.id), (err: any) => err.status === 404);
    assert.equal((await http('DELETE', `/_runner/agents/${r.id}`, { auth: `Bearer ${reg.json.token}` })).status, 404);
  });

  test('REST delete of an idle runner ends its long poll and voids its credentials', async () => {
    const r = await (await TestRunner.register(ACME, 'deleted', [])).connect();
    const poll = r.next(5000);
    await new Promise((res) => setTimeout(res, 50));
    await octokit().actions.deleteSelfHostedRunnerFromOrg({ org: 'acme', runner_id: r.id });
    assert.equal((await poll).status, 204);
    assert.equal((await r.next(0)).json.typeKey, 'TaskAgentNotFoundException');
    assert.equal((await http('POST', `${r.serverUrl}/sessions`, { auth: r.auth, body: {} })).status, 401);
  });
});
