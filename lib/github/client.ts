// The Octokit instance every GitHub call goes through: GITHUB_API_URL as base,
// proxies from HTTP_PROXY/HTTPS_PROXY/NO_PROXY, GitHub's rate-limit guidance
// (honour retry-after and x-ratelimit-reset, back off on secondary limits),
// retries of 5xx and network failures, and no logging of its own.
// Authenticates with a PAT, or as a GitHub App installation (app-auth.ts):
// each request then carries the installation's token, renewed and sent once
// more when GitHub answers 401.
import { AsyncLocalStorage } from 'node:async_hooks';
import { Octokit } from '@octokit/rest';
import { retry } from '@octokit/plugin-retry';
import { throttling, type ThrottlingOptions } from '@octokit/plugin-throttling';
import { EnvHttpProxyAgent, fetch as undiciFetch } from 'undici';
import type { GitHubCredential, Scope } from '../config/config.ts';
import { ENTERPRISE_APP_ERROR } from '../config/credential.ts';
import { ConfigError } from '../../core/errors.ts';
import { InstallationTokens } from './app-auth.ts';

/** Timings; production defaults follow GitHub's guidance, tests make them small. */
export interface GitHubTimings {
  /** Gap between two mutating calls (GitHub: at least 1 s). */
  writeIntervalMs: number;
  /** Unit of the retry back-off for 5xx and network failures (1, 4, 9 × unit). */
  retryBaseMs: number;
  /** Retries of a 5xx or network failure. */
  retries: number;
  /** Retries after a rate limit (each waits as long as GitHub asks). */
  rateLimitRetries: number;
  /** Longest wait for a rate limit before giving up with an error, in seconds. */
  maxRateLimitWaitSeconds: number;
  /** One HTTP request: no answer within this is a network failure (retried). */
  requestTimeoutMs: number;
  /** One operation (a listing with all its pages, a deletion, a token), retries and waits included. */
  deadlineMs: number;
  /** Pages of a listing (100 runners each) before it is called endless. */
  maxPages: number;
}

export const DEFAULT_TIMINGS: GitHubTimings = {
  writeIntervalMs: 1000,
  retryBaseMs: 1000,
  retries: 3,
  rateLimitRetries: 3,
  maxRateLimitWaitSeconds: 900,
  // An interactive command: a GitHub that does not answer is one line within a minute.
  requestTimeoutMs: 15_000,
  deadlineMs: 45_000,
  maxPages: 100,
};

const TIMING_SETTINGS: Record<keyof GitHubTimings, string> = {
  writeIntervalMs: 'GH_API_WRITE_INTERVAL_MS',
  retryBaseMs: 'GH_API_RETRY_BASE_MS',
  retries: 'GH_API_RETRIES',
  rateLimitRetries: 'GH_API_RATE_LIMIT_RETRIES',
  maxRateLimitWaitSeconds: 'GH_API_MAX_RATE_LIMIT_WAIT',
  requestTimeoutMs: 'GH_API_TIMEOUT_MS',
  deadlineMs: 'GH_API_DEADLINE_MS',
  maxPages: 'GH_API_MAX_PAGES',
};

/**
 * The abort signal of the operation a request belongs to (its deadline).
 * Octokit's paginate drops a `request.signal` after the first page, so the
 * fetch below takes it from the operation's async context instead.
 */
export const operationDeadline = new AsyncLocalStorage<AbortSignal>();

export function timingSetting(key: keyof GitHubTimings): string {
  return TIMING_SETTINGS[key];
}

/** Timings from the environment (GH_API_WRITE_INTERVAL_MS, GH_API_RETRY_BASE_MS, …); defaults otherwise. */
export function timingsFromEnv(env: NodeJS.ProcessEnv = process.env): GitHubTimings {
  const timings = { ...DEFAULT_TIMINGS };
  for (const key of Object.keys(TIMING_SETTINGS) as (keyof GitHubTimings)[]) {
    const text = env[TIMING_SETTINGS[key]]?.trim();
    if (text && /^\d+$/.test(text)) timings[key] = Number(text);
  }
  return timings;
}

export interface ClientOptions {
  apiUrl: string;
  /** A PAT, or a GitHub App (its installation's tokens are obtained and renewed here). */
  credential: GitHubCredential;
  /** The org, repo or enterprise: a GitHub App's installation is looked up on it (an enterprise takes a PAT only). */
  scope: Scope;
  /** Tokens and JWTs the client obtains are added here (for redaction). */
  secrets?: Set<string>;
  /** Where HTTP(S)_PROXY/NO_PROXY are read (the environment merged with the env file); default process.env. */
  proxyEnv?: NodeJS.ProcessEnv;
  timings?: GitHubTimings;
  /** Where rate-limit waits are announced (one line each); default stderr. */
  warn?: (line: string) => void;
}

/** The proxy a request to `url` goes through, credentials stripped; undefined when direct. */
export function proxyFor(url: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const target = new URL(url);
  const pick = (...names: string[]) => names.map((name) => env[name]).find((value) => value !== undefined && value !== '');
  const proxy = target.protocol === 'https:' ? pick('https_proxy', 'HTTPS_PROXY') : pick('http_proxy', 'HTTP_PROXY');
  if (!proxy) return undefined;
  const noProxy = (pick('no_proxy', 'NO_PROXY') ?? '').split(/[\s,]+/).filter(Boolean);
  const host = target.hostname.toLowerCase();
  const bypass = noProxy.some((entry) => {
    if (entry === '*') return true;
    const [name = ''] = entry
      .toLowerCase()
      .replace(/^\*?\./, '.')
      .split(':');
    return name.startsWith('.') ? host.endsWith(name) || host === name.slice(1) : host === name || host.endsWith(`.${name}`);
  });
  if (bypass) return undefined;
  try {
    const parsed = new URL(proxy);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return proxy.replace(/\/\/[^@/]*@/, '//');
  }
}

