// lib/github against the GitHub stand-in: both scopes, paginated listing,
// deletion, tokens, GitHub's rate limits and outages, proxies, and the one
// line a person gets for each failure.
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Scope } from '../../../lib/config/config.ts';
import { CliError, ExitCode } from '../../../core/errors.ts';
import { DEFAULT_TIMINGS, MutationQueue, proxyFor, type GitHubTimings } from '../../../lib/github/client.ts';
import { createRunnerApi, type RunnerApi } from '../../../lib/github/runner-api.ts';
import { startGitHubStandIn, type GitHubStandIn } from '../../../standins/github/server.ts';
import { PAT, READONLY_PAT, closedPort } from '../../support/github-fixture.ts';
import { cliFailure } from '../../support/github-fixture.ts';

const FAST: GitHubTimings = { ...DEFAULT_TIMINGS, writeIntervalMs: 10, retryBaseMs: 10 };
let github: GitHubStandIn;
let warnings: string[];

before(async () => {
  github = await startGitHubStandIn();
  github.addScope('acme');
  github.addScope('acme/widgets');
  github.addPat({ token: PAT, admin: ['acme'] });
  github.addPat({ token: READONLY_PAT, admin: [] });
});
after(async () => {
  assert.deepEqual(github.violations, [], "every request and response matched GitHub's OpenAPI description");
  await github.close();
});
beforeEach(() => {
  github.resetCalls();
  github.clearFaults();
  warnings = [];
});

function api(scope: Scope = { org: 'acme' }, pat = PAT, apiUrl = github.apiUrl, env: NodeJS.ProcessEnv = {}): RunnerApi {
  return createRunnerApi({ scope, credential: { kind: 'pat', token: pat }, githubApiUrl: apiUrl }, { timings: FAST, warn: (line) => warnings.push(line), env });
}

const failure = (promise: Promise<unknown>): Promise<CliError> => cliFailure(promise, [PAT, READONLY_PAT]);

describe('listing', () => {
  it('lists 250 org runners in 3 calls of 100', async () => {
    github.seedRunners({ org: 'acme', count: 250, name_prefix: 'big-' });
    const runners = await api().listRunners();
    assert.equal(runners.filter((runner) => runner.name.startsWith('big-')).length, 250);
    assert.equal(github.calls().by_operation['actions/list-self-hosted-runners-for-org'], 3);
  });

  it('lists repo runners when REPO is set, and only those', async () => {
    github.seedRunners({ org: 'acme', repo: 'widgets', count: 3, name_prefix: 'repo-', labels: ['self-hosted', 'gpu'] });
    const runners = await api({ org: 'acme', repo: 'widgets' }).listRunners();
    assert.deepEqual(
      runners.map((runner) => runner.name),
      ['repo-1', 'repo-2', 'repo-3'],
    );
    assert.deepEqual(runners[0]!.labels, ['self-hosted', 'gpu']);
    assert.equal(github.calls().by_operation['actions/list-self-hosted-runners-for-repo'], 1);
  });

  it('finds a runner by name with one call, and says so when there is none', async () => {
    github.seedRunners({ org: 'acme', name: 'findme-7', status: 'offline' });
    const found = await api().findByName('findme-7');
    assert.equal(found?.status, 'offline');
    assert.equal(await api().findByName('findme-8'), undefined);
    assert.equal(github.calls().total, 2);
  });
});

describe('deleting and tokens', () => {
  it('deletes a runner; a runner already gone is reported as absent, not as an error', async () => {
    const [runner] = github.seedRunners({ org: 'acme', name: 'del-1' });
    assert.equal(await api().deleteRunner(runner!), 'deleted');
    assert.ok(!github.runners('acme').some((r) => r.name === 'del-1'));
    assert.equal(await api().deleteRunner(runner!), 'absent');
  });

  it('a busy runner: "running a job", exit code runnerBusy', async () => {
    const [runner] = github.seedRunners({ org: 'acme', name: 'busy-1', busy: true });
    const err = await failure(api().deleteRunner(runner!));
    assert.equal(err.exitCode, ExitCode.runnerBusy);
    assert.match(err.message, /^runner busy-1 is running a job/);
  });

  it('creates registration and remove tokens for both scopes, expiring in an hour', async () => {
    for (const scope of [{ org: 'acme' }, { org: 'acme', repo: 'widgets' }]) {
      const registration = await api(scope).createRegistrationToken();
      const removal = await api(scope).createRemoveToken();
      assert.notEqual(registration.token, removal.token);
      const minutes = (Date.parse(registration.expiresAt) - Date.now()) / 60_000;
      assert.ok(minutes > 55 && minutes <= 60, `expires in ${minutes} min`);
    }
    const calls = github.calls().by_operation;
    assert.equal(calls['actions/create-registration-token-for-org'], 1);
    assert.equal(calls['actions/create-remove-token-for-repo'], 1);
  });

  it('runs mutating calls one at a time, the configured interval apart', async () => {
    const queue = new MutationQueue(100);
    const spans: Array<[number, number]> = [];
    const task = async () => {
      const start = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 20));
      spans.push([start, Date.now()]);
    };
    await Promise.all([queue.run(task), queue.run(task), queue.run(task)]);
    for (let i = 1; i < spans.length; i += 1) assert.ok(spans[i]![0] - spans[i - 1]![1] >= 95, 'each starts ≥100 ms after the previous ended');
  });
});

