// The registration-token cache: one file per scope (REG_TOKEN_CACHE_FILE),
// mode 0600, replaced atomically, holding the token, GitHub's expires_at and
// when it was fetched. A cached token is reused while it is younger than
// REG_TOKEN_CACHE_TTL and more than 5 minutes from expiry; the refresh runs
// under a lock, so processes that need a token at once make one API call.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';
import { writeFileAtomic } from '../../core/atomic-write.ts';
import { scopeName, type Config } from '../config/config.ts';
import { CliError, ExitCode } from '../../core/errors.ts';
import type { RunnerApi, ScopedToken } from './runner-api.ts';

/** A token this close to GitHub's expiry is not handed out any more. */
export const EXPIRY_MARGIN_MS = 5 * 60 * 1000;

/** What the cache file holds. */
export interface CachedToken {
  /** `org` or `org/repo`: a cache file copied to another scope is not trusted. */
  scope: string;
  api_url: string;
  token: string;
  expires_at: string;
  fetched_at: string;
}

export type TokenCacheConfig = Pick<Config, 'scope' | 'githubApiUrl' | 'tokenCacheFile' | 'tokenCacheTtlSeconds'>;

export interface TokenCacheOptions {
  now?: () => number;
  warn?: (line: string) => void;
}

/** The lock directory proper-lockfile creates beside the cache file. */
export function tokenCacheLockPath(cacheFile: string): string {
  return `${cacheFile}.lock`;
}

/** The cached entry, or undefined when the file is missing or unreadable. */
export async function readTokenCache(cacheFile: string): Promise<CachedToken | undefined> {
  let text: string;
  try {
    text = await readFile(cacheFile, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const entry = JSON.parse(text) as Partial<CachedToken>;
    const fields = ['scope', 'api_url', 'token', 'expires_at', 'fetched_at'] as const;
    return fields.every((field) => typeof entry[field] === 'string') ? (entry as CachedToken) : undefined;
  } catch {
    return undefined;
  }
}

/** True when `entry` belongs to this scope, is younger than the TTL and more than 5 minutes from expiry. */
export function isUsable(entry: CachedToken, config: TokenCacheConfig, now: number): boolean {
  const fetchedAt = Date.parse(entry.fetched_at);
  const expiresAt = Date.parse(entry.expires_at);
  return (
    entry.scope === scopeName(config.scope) &&
    entry.api_url === config.githubApiUrl &&
    Number.isFinite(fetchedAt) &&
    Number.isFinite(expiresAt) &&
    now - fetchedAt < config.tokenCacheTtlSeconds * 1000 &&
    expiresAt - now > EXPIRY_MARGIN_MS
  );
}

async function writeTokenCache(cacheFile: string, entry: CachedToken): Promise<void> {
  await mkdir(dirname(cacheFile), { recursive: true });
  await writeFileAtomic(cacheFile, `${JSON.stringify(entry, null, 2)}\n`, { mode: 0o600 });
}

async function lockCache(cacheFile: string, onCompromised: (err: Error) => void): Promise<() => Promise<void>> {
  await mkdir(dirname(cacheFile), { recursive: true });
  try {
    return await lockfile.lock(cacheFile, {
      realpath: false,
      stale: 10_000,
      update: 2_500,
      retries: { forever: true, minTimeout: 25, maxTimeout: 250, factor: 1.5 },
      onCompromised,
    });
  } catch (err) {
    throw new CliError(`cannot lock the registration-token cache ${tokenCacheLockPath(cacheFile)}: ${(err as Error).message.split('\n')[0]}`, ExitCode.failure);
  }
}

/** Requests in flight in this process, per cache file: concurrent callers share one refresh. */
const inFlight = new Map<string, Promise<ScopedToken>>();

/**
 * A registration token for the scope: the cached one while usable, otherwise
 * one new token from GitHub, fetched under the cache's lock and cached.
 */
export function getRegistrationToken(
  config: TokenCacheConfig,
  api: Pick<RunnerApi, 'createRegistrationToken'>,
  options: TokenCacheOptions = {},
): Promise<ScopedToken> {
  const pending = inFlight.get(config.tokenCacheFile);
  if (pending) return pending;
  const request = obtainToken(config, api, options).finally(() => inFlight.delete(config.tokenCacheFile));
  inFlight.set(config.tokenCacheFile, request);
  return request;
}

async function obtainToken(
  config: TokenCacheConfig,
  api: Pick<RunnerApi, 'createRegistrationToken'>,
  { now = Date.now, warn = (line) => process.stderr.write(`warning: ${line}\n`) }: TokenCacheOptions,
): Promise<ScopedToken> {
  const cached = await readTokenCache(config.tokenCacheFile);
  if (cached && isUsable(cached, config, now())) return { token: cached.token, expiresAt: cached.expires_at };

  let compromised: Error | undefined;
  const release = await lockCache(config.tokenCacheFile, (err) => (compromised = err));
  try {
    // Another process may have refreshed the cache while this one waited for the lock.
    const fresh = await readTokenCache(config.tokenCacheFile);
    if (fresh && isUsable(fresh, config, now())) return { token: fresh.token, expiresAt: fresh.expires_at };
    const token = await api.createRegistrationToken();
    await writeTokenCache(config.tokenCacheFile, {
      scope: scopeName(config.scope),
      api_url: config.githubApiUrl,
      token: token.token,
      expires_at: token.expiresAt,
      fetched_at: new Date(now()).toISOString(),
    });
    return token;
  } finally {
    if (compromised) warn(`the lock on ${config.tokenCacheFile} was lost while refreshing it (${compromised.message}); the token is still valid`);
    await release().catch(() => undefined);
  }
}

/** Deletes the cache file and a lock left beside it. */
export async function removeTokenCache(cacheFile: string): Promise<void> {
  await rm(cacheFile, { force: true });
  await rm(tokenCacheLockPath(cacheFile), { force: true, recursive: true });
}
