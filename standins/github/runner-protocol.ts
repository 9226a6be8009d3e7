// Section 2 of PROTOCOL.md: what the runner simulator talks in place of the
// (non-public) actions/runner ↔ Actions service protocol. Registration with a
// RemoteAuth token, agents, sessions, long-poll job assignment and job events.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from './context.ts';
import { credentials, isRecord, readJson, send, type Reply } from './http.ts';
import { parseScope, type Grant, type RunnerRecord, type ScopeRef } from './state.ts';

const MAX_POLL_MS = 25_000;
const NOT_FOUND: Reply = { status: 404, body: { message: 'Not Found' } };
const BAD_CREDENTIALS: Reply = { status: 401, body: { message: 'Bad credentials' } };
/**
 * Errors of the Actions service carry a `typeKey` naming the exception the
 * runner's client raises (GitHub.Services.WebApi); the Listener reacts to the
 * type (Runner.Listener/MessageListener.cs, Runner.cs).
 */
const typed = (status: number, typeKey: string, message: string): Reply => ({ status, body: { message, typeKey } });
const HOOKS = new Set(['job_started', 'job_completed']);
const CONCLUSIONS = new Set(['success', 'failure', 'cancelled']);

function bearer(req: IncomingMessage): string | undefined {
  const c = credentials(req);
  return c?.scheme === 'bearer' ? c.token : undefined;
}

/**
 * `<GITHUB_URL>/<org>[/<repo>]` or `<GITHUB_URL>/enterprises/<slug>` → scope
 * (a first segment `enterprises`, any case, is an enterprise, as actions/runner
 * reads it: ConfigurationManager.cs GetEntityUrl). The URL must be on this
 * server's GITHUB_URL (scheme, host and port), as GitHub only knows its own
 * organizations: anything else is 'elsewhere' (answered 404 like any token
 * GitHub does not accept there).
 */
function scopeFromUrl(raw: unknown, gitHubUrl: string): ScopeRef | 'elsewhere' | undefined {
  if (typeof raw !== 'string') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (url.origin !== new URL(gitHubUrl).origin) return 'elsewhere';
  const parts = url.pathname
    .split('/')
    .filter((p) => p !== '')
    .map(decodeURIComponent);
  if (parts.length === 1 && parts[0]) return { org: parts[0] };
  if (parts.length === 2 && parts[0]?.toLowerCase() === 'enterprises' && parts[1]) return { enterprise: parts[1] };
  if (parts.length === 2 && parts[0] && parts[1]) return { org: parts[0], repo: parts[1] };
  return undefined;
}

/** POST /api/v3/actions/runner-registration (Authorization: RemoteAuth <token>). */
export async function handleRegistration(ctx: Context, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJson(req);
  if (req.method !== 'POST') return send(res, NOT_FOUND);
  const c = credentials(req);
  if (!body.ok || !isRecord(body.value)) return send(res, { status: 400, body: { message: 'body must be a JSON object' } });
  const event = body.value.runner_event ?? 'register';
  if (event !== 'register' && event !== 'remove') return send(res, { status: 400, body: { message: 'runner_event must be register or remove' } });
  const scope = scopeFromUrl(body.value.url, ctx.gitHubUrl);
  if (!scope) return send(res, { status: 400, body: { message: 'url must be <GITHUB_URL>/<org>[/<repo>] or <GITHUB_URL>/enterprises/<slug>' } });
  if (scope === 'elsewhere') return send(res, NOT_FOUND);
  // GitHub answers 404 for any token it does not accept here: bad, expired, wrong scope or kind.
  const kind = event === 'register' ? 'registration' : 'remove';
  if (c?.scheme !== 'remoteauth' || !ctx.state.checkToken(c.token, kind, scope)) return send(res, NOT_FOUND);
  const grant = ctx.state.issueGrant(event, scope);
  send(res, {
    status: 200,
    body: { url: `http://${req.headers.host ?? '127.0.0.1'}/_runner`, token: grant.token, token_schema: 'OAuthAccessToken' },
  });
}

