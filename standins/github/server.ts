// The GitHub stand-in: one HTTP server on 127.0.0.1 serving PROTOCOL.md
// sections 1 (REST, under /api/v3), 2 (runner protocol) and 3 (/_standin),
// plus typed in-process controls for tests.
//
//   const stand-in = await startGitHubStandIn();
//   new Octokit({ auth: 'pat', baseUrl: stand-in.apiUrl });

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Calls, RateLimiter, type CallCounts } from './accounting.ts';
import { Apps, type AppCreated, type InstallationInput, type PermissionLevel } from './apps.ts';
import type { Context, Corruption, Violation } from './context.ts';
import {
  controls,
  type InstallationView,
  type JobCreated,
  type JobInput,
  type PatInput,
  type RunnerGroupInput,
  type RunnerGroupView,
  type RunnerStateInput,
  type RunnerVersionsInput,
  type ScopeInput,
  type SeedInput,
  type TokenInput,
} from './control.ts';
import { handleControl } from './control.ts';
import { Faults, type FaultSpec } from './faults.ts';
import { send } from './http.ts';
import { API_PREFIX, handleRest } from './rest.ts';
import { handleRegistration, handleRunner } from './runner-protocol.ts';
import { Spec } from './spec.ts';
import { parseScope, State, type JobView, type RunnerView, type ScopeRef } from './state.ts';

export type {
  AppCreated,
  CallCounts,
  InstallationInput,
  InstallationView,
  PermissionLevel,
  FaultSpec,
  JobCreated,
  JobInput,
  JobView,
  PatInput,
  RunnerGroupInput,
  RunnerGroupView,
  RunnerStateInput,
  RunnerVersionsInput,
  RunnerView,
  ScopeInput,
  ScopeRef,
  SeedInput,
  TokenInput,
  Violation,
};
export { ControlError } from './control.ts';
export { eventOutput } from './state.ts';

export interface GitHubStandInOptions {
  /** 0 picks a free port on 127.0.0.1. Default: see `portless`. */
  port?: number;
  /**
   * Listen on port 80 of a random 127.x.y.z address, so that GITHUB_URL has
   * no port: actions/runner drops the port of a GHES URL when it builds the
   * runner-registration URL (ConfigurationManager.cs), so only a GitHub on
   * its scheme's default port can be registered with. Needs root (or
   * CAP_NET_BIND_SERVICE). Default: on when running as root and no `port` is
   * given, unless STANDIN_PORTLESS=0; falls back to a random port otherwise.
   */
  portless?: boolean;
  /** A runner that has not polled for this long is offline (default 5000). */
  offlineAfterMs?: number;
  /**
   * A session the runner did not delete (killed Listener) blocks a new one
   * until the runner has been silent this long (default 120000; GitHub keeps
   * such sessions for minutes, which is why the runner retries conflicts for 4).
   */
  sessionExpiryMs?: number;
}

