// GitHub API failures as one line a person can act on: what went wrong, for
// which scope, and what to change. Never a stack trace, never the token.
import { CliError, ExitCode } from '../../core/errors.ts';
import type { Scope } from '../config/config.ts';
import { scopeName } from '../config/names.ts';

/** What was being attempted when a request failed. */
export interface RequestContext {
  scope: Scope;
  /** GITHUB_API_URL as configured (no credentials in it). */
  apiUrl: string;
  /** Runner name, for per-runner operations. */
  runner?: string;
  /** Secrets that must never appear in a message (the PAT, tokens, the App's key and JWTs). */
  secrets?: Iterable<string>;
  /** The credential in use: a PAT (default), or a GitHub App (its GH_APP_ID). */
  app?: { appId: string };
  /** The proxy the request went through, if any (credentials already stripped). */
  proxy?: string;
}

/** The parts of an @octokit/request-error RequestError this module reads. */
interface RequestErrorLike {
  status: number;
  message: string;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
  cause?: unknown;
}

function isRequestError(err: unknown): err is RequestErrorLike {
  return typeof err === 'object' && err !== null && typeof (err as { status?: unknown }).status === 'number';
}

export function scopeDescription(scope: Scope): string {
  if (scope.enterprise !== undefined) return `enterprise ${scope.enterprise}`;
  return scope.repo ? `repo ${scope.org}/${scope.repo}` : `org ${scope.org}`;
}

/** The settings that name the scope, for "check …" hints. */
function scopeSettings(scope: Scope): string {
  if (scope.enterprise !== undefined) return 'ENTERPRISE';
  return scope.repo ? 'ORG/REPO' : 'ORG';
}

/** True when a 403/429 is GitHub's rate limit rather than a missing permission. */
export function isRateLimit(err: RequestErrorLike): boolean {
  if (err.status !== 403 && err.status !== 429) return false;
  const headers = err.response?.headers ?? {};
  return String(headers['x-ratelimit-remaining']) === '0' || /rate limit/i.test(err.message) || err.status === 429;
}

/** A request that never got an HTTP answer (refused, DNS, TLS, proxy, timeout). */
export function isNetworkFailure(err: RequestErrorLike): boolean {
  return err.status === 500 && err.response === undefined;
}

/** The innermost error code (ECONNREFUSED, ENOTFOUND, …) or message of a fetch failure. */
function networkReason(err: RequestErrorLike): string {
  let cause: unknown = err.cause;
  let reason = err.message;
  for (let depth = 0; depth < 5 && typeof cause === 'object' && cause !== null; depth += 1) {
    const { code, message } = cause as { code?: unknown; message?: unknown };
    if (typeof code === 'string') return code;
    if (typeof message === 'string' && message !== '') reason = message;
    cause = (cause as { cause?: unknown }).cause;
  }
  return reason;
}