/**
 * The plugin's own write limiter spaces writes a fixed 1 s apart and cannot be
 * tuned without Bottleneck itself; writes are serialised and spaced by
 * MutationQueue instead, so the plugin gets a pass-through group.
 */
const passThroughGroup = {
  key: () => ({
    schedule: (...args: unknown[]) => {
      const index = args.findIndex((arg) => typeof arg === 'function');
      const task = args[index] as (...rest: unknown[]) => unknown;
      return Promise.resolve(task(...args.slice(index + 1)));
    },
  }),
} as unknown as NonNullable<ThrottlingOptions['write']>;

const FleetOctokit = Octokit.plugin(throttling, retry);
export type GitHubClient = InstanceType<typeof FleetOctokit>;

export function createGitHubClient({
  apiUrl,
  credential,
  scope,
  secrets = new Set(),
  proxyEnv = process.env,
  timings = DEFAULT_TIMINGS,
  warn = defaultWarn,
}: ClientOptions): GitHubClient {
  const setting = (...names: string[]) => names.map((name) => proxyEnv[name]).find((value) => value !== undefined && value !== '');
  const dispatcher = new EnvHttpProxyAgent({
    httpProxy: setting('http_proxy', 'HTTP_PROXY'),
    httpsProxy: setting('https_proxy', 'HTTPS_PROXY'),
    noProxy: setting('no_proxy', 'NO_PROXY'),
  });
  // Every request gets its own timeout, on top of the operation's deadline (init.signal).
  const proxiedFetch = (input: string | URL, init?: Record<string, unknown>) => {
    const deadline = operationDeadline.getStore();
    const signals = [AbortSignal.timeout(timings.requestTimeoutMs), ...(init?.signal ? [init.signal as AbortSignal] : []), ...(deadline ? [deadline] : [])];
    return undiciFetch(input, { ...(init ?? {}), dispatcher, signal: AbortSignal.any(signals) });
  };
  const onLimit = (kind: string) => (retryAfter: number, options: { method: string; url: string }, _octokit: unknown, retryCount: number) => {
    if (retryCount >= timings.rateLimitRetries || retryAfter > timings.maxRateLimitWaitSeconds) return false;
    warn(`GitHub ${kind} reached on ${options.method} ${options.url}: retrying in ${retryAfter} s`);
    return true;
  };
  const silent = () => {};
  const build = (token?: string): GitHubClient =>
    new FleetOctokit({
      ...(token !== undefined ? { auth: token } : {}),
      baseUrl: apiUrl,
      userAgent: 'gh-runner-fleet',
      log: { debug: silent, info: silent, warn: silent, error: silent },
      request: { fetch: proxiedFetch },
      throttle: {
        onRateLimit: onLimit('rate limit'),
        onSecondaryRateLimit: onLimit('secondary rate limit'),
        write: passThroughGroup,
      },
      // plugin-retry's default list plus 409: a name GitHub already has (generate-jitconfig) is an answer, not a fault.
      retry: { retries: timings.retries, retryAfterBaseValue: timings.retryBaseMs, doNotRetry: [400, 401, 403, 404, 409, 410, 422, 451] },
    });
  if (credential.kind === 'pat') {
    secrets.add(credential.token);
    return build(credential.token);
  }
  // loadConfig refuses this already; a Config made another way must not get further.
  if (scope.enterprise !== undefined) throw new ConfigError(ENTERPRISE_APP_ERROR);
  // The App's own calls (installation lookup, access tokens) go through a
  // client of their own, with the same proxy, timeouts, throttling and retries.
  const tokens = new InstallationTokens({ app: credential, scope, apiUrl, request: build().request, secrets });
  const octokit = build();
  octokit.hook.wrap('request', async (request, options) => {
    // Hooks inside this one (retry, throttling) see the options object they were bound to: set the header on it.
    const send = (token: string) => {
      options.headers = { ...options.headers, authorization: `token ${token}` };
      return request(options);
    };
    const token = await tokens.token();
    try {
      return await send(token);
    } catch (err) {
      // Expired or revoked before its expires_at: one new token, one more try.
      if ((err as { status?: unknown }).status !== 401) throw err;
      tokens.invalidate(token);
      return await send(await tokens.token());
    }
  });
  return octokit;
}

function defaultWarn(line: string): void {
  process.stderr.write(`warning: ${line}\n`);
}

/** Runs mutating calls one at a time, at least `intervalMs` apart (GitHub's guidance for writes). */
export class MutationQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private lastEnd = 0;

  constructor(private readonly intervalMs: number) {}

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(async () => {
      const wait = this.lastEnd + this.intervalMs - Date.now();
      if (this.lastEnd > 0 && wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      try {
        return await task();
      } finally {
        this.lastEnd = Date.now();
      }
    });
    this.tail = result.catch(() => undefined);
    return result;
  }
}