/** Everything under /_runner. */
export async function handleRunner(ctx: Context, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const body = await readJson(req);
  if (!body.ok) return send(res, { status: 400, body: { message: `body is not JSON: ${body.error}` } });
  const path = url.pathname.slice('/_runner'.length);
  const method = req.method ?? 'GET';
  let m: RegExpExecArray | null;

  if (method === 'POST' && path === '/agents') return send(res, createAgent(ctx, req, body.value));
  if (method === 'DELETE' && (m = /^\/agents\/(\d+)$/.exec(path))) return send(res, deleteAgent(ctx, req, Number(m[1])));
  if (method === 'DELETE' && (m = /^\/sessions\/([^/]+)$/.exec(path))) {
    // Idempotent: a runner deleted meanwhile (e.g. ephemeral after its job) may still say goodbye.
    const runner = ctx.state.runnerByToken(bearer(req) ?? '');
    if (runner && runner.sessionId === m[1]) ctx.state.closeSession(runner);
    return send(res, { status: 204 });
  }

  const token = bearer(req) ?? '';
  const runner = ctx.state.runnerByToken(token);
  if (!runner) {
    // A deleted runner's poll: the service knows the agent is gone (TaskAgentNotFoundException,
    // which actions/runner 2.336 answers by deleting its local config). Anything else of an
    // unknown or deleted runner fails its authentication (its OAuth client is gone: invalid_client).
    const retired = ctx.state.retiredRunnerName(token);
    if (retired !== undefined && method === 'GET' && path === '/jobs/next') {
      return send(res, typed(404, 'TaskAgentNotFoundException', `No runner named ${retired} exists: it was deleted.`));
    }
    return send(res, BAD_CREDENTIALS);
  }
  // Asking for a session is not a heartbeat of the previous one (else a conflict could never expire).
  if (method === 'POST' && path === '/sessions') return send(res, openSession(ctx, runner, body.value));
  ctx.state.touch(runner); // every other runner request is a heartbeat
  if (method === 'GET' && path === '/jobs/next') return nextJob(ctx, res, url, runner);
  if ((m = /^\/jobs\/(\d+)(\/events)?$/.exec(path))) {
    const job = ctx.state.job(Number(m[1]));
    if (!job || job.runnerId !== runner.id) return send(res, { status: 404, body: { message: 'job not assigned to this runner' } });
    if (method === 'GET' && !m[2]) return send(res, { status: 200, body: { cancelled: job.cancelRequested } });
    if (method === 'POST' && m[2]) {
      const problem = checkEvent(body.value);
      if (problem) return send(res, { status: 400, body: { message: problem } });
      ctx.state.recordEvent(job, runner, { ...(body.value as Record<string, unknown>) });
      return send(res, { status: 200, body: { ok: true } });
    }
  }
  send(res, NOT_FOUND);
}

/**
 * POST /_runner/sessions. 409 while the runner's previous session is alive
 * (TaskAgentSessionConflictException); 403 for an outdated runner that may not
 * update (AccessDeniedException: the runner exits); an outdated runner that may
 * update gets its session and an update message.
 */
function openSession(ctx: Context, runner: RunnerRecord, body: unknown): Reply {
  const info = isRecord(body) ? body : {};
  const version = typeof info.version === 'string' ? info.version : undefined;
  const disableUpdate = info.disable_update === true;
  const os = typeof info.os === 'string' && info.os !== '' ? info.os : undefined;
  if (ctx.state.isOutdated(version) && disableUpdate) {
    return { status: 403, body: { message: `Runner version v${version ?? 'unknown'} is deprecated and cannot receive messages.` } };
  }
  const session = ctx.state.openSession(runner, { version, disableUpdate, ...(os === undefined ? {} : { os }) });
  if (session === 'conflict') {
    return { status: 409, body: { message: `A session for runner ${runner.name} already exists` } };
  }
  const { latest, minimum } = ctx.state.runnerVersions;
  if (ctx.state.isOutdated(version)) ctx.state.sendMessage(runner, { type: 'update', target_version: latest ?? minimum ?? '' });
  return { status: 200, body: { session_id: session } };
}

function grantFor(ctx: Context, req: IncomingMessage, event: Grant['event']): Grant | undefined {
  const grant = ctx.state.grant(bearer(req) ?? '');
  return grant?.event === event ? grant : undefined;
}

