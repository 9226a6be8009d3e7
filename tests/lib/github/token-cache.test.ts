// The registration-token cache as `make up` uses it: one token call for a
// whole fleet, a new one only when the old is too old or about to expire,
// and the token only ever in a 0600 file.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import type { ScopedToken } from '../../../lib/github/runner-api.ts';
import { runNode, REPO_ROOT } from '../../support/cli.ts';
import { PAT, assertSecretNowhere, startFixture } from '../../support/github-fixture.ts';
import { getRegistrationToken, readTokenCache, removeTokenCache, tokenCacheLockPath, type TokenCacheConfig } from '../../../lib/github/token-cache.ts';

const HOUR = 3600_000;
let dir: string;
before(async () => (dir = await mkdtemp(join(tmpdir(), 'token-cache-'))));
after(async () => rm(dir, { recursive: true, force: true }));

/** A fake GitHub that counts token calls and hands out tokens expiring `lifetimeMs` after `clock()`. */
function fakeGitHub(clock: () => number, lifetimeMs = HOUR, delayMs = 20) {
  const api = {
    calls: 0,
    async createRegistrationToken(): Promise<ScopedToken> {
      api.calls += 1;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return { token: `REGTOKEN${api.calls}`, expiresAt: new Date(clock() + lifetimeMs).toISOString() };
    },
  };
  return api;
}

function cacheConfig(name: string, ttlSeconds = 300): TokenCacheConfig {
  return { scope: { org: 'acme' }, githubApiUrl: 'http://127.0.0.1:1/api/v3', tokenCacheFile: join(dir, name), tokenCacheTtlSeconds: ttlSeconds };
}

describe('registration-token cache', () => {
  it('a fleet of 12 runners asking one after another costs one token call', async () => {
    const api = fakeGitHub(Date.now);
    const config = cacheConfig('sequential');
    const tokens = [];
    for (let runner = 0; runner < 12; runner += 1) tokens.push((await getRegistrationToken(config, api)).token);
    assert.equal(api.calls, 1);
    assert.deepEqual(new Set(tokens), new Set(['REGTOKEN1']));
  });

  it('a fleet of 12 runners asking at once costs one token call', async () => {
    const api = fakeGitHub(Date.now, HOUR, 200);
    const config = cacheConfig('concurrent');
    const tokens = await Promise.all(Array.from({ length: 12 }, () => getRegistrationToken(config, api)));
    assert.equal(api.calls, 1);
    assert.ok(tokens.every((token) => token.token === 'REGTOKEN1'));
  });

  it('stores token, expires_at and fetched_at in a file only its owner can read', async () => {
    const api = fakeGitHub(Date.now);
    const config = cacheConfig('stored');
    const token = await getRegistrationToken(config, api);
    const mode = (await stat(config.tokenCacheFile)).mode & 0o777;
    assert.equal(mode, 0o600, `cache mode is ${mode.toString(8)}`);
    const entry = await readTokenCache(config.tokenCacheFile);
    assert.equal(entry?.token, token.token);
    assert.equal(entry?.expires_at, token.expiresAt);
    assert.ok(Math.abs(Date.parse(entry.fetched_at) - Date.now()) < 5000);
    await assert.rejects(stat(tokenCacheLockPath(config.tokenCacheFile)), 'the lock is released after the refresh');
  });

  it('fetches a new token once the cached one is older than REG_TOKEN_CACHE_TTL', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const clock = () => now;
    const api = fakeGitHub(clock);
    const config = cacheConfig('ttl', 300);
    await getRegistrationToken(config, api, { now: clock });
    now += 299_000;
    assert.equal((await getRegistrationToken(config, api, { now: clock })).token, 'REGTOKEN1', 'still within the TTL');
    now += 2_000;
    assert.equal((await getRegistrationToken(config, api, { now: clock })).token, 'REGTOKEN2', 'past the TTL');
    assert.equal(api.calls, 2);
  });

  it('fetches a new token when the cached one expires within 5 minutes, whatever the TTL', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const clock = () => now;
    const api = fakeGitHub(clock, 10 * 60_000); // GitHub handing out a 10-minute token
    const config = cacheConfig('expiry', 3600);
    await getRegistrationToken(config, api, { now: clock });
    now += 4 * 60_000; // 6 minutes left
    assert.equal((await getRegistrationToken(config, api, { now: clock })).token, 'REGTOKEN1');
    now += 2 * 60_000; // 4 minutes left
    assert.equal((await getRegistrationToken(config, api, { now: clock })).token, 'REGTOKEN2');
  });

  it('does not trust a cache file written for another scope or a damaged one', async () => {
    const api = fakeGitHub(Date.now);
    const config = cacheConfig('other-scope');
    await getRegistrationToken({ ...config, scope: { org: 'acme', repo: 'widgets' } }, api);
    assert.equal((await getRegistrationToken(config, api)).token, 'REGTOKEN2');
    await writeFile(config.tokenCacheFile, '{not json');
    assert.equal((await getRegistrationToken(config, api)).token, 'REGTOKEN3');
    assert.equal(api.calls, 3);
  });

  it('waits for a lock left by a killed process to go stale, then refreshes', { timeout: 30_000 }, async () => {
    const api = fakeGitHub(Date.now);
    const config = cacheConfig('stale-lock');
    await mkdir(tokenCacheLockPath(config.tokenCacheFile));
    const old = new Date(Date.now() - 60_000);
    await utimes(tokenCacheLockPath(config.tokenCacheFile), old, old);
    assert.equal((await getRegistrationToken(config, api)).token, 'REGTOKEN1');
  });

  it('removeTokenCache deletes the file and its lock', async () => {
    const config = cacheConfig('removed');
    await getRegistrationToken(config, fakeGitHub(Date.now));
    await mkdir(tokenCacheLockPath(config.tokenCacheFile));
    await removeTokenCache(config.tokenCacheFile);
    await assert.rejects(readFile(config.tokenCacheFile));
    await assert.rejects(stat(tokenCacheLockPath(config.tokenCacheFile)));
  });
});

