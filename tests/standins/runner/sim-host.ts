// Runs the runner simulator on the host, without Docker: the same esbuild
// bundle standins/runner/build.ts puts in the image, as <root>/bin/sim.mjs in
// a runner root of its own (the simulator takes the folder above bin/ as its
// root, like the real layout). No bin/Runner.Worker symlink here: the
// Listener then starts its Worker with the node running it.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { nodeScriptBundle } from '../../../core/bundle.ts';

let bundle: Promise<string> | undefined;
const made: string[] = [];

function bundled(): Promise<string> {
  bundle ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rf-sim-bundle-'));
    made.push(dir);
    const outfile = join(dir, 'sim.mjs');
    // The image's own options (core/bundle.ts): the same require() shim for the CommonJS dependencies.
    await build(nodeScriptBundle(new URL('../../../standins/runner/main.ts', import.meta.url).pathname, outfile));
    return outfile;
  })();
  return bundle;
}

/** A fresh runner root with the simulator in bin/. */
export async function simRoot(): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'rf-sim-root-'));
  made.push(root);
  mkdirSync(join(root, 'bin'));
  copyFileSync(await bundled(), join(root, 'bin', 'sim.mjs'));
  return root;
}

export function cleanupSimRoots(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export interface SimProcess {
  /** Output so far. */
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the exit code (null after a signal). */
  readonly exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * `bin/Runner.Listener bin/sim.mjs <args>` as run-helper.sh starts it
 * (Runner.Listener is node). The host's ACTIONS_RUNNER_* variables are left
 * out; `env` adds to a plain environment.
 */
export function startSim(root: string, args: string[], env: Record<string, string> = {}): SimProcess {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ACTIONS_RUNNER_') && !k.startsWith('RUNNER_')));
  const child = spawn(process.execPath, [join(root, 'bin', 'sim.mjs'), ...args], {
    cwd: root,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { stdout: () => out, stderr: () => err, exited, kill: (signal = 'SIGTERM') => void child.kill(signal) };
}

/** Runs to the end: exit code and output. */
export async function runSim(root: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const sim = startSim(root, args, env);
  const code = await sim.exited;
  return { code, stdout: sim.stdout(), stderr: sim.stderr() };
}
