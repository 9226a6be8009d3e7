// `make list` as a user runs it: GitHub's runners of this prefix joined with
// the containers here; without Docker, GitHub's side and one warning line.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { PAT, PREFIX, READONLY_PAT, assertOneErrorLine, assertSecretNowhere, closedPort, startFixture, type Fixture } from '../support/github-fixture.ts';

let fx: Fixture;
let deadPort: number;
before(async () => {
  fx = await startFixture();
  deadPort = await closedPort();
  fx.github.seedRunners({ org: 'acme', count: 250, name_prefix: `${PREFIX}runner-`, labels: ['self-hosted', 'intel'] });
  fx.github.seedRunners({ org: 'acme', name: `${PREFIX}board-nrf52-1`, busy: true, status: 'online', labels: ['self-hosted', 'nrf52'] });
  fx.github.seedRunners({ org: 'acme', name: 'otherhost-runner-1' });
});
after(async () => {
  assert.deepEqual(fx.github.violations, []);
  await fx.close();
});
beforeEach(() => fx.github.resetCalls());

describe('list', () => {
  it('shows all 251 runners of this prefix from 3 listing calls, with a one-line Docker warning', async () => {
    const result = await fx.run('list.ts');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(fx.github.calls().by_operation, { 'actions/list-self-hosted-runners-for-org': 3 });
    const lines = result.stdout.split('\n');
    assert.match(lines[0]!, /^NAME +CONTAINER +GITHUB +BUSY +BOARD +LABELS +DEVICES +NOTE$/);
    assert.equal(lines.filter((line) => line.startsWith(PREFIX)).length, 251);
    assert.ok(!result.stdout.includes('otherhost-runner-1'), 'runners of other prefixes are not ours');
    assert.match(result.stdout, /^lab1-board-nrf52-1 +\? +online +busy +- +self-hosted,nrf52 +-$/m);
    assert.match(result.stdout, /^lab1-runner-2 +\? +online +idle +- +self-hosted,intel +-$/m);
    assert.ok(result.stdout.indexOf('lab1-runner-2 ') < result.stdout.indexOf('lab1-runner-10 '), 'counting order');
    assert.match(result.stdout, /251 runner\(s\): 251 online, 1 busy/);
    assertOneErrorLine(result, /^warning: the Docker daemon at unix:\/\/\/nonexistent\.sock does not answer.*showing GitHub's side only/);
  });

  it('--json prints the same rows as JSON', async () => {
    const result = await fx.run('list.ts', ['--json']);
    assert.equal(result.code, 0, result.stderr);
    const rows = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    assert.equal(rows.length, 251);
    const board = rows.find((row) => row.name === `${PREFIX}board-nrf52-1`);
    assert.deepEqual(
      { ...board, id: undefined },
      {
        name: `${PREFIX}board-nrf52-1`,
        container: null,
        github_status: 'online',
        busy: true,
        labels: ['self-hosted', 'nrf52'],
        orphan: null,
        unregistered: false,
        kind: null,
        board: null,
        devices: [],
        id: undefined,
      },
    );
    assert.equal(fx.github.calls().total, 3);
  });

  it('a rate limit on the way is waited out with a warning, the listing still completes', async () => {
    fx.github.injectFault({ operation: 'actions/list-self-hosted-runners-for-org', kind: 'secondary_rate_limit', retry_after: 1 });
    const result = await fx.run('list.ts', ['--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as unknown[]).length, 251);
    assert.match(result.stderr, /^warning: GitHub secondary rate limit reached on GET .*retrying in 1 s$/m);
  });
});

describe('list: one actionable error line, never the PAT', () => {
  const cases: Array<[string, () => Record<string, string>, number, RegExp]> = [
    ['401', () => ({ GH_PAT: 'ghp_fake_wrong_pat' }), 3, /^error: GitHub rejected the PAT \(401 at http:\/\/127\.[\d.]+(:\d+)?\/api\/v3\).*GH_PAT$/],
    ['403 org', () => ({ GH_PAT: READONLY_PAT }), 3, /^error: the PAT \(GH_PAT\) lacks permission to manage runners of org acme: it needs the admin:org scope/],
    ['403 repo', () => ({ GH_PAT: READONLY_PAT, REPO: 'widgets' }), 3, /^error: .* runners of repo acme\/widgets: it needs admin access to acme\/widgets/],
    ['404', () => ({ ORG: 'nosuchorg' }), 4, /^error: org nosuchorg not found or not visible to this PAT/],
    [
      'network',
      () => ({ GITHUB_API_URL: `http://127.0.0.1:${deadPort}/api/v3` }),
      6,
      /^error: could not reach the GitHub API at http:\/\/127\.0\.0\.1:\d+\/api\/v3 \(ECONNREFUSED\): check GITHUB_API_URL/,
    ],
  ];
  for (const [what, env, code, line] of cases) {
    it(`${what} → exit ${code}`, async () => {
      const result = await fx.run('list.ts', [], env());
      assert.equal(result.code, code, result.stderr);
      assert.equal(result.stdout, '');
      // The Docker warning may come first; the error is the last line and the only error.
      const errors = result.stderr
        .trim()
        .split('\n')
        .filter((entry) => !entry.startsWith('warning: the Docker daemon'));
      assert.equal(errors.length, 1, result.stderr);
      assert.match(errors[0]!, line);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
      await assertSecretNowhere(PAT, [result.stdout, result.stderr], fx.dir, [fx.env.ENV_FILE!]);
      await assertSecretNowhere(READONLY_PAT, [result.stdout, result.stderr], fx.dir, [fx.env.ENV_FILE!]);
    });
  }
});
