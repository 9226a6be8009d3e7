// A GitHub stand-in with one org (acme, repo acme/widgets) and an admin PAT,
// plus a temp working directory and the environment a user would have, for
// running list/remove/purge as child processes.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startGitHubStandIn, type GitHubStandIn } from '../../standins/github/server.ts';
import { runScript, type ScriptResult } from './cli.ts';

export const PAT = 'ghp_fake_fleet_admin_pat';
export const READONLY_PAT = 'ghp_fake_fleet_readonly_pat';
export const PREFIX = 'lab1-';

export interface Fixture {
  github: GitHubStandIn;
  dir: string;
  env: Record<string, string>;
  run(script: 'list.ts' | 'remove.ts' | 'purge.ts' | 'init.ts', args?: string[], env?: Record<string, string>): Promise<ScriptResult>;
  close(): Promise<void>;
}

export async function startFixture(): Promise<Fixture> {
  const github = await startGitHubStandIn();
  github.addScope('acme');
  github.addScope('acme/widgets');
  github.addScope('other');
  github.addPat({ token: PAT, admin: ['acme'] });
  github.addPat({ token: READONLY_PAT, admin: [] });
  const dir = await mkdtemp(join(tmpdir(), 'fleet-github-'));
  const envFile = join(dir, '.env');
  await writeFile(envFile, `ORG=acme\nGH_PAT=${PAT}\n`, { mode: 0o600 });
  await chmod(envFile, 0o600);
  const env = {
    ENV_FILE: envFile,
    GITHUB_URL: github.url,
    GITHUB_API_URL: github.apiUrl,
    RUNNER_NAME_PREFIX: PREFIX,
    DOCKER_HOST: 'unix:///nonexistent.sock',
    // Small timings: writes 10 ms apart, 5xx retried after 10/40/90 ms.
    GH_API_WRITE_INTERVAL_MS: '10',
    GH_API_RETRY_BASE_MS: '10',
  };
  return {
    github,
    dir,
    env,
    run: (script, args = [], extra = {}) => runScript(script, args, { cwd: dir, env: { ...env, ...extra } }),
    async close() {
      await github.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Fails when `secret` is in any output or in any file under `dir` other than the allowed ones. */
export async function assertSecretNowhere(secret: string, outputs: string[], dir: string, allowed: string[] = []): Promise<void> {
  for (const output of outputs) assert.ok(!output.includes(secret), `a secret leaked into output:\n${output}`);
  for (const entry of await readdir(dir, { recursive: true })) {
    const path = join(dir, entry);
    if (allowed.includes(path) || !(await stat(path)).isFile()) continue;
    assert.ok(!(await readFile(path, 'utf8')).includes(secret), `a secret leaked into ${path}`);
  }
}

/** The names the stand-in still has in `scope`. */
export function registered(github: GitHubStandIn, scope = 'acme'): string[] {
  return github.runners(scope).map((runner) => runner.name);
}

/** One line on stderr, no stack trace. */
export function assertOneErrorLine(result: ScriptResult, pattern: RegExp): void {
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${result.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
}

/** A local port nothing listens on (connections are refused). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
