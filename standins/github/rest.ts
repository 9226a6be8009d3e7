// Section 1 of PROTOCOL.md: GitHub's REST operations for self-hosted runners
// (org, repo and enterprise scope) under /api/v3, routed by the spec's own path templates.
// Each answer passes through response validation before it is sent.

import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from './context.ts';
import { JWT_MESSAGES } from './apps.ts';
import { faultReply } from './faults.ts';
import { credentials, delay, githubError, isRecord, readJson, send, type ParsedBody, type Reply } from './http.ts';
import { encodeJitConfig } from './jit.ts';
import type { Operation, RouteMatch } from './spec.ts';
import { groupOwner, scopeKey, type RunnerGroup, type ScopeRef, type TokenKind } from './state.ts';

export const API_PREFIX = '/api/v3';
const DEFAULT_PER_PAGE = 30;
const MAX_PER_PAGE = 100; // stated only in the spec's prose; GitHub silently caps

function baseHeaders(): Record<string, string> {
  return {
    'x-github-api-version-selected': '2022-11-28',
    'x-github-media-type': 'github.v3; format=json',
    'x-github-request-id': randomBytes(8).toString('hex').toUpperCase(),
  };
}

export async function handleRest(ctx: Context, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const method = req.method ?? 'GET';
  const route = ctx.spec.match(method, url.pathname.slice(API_PREFIX.length) || '/');
  if (!route) {
    // Not one of the operations we serve: GitHub's answer for unknown routes.
    const reply = githubError(404, 'Not Found');
    send(res, { ...reply, headers: baseHeaders() });
    return;
  }
  const op = route.operation;
  ctx.calls.record(op.operationId);
  const body = await readJson(req);
  const reply = await answer(ctx, req, url, route, body);
  finish(ctx, res, op, method, url, reply);
}

