// The GitHub emulator: one HTTP server on 127.0.0.1 serving PROTOCOL.md
// sections 1 (REST, under /api/v3), 2 (runner protocol) and 3 (/_emulator),
// plus typed in-process controls for tests.
//
//   const emulator = await startEmulator();
//   new Octokit({ auth: 'pat', baseUrl: emulator.apiUrl });

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Calls, RateLimiter, type CallCounts } from './accounting.ts';
import type { Context, Corruption, Violation } from './context.ts';
import { controls, type JobCreated, type JobInput, type PatInput, type SeedInput, type TokenInput } from './control.ts';
import { handleControl } from './control.ts';
import { Faults, type FaultSpec } from './faults.ts';
import { send } from './http.ts';
import { API_PREFIX, handleRest } from './rest.ts';
import { handleRegistration, handleRunner } from './runner-protocol.ts';
import { Spec } from './spec.ts';
import { parseScope, State, type JobView, type RunnerView, type ScopeRef } from './state.ts';

export type { CallCounts, FaultSpec, JobCreated, JobInput, JobView, PatInput, RunnerView, ScopeRef, SeedInput, TokenInput, Violation };
export { ControlError } from './control.ts';

export interface EmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** A runner that has not polled for this long is offline (default 5000). */
  offlineAfterMs?: number;
}

export interface Emulator {
  /** GITHUB_URL, e.g. http://127.0.0.1:PORT */
  readonly url: string;
  /** GITHUB_API_URL, e.g. http://127.0.0.1:PORT/api/v3 (octokit's baseUrl) */
  readonly apiUrl: string;
  readonly port: number;
  /** Spec violations recorded so far (a copy); tests should assert it stays empty. */
  readonly violations: Violation[];
  addScope(scope: ScopeRef | string): void;
  addPat(pat: PatInput): void;
  seedRunners(seed: SeedInput): RunnerView[];
  runners(scope: ScopeRef | string): RunnerView[];
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
  /** Makes a token created through section 1 expire now. */
  expireToken(token: string): boolean;
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
  if (p.startsWith('/_emulator/')) return handleControl(ctx, req, res, url);
  req.resume();
  send(res, { status: 404, body: { message: 'Not Found' } });
  return Promise.resolve();
}

// The compiled spec holds no state: compile it once per process (~0.2 s).
let sharedSpec: Spec | undefined;

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const offlineAfterMs = opts.offlineAfterMs ?? 5000;
  const ctx: Context = {
    state: new State(offlineAfterMs),
    spec: (sharedSpec ??= Spec.load()),
    calls: new Calls(),
    rateLimiter: new RateLimiter(),
    faults: new Faults(),
    violations: [],
    corruptions: new Map(),
  };
  const server: Server = createServer((req, res) => {
    route(ctx, req, res).catch((err: unknown) => {
      // A bug in the emulator: answer 500 and say so on stderr, the test will fail on it.
      process.stderr.write(`emulator: ${req.method} ${req.url}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      send(res, { status: 500, body: { message: 'emulator internal error' } });
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  // Offline runners lose their job (and stop being busy) without anyone asking.
  const sweeper = setInterval(() => ctx.state.sweep(), Math.max(25, Math.min(500, offlineAfterMs / 5)));
  sweeper.unref();

  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const scopeOf = (s: ScopeRef | string): ScopeRef => parseScope(s);

  return {
    url,
    apiUrl: `${url}${API_PREFIX}`,
    port,
    get violations() {
      return controls.violations(ctx);
    },
    addScope: (scope) => void controls.addScope(ctx, scopeOf(scope)),
    addPat: (pat) => void controls.addPat(ctx, pat),
    seedRunners: (seed) => controls.seedRunners(ctx, seed),
    runners: (scope) => controls.runners(ctx, scopeOf(scope)),
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
    expireToken: (token) => ctx.state.expireToken(token),
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
