// Section 3 of PROTOCOL.md: the test control API. The same operations back
// both the HTTP routes under /_standin and the typed in-process methods of
// GitHubStandIn (server.ts), so the two cannot drift apart.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CallCounts } from './accounting.ts';
import type { AppCreated, InstallationInput, PermissionLevel } from './apps.ts';
import type { Context, Violation } from './context.ts';
import type { FaultSpec } from './faults.ts';
import { isRecord, readJson, send, type Reply } from './http.ts';
import {
  ENTERPRISE_KEY_PREFIX,
  parseScope,
  scopeKey,
  type JobView,
  type RunnerGroup,
  type RunnerView,
  type ScopeRef,
  type Step,
  type TokenKind,
} from './state.ts';

export interface PatInput {
  token: string;
  /** Scopes the PAT administers: "org" (includes its repos), "org/repo", or "enterprise:slug" (an enterprise owner's, with manage_runners:enterprise). */
  admin: string[];
}

/** A scope to create: an org or repository, or an enterprise with the orgs in it (whose jobs its runners may take; created too). */
export type ScopeInput = { org: string; repo?: string } | { enterprise: string; orgs?: string[] };

/** Where a seeded runner or an issued token is: an org (`repo`: a repository's), or an enterprise. */
export interface ScopeFields {
  org?: string;
  repo?: string;
  enterprise?: string;
}

export interface SeedInput extends ScopeFields {
  name?: string;
  labels?: string[];
  status?: 'online' | 'offline';
  busy?: boolean;
  /** Seeds `count` runners named `${name_prefix}${i}`, i = 1..count. */
  count?: number;
  name_prefix?: string;
}

export interface JobInput {
  org: string;
  repo?: string;
  repository?: string;
  runs_on?: string[];
  job?: string;
  workflow?: string;
  steps?: Step[];
  env?: Record<string, string>;
  /** The job's cancel-timeout-minutes, carried by its cancel message (default 5). */
  cancel_timeout_minutes?: number;
}

export interface RunnerStateInput {
  status?: 'online' | 'offline';
  busy?: boolean;
}

export interface RunnerGroupInput {
  /** An org, or `enterprise` instead (runner groups belong to orgs and enterprises; a repository has only "Default"). */
  org?: string;
  enterprise?: string;
  name: string;
  /** Default "all"; with "selected", only `repositories` (an org's) or `organizations` (an enterprise's) may use it (visible_to_… filters on it). */
  visibility?: 'all' | 'selected' | 'private';
  repositories?: string[];
  organizations?: string[];
  allows_public_repositories?: boolean;
}

/** A runner group as the control API shows it: an org's (`org`) or an enterprise's (`enterprise`). */
export interface RunnerGroupView {
  id: number;
  org?: string;
  enterprise?: string;
  name: string;
  visibility: 'all' | 'selected' | 'private';
  repositories: string[];
  allows_public_repositories: boolean;
  default: boolean;
}

function groupView(g: RunnerGroup): RunnerGroupView {
  const owner = parseScope(g.owner);
  return {
    id: g.id,
    ...(owner.enterprise !== undefined ? { enterprise: owner.enterprise } : { org: owner.org }),
    name: g.name,
    visibility: g.visibility,
    repositories: [...g.repositories],
    allows_public_repositories: g.allowsPublicRepositories,
    default: g.default,
  };
}

export interface RunnerVersionsInput {
  /** Runners below this version are outdated: refused (with --disableupdate) or sent an update. */
  minimum?: string | null;
  /** The version updates go to (default: minimum). */
  latest?: string | null;
}

export interface JobCreated {
  job_id: number;
  run_id: number;
  run_attempt: number;
}

export interface TokenInput extends ScopeFields {
  kind: TokenKind;
  /** Lifetime in seconds; 0 or negative gives an already expired token. Default 3600. */
  expires_in_s?: number;
}

export interface InstallationView {
  installation_id: number;
  app_id: number;
  org: string;
  permissions: Record<string, PermissionLevel>;
}

function permissionsOf(v: unknown): Record<string, PermissionLevel> {
  if (v === undefined) return {};
  if (!isRecord(v) || !Object.values(v).every((level) => level === 'read' || level === 'write')) {
    throw new ControlError(400, 'permissions must map permission names to "read" or "write"');
  }
  return v as Record<string, PermissionLevel>;
}

