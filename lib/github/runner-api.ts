// Everything the toolkit asks GitHub, over one interface for both scopes:
// org runners (/orgs/{org}/actions/runners…) or repo runners
// (/repos/{owner}/{repo}/actions/runners…), chosen by REPO being set.
import type { Config, Scope } from '../config/config.ts';
import { ExitCode } from '../../lock/errors.ts';
import { createGitHubClient, MutationQueue, proxyFor, timingsFromEnv, type GitHubClient, type GitHubTimings } from './client.ts';
import { toGitHubCliError, type RequestContext } from './errors.ts';

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

/** The GitHub calls of one scope, with the scope's parameters filled in. */
function scopedCalls(octokit: GitHubClient, scope: Scope) {
  const { actions } = octokit.rest;
  if (scope.repo !== undefined) {
    const where = { owner: scope.org, repo: scope.repo };
    return {
      list: (name?: string) =>
        octokit.paginate(actions.listSelfHostedRunnersForRepo, { ...where, per_page: 100, ...(name ? { name } : {}) }),
      remove: (runner_id: number) => actions.deleteSelfHostedRunnerFromRepo({ ...where, runner_id }),
      registrationToken: () => actions.createRegistrationTokenForRepo(where),
      removeToken: () => actions.createRemoveTokenForRepo(where),
    };
  }
  const where = { org: scope.org };
  return {
    list: (name?: string) =>
      octokit.paginate(actions.listSelfHostedRunnersForOrg, { ...where, per_page: 100, ...(name ? { name } : {}) }),
    remove: (runner_id: number) => actions.deleteSelfHostedRunnerFromOrg({ ...where, runner_id }),
    registrationToken: () => actions.createRegistrationTokenForOrg(where),
    removeToken: () => actions.createRemoveTokenForOrg(where),
  };
}

export function createRunnerApi(
  config: Pick<Config, 'scope' | 'pat' | 'githubApiUrl'> & Partial<Pick<Config, 'proxy'>>,
  options: RunnerApiOptions = {},
): RunnerApi {
  const env = options.env ?? process.env;
  const timings = options.timings ?? timingsFromEnv(env);
  // Proxy settings from the env file count too (config.proxy already lets the environment win).
  const proxyEnv = { ...env, ...config.proxy };
  const octokit = createGitHubClient({ apiUrl: config.githubApiUrl, pat: config.pat, proxyEnv, timings, ...(options.warn ? { warn: options.warn } : {}) });
  const calls = scopedCalls(octokit, config.scope);
  const writes = new MutationQueue(timings.writeIntervalMs);
  const proxy = proxyFor(config.githubApiUrl, proxyEnv);
  const context = (runner?: string): RequestContext => ({
    scope: config.scope,
    apiUrl: config.githubApiUrl,
    secrets: [config.pat],
    ...(proxy ? { proxy } : {}),
    ...(runner !== undefined ? { runner } : {}),
  });
  const guarded = async <T>(call: () => Promise<T>, runner?: string): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      throw toGitHubCliError(err, context(runner));
    }
  };
  const token = async (request: () => Promise<{ data: { token: string; expires_at: string } }>): Promise<ScopedToken> => {
    const { data } = await guarded(() => writes.run(request));
    return { token: data.token, expiresAt: data.expires_at };
  };

  return {
    scope: config.scope,
    listRunners: async () => (await guarded(() => calls.list())).map(toRunner),
    findByName: async (name) => (await guarded(() => calls.list(name))).map(toRunner).find((runner) => runner.name === name),
    deleteRunner: async (runner) => {
      try {
        await guarded(() => writes.run(() => calls.remove(runner.id)), runner.name);
        return 'deleted';
      } catch (err) {
        // The listing just named it, so a 404 now means it went away meanwhile.
        if ((err as { exitCode?: number }).exitCode === ExitCode.githubNotFound) return 'absent';
        throw err;
      }
    },
    createRegistrationToken: () => token(calls.registrationToken),
    createRemoveToken: () => token(calls.removeToken),
  };
}
