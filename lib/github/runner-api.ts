// Everything the toolkit asks GitHub, over one interface for both scopes:
// org runners (/orgs/{org}/actions/runners…) or repo runners
// (/repos/{owner}/{repo}/actions/runners…), chosen by REPO being set.
import type { Config, GitHubCredential, Scope } from '../config/config.ts';
import { requireCredential } from '../config/credential.ts';
import { CliError, ExitCode } from '../../core/errors.ts';
import { createGitHubClient, MutationQueue, operationDeadline, proxyFor, timingSetting, timingsFromEnv, type GitHubClient, type GitHubTimings } from './client.ts';
import { redact, scopeDescription, toGitHubCliError, type RequestContext } from './errors.ts';

export interface Runner {
  id: number;
  name: string;
  os: string;
  /** 'online' or 'offline'. */
  status: string;
  busy: boolean;
  labels: string[];
}

/** A registration or remove token, with GitHub's expiry (ISO 8601). */
export interface ScopedToken {
  token: string;
  expiresAt: string;
}

export type DeleteOutcome = 'deleted' | 'absent';

export interface RunnerApi {
  readonly scope: Scope;
  /** All runners of the scope: one paginated listing, 100 a page. */
  listRunners(): Promise<Runner[]>;
  /**
   * One cheap call (the first runner of the listing) that fails as every
   * later call would: a wrong credential, a missing permission, an unknown
   * org or repo. For commands that have slow work to do before they call.
   */
  checkAccess(): Promise<void>;
  /** The runner called exactly `name`, if registered. */
  findByName(name: string): Promise<Runner | undefined>;
  /** Unregisters a runner; 'absent' when GitHub no longer has it. Throws CliError(runnerBusy) while it runs a job. */
  deleteRunner(runner: Pick<Runner, 'id' | 'name'>): Promise<DeleteOutcome>;
  createRegistrationToken(): Promise<ScopedToken>;
  createRemoveToken(): Promise<ScopedToken>;
}