describe('error lines', () => {
  it('401: the PAT was rejected', async () => {
    const err = await failure(api({ org: 'acme' }, 'ghp_fake_unknown_to_the_standin').listRunners());
    assert.equal(err.exitCode, ExitCode.githubAuth);
    assert.match(err.message, /GitHub rejected the PAT .*put a valid token in GH_PAT/);
  });

  it('403: names admin:org for org scope and repo admin for repo scope', async () => {
    const org = await failure(api({ org: 'acme' }, READONLY_PAT).listRunners());
    assert.equal(org.exitCode, ExitCode.githubAuth);
    assert.match(org.message, /lacks permission to manage runners of org acme: it needs the admin:org scope/);
    const repo = await failure(api({ org: 'acme', repo: 'widgets' }, READONLY_PAT).createRegistrationToken());
    assert.match(repo.message, /lacks permission to manage runners of repo acme\/widgets: it needs admin access to acme\/widgets/);
  });

  it('404: org or repo not found or not visible to this PAT', async () => {
    const org = await failure(api({ org: 'nosuchorg' }).listRunners());
    assert.equal(org.exitCode, ExitCode.githubNotFound);
    assert.match(org.message, /^org nosuchorg not found or not visible to this PAT/);
    const repo = await failure(api({ org: 'acme', repo: 'nosuchrepo' }).listRunners());
    assert.match(repo.message, /^repo acme\/nosuchrepo not found or not visible to this PAT.*check ORG\/REPO/);
  });

  it('network failure: names the URL that could not be reached', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/api/v3`;
    const err = await failure(api({ org: 'acme' }, PAT, url).listRunners());
    assert.equal(err.exitCode, ExitCode.network);
    assert.equal(err.message, `could not reach the GitHub API at ${url} (ECONNREFUSED): check GITHUB_API_URL and the network or proxy settings`);
  });

  it('rate limit that does not clear in time: one line naming the limit, no "permission" confusion', async () => {
    github.injectFault({ kind: 'rate_limit', times: 10, retry_after: 1 });
    const impatient = createRunnerApi(
      { scope: { org: 'acme' }, credential: { kind: 'pat', token: PAT }, githubApiUrl: github.apiUrl },
      { timings: { ...FAST, rateLimitRetries: 0 }, warn: (line) => warnings.push(line) },
    );
    const err = await failure(impatient.listRunners());
    assert.match(err.message, /^GitHub API rate limit exceeded for this PAT until \d{4}-.*: wait and run the command again$/);
  });
});

describe('rate limits and outages', () => {
  it('primary rate limit: waits until x-ratelimit-reset, says so, then succeeds', async () => {
    github.seedRunners({ org: 'acme', name: 'rl-1' });
    github.injectFault({ operation: 'actions/list-self-hosted-runners-for-org', kind: 'rate_limit', times: 1, retry_after: 1 });
    const started = Date.now();
    const runners = await api().listRunners();
    assert.ok(runners.some((runner) => runner.name === 'rl-1'));
    assert.ok(Date.now() - started >= 900, 'waited for the reset');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^GitHub rate limit reached on GET .*: retrying in \d+ s$/);
    const pages = Math.ceil(github.runners('acme').length / 100);
    assert.equal(github.calls().by_operation['actions/list-self-hosted-runners-for-org'], pages + 1, 'one retry');
  });

  it('secondary rate limit on a write: honours retry-after, then succeeds', async () => {
    github.injectFault({ operation: 'actions/create-registration-token-for-org', kind: 'secondary_rate_limit', times: 1, retry_after: 1 });
    const started = Date.now();
    const token = await api().createRegistrationToken();
    assert.ok(token.token.length > 10);
    assert.ok(Date.now() - started >= 1000, 'waited retry-after seconds');
    assert.match(warnings[0]!, /^GitHub secondary rate limit reached on POST .*: retrying in 1 s$/);
  });

  it('5xx: retried, then succeeds; still failing: one line with the status', async () => {
    github.injectFault({ kind: 'server_error', status: 502, times: 2 });
    await api().listRunners();
    const pages = Math.ceil(github.runners('acme').length / 100);
    assert.equal(github.calls().by_operation['actions/list-self-hosted-runners-for-org'], pages + 2, 'two retries');
    github.injectFault({ kind: 'server_error', status: 503, times: 10 });
    const err = await failure(api().listRunners());
    assert.match(err.message, /^GitHub API answered 503 for org acme/);
  });
});

describe('proxies', () => {
  let proxy: Server;
  let tunnels: string[];
  const sockets: Array<{ destroy(): void }> = [];
  before(async () => {
    tunnels = [];
    proxy = createHttpServer((_req, res) => res.writeHead(405).end());
    proxy.on('connect', (req, client, head) => {
      tunnels.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const upstream = connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client).pipe(upstream);
      });
      sockets.push(client, upstream);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
  });

  it('sends requests through HTTP_PROXY', async () => {
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const saved = { ...process.env };
    Object.assign(process.env, { HTTP_PROXY: proxyUrl, NO_PROXY: '' });
    try {
      await api().listRunners();
    } finally {
      process.env = saved;
    }
    assert.deepEqual(tunnels, [new URL(github.url).host.includes(':') ? new URL(github.url).host : `${new URL(github.url).hostname}:80`]);
  });

  it('a proxy set only in the env file (config.proxy) is used too', async () => {
    tunnels.length = 0;
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const fromEnvFile = createRunnerApi(
      { scope: { org: 'acme' }, credential: { kind: 'pat', token: PAT }, githubApiUrl: github.apiUrl, proxy: { HTTP_PROXY: proxyUrl } },
      { timings: FAST, env: {} },
    );
    await fromEnvFile.listRunners();
    assert.deepEqual(tunnels, [new URL(github.url).host.includes(':') ? new URL(github.url).host : `${new URL(github.url).hostname}:80`]);
  });

  it('an unreachable proxy is named in the error line, without its credentials', async () => {
    const proxyUrl = `http://user:s3cret@127.0.0.1:${await closedPort()}`;
    const saved = { ...process.env };
    Object.assign(process.env, { HTTP_PROXY: proxyUrl, NO_PROXY: '' });
    try {
      const err = await failure(api({ org: 'acme' }, PAT, github.apiUrl, process.env).listRunners());
      assert.equal(err.exitCode, ExitCode.network);
      assert.match(err.message, /through proxy http:\/\/127\.0\.0\.1:\d+ /);
      assert.ok(!err.message.includes('s3cret'));
    } finally {
      process.env = saved;
    }
  });

  it('NO_PROXY hosts bypass the proxy', () => {
    const env = { HTTPS_PROXY: 'http://proxy:3128', HTTP_PROXY: 'http://proxy:3128', NO_PROXY: 'localhost,.corp.example' };
    assert.equal(proxyFor('https://api.github.com', env), 'http://proxy:3128');
    assert.equal(proxyFor('https://ghe.corp.example/api/v3', env), undefined);
    assert.equal(proxyFor('http://localhost:8080/api/v3', env), undefined);
  });
});