export interface GitHubStandIn {
  /** GITHUB_URL, e.g. http://127.0.0.1:PORT */
  readonly url: string;
  /** GITHUB_API_URL, e.g. http://127.0.0.1:PORT/api/v3 (octokit's baseUrl) */
  readonly apiUrl: string;
  readonly port: number;
  /** Spec violations recorded so far (a copy); tests should assert it stays empty. */
  readonly violations: Violation[];
  /**
   * An org (`acme`), a repository (`acme/widgets`), or an enterprise
   * (`enterprise:octo`, or `{ enterprise, orgs }` with the orgs whose jobs its runners take).
   */
  addScope(scope: ScopeInput | string): void;
  addPat(pat: PatInput): void;
  seedRunners(seed: SeedInput): RunnerView[];
  runners(scope: ScopeRef | string): RunnerView[];
  /** Adds a self-hosted runner group to an org or enterprise ("Default", id 1, is always there). */
  addRunnerGroup(input: RunnerGroupInput): RunnerGroupView;
  /** An org's (`acme`) or enterprise's (`enterprise:octo`) runner groups, "Default" first. */
  runnerGroups(owner: string): RunnerGroupView[];
  /** The encoded JIT configs generate-jitconfig handed out for runners of this name, oldest first (in-process only). */
  jitConfigsIssued(name: string): string[];
  enqueueJob(job: JobInput): JobCreated;
  cancelJob(jobId: number): JobView;
  job(jobId: number): JobView | undefined;
  /** Resolves with the job once `predicate` holds; rejects after timeoutMs (default 10000). */
  waitForJob(jobId: number, predicate: (job: JobView) => boolean, timeoutMs?: number): Promise<JobView>;
  calls(): CallCounts;
  resetCalls(): void;
  injectFault(fault: FaultSpec): void;
  clearFaults(): void;
  /** Issues a registration/remove token directly (expires_in_s ≤ 0 gives an expired one). */
  issueToken(input: TokenInput): { token: string; expires_at: string };
  /** Sets a seeded runner's status/busy (a simulator-backed runner's follow what it does). */
  driveRunner(runnerId: number, state: RunnerStateInput): RunnerView;
  /** Sends a runner an update message on its next poll. */
  updateRunner(runnerId: number, version: string): RunnerView;
  /** Minimum (and latest) runner version: outdated runners are refused (--disableupdate) or updated. */
  setRunnerVersions(versions: RunnerVersionsInput): void;
  /** Makes a token created through section 1 (registration, remove or installation access token) expire now. */
  expireToken(token: string): boolean;
  /** A GitHub App with an RS256 key pair made now; its private key (PEM) is in the answer. */
  createApp(name?: string): AppCreated;
  /** Installs an App on an org (all its repositories, or `repositories`) with `permissions`. */
  installApp(input: InstallationInput): InstallationView;
  /** Replaces an installation's permissions (metadata: read is always granted). */
  setInstallationPermissions(installationId: number, permissions: Record<string, PermissionLevel>): InstallationView;
  /** Every installation access token issued so far (to look for leaks). */
  installationTokens(): string[];
  /** Test-only: the next response of `operationId` gets its body rewritten (to prove validation catches it). */
  corruptNextResponse(operationId: string, corrupt: Corruption): void;
  close(): Promise<void>;
}

function route(ctx: Context, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const p = url.pathname;
  if (p === `${API_PREFIX}/actions/runner-registration`) return handleRegistration(ctx, req, res);
  if (p.startsWith(`${API_PREFIX}/`)) return handleRest(ctx, req, res, url);
  if (p.startsWith('/_runner/')) return handleRunner(ctx, req, res, url);
  if (p.startsWith('/_standin/')) return handleControl(ctx, req, res, url);
  req.resume();
  send(res, { status: 404, body: { message: 'Not Found' } });
  return Promise.resolve();
}

// The compiled spec holds no state: compile it once per process (~0.2 s).
let sharedSpec: Spec | undefined;

