// Runs a toolkit script as a child process, the way a user runs it, from any
// working directory (tsx is loaded by absolute path).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX_LOADER = import.meta.resolve('tsx');

export interface ScriptResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunScriptOptions {
  cwd?: string;
  /** Environment of the child; nothing of the parent's leaks in except PATH and HOME unless given. */
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
}

export function runScript(script: string, args: string[] = [], options: RunScriptOptions = {}): Promise<ScriptResult> {
  const path = `${REPO_ROOT}scripts/${script}`;
  return runNode(['--import', TSX_LOADER, path, ...args], options);
}

export function runNode(args: string[], options: RunScriptOptions = {}): Promise<ScriptResult> {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: options.cwd ?? REPO_ROOT, env, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A child that exits before reading its input closes the pipe: EPIPE here is no failure of the test.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}
