// Runner simulator — STANDS IN for actions/runner, which cannot be downloaded
// on these machines.
//
// Runs one bash script (a hook or a step) in its own process group, so that a
// cancel reaches everything the script started, and captures its output
// (stdout and stderr interleaved, as a job log shows them).
import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:os';

export interface ScriptResult {
  exitCode: number;
  output: string;
}

export class Script {
  private readonly child: ChildProcess;
  readonly done: Promise<ScriptResult>;

  /** bash flags of the real runner's default shell: `bash --noprofile --norc -eo pipefail {0}`. */
  constructor(file: string, env: NodeJS.ProcessEnv, cwd: string) {
    this.child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', file], {
      cwd,
      env,
      detached: true, // a process group of its own
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    this.child.stdout?.on('data', (c: Buffer) => chunks.push(c));
    this.child.stderr?.on('data', (c: Buffer) => chunks.push(c));
    this.done = new Promise((resolve) => {
      this.child.on('error', (err) => {
        chunks.push(Buffer.from(`${err.message}\n`));
      });
      this.child.on('close', (code, signal) => {
        // A signal death reads like the shell reports it: 128 + signal number.
        const exitCode = code ?? 128 + (signal ? constants.signals[signal] : 0);
        resolve({ exitCode, output: Buffer.concat(chunks).toString('utf8') });
      });
    });
  }

  /**
   * Stops the whole process group the way the real runner cancels a step:
   * SIGINT, then SIGTERM, then SIGKILL for whatever is still there.
   */
  async kill(graceMs = 2500): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined) return;
    const settled = this.done.then(() => true);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGKILL'] as const) {
      try {
        process.kill(-pid, signal);
      } catch {
        return; // the group is gone
      }
      const ended = await Promise.race([settled, new Promise<false>((r) => setTimeout(() => r(false), graceMs))]);
      if (ended) return;
    }
  }
}