/** A random loopback address (127.0.0.0/8 all reaches lo on Linux), never 127.0.0.1 itself. */
function randomLoopback(): string {
  const b = () => 1 + Math.floor(Math.random() * 254);
  return `127.${b()}.${b()}.${b()}`;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function wantPortless(opts: GitHubStandInOptions): boolean {
  if (opts.portless !== undefined) return opts.portless;
  if (opts.port !== undefined || process.env.STANDIN_PORTLESS === '0') return false;
  return process.env.STANDIN_PORTLESS === '1' || process.getuid?.() === 0;
}

export async function startGitHubStandIn(opts: GitHubStandInOptions = {}): Promise<GitHubStandIn> {
  const offlineAfterMs = opts.offlineAfterMs ?? 5000;
  const ctx: Context = {
    gitHubUrl: '',
    state: new State(offlineAfterMs, opts.sessionExpiryMs),
    apps: new Apps(),
    spec: (sharedSpec ??= Spec.load()),
    calls: new Calls(),
    rateLimiter: new RateLimiter(),
    faults: new Faults(),
    violations: [],
    corruptions: new Map(),
  };
  const server: Server = createServer((req, res) => {
    route(ctx, req, res).catch((err: unknown) => {
      // A bug in the stand-in: answer 500 and say so on stderr, the test will fail on it.
      process.stderr.write(`github stand-in: ${req.method} ${req.url}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      send(res, { status: 500, body: { message: 'stand-in internal error' } });
    });
  });
  server.keepAliveTimeout = 30_000;
  let host = '127.0.0.1';
  let bound = false;
  if (wantPortless(opts)) {
    for (let attempt = 0; attempt < 8 && !bound; attempt++) {
      host = randomLoopback();
      bound = await listen(server, 80, host).then(
        () => true,
        () => false,
      );
    }
    if (!bound && opts.portless === true) throw new Error('github stand-in: could not listen on port 80 of a loopback address (needs root)');
    if (!bound) host = '127.0.0.1';
  }
  if (!bound) await listen(server, opts.port ?? 0, host);
  // Offline runners lose their job (and stop being busy) without anyone asking.
  const sweeper = setInterval(() => ctx.state.sweep(), Math.max(25, Math.min(500, offlineAfterMs / 5)));
  sweeper.unref();

  const port = (server.address() as AddressInfo).port;
  const url = port === 80 ? `http://${host}` : `http://${host}:${port}`;
  ctx.gitHubUrl = url;
  const scopeOf = (s: ScopeRef | string): ScopeRef => parseScope(s);

  return {
    url,
    apiUrl: `${url}${API_PREFIX}`,
    port,
    get violations() {
      return controls.violations(ctx);
    },
    addScope: (scope) => void controls.addScope(ctx, typeof scope === 'string' ? parseScope(scope) : scope),
    addPat: (pat) => void controls.addPat(ctx, pat),
    seedRunners: (seed) => controls.seedRunners(ctx, seed),
    runners: (scope) => controls.runners(ctx, scopeOf(scope)),
    addRunnerGroup: (input) => controls.addRunnerGroup(ctx, input),
    runnerGroups: (owner) => controls.runnerGroups(ctx, owner),
    jitConfigsIssued: (name) => ctx.state.jitConfigsIssued(name),
    enqueueJob: (job) => controls.enqueueJob(ctx, job),
    cancelJob: (id) => controls.cancelJob(ctx, id),
    job: (id) => {
      const job = ctx.state.job(id);
      return job && ctx.state.jobView(job);
    },
    waitForJob(id, predicate, timeoutMs = 10_000) {
      return new Promise<JobView>((resolve, reject) => {
        const check = (): boolean => {
          const job = ctx.state.job(id);
          if (!job || !predicate(ctx.state.jobView(job))) return false;
          cleanup();
          resolve(ctx.state.jobView(job));
          return true;
        };
        const onJob = (): void => void check();
        const timer = setTimeout(() => {
          cleanup();
          const job = ctx.state.job(id);
          reject(new Error(`waitForJob(${id}) timed out after ${timeoutMs} ms; job: ${JSON.stringify(job && ctx.state.jobView(job))}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          ctx.state.events.off('job', onJob);
        };
        ctx.state.events.on('job', onJob);
        check();
      });
    },
    calls: () => controls.calls(ctx),
    resetCalls: () => controls.resetCalls(ctx),
    injectFault: (fault) => void controls.injectFault(ctx, fault),
    clearFaults: () => controls.clearFaults(ctx),
    issueToken: (input) => controls.issueToken(ctx, input),
    expireToken: (token) => ctx.state.expireToken(token) || ctx.apps.expireToken(token),
    createApp: (name) => controls.createApp(ctx, { name }),
    installApp: (input) => controls.installApp(ctx, input),
    setInstallationPermissions: (id, permissions) => controls.setInstallationPermissions(ctx, id, { permissions }),
    installationTokens: () => ctx.apps.issuedTokens(),
    driveRunner: (id, state) => controls.driveRunner(ctx, id, state),
    updateRunner: (id, version) => controls.updateRunner(ctx, id, { version }),
    setRunnerVersions: (versions) => void controls.setRunnerVersions(ctx, versions),
    corruptNextResponse: (operationId, corrupt) => void ctx.corruptions.set(operationId, corrupt),
    async close() {
      clearInterval(sweeper);
      ctx.state.releasePollers();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