describe('just-in-time runners', () => {
  it('generate-jitconfig registers the runner at once and hands back its encoded config', async () => {
    const jit = await api().generateJitConfig({ name: 'jit-1', labels: ['board-a'], runnerGroupId: 1, workFolder: '_work' });
    assert.notEqual(jit, 'name-taken');
    if (jit === 'name-taken') return;
    assert.equal(jit.runner.name, 'jit-1');
    assert.deepEqual(jit.runner.labels, ['board-a']);
    const files = JSON.parse(Buffer.from(jit.encodedJitConfig, 'base64').toString('utf8'));
    assert.ok('.runner' in files && '.credentials' in files, `the config holds the runner's files: ${Object.keys(files).join(', ')}`);
    assert.equal((await api().findByName('jit-1'))?.id, jit.runner.id);
  });

  it('a name GitHub already has: name-taken (409), not an error', async () => {
    await api().generateJitConfig({ name: 'jit-2', labels: ['x'], runnerGroupId: 1, workFolder: '_work' });
    github.resetCalls();
    assert.equal(await api().generateJitConfig({ name: 'jit-2', labels: ['x'], runnerGroupId: 1, workFolder: '_work' }), 'name-taken');
    assert.equal(github.calls().by_operation['actions/generate-runner-jitconfig-for-org'], 1, 'asked once: a 409 is not retried');
  });

  it('RUNNER_GROUP is looked up by name; an unknown one is one line listing the groups there are', async () => {
    const lab = github.addRunnerGroup({ org: 'acme', name: 'lab' });
    assert.equal(await api().runnerGroupId('Default'), 1);
    assert.equal(await api().runnerGroupId('lab'), lab.id);
    const err = await failure(api().runnerGroupId('nope'));
    assert.equal(err.exitCode, ExitCode.config);
    assert.match(err.message, /^RUNNER_GROUP 'nope' is not a runner group of acme \(it has: Default, lab\)/);
  });

  it('a repository has no groups: Default is 1, any other name is one line', async () => {
    assert.equal(await api({ org: 'acme', repo: 'widgets' }).runnerGroupId('Default'), 1);
    const err = await failure(api({ org: 'acme', repo: 'widgets' }).runnerGroupId('lab'));
    assert.match(err.message, /repository runners \(REPO set\) are always in Default/);
  });
});
