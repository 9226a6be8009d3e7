// The script suites' ground (startGround without an engine): the GitHub
// stand-in with one org (acme, repo acme/widgets), an org nobody administers
// (other), an admin and a read-only PAT, a temporary working directory with an
// env file, and the environment a user would have, for running
// list/remove/purge/init as child processes.
import assert from 'node:assert/strict';
import { CliError } from '../../core/errors.ts';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Runner } from '../../lib/github/runner-api.ts';
import type { GitHubStandIn } from '../../standins/github/server.ts';
import type { ScriptResult } from './cli.ts';
import { startGround, type Ground } from './ground.ts';

export const PAT = 'ghp_fake_fleet_admin_pat';
export const READONLY_PAT = 'ghp_fake_fleet_readonly_pat';
export const PREFIX = 'lab1-';

export type Fixture = Ground;

export async function startFixture(): Promise<Fixture> {
  const fixture = await startGround('github', {
    docker: false,
    orgs: { acme: PAT },
    scopes: ['acme/widgets', 'other'],
    pats: [{ token: READONLY_PAT, admin: [] }],
    standIn: {},
    scriptTimeoutMs: 60_000,
    env: (github) => ({
      GITHUB_URL: github.url,
      GITHUB_API_URL: github.apiUrl,
      RUNNER_NAME_PREFIX: PREFIX,
      // Small timings: writes 10 ms apart, 5xx retried after 10/40/90 ms.
      GH_API_WRITE_INTERVAL_MS: '10',
      GH_API_RETRY_BASE_MS: '10',
    }),
  });
  await writeFile(fixture.env.ENV_FILE!, `ORG=acme\nGH_PAT=${PAT}\n`, { mode: 0o600 });
  return fixture;
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

/**
 * The CliError `promise` fails with: one line, no secret of `secrets` in it
 * (fails the test when it resolves or throws anything else).
 */
export async function cliFailure(promise: Promise<unknown>, secrets: string[]): Promise<CliError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof CliError, `expected a CliError, got ${String(err)}`);
    assert.doesNotMatch(err.message, /\n/, 'one line');
    for (const secret of secrets) assert.ok(!err.message.includes(secret), 'no secret in the message');
    return err;
  }
  assert.fail('expected a failure');
}

/** A runner as GitHub lists it: online, idle, the default labels; ids differ by name. */
export function runnerFixture(name: string, extra: Partial<Runner> = {}): Runner {
  return {
    id: name.length * 1000 + Number(name.replace(/\D/g, '') || 0),
    name,
    os: 'Linux',
    status: 'online',
    busy: false,
    labels: ['self-hosted', 'intel'],
    ...extra,
  };
}