/** A rejected control call: the HTTP status and message to answer with. */
export class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ControlError';
  }
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') throw new ControlError(400, `${what} must be a non-empty string`);
  return v;
}

function optStr(v: unknown, what: string): string | undefined {
  return v === undefined ? undefined : str(v, what);
}

function strList(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new ControlError(400, `${what} must be an array of strings`);
  return v;
}

function scopeOf(input: { org?: unknown; repo?: unknown; enterprise?: unknown }): ScopeRef {
  if (input.enterprise !== undefined) {
    if (input.org !== undefined || input.repo !== undefined) throw new ControlError(400, 'an enterprise scope has no org or repo');
    return { enterprise: str(input.enterprise, 'enterprise') };
  }
  const org = str(input.org, 'org');
  const repo = optStr(input.repo, 'repo');
  return repo === undefined ? { org } : { org, repo };
}

/** For messages: acme, acme/widgets or enterprise:octo. */
function scopeText(scope: ScopeRef): string {
  return scope.enterprise !== undefined ? `${ENTERPRISE_KEY_PREFIX}${scope.enterprise}` : `${scope.org}${scope.repo ? `/${scope.repo}` : ''}`;
}

function existingScope(ctx: Context, input: { org?: unknown; repo?: unknown; enterprise?: unknown }): ScopeRef {
  const scope = scopeOf(input);
  if (!ctx.state.hasScope(scope)) throw new ControlError(404, `unknown scope ${scopeText(scope)}`);
  return scope;
}