describe('registration-token cache across processes (GitHub github)', () => {
  it('5 processes needing a token at once make one API call and get the same token; it is only in the 0600 cache', { timeout: 60_000 }, async () => {
    const fx = await startFixture();
    try {
      const cacheFile = join(fx.dir, '.reg_token.cache.acme');
      const child = join(fx.dir, 'need-token.mts');
      await writeFile(
        child,
        [
          `import { createHash } from 'node:crypto';`,
          `import { createRunnerApi } from '${REPO_ROOT}lib/github/runner-api.ts';`,
          `import { getRegistrationToken } from '${REPO_ROOT}lib/github/token-cache.ts';`,
          `const config = { scope: { org: 'acme' }, credential: { kind: 'pat' as const, token: process.env.GH_PAT! }, githubApiUrl: process.env.GITHUB_API_URL!,`,
          `  tokenCacheFile: process.env.REG_TOKEN_CACHE_FILE!, tokenCacheTtlSeconds: 300 };`,
          `const { token } = await getRegistrationToken(config, createRunnerApi(config));`,
          `console.log(createHash('sha256').update(token).digest('hex'));`,
        ].join('\n'),
      );
      const env = { ...fx.env, GH_PAT: PAT, REG_TOKEN_CACHE_FILE: cacheFile };
      const tsx = import.meta.resolve('tsx');
      fx.github.injectFault({ operation: 'actions/create-registration-token-for-org', kind: 'slow', delay_ms: 300 });
      const results = await Promise.all(Array.from({ length: 5 }, () => runNode(['--import', tsx, child], { cwd: fx.dir, env })));
      for (const result of results) assert.equal(result.code, 0, result.stderr);
      assert.equal(fx.github.calls().by_operation['actions/create-registration-token-for-org'], 1);
      assert.equal(new Set(results.map((result) => result.stdout.trim())).size, 1, 'all five got the same token');

      const token = (await readTokenCache(cacheFile))!.token;
      assert.equal(createHash('sha256').update(token).digest('hex'), results[0]!.stdout.trim());
      assert.equal((await stat(cacheFile)).mode & 0o777, 0o600);
      const outputs = results.flatMap((result) => [result.stdout, result.stderr]);
      await assertSecretNowhere(token, outputs, fx.dir, [cacheFile]);
      await assertSecretNowhere(PAT, outputs, fx.dir, [fx.env.ENV_FILE!]);

      // A later run within the TTL reuses it: still one call.
      const again = await runNode(['--import', tsx, child], { cwd: fx.dir, env });
      assert.equal(again.stdout, results[0]!.stdout);
      assert.equal(fx.github.calls().by_operation['actions/create-registration-token-for-org'], 1);
      assert.deepEqual(fx.github.violations, []);
    } finally {
      await fx.close();
    }
  });
});
