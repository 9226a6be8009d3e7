// The built wrapper (build/ layout, run through its sh entrypoint) around
// tests/wrapper/fake-runner.sh, which stands in for actions/runner; shared by
// the wrapper test files. Every child is in a process group that
// killChildren() ends.
import { spawnSync, type ChildProcess, type SpawnSyncOptions } from 'node:child_process';
import { chmod, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { stop as stopEsbuild } from 'esbuild';
import { buildWrapper } from '../../image/build.ts';
import { repoRoot, spawnGroup, tempDir } from '../support/lock-helpers.ts';
import { waitFor } from '../support/wait.ts';

export const fakeRunner = join(repoRoot, 'tests/wrapper/fake-runner.sh');

/** Builds the wrapper once into a temp dir readable by 'nobody'; returns its directory. */
export async function buildTestWrapper(): Promise<string> {
  const root = await tempDir('lockw-build-');
  await chmod(root, 0o755); // readable by 'nobody' in the permission tests
  const built = join(root, 'runner-fleet');
  try {
    await buildWrapper(built);
  } finally {
    await stopEsbuild(); // its service process must not outlive the build
  }
  return built;
}

/** spawnSync that cannot hang the file: killed after 20 s. */
export function runSync(command: string, args: string[], options: SpawnSyncOptions & { encoding: 'utf8' }) {
  return spawnSync(command, args, { timeout: 20_000, killSignal: 'SIGKILL', ...options });
}

export interface Wrapper {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  exited: Promise<number | null>;
  fakeDir: string;
  lockDir: string;
  socket: string;
}

export async function startWrapper(built: string, lockDir: string, env: Record<string, string>, args: string[] = []): Promise<Wrapper> {
  const fakeDir = await tempDir('lockw-fake-');
  let err = '';
  let out = '';
  const socket = env.RUNNER_FLEET_SOCKET ?? join(fakeDir, 'wrapper.sock');
  const child = spawnGroup(join(built, 'entrypoint'), args, {
    env: {
      ...process.env,
      RUNNER_RESOURCE_ID: 'board-a',
      RUNNER_LOCK_DIR: lockDir,
      RUNNER_SCRIPT: fakeRunner,
      RUNNER_NAME: 'runner-1',
      RUNNER_FLEET_SOCKET: socket,
      RUNNER_LOCK_STALE_MS: '2000',
      RUNNER_LOCK_POLL_MS: '100',
      RUNNER_LOCK_PROGRESS_MS: '300',
      RUNNER_HOME: fakeDir, // the runner's .env would be there; none unless a test writes one
      FAKE_DIR: fakeDir,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => err, stdout: () => out, exited, fakeDir, lockDir, socket };
}

export async function events(w: Wrapper): Promise<string[]> {
  return (await readFile(join(w.fakeDir, 'events'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
}

export function waitForEvent(w: Wrapper, prefix: string, timeoutMs = 15_000): Promise<string> {
  return waitFor(`fake runner event '${prefix}'`, async () => (await events(w)).find((e) => e.startsWith(prefix)), { timeoutMs });
}

export async function jobLog(w: Wrapper, run: string): Promise<string> {
  return readFile(join(w.fakeDir, `job-${run}.log`), 'utf8').catch(() => '');
}

/** What came back for one raw request: the reply lines, and whether the wrapper closed the connection. */
export interface RawExchange {
  lines: string[];
  closed: boolean;
  /** The connection failed while we still wrote (the wrapper stopped reading). */
  writeError?: string;
}

/**
 * Sends `payload` as is over the hook socket, as a job step could, and
 * collects the reply lines until the wrapper closes or `waitMs` passes. A
 * large payload goes in 64 KiB pieces and stops once the wrapper answers
 * (else a write failing on the closed socket could discard the answer unread).
 */
export function rawRequest(socketPath: string, payload: string | Buffer, waitMs = 5000): Promise<RawExchange> {
  const data = Buffer.from(payload);
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    let text = '';
    let writeError: string | undefined;
    let finished = false;
    const done = (closed: boolean): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ lines: text.split('\n').filter(Boolean), closed, ...(writeError ? { writeError } : {}) });
    };
    const timer = setTimeout(() => done(false), waitMs);
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('error', (e: NodeJS.ErrnoException) => (writeError = e.code ?? e.message));
    socket.on('close', () => done(true));
    const send = async (): Promise<void> => {
      for (let at = 0; at < data.length && !text && !socket.destroyed; at += 65_536) {
        if (!socket.write(data.subarray(at, at + 65_536))) {
          await new Promise<void>((r) => {
            const go = (): void => {
              for (const event of ['drain', 'data', 'close']) socket.off(event, go);
              r();
            };
            for (const event of ['drain', 'data', 'close']) socket.on(event, go);
          });
        }
      }
    };
    // Not awaited: send cannot reject (a failed write is an 'error' event, kept in writeError).
    socket.on('connect', () => void send());
  });
}