function resetTime(err: RequestErrorLike): string | undefined {
  const reset = Number(err.response?.headers?.['x-ratelimit-reset']);
  if (!Number.isFinite(reset) || reset <= 0) return undefined;
  return new Date(reset * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
}

function permissionHint(scope: Scope): string {
  if (scope.enterprise !== undefined) {
    return 'it needs a classic PAT of an enterprise owner with the manage_runners:enterprise scope (GitHub Apps cannot manage enterprise runners)';
  }
  return scope.repo
    ? `it needs admin access to ${scope.org}/${scope.repo} (classic PAT: repo scope; fine-grained PAT or GitHub App: repository permissions "Administration: Read and write" and "Metadata: Read-only" on that repository)`
    : `it needs the admin:org scope and admin rights in ${scope.org} (fine-grained PAT or GitHub App: organization permission "Self-hosted runners: Read and write")`;
}

/** How GitHub's settings pages name the permissions X-Accepted-GitHub-Permissions lists. */
const PERMISSION_NAMES: Record<string, string> = {
  organization_self_hosted_runners: 'organization permission "Self-hosted runners',
  administration: 'repository permission "Administration',
  metadata: 'repository permission "Metadata',
  organization_administration: 'organization permission "Administration',
};

/** One `name=level` of the header, as a person finds it on the settings page. */
function describePermission(item: string): string {
  const [name = '', level = ''] = item.split('=').map((part) => part.trim());
  const label = PERMISSION_NAMES[name] ?? `permission "${name}`;
  const access = level === 'write' ? 'Read and write' : level === 'read' ? 'Read-only' : level === 'admin' ? 'Admin' : level;
  return `${label}: ${access}" (${name}=${level})`;
}

/**
 * The permissions GitHub says it accepts for the call (X-Accepted-GitHub-Permissions,
 * sent to GitHub Apps and fine-grained PATs): sets separated by ';', each set's
 * permissions by ','; undefined when the header is absent.
 */
export function acceptedPermissions(headers: Record<string, string | number | undefined> | undefined): string | undefined {
  const value = headers?.['x-accepted-github-permissions'];
  if (value === undefined || String(value).trim() === '') return undefined;
  const sets = String(value)
    .split(';')
    .map((set) =>
      set
        .split(/[,&]/)
        .map((item) => item.trim())
        .filter(Boolean),
    )
    .filter((set) => set.length > 0);
  if (sets.length === 0) return undefined;
  return sets.map((set) => set.map(describePermission).join(' and ')).join(', or ');
}

/** The credential as messages name it. */
function credentialName(context: RequestContext): string {
  return context.app ? `the GitHub App (GH_APP_ID=${context.app.appId})` : 'the PAT (GH_PAT)';
}

/**
 * Replaces every secret in `text` with `***`, by value: whatever its length or
 * prefix (GHES and installation tokens have no fixed form), longest first so
 * a secret containing another is hidden whole.
 */
export function redact(text: string, secrets: Iterable<string> = []): string {
  return [...new Set(secrets)]
    .filter((secret) => secret !== '')
    .sort((a, b) => b.length - a.length)
    .reduce((out, secret) => out.split(secret).join('***'), text);
}

/** Turns any failure of a GitHub call into a one-line CliError. CliErrors pass through. */
export function toGitHubCliError(err: unknown, context: RequestContext): CliError {
  if (err instanceof CliError) return err;
  const line = (message: string): string => redact(message, context.secrets);
  if (!isRequestError(err)) {
    const message = err instanceof Error ? err.message : String(err);
    return new CliError(line(`GitHub API call failed: ${message.split('\n')[0]}`), ExitCode.failure);
  }
  const where = scopeDescription(context.scope);
  if (isNetworkFailure(err)) {
    const via = context.proxy ? ` through proxy ${context.proxy}` : '';
    return new CliError(
      line(`could not reach the GitHub API at ${context.apiUrl}${via} (${networkReason(err)}): check GITHUB_API_URL and the network or proxy settings`),
      ExitCode.network,
    );
  }
  if (isRateLimit(err)) {
    const reset = resetTime(err);
    return new CliError(
      line(
        `GitHub API rate limit exceeded for ${context.app ? 'this GitHub App installation' : 'this PAT'}${reset ? ` until ${reset}` : ''}: wait and run the command again`,
      ),
      ExitCode.failure,
    );
  }
  switch (err.status) {
    case 401:
      return new CliError(
        line(
          context.app
            ? `GitHub rejected the installation token of ${credentialName(context)} (401 at ${context.apiUrl}) even after a new one: the App was uninstalled from ${scopeName(context.scope)} or suspended; check the installation, GH_APP_ID and GH_APP_INSTALLATION_ID`
            : `GitHub rejected the PAT (401 at ${context.apiUrl}): it is wrong, expired or revoked; put a valid token in GH_PAT`,
        ),
        ExitCode.githubAuth,
      );
    case 403: {
      const accepted = acceptedPermissions(err.response?.headers);
      if (accepted) {
        const fix = context.app
          ? `add it in the App's settings (Permissions & events), then approve the new permissions on its installation in ${scopeName(context.scope)}`
          : context.scope.enterprise !== undefined
            ? 'use a classic PAT with the manage_runners:enterprise scope instead'
            : 'edit the fine-grained token and grant it (a classic PAT needs ' + (context.scope.repo ? 'the repo scope' : 'the admin:org scope') + ')';
        return new CliError(
          line(`${credentialName(context)} lacks a permission to manage runners of ${where}: GitHub asks for ${accepted}; ${fix}`),
          ExitCode.githubAuth,
        );
      }
      return new CliError(
        line(`${credentialName(context)} lacks permission to manage runners of ${where}: ${permissionHint(context.scope)}`),
        ExitCode.githubAuth,
      );
    }
    case 404:
      return new CliError(
        line(
          context.app
            ? `${where} not found or not visible to ${credentialName(context)} at ${context.apiUrl}: check ${scopeSettings(context.scope)} and that the App's installation includes it`
            : `${where} not found or not visible to this PAT at ${context.apiUrl}: check ${scopeSettings(context.scope)} and that the PAT's owner can see it${context.scope.enterprise === undefined ? '' : ' (an enterprise owner, with manage_runners:enterprise; on GitHub Enterprise Cloud or Server)'}`,
        ),
        ExitCode.githubNotFound,
      );
    case 422:
      if (context.runner !== undefined) {
        return new CliError(line(`runner ${context.runner} is running a job: GitHub refuses to remove it until the job ends`), ExitCode.runnerBusy);
      }
      break;
    default:
      break;
  }
  const detail = err.message.split('\n')[0] ?? '';
  return new CliError(line(`GitHub API answered ${err.status} for ${where}${detail ? `: ${detail}` : ''}`), ExitCode.failure);
}