export const controls = {
  addScope(ctx: Context, input: ScopeInput): ScopeRef {
    const scope = scopeOf(input);
    const orgs = 'orgs' in input && input.orgs !== undefined ? strList(input.orgs, 'orgs') : [];
    ctx.state.addScope(scope, orgs);
    return scope;
  },

  addPat(ctx: Context, input: PatInput): PatInput {
    const token = str(input.token, 'token');
    const admin = strList(input.admin ?? [], 'admin');
    ctx.state.addPat(token, admin);
    return { token, admin };
  },

  seedRunners(ctx: Context, input: SeedInput): RunnerView[] {
    const scope = existingScope(ctx, input);
    const labels = strList(input.labels ?? ['self-hosted', 'Linux', 'X64'], 'labels');
    const status = input.status ?? 'online';
    if (status !== 'online' && status !== 'offline') throw new ControlError(400, 'status must be online or offline');
    const busy = input.busy ?? false;
    if (typeof busy !== 'boolean') throw new ControlError(400, 'busy must be a boolean');
    let names: string[];
    if (input.count !== undefined) {
      if (!Number.isInteger(input.count) || input.count < 1) throw new ControlError(400, 'count must be a positive integer');
      const prefix = optStr(input.name_prefix, 'name_prefix') ?? 'runner-';
      names = Array.from({ length: input.count }, (_, i) => `${prefix}${i + 1}`);
    } else {
      names = [str(input.name, 'name')];
    }
    const key = scopeKey(scope);
    for (const name of names) {
      if (ctx.state.findRunnerByName(key, name)) throw new ControlError(409, `a runner named ${name} exists`);
    }
    return names.map((name) => ctx.state.view(ctx.state.seedRunner(scope, name, labels, status, busy)));
  },

  /** Drives a seeded runner (no simulator behind it) online/offline and busy/idle. */
  driveRunner(ctx: Context, id: number, input: RunnerStateInput): RunnerView {
    const runner = ctx.state.runner(id);
    if (!runner) throw new ControlError(404, `no runner ${id}`);
    if (input.status !== undefined && input.status !== 'online' && input.status !== 'offline') {
      throw new ControlError(400, 'status must be online or offline');
    }
    if (input.busy !== undefined && typeof input.busy !== 'boolean') throw new ControlError(400, 'busy must be a boolean');
    if (!ctx.state.driveSeeded(runner, input)) {
      throw new ControlError(409, `runner ${id} is backed by a runner (simulator): its status follows what it does`);
    }
    return ctx.state.view(runner);
  },

  /** Sends a registered runner an update message (AgentRefreshMessage) on its next poll. */
  updateRunner(ctx: Context, id: number, input: { version?: unknown }): RunnerView {
    const runner = ctx.state.runner(id);
    if (!runner) throw new ControlError(404, `no runner ${id}`);
    if (runner.seeded) throw new ControlError(409, `runner ${id} is seeded: nothing would receive the update`);
    ctx.state.sendMessage(runner, { type: 'update', target_version: str(input.version, 'version') });
    return ctx.state.view(runner);
  },

  /** Sets the minimum (and latest) runner version the server accepts. */
  setRunnerVersions(ctx: Context, input: RunnerVersionsInput): { minimum: string | null; latest: string | null } {
    const minimum = input.minimum === null ? undefined : optStr(input.minimum, 'minimum');
    const latest = input.latest === null ? undefined : optStr(input.latest, 'latest');
    ctx.state.runnerVersions = { minimum, latest: latest ?? minimum };
    return { minimum: minimum ?? null, latest: ctx.state.runnerVersions.latest ?? null };
  },

  /** Adds a self-hosted runner group to an org or enterprise (ids from 2; "Default" is id 1 in every org and enterprise). */
  addRunnerGroup(ctx: Context, input: RunnerGroupInput): RunnerGroupView {
    if ((input as { repo?: unknown }).repo !== undefined) throw new ControlError(400, 'runner groups belong to orgs and enterprises: no repo');
    const scope = existingScope(ctx, { org: input.org, enterprise: input.enterprise });
    const visibility = input.visibility ?? 'all';
    if (!['all', 'selected', 'private'].includes(visibility)) throw new ControlError(400, 'visibility must be all, selected or private');
    const selected = scope.enterprise !== undefined ? strList(input.organizations ?? [], 'organizations') : strList(input.repositories ?? [], 'repositories');
    const allowsPublic = input.allows_public_repositories ?? false;
    if (typeof allowsPublic !== 'boolean') throw new ControlError(400, 'allows_public_repositories must be a boolean');
    const group = ctx.state.addRunnerGroup(scope, {
      name: str(input.name, 'name'),
      visibility,
      repositories: selected,
      allowsPublicRepositories: allowsPublic,
    });
    if (group === 'conflict')
      throw new ControlError(409, `${scope.enterprise !== undefined ? 'enterprise' : 'org'} ${scopeText(scope)} has a runner group named ${input.name}`);
    return groupView(group);
  },

  /** An org's (`acme`) or enterprise's (`enterprise:octo`) runner groups, "Default" first. */
  runnerGroups(ctx: Context, owner: string): RunnerGroupView[] {
    const scope = existingScope(ctx, parseScope(owner));
    if (scope.repo !== undefined) throw new ControlError(400, 'runner groups belong to orgs and enterprises: no repo');
    return ctx.state.runnerGroups(scopeKey(scope)).map(groupView);
  },

  runners(ctx: Context, input: ScopeRef): RunnerView[] {
    return ctx.state.runnersIn(existingScope(ctx, input)).map((r) => ctx.state.view(r));
  },

  enqueueJob(ctx: Context, input: JobInput): JobCreated {
    const scope = existingScope(ctx, { org: input.org, repo: input.repo });
    if (scope.enterprise !== undefined) throw new ControlError(400, 'jobs belong to an org or repository: no enterprise');
    const steps = input.steps ?? [];
    if (!Array.isArray(steps) || !steps.every((s) => isRecord(s) && typeof s.name === 'string' && typeof s.run === 'string')) {
      throw new ControlError(400, 'steps must be an array of {name, run}');
    }
    const env = input.env ?? {};
    if (!isRecord(env) || !Object.values(env).every((v) => typeof v === 'string')) throw new ControlError(400, 'env must map names to strings');
    const cancelTimeout = input.cancel_timeout_minutes ?? undefined;
    if (cancelTimeout !== undefined && !(typeof cancelTimeout === 'number' && cancelTimeout >= 0)) {
      throw new ControlError(400, 'cancel_timeout_minutes must be a non-negative number');
    }
    const job = ctx.state.enqueueJob({
      ...(cancelTimeout === undefined ? {} : { cancelTimeoutMinutes: cancelTimeout }),
      org: scope.org,
      repo: scope.repo,
      repository: optStr(input.repository, 'repository') ?? `${scope.org}/${scope.repo ?? scope.org}`,
      runsOn: strList(input.runs_on ?? ['self-hosted'], 'runs_on'),
      job: optStr(input.job, 'job') ?? 'build',
      workflow: optStr(input.workflow, 'workflow') ?? 'ci',
      steps: steps.map((s) => ({ name: s.name, run: s.run })),
      env: { ...env },
    });
    return { job_id: job.id, run_id: job.runId, run_attempt: job.runAttempt };
  },

  cancelJob(ctx: Context, id: number): JobView {
    const was = ctx.state.cancelJob(id);
    if (was === 'unknown') throw new ControlError(404, `no job ${id}`);
    if (was === 'completed') throw new ControlError(409, `job ${id} has already completed`);
    return controls.job(ctx, id);
  },

  job(ctx: Context, id: number): JobView {
    const job = ctx.state.job(id);
    if (!job) throw new ControlError(404, `no job ${id}`);
    return ctx.state.jobView(job);
  },

  calls(ctx: Context): CallCounts {
    return ctx.calls.snapshot();
  },

  resetCalls(ctx: Context): void {
    ctx.calls.reset();
  },

  injectFault(ctx: Context, input: FaultSpec): FaultSpec[] {
    try {
      ctx.faults.add({ ...input, ...(input.operation === undefined ? {} : { operation: str(input.operation, 'operation') }) });
    } catch (err) {
      throw err instanceof ControlError ? err : new ControlError(400, err instanceof Error ? err.message : String(err));
    }
    return ctx.faults.pending();
  },

  clearFaults(ctx: Context): void {
    ctx.faults.clear();
  },

  violations(ctx: Context): Violation[] {
    return ctx.violations.map((v) => ({ ...v, errors: [...v.errors] }));
  },

  /** A GitHub App with a fresh RS256 key pair; the private key (PEM) is returned, the public key kept. */
  createApp(ctx: Context, input: { name?: unknown }): AppCreated {
    return ctx.apps.createApp(optStr(input.name, 'name'));
  },

  /** Installs an App on an org (all repositories, or the ones named) with the permissions given. */
  installApp(ctx: Context, input: InstallationInput): InstallationView {
    if (!Number.isInteger(input.app_id) || !ctx.apps.hasApp(input.app_id)) throw new ControlError(404, `no app ${String(input.app_id)}`);
    existingScope(ctx, { org: input.org });
    const repositories = input.repositories === undefined ? undefined : strList(input.repositories, 'repositories');
    const permissions = permissionsOf(input.permissions);
    const ttl = input.token_ttl_s;
    if (ttl !== undefined && typeof ttl !== 'number') throw new ControlError(400, 'token_ttl_s must be a number');
    const rec = ctx.apps.install({
      app_id: input.app_id,
      org: input.org,
      ...(repositories ? { repositories } : {}),
      permissions,
      ...(ttl === undefined ? {} : { token_ttl_s: ttl }),
    });
    return { installation_id: rec.id, app_id: rec.appId, org: rec.org, permissions: { ...rec.permissions } };
  },

  /** Replaces an installation's permissions (metadata: read stays). */
  setInstallationPermissions(ctx: Context, id: number, input: { permissions?: unknown }): InstallationView {
    const rec = ctx.apps.setPermissions(id, permissionsOf(input.permissions));
    if (!rec) throw new ControlError(404, `no installation ${id}`);
    return { installation_id: rec.id, app_id: rec.appId, org: rec.org, permissions: { ...rec.permissions } };
  },

  issueToken(ctx: Context, input: TokenInput): { token: string; expires_at: string } {
    const scope = existingScope(ctx, input);
    if (input.kind !== 'registration' && input.kind !== 'remove') throw new ControlError(400, 'kind must be registration or remove');
    const rec = ctx.state.issueToken(scope, input.kind, (input.expires_in_s ?? 3600) * 1000);
    return { token: rec.token, expires_at: new Date(rec.expiresAt).toISOString() };
  },
};