export interface RunnerApiOptions {
  timings?: GitHubTimings;
  warn?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

interface ApiRunner {
  id: number;
  name: string;
  os: string;
  status: string;
  busy: boolean;
  labels: { name: string }[];
}

function toRunner(runner: ApiRunner): Runner {
  return {
    id: runner.id,
    name: runner.name,
    os: runner.os,
    status: runner.status,
    busy: runner.busy,
    labels: runner.labels.map((label) => label.name),
  };
}

/** Thrown when a listing's pages do not end: the caller turns it into one line. */
class EndlessListing extends CliError {}

/**
 * Follows a listing's `next` links, stopping on a page seen before (a cycle)
 * and after `maxPages`: a broken server or proxy must not page forever.
 */
async function collectPages(pages: AsyncIterable<{ url: string; data: ApiRunner[] }>, maxPages: number, what: string): Promise<ApiRunner[]> {
  const seen = new Set<string>();
  const runners: ApiRunner[] = [];
  for await (const page of pages) {
    if (seen.has(page.url)) throw new EndlessListing(`GitHub's listing of ${what} links back to a page it already sent (${page.url}): stopped after ${seen.size} pages; a proxy or server fault, try again or report it`);
    if (seen.size >= maxPages) throw new EndlessListing(`GitHub's listing of ${what} goes on past ${maxPages} pages (${maxPages * 100} runners): stopped; raise GH_API_MAX_PAGES if this scope really has that many`);
    seen.add(page.url);
    runners.push(...page.data);
  }
  return runners;
}

/** The GitHub calls of one scope, with the scope's parameters filled in; every call takes the operation's abort signal. */
function scopedCalls(octokit: GitHubClient, scope: Scope, maxPages: number) {
  const { actions } = octokit.rest;
  const what = scopeDescription(scope);
  const pages = (route: string, params: Record<string, unknown>) =>
    collectPages(octokit.paginate.iterator(route, params) as AsyncIterable<{ url: string; data: ApiRunner[] }>, maxPages, `the runners of ${what}`);
  if (scope.repo !== undefined) {
    const where = { owner: scope.org, repo: scope.repo };
    return {
      list: (signal: AbortSignal, name?: string) =>
        pages('GET /repos/{owner}/{repo}/actions/runners', { ...where, per_page: 100, ...(name ? { name } : {}), request: { signal } }),
      firstPage: (signal: AbortSignal) => actions.listSelfHostedRunnersForRepo({ ...where, per_page: 1, request: { signal } }),
      remove: (signal: AbortSignal, runner_id: number) => actions.deleteSelfHostedRunnerFromRepo({ ...where, runner_id, request: { signal } }),
      registrationToken: (signal: AbortSignal) => actions.createRegistrationTokenForRepo({ ...where, request: { signal } }),
      removeToken: (signal: AbortSignal) => actions.createRemoveTokenForRepo({ ...where, request: { signal } }),
    };
  }
  const where = { org: scope.org };
  return {
    list: (signal: AbortSignal, name?: string) =>
      pages('GET /orgs/{org}/actions/runners', { ...where, per_page: 100, ...(name ? { name } : {}), request: { signal } }),
    firstPage: (signal: AbortSignal) => actions.listSelfHostedRunnersForOrg({ ...where, per_page: 1, request: { signal } }),
    remove: (signal: AbortSignal, runner_id: number) => actions.deleteSelfHostedRunnerFromOrg({ ...where, runner_id, request: { signal } }),
    registrationToken: (signal: AbortSignal) => actions.createRegistrationTokenForOrg({ ...where, request: { signal } }),
    removeToken: (signal: AbortSignal) => actions.createRemoveTokenForOrg({ ...where, request: { signal } }),
  };
}

/**
 * The secrets of a credential, for redaction: the PAT, or the App's private
 * key (whole and line by line); tokens and JWTs obtained later are added to
 * the same set by the client.
 */
function secretsOf(credential: GitHubCredential): Set<string> {
  const secrets = new Set<string>();
  if (credential.kind === 'pat') {
    secrets.add(credential.token);
  } else {
    secrets.add(credential.privateKey);
    for (const line of credential.privateKey.split(/\r?\n/)) if (line.length >= 16 && !line.startsWith('-----')) secrets.add(line.trim());
  }
  return secrets;
}

/** The GitHub calls of a configuration; a one-line ConfigError when it has no credential (loaded with `credential: 'none'`). */
export function createRunnerApi(
  config: Pick<Config, 'scope' | 'githubApiUrl' | 'credential'> & Partial<Pick<Config, 'proxy' | 'envFile'>>,
  options: RunnerApiOptions = {},
): RunnerApi {
  const credential = requireCredential(config);
  const env = options.env ?? process.env;
  const timings = options.timings ?? timingsFromEnv(env);
  // Proxy settings from the env file count too (config.proxy already lets the environment win).
  const proxyEnv = { ...env, ...config.proxy };
  const secrets = secretsOf(credential);
  const octokit = createGitHubClient({ apiUrl: config.githubApiUrl, credential, scope: config.scope, secrets, proxyEnv, timings, ...(options.warn ? { warn: options.warn } : {}) });
  const calls = scopedCalls(octokit, config.scope, timings.maxPages);
  const writes = new MutationQueue(timings.writeIntervalMs);
  const proxy = proxyFor(config.githubApiUrl, proxyEnv);
  const context = (runner?: string): RequestContext => ({
    scope: config.scope,
    apiUrl: config.githubApiUrl,
    secrets,
    ...(credential.kind === 'app' ? { app: { appId: credential.appId } } : {}),
    ...(proxy ? { proxy } : {}),
    ...(runner !== undefined ? { runner } : {}),
  });
  /**
   * One operation, bounded by GH_API_DEADLINE_MS: its requests are aborted at
   * the deadline, and the caller gets its one line then, not after retries.
   */
  const guarded = async <T>(call: (signal: AbortSignal) => Promise<T>, what: string, runner?: string): Promise<T> => {
    const deadline = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        deadline.abort();
        reject(new CliError(redact(`GitHub did not answer ${what} within ${timings.deadlineMs} ms (${timingSetting('deadlineMs')}) at ${config.githubApiUrl}${proxy ? ` through proxy ${proxy}` : ''}: check GITHUB_API_URL and the network, or raise ${timingSetting('deadlineMs')}`, secrets), ExitCode.network));
      }, timings.deadlineMs);
    });
    try {
      return await Promise.race([operationDeadline.run(deadline.signal, () => call(deadline.signal)), expired]);
    } catch (err) {
      throw err instanceof EndlessListing ? err : toGitHubCliError(err, context(runner));
    } finally {
      clearTimeout(timer);
    }
  };
  const token = async (kind: string, request: (signal: AbortSignal) => Promise<{ data: { token: string; expires_at: string } }>): Promise<ScopedToken> => {
    const { data } = await guarded((signal) => writes.run(() => request(signal)), `for a ${kind} token`);
    return { token: data.token, expiresAt: data.expires_at };
  };

  return {
    scope: config.scope,
    listRunners: async () => (await guarded((signal) => calls.list(signal), 'with the list of runners')).map(toRunner),
    checkAccess: async () => {
      await guarded((signal) => calls.firstPage(signal), 'with the first runner of the list');
    },
    findByName: async (name) => (await guarded((signal) => calls.list(signal, name), `about runner ${name}`)).map(toRunner).find((runner) => runner.name === name),
    deleteRunner: async (runner) => {
      try {
        await guarded((signal) => writes.run(() => calls.remove(signal, runner.id)), `to the removal of ${runner.name}`, runner.name);
        return 'deleted';
      } catch (err) {
        // The listing just named it, so a 404 now means it went away meanwhile.
        if ((err as { exitCode?: number }).exitCode === ExitCode.githubNotFound) return 'absent';
        throw err;
      }
    },
    createRegistrationToken: () => token('registration', calls.registrationToken),
    createRemoveToken: () => token('remove', calls.removeToken),
  };
}