function createAgent(ctx: Context, req: IncomingMessage, body: unknown): Reply {
  const grant = grantFor(ctx, req, 'register');
  if (!grant) return BAD_CREDENTIALS;
  if (!isRecord(body) || typeof body.name !== 'string' || body.name === '') return { status: 400, body: { message: 'name is required' } };
  const labels = body.labels ?? [];
  if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string' && l !== '')) {
    return { status: 400, body: { message: 'labels must be an array of strings' } };
  }
  const groupName = body.runner_group ?? 'Default';
  // ConfigurationManager.cs: the group is looked up by name, case-insensitively (a repository has only "Default").
  const group = typeof groupName === 'string' ? ctx.state.runnerGroupNamed(parseScope(grant.scope), groupName) : undefined;
  // The message echoes whatever was sent, a non-string as String() gives it.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  if (!group) return { status: 404, body: { message: `Could not find any self-hosted runner group named "${String(groupName)}".` } };
  const runner = ctx.state.registerRunner({
    groupId: group.id,
    scope: grant.scope,
    name: body.name,
    labels: labels as string[],
    os: typeof body.os === 'string' ? body.os : 'Linux',
    ephemeral: body.ephemeral === true,
    noDefaultLabels: body.no_default_labels === true,
    replace: body.replace === true,
  });
  if (runner === 'conflict') return { status: 409, body: { message: 'A runner exists with the same name' } };
  return {
    status: 200,
    body: {
      id: runner.id,
      name: runner.name,
      labels: runner.labels.map((l) => l.name),
      runner_group: { id: group.id, name: group.name },
      credentials: { runner_token: runner.runnerToken },
    },
  };
}

function deleteAgent(ctx: Context, req: IncomingMessage, id: number): Reply {
  const grant = grantFor(ctx, req, 'remove');
  if (!grant) return BAD_CREDENTIALS;
  const runner = ctx.state.runner(id);
  if (!runner || runner.scope !== grant.scope) return NOT_FOUND;
  ctx.state.deleteRunner(id);
  return { status: 204 };
}

/** Long poll: holds the request until a job is assigned, wait_ms passes or the client leaves. */
async function nextJob(ctx: Context, res: ServerResponse, url: URL, runner: RunnerRecord): Promise<void> {
  const sessionId = url.searchParams.get('session_id');
  if (!sessionId || sessionId !== runner.sessionId) {
    // TaskAgentSessionExpiredException: the runner opens a new session (MessageListener.cs).
    return send(res, typed(404, 'TaskAgentSessionExpiredException', 'session not found'));
  }
  const requested = Number(url.searchParams.get('wait_ms') ?? MAX_POLL_MS);
  const waitMs = Number.isFinite(requested) ? Math.max(0, Math.min(requested, MAX_POLL_MS)) : MAX_POLL_MS;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), waitMs);
  const onClose = (): void => abort.abort();
  res.on('close', onClose);
  runner.activePolls++;
  try {
    const delivery = await ctx.state.waitForAssignment(runner, abort.signal);
    if (!delivery) return send(res, { status: 204 });
    if ('message' in delivery) {
      if (res.destroyed) return ctx.state.requeueMessage(delivery.message, runner);
      return send(res, { status: 200, body: delivery.message });
    }
    if (res.destroyed) return ctx.state.requeue(delivery.job, runner); // the runner left just as the job came
    send(res, { status: 200, body: ctx.state.jobMessage(delivery.job) });
  } finally {
    clearTimeout(timer);
    res.off('close', onClose);
    runner.activePolls--;
    ctx.state.touch(runner);
  }
}

function checkEvent(v: unknown): string | undefined {
  if (!isRecord(v)) return 'event body must be a JSON object';
  const output = v.output === undefined || typeof v.output === 'string';
  switch (v.event) {
    case 'started':
      return undefined;
    case 'hook':
      return HOOKS.has(String(v.hook)) && typeof v.exit_code === 'number' && output
        ? undefined
        : 'hook event needs hook (job_started|job_completed), exit_code (number), output (string)';
    case 'step':
      return typeof v.name === 'string' && typeof v.exit_code === 'number' && output
        ? undefined
        : 'step event needs name (string), exit_code (number), output (string)';
    case 'completed':
      return CONCLUSIONS.has(String(v.conclusion)) ? undefined : 'completed event needs conclusion (success|failure|cancelled)';
    default:
      return 'event must be started, hook, step or completed';
  }
}
