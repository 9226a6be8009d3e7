// Everything the toolkit asks GitHub, over one interface for every scope:
// org runners (/orgs/{org}/actions/runners…), repo runners
// (/repos/{owner}/{repo}/actions/runners…) when REPO is set, or an
// enterprise's (/enterprises/{enterprise}/actions/runners…) when ENTERPRISE is.
import type { Config, GitHubCredential, Scope } from '../config/config.ts';
import { requireCredential } from '../config/credential.ts';
import { CliError, ConfigError, ExitCode } from '../../core/errors.ts';
import {
  createGitHubClient,
  MutationQueue,
  operationDeadline,
  proxyFor,
  timingSetting,
  timingsFromEnv,
  type GitHubClient,
  type GitHubTimings,
} from './client.ts';
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
  /** The id of the runner group called `name` (an org's or enterprise's); a repository's runners are always in Default (1). */
  runnerGroupId(name: string): Promise<number>;
  /**
   * A just-in-time config for one ephemeral runner, registered at once;
   * 'name-taken' when GitHub has a runner of that name (409).
   */
  generateJitConfig(request: JitRequest): Promise<JitConfig | 'name-taken'>;
}

export interface JitRequest {
  name: string;
  labels: string[];
  runnerGroupId: number;
  /** The runner's work folder, relative to its root (RUNNER_WORKDIR). */
  workFolder: string;
}

/** What generate-jitconfig answers: the new registration, and the runner's config files encoded (Runner.cs decodes them). */
export interface JitConfig {
  runner: Runner;
  encodedJitConfig: string;
}

/** A repository's runners are in the Default group, whose id is 1 everywhere. */
export const DEFAULT_RUNNER_GROUP_ID = 1;

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
    if (seen.has(page.url))
      throw new EndlessListing(
        `GitHub's listing of ${what} links back to a page it already sent (${page.url}): stopped after ${seen.size} pages; a proxy or server fault, try again or report it`,
      );
    if (seen.size >= maxPages)
      throw new EndlessListing(
        `GitHub's listing of ${what} goes on past ${maxPages} pages (${maxPages * 100} runners): stopped; raise GH_API_MAX_PAGES if this scope really has that many`,
      );
    seen.add(page.url);
    runners.push(...page.data);
  }
  return runners;
}

/** A runner group as the listings of an org's or an enterprise's groups give it (the fields read here). */
interface ApiRunnerGroup {
  id: number;
  name: string;
}

type TokenAnswer = Promise<{ data: { token: string; expires_at: string } }>;
type JitAnswer = ReturnType<GitHubClient['rest']['actions']['generateRunnerJitconfigForOrg']>;