type Handler = (ctx: Context, body: Record<string, unknown>, url: URL, id: number) => Reply;

const ok = (status: number, body?: unknown): Reply => (body === undefined ? { status } : { status, body });

/** Routes: [method, pattern with an optional (\d+) id, handler]. */
const routes: [string, RegExp, Handler][] = [
  ['POST', /^\/scopes$/, (c, b) => ok(201, controls.addScope(c, b as unknown as ScopeInput))],
  ['POST', /^\/pats$/, (c, b) => ok(201, controls.addPat(c, b as unknown as PatInput))],
  ['POST', /^\/runners$/, (c, b) => ok(201, { runners: controls.seedRunners(c, b) })],
  [
    'GET',
    /^\/runners$/,
    (c, _b, u) =>
      ok(200, {
        runners: controls.runners(
          c,
          scopeOf({
            org: u.searchParams.get('org') ?? undefined,
            repo: u.searchParams.get('repo') ?? undefined,
            enterprise: u.searchParams.get('enterprise') ?? undefined,
          }),
        ),
      }),
  ],
  ['POST', /^\/runner-groups$/, (c, b) => ok(201, controls.addRunnerGroup(c, b as unknown as RunnerGroupInput))],
  [
    'GET',
    /^\/runner-groups$/,
    (c, _b, u) => {
      const enterprise = u.searchParams.get('enterprise');
      return ok(200, {
        runner_groups: controls.runnerGroups(c, enterprise === null ? (u.searchParams.get('org') ?? '') : `${ENTERPRISE_KEY_PREFIX}${enterprise}`),
      });
    },
  ],
  ['POST', /^\/runners\/(\d+)\/state$/, (c, b, _u, id) => ok(200, controls.driveRunner(c, id, b))],
  ['POST', /^\/runners\/(\d+)\/update$/, (c, b, _u, id) => ok(202, controls.updateRunner(c, id, b))],
  ['POST', /^\/runner-versions$/, (c, b) => ok(200, controls.setRunnerVersions(c, b))],
  ['POST', /^\/jobs$/, (c, b) => ok(201, controls.enqueueJob(c, b as unknown as JobInput))],
  ['POST', /^\/jobs\/(\d+)\/cancel$/, (c, _b, _u, id) => ok(202, controls.cancelJob(c, id))],
  ['GET', /^\/jobs\/(\d+)$/, (c, _b, _u, id) => ok(200, controls.job(c, id))],
  ['GET', /^\/calls$/, (c) => ok(200, controls.calls(c))],
  ['DELETE', /^\/calls$/, (c) => (controls.resetCalls(c), ok(204))],
  ['POST', /^\/faults$/, (c, b) => ok(201, { pending: controls.injectFault(c, b as unknown as FaultSpec) })],
  ['GET', /^\/faults$/, (c) => ok(200, { pending: c.faults.pending() })],
  ['DELETE', /^\/faults$/, (c) => (controls.clearFaults(c), ok(204))],
  ['GET', /^\/violations$/, (c) => ok(200, controls.violations(c))],
  ['POST', /^\/tokens$/, (c, b) => ok(201, controls.issueToken(c, b as unknown as TokenInput))],
  ['POST', /^\/apps$/, (c, b) => ok(201, controls.createApp(c, b))],
  ['POST', /^\/installations$/, (c, b) => ok(201, controls.installApp(c, b as unknown as InstallationInput))],
  ['POST', /^\/installations\/(\d+)\/permissions$/, (c, b, _u, id) => ok(200, controls.setInstallationPermissions(c, id, b))],
  ['GET', /^\/installation-tokens$/, (c) => ok(200, { tokens: c.apps.issuedTokens() })],
];

export async function handleControl(ctx: Context, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const path = url.pathname.slice('/_standin'.length);
  const method = req.method ?? 'GET';
  const body = await readJson(req);
  const route = routes.find(([m, re]) => m === method && re.test(path));
  if (!route) return send(res, { status: 404, body: { message: `no control route ${method} ${url.pathname}` } });
  if (!body.ok) return send(res, { status: 400, body: { message: `body is not JSON: ${body.error}` } });
  if (body.value !== undefined && !isRecord(body.value)) return send(res, { status: 400, body: { message: 'body must be a JSON object' } });
  const id = Number(route[1].exec(path)?.[1] ?? NaN);
  try {
    send(res, route[2](ctx, body.value ?? {}, url, id));
  } catch (err) {
    if (err instanceof ControlError) return send(res, { status: err.status, body: { message: err.message } });
    throw err;
  }
}