async function answer(ctx: Context, req: IncomingMessage, url: URL, route: RouteMatch, body: ParsedBody): Promise<Reply> {
  const op = route.operation;
  const fault = ctx.faults.take(op.operationId);
  if (fault?.kind === 'slow') await delay(fault.delay_ms ?? 1000);

  const creds = credentials(req);
  if (op.operationId.startsWith('apps/')) return answerApp(ctx, req, url, route, body, creds, fault);
  const bearer = creds && (creds.scheme === 'token' || creds.scheme === 'bearer') ? creds.token : undefined;
  const pat = bearer !== undefined && ctx.state.isKnownPat(bearer) ? bearer : undefined;
  // An installation access token (GitHub App): live, expired (401), or unknown.
  const installation = bearer !== undefined && pat === undefined ? ctx.apps.tokenInstallation(bearer) : undefined;
  const caller = pat ?? (installation !== undefined && installation !== 'expired' ? `installation:${installation.id}` : undefined);
  const rate = ctx.rateLimiter.consume(caller);
  const withRate = (r: Reply): Reply => ({ ...r, headers: { ...rate.headers, ...r.headers } });

  if (fault) {
    const failed = faultReply(fault, rate.headers);
    if (failed) return failed;
  }
  if (!caller) return withRate(githubError(401, creds ? 'Bad credentials' : 'Requires authentication'));
  if (rate.exhausted) {
    const r = githubError(403, 'API rate limit exceeded for user ID 1.', 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api');
    return { ...r, headers: { ...rate.headers, 'retry-after': String(Math.max(1, rate.resetAt - Math.floor(Date.now() / 1000))) } };
  }

  if (!body.ok) {
    record(ctx, 'request', op, req.method ?? '', url, [`body is not JSON: ${body.error}`]);
    return withRate(githubError(400, 'Problems parsing JSON'));
  }
  const { params, errors } = ctx.spec.validateRequest(op, route.pathParams, url.searchParams, body.value);
  if (errors.length > 0) {
    record(ctx, 'request', op, req.method ?? '', url, errors);
    return withRate(githubError(422, `Invalid request.\n\n${errors.join('\n')}`));
  }

  const scope = scopeOfParams(params);
  if (!ctx.state.hasScope(scope)) return withRate(githubError(404, 'Not Found'));
  if (pat !== undefined && !ctx.state.patAdministers(pat, scope)) {
    const msg =
      scope.enterprise !== undefined
        ? 'You must be an enterprise owner to manage its self-hosted runners.'
        : scope.repo === undefined
          ? 'You must be an org admin to manage its self-hosted runners.'
          : 'Must have admin rights to Repository.';
    return withRate(githubError(403, msg));
  }
  // The enterprise operations are not enabled for GitHub Apps (enabledForGitHubApps: false in ghec.json).
  if (installation !== undefined && installation !== 'expired' && scope.enterprise !== undefined) {
    return withRate(githubError(403, 'Resource not accessible by integration'));
  }
  if (installation !== undefined && installation !== 'expired') {
    // An installation sees only its org (and selected repositories): anything else does not exist for it.
    if (!ctx.apps.covers(installation, scope)) return withRate(githubError(404, 'Not Found'));
    const missing = ctx.apps.missingPermission(installation, scope, req.method !== 'GET');
    if (missing) {
      const r = githubError(403, 'Resource not accessible by integration');
      return withRate({ ...r, headers: { 'x-accepted-github-permissions': missing } });
    }
  }
  return withRate(await operate(ctx, req, url, op.operationId, scope, params, body.value, fault?.kind === 'wrong_token'));
}

/** The scope an operation's path names: /enterprises/{enterprise}, /orgs/{org} or /repos/{owner}/{repo}. */
function scopeOfParams(params: Record<string, string | number | boolean>): ScopeRef {
  if (params.enterprise !== undefined) return { enterprise: String(params.enterprise) };
  const org = String(params.org ?? params.owner);
  return params.repo === undefined ? { org } : { org, repo: String(params.repo) };
}

/**
 * The App's own operations, authenticated by its JWT (never an installation
 * token or a PAT): find the installation on an org or repo, and create an
 * installation access token.
 */
function answerApp(
  ctx: Context,
  req: IncomingMessage,
  url: URL,
  route: RouteMatch,
  body: ParsedBody,
  creds: ReturnType<typeof credentials>,
  fault: ReturnType<Context['faults']['take']>,
): Reply {
  const op = route.operation;
  const check = creds && creds.scheme === 'bearer' ? ctx.apps.verifyJwt(creds.token) : undefined;
  const rate = ctx.rateLimiter.consume(check?.ok ? `app:${check.appId}` : undefined);
  const withRate = (r: Reply): Reply => ({ ...r, headers: { ...rate.headers, ...r.headers } });
  if (fault) {
    const failed = faultReply(fault, rate.headers);
    if (failed) return failed;
  }
  if (!creds) return withRate(githubError(401, 'Requires authentication'));
  if (!check) return withRate(githubError(401, JWT_MESSAGES.undecodable));
  if (!check.ok) return withRate(githubError(401, check.message));
  if (!body.ok) {
    record(ctx, 'request', op, req.method ?? '', url, [`body is not JSON: ${body.error}`]);
    return withRate(githubError(400, 'Problems parsing JSON'));
  }
  const { params, errors } = ctx.spec.validateRequest(op, route.pathParams, url.searchParams, body.value);
  if (errors.length > 0) {
    record(ctx, 'request', op, req.method ?? '', url, errors);
    return withRate(githubError(422, `Invalid request.\n\n${errors.join('\n')}`));
  }
  const apiUrl = `${ctx.gitHubUrl}${API_PREFIX}`;
  if (op.operationId === 'apps/create-installation-access-token') {
    const installation = ctx.apps.installation(Number(params.installation_id));
    if (!installation || installation.appId !== check.appId) return withRate(githubError(404, 'Not Found'));
    const rec = ctx.apps.issueToken(installation);
    return withRate({
      status: 201,
      body: {
        token: rec.token,
        expires_at: new Date(rec.expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        permissions: { ...installation.permissions },
        repository_selection: installation.repositories === 'all' ? 'all' : 'selected',
      },
    });
  }
  const org = String(params.org ?? params.owner);
  const scope: ScopeRef = params.repo === undefined ? { org } : { org, repo: String(params.repo) };
  const installation = ctx.state.hasScope(scope) ? ctx.apps.findInstallation(check.appId, scope) : undefined;
  if (!installation) return withRate(githubError(404, 'Not Found'));
  return withRate({ status: 200, body: ctx.apps.view(installation, apiUrl, ctx.state.orgId(org)) });
}

async function operate(
  ctx: Context,
  req: IncomingMessage,
  url: URL,
  operationId: string,
  scope: ScopeRef,
  params: Record<string, string | number | boolean>,
  body: unknown,
  wrongToken: boolean,
): Promise<Reply> {
  const { state } = ctx;
  const action = operationId.replace(/^(actions|enterprise-admin)\//, '').replace(/-(for|from)-(org|repo|enterprise)$/, '');
  const inScope = (): ReturnType<typeof state.runner> => {
    const r = state.runner(Number(params.runner_id));
    return r && r.scope === scopeKey(scope) ? r : undefined;
  };
  switch (action) {
    case 'list-self-hosted-runners':
      return list(ctx, req, url, scope, params);
    case 'get-self-hosted-runner': {
      const r = inScope();
      return r ? { status: 200, body: state.view(r) } : githubError(404, 'Not Found');
    }
    case 'delete-self-hosted-runner': {
      const r = inScope();
      if (!r) return githubError(404, 'Not Found');
      if (state.isBusy(r)) {
        return {
          status: 422,
          body: {
            message: `Bad request - Runner "${r.name}" is still running a job`,
            documentation_url: 'https://docs.github.com/rest/actions/self-hosted-runners',
          },
        };
      }
      state.deleteRunner(r.id);
      return { status: 204 };
    }
    case 'create-registration-token':
    case 'create-remove-token': {
      const kind: TokenKind = action === 'create-registration-token' ? 'registration' : 'remove';
      const rec = state.issueToken(scope, kind);
      // wrong_token fault: a well-formed token the runner protocol does not know.
      const token = wrongToken ? rec.token.split('').reverse().join('') : rec.token;
      if (wrongToken) state.expireToken(rec.token);
      return { status: 201, body: { token, expires_at: new Date(rec.expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z') } };
    }
    case 'generate-runner-jitconfig':
      return generateJitConfig(ctx, scope, body);
    case 'list-self-hosted-runner-groups':
      return listGroups(ctx, req, url, scope, params);
    default:
      return githubError(500, `github stand-in: no handler for ${operationId}`);
  }
}

/**
 * generate-runner-jitconfig-for-org/-for-repo/-for-enterprise. The body has passed the spec
 * (name, runner_group_id, labels 1..100 strings; else 422 and a recorded
 * violation). Then: a blank name or label → 422; a group the scope does not
 * have → 404 (a repository has only "Default", id 1; an org or enterprise its groups); a
 * runner of that name in the scope → 409 with GitHub's message; else 201 with
 * the new runner (offline, ephemeral, exactly the given labels) and its
 * encoded config (jit.ts).
 */
async function generateJitConfig(ctx: Context, scope: ScopeRef, body: unknown): Promise<Reply> {
  const input = isRecord(body) ? body : {};
  const name = String(input.name);
  const labels = Array.isArray(input.labels) ? input.labels.map(String) : [];
  const workFolder = typeof input.work_folder === 'string' ? input.work_folder : '_work';
  const invalid = (message: string): Reply => ({
    status: 422,
    body: { message, documentation_url: 'https://docs.github.com/rest/actions/self-hosted-runners', status: '422' },
  });
  if (name.trim() === '') return invalid('Invalid request.\n\nname must not be blank.');
  if (labels.some((l) => l.trim() === '')) return invalid('Invalid request.\n\nlabels must not be blank.');
  const group = ctx.state.runnerGroup(scope, Number(input.runner_group_id));
  if (!group) return githubError(404, 'Not Found');
  const runner = ctx.state.registerJitRunner({ scope: scopeKey(scope), name, labels, groupId: group.id });
  if (runner === 'conflict') {
    return githubError(409, `Already exists - A runner with the name ${name} already exists.`, 'https://docs.github.com/rest/actions/self-hosted-runners');
  }
  const encoded = await encodeJitConfig({ runner, scope, group, gitHubUrl: ctx.gitHubUrl, workFolder });
  ctx.state.recordJitConfig(name, encoded);
  return { status: 201, body: { runner: ctx.state.view(runner), encoded_jit_config: encoded } };
}

/** GitHub's `runner-groups-org` object, or `runner-groups-enterprise` (selected organizations instead of repositories, nothing inherited). */
function groupView(ctx: Context, scope: ScopeRef, group: RunnerGroup): Record<string, unknown> {
  // GitHub's own URLs here spell the path runner_groups (the spec's examples show it).
  const owner = scope.enterprise !== undefined ? `enterprises/${scope.enterprise}` : `orgs/${scope.org}`;
  const base = `${ctx.gitHubUrl}${API_PREFIX}/${owner}/actions/runner_groups/${group.id}`;
  const selected = group.visibility === 'selected';
  return {
    id: group.id,
    name: group.name,
    visibility: group.visibility,
    default: group.default,
    ...(scope.enterprise !== undefined
      ? selected
        ? { selected_organizations_url: `${base}/organizations` }
        : {}
      : selected
        ? { selected_repositories_url: `${base}/repositories` }
        : {}),
    runners_url: `${base}/runners`,
    ...(scope.enterprise !== undefined ? {} : { inherited: false }),
    allows_public_repositories: group.allowsPublicRepositories,
    restricted_to_workflows: false,
    selected_workflows: [],
    workflow_restrictions_read_only: false,
  };
}

/**
 * list-self-hosted-runner-groups-for-org/-for-enterprise: "Default" and the
 * groups added, paged; `visible_to_repository` (org) or
 * `visible_to_organization` (enterprise) leaves out `selected` groups that do
 * not name it.
 */
function listGroups(ctx: Context, req: IncomingMessage, url: URL, scope: ScopeRef, params: Record<string, string | number | boolean>): Reply {
  const requested = Number(params.per_page ?? DEFAULT_PER_PAGE);
  const perPage = requested < 1 ? DEFAULT_PER_PAGE : Math.min(requested, MAX_PER_PAGE);
  const page = Math.max(1, Number(params.page ?? 1));
  const visibleTo = params.visible_to_repository ?? params.visible_to_organization;
  const member = typeof visibleTo === 'string' ? visibleTo.toLowerCase() : undefined;
  const all = ctx.state.runnerGroups(groupOwner(scope)).filter((g) => member === undefined || g.visibility !== 'selected' || g.repositories.includes(member));
  const groups = all.slice((page - 1) * perPage, page * perPage).map((g) => groupView(ctx, scope, g));
  const headers: Record<string, string> = {};
  const link = linkHeader(req, url, page, Math.max(1, Math.ceil(all.length / perPage)));
  if (link) headers.link = link;
  return { status: 200, body: { total_count: all.length, runner_groups: groups }, headers };
}

function list(ctx: Context, req: IncomingMessage, url: URL, scope: ScopeRef, params: Record<string, string | number | boolean>): Reply {
  const requested = Number(params.per_page ?? DEFAULT_PER_PAGE);
  const perPage = requested < 1 ? DEFAULT_PER_PAGE : Math.min(requested, MAX_PER_PAGE);
  const page = Math.max(1, Number(params.page ?? 1));
  const name = typeof params.name === 'string' ? params.name.toLowerCase() : undefined;
  const all = ctx.state.runnersIn(scope).filter((r) => name === undefined || r.name.toLowerCase() === name);
  const runners = all.slice((page - 1) * perPage, page * perPage).map((r) => ctx.state.view(r));
  const lastPage = Math.max(1, Math.ceil(all.length / perPage));
  const headers: Record<string, string> = {};
  const link = linkHeader(req, url, page, lastPage);
  if (link) headers.link = link;
  return { status: 200, body: { total_count: all.length, runners }, headers };
}

/** GitHub's Link header: absolute URLs keeping the caller's query, rels prev, next, last, first. */
function linkHeader(req: IncomingMessage, url: URL, page: number, lastPage: number): string | undefined {
  if (lastPage <= 1 && page <= 1) return undefined;
  const origin = `http://${req.headers.host ?? url.host}`;
  const at = (p: number): string => {
    const u = new URL(url.pathname + url.search, origin);
    u.searchParams.set('page', String(p));
    return `<${u.toString()}>`;
  };
  const parts: string[] = [];
  if (page > 1) parts.push(`${at(Math.min(page - 1, lastPage))}; rel="prev"`);
  if (page < lastPage) parts.push(`${at(page + 1)}; rel="next"`, `${at(lastPage)}; rel="last"`);
  if (page > 1) parts.push(`${at(1)}; rel="first"`);
  return parts.join(', ');
}

function record(ctx: Context, kind: 'request' | 'response', op: Operation, method: string, url: URL, errors: string[], status?: number): void {
  ctx.violations.push({
    at: new Date().toISOString(),
    kind,
    operation_id: op.operationId,
    method,
    path: url.pathname + url.search,
    ...(status === undefined ? {} : { status }),
    errors,
  });
}

/** Validates the answer against the spec; a violation is recorded and turned into a 500. */
function finish(ctx: Context, res: ServerResponse, op: Operation, method: string, url: URL, reply: Reply): void {
  const corrupt = ctx.corruptions.get(op.operationId);
  if (corrupt) {
    ctx.corruptions.delete(op.operationId);
    reply = { ...reply, body: corrupt(reply.body) };
  }
  const errors = ctx.spec.validateResponse(op, reply.status, reply.body);
  if (errors.length > 0) {
    record(ctx, 'response', op, method, url, errors, reply.status);
    const failed = githubError(500, `github stand-in: response violates the OpenAPI spec: ${errors.join('; ')}`);
    send(res, { ...failed, headers: { ...baseHeaders(), ...reply.headers } });
    return;
  }
  send(res, { ...reply, headers: { ...baseHeaders(), ...reply.headers } });
}