/** The GitHub calls of one scope, with the scope's parameters filled in; every call takes the operation's abort signal. */
function scopedCalls(octokit: GitHubClient, scope: Scope, maxPages: number) {
  const { actions } = octokit.rest;
  const what = scopeDescription(scope);
  const pages = (route: string, params: Record<string, unknown>) =>
    collectPages(octokit.paginate.iterator(route, params) as AsyncIterable<{ url: string; data: ApiRunner[] }>, maxPages, `the runners of ${what}`);
  // Runner groups are not among octokit's typed routes; pages of 100 until a short one, bounded like the runner listing.
  const groups = (route: string, where: Record<string, string>) => async (signal: AbortSignal) => {
    const all: ApiRunnerGroup[] = [];
    for (let page = 1; page <= maxPages; page++) {
      const answer: unknown = await octokit.request(route, { ...where, per_page: 100, page, request: { signal } });
      const batch = (answer as { data: { runner_groups: ApiRunnerGroup[] } }).data.runner_groups;
      all.push(...batch);
      if (batch.length < 100) break;
    }
    return all;
  };
  if (scope.enterprise !== undefined) {
    // GitHub Enterprise Cloud's description (ghec.json) has these, under enterprise-admin/…
    // and actions/generate-runner-jitconfig-for-enterprise; octokit types only api.github.com's.
    const where = { enterprise: scope.enterprise };
    return {
      list: (signal: AbortSignal, name?: string) =>
        pages('GET /enterprises/{enterprise}/actions/runners', { ...where, per_page: 100, ...(name ? { name } : {}), request: { signal } }),
      firstPage: (signal: AbortSignal) => octokit.request('GET /enterprises/{enterprise}/actions/runners', { ...where, per_page: 1, request: { signal } }),
      remove: (signal: AbortSignal, runner_id: number) =>
        octokit.request('DELETE /enterprises/{enterprise}/actions/runners/{runner_id}', { ...where, runner_id, request: { signal } }),
      registrationToken: (signal: AbortSignal) =>
        octokit.request('POST /enterprises/{enterprise}/actions/runners/registration-token', { ...where, request: { signal } }) as TokenAnswer,
      removeToken: (signal: AbortSignal) =>
        octokit.request('POST /enterprises/{enterprise}/actions/runners/remove-token', { ...where, request: { signal } }) as TokenAnswer,
      jitConfig: (signal: AbortSignal, body: JitBody) =>
        octokit.request('POST /enterprises/{enterprise}/actions/runners/generate-jitconfig', { ...where, ...body, request: { signal } }) as JitAnswer,
      groups: groups('GET /enterprises/{enterprise}/actions/runner-groups', where),
    };
  }
  if (scope.repo !== undefined) {
    const where = { owner: scope.org, repo: scope.repo };
    return {
      list: (signal: AbortSignal, name?: string) =>
        pages('GET /repos/{owner}/{repo}/actions/runners', { ...where, per_page: 100, ...(name ? { name } : {}), request: { signal } }),
      firstPage: (signal: AbortSignal) => actions.listSelfHostedRunnersForRepo({ ...where, per_page: 1, request: { signal } }),
      remove: (signal: AbortSignal, runner_id: number) => actions.deleteSelfHostedRunnerFromRepo({ ...where, runner_id, request: { signal } }),
      registrationToken: (signal: AbortSignal) => actions.createRegistrationTokenForRepo({ ...where, request: { signal } }),
      removeToken: (signal: AbortSignal) => actions.createRemoveTokenForRepo({ ...where, request: { signal } }),
      jitConfig: (signal: AbortSignal, body: JitBody) => actions.generateRunnerJitconfigForRepo({ ...where, ...body, request: { signal } }),
      groups: undefined,
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
    jitConfig: (signal: AbortSignal, body: JitBody) => actions.generateRunnerJitconfigForOrg({ ...where, ...body, request: { signal } }),
    groups: groups('GET /orgs/{org}/actions/runner-groups', where),
  };
}

interface JitBody {
  name: string;
  runner_group_id: number;
  labels: string[];
  work_folder: string;
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
  const octokit = createGitHubClient({
    apiUrl: config.githubApiUrl,
    credential,
    scope: config.scope,
    secrets,
    proxyEnv,
    timings,
    ...(options.warn ? { warn: options.warn } : {}),
  });
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
        reject(
          new CliError(
            redact(
              `GitHub did not answer ${what} within ${timings.deadlineMs} ms (${timingSetting('deadlineMs')}) at ${config.githubApiUrl}${proxy ? ` through proxy ${proxy}` : ''}: check GITHUB_API_URL and the network, or raise ${timingSetting('deadlineMs')}`,
              secrets,
            ),
            ExitCode.network,
          ),
        );
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
    findByName: async (name) =>
      (await guarded((signal) => calls.list(signal, name), `about runner ${name}`)).map(toRunner).find((runner) => runner.name === name),
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
    runnerGroupId: async (name) => {
      if (!calls.groups) {
        if (name !== 'Default')
          throw new ConfigError(
            `RUNNER_GROUP '${name}': runner groups are an organization's; repository runners (REPO set) are always in Default: unset RUNNER_GROUP`,
          );
        return DEFAULT_RUNNER_GROUP_ID;
      }
      const list = calls.groups;
      const groups = await guarded((signal) => list(signal), 'with the runner groups');
      const group = groups.find((g) => g.name === name);
      if (group) return group.id;
      const known = groups.map((g) => g.name).join(', ');
      const { scope } = config;
      const [owner, settings] =
        scope.enterprise === undefined
          ? [scope.org, "the organization's Actions settings"]
          : [`enterprise ${scope.enterprise}`, "the enterprise's settings (Policies → Actions → Runner groups)"];
      throw new ConfigError(
        `RUNNER_GROUP '${name}' is not a runner group of ${owner} (it has: ${known || 'none'}): create it in ${settings} or set RUNNER_GROUP to one of these`,
      );
    },
    generateJitConfig: async (request) => {
      const body: JitBody = { name: request.name, runner_group_id: request.runnerGroupId, labels: request.labels, work_folder: request.workFolder };
      const answer = await guarded(
        (signal) =>
          writes.run(() =>
            calls.jitConfig(signal, body).then(
              ({ data }) => data,
              // 409: a runner of that name exists; the caller decides what to do about it.
              (err: unknown) => {
                if ((err as { status?: number }).status === 409) return 'name-taken' as const;
                throw err;
              },
            ),
          ),
        `with a JIT config for ${request.name}`,
        request.name,
      );
      if (answer === 'name-taken') return answer;
      secrets.add(answer.encoded_jit_config);
      return { runner: toRunner(answer.runner), encodedJitConfig: answer.encoded_jit_config };
    },
  };
}
