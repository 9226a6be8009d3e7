// Runner simulator — STANDS IN for actions/runner, which cannot be downloaded
// on these machines.
//
// Runs one bash script (a hook or a step) as a child of the Worker, in the
// Worker's process group (.NET's Process.Start does not make a new one), and
// captures its output (stdout and stderr interleaved, as a job log shows them).
import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:os';
import { sigintTimeoutMs, sigtermTimeoutMs, sleep } from './timing.ts';

export interface ScriptResult {
  exitCode: number;
  output: string;
}

export class Script {
  private readonly child: ChildProcess;
  private exited = false;
  readonly done: Promise<ScriptResult>;

  constructor(shellArgs: string[], file: string, env: NodeJS.ProcessEnv, cwd: string) {
    this.child = spawn('bash', [...shellArgs, file], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    this.child.stdout?.on('data', (c: Buffer) => chunks.push(c));
    this.child.stderr?.on('data', (c: Buffer) => chunks.push(c));
    this.child.on('exit', () => {
      this.exited = true;
    });
    this.done = new Promise((resolve) => {
      this.child.on('error', (err) => {
        chunks.push(Buffer.from(`${err.message}\n`));
      });
      // Ends when the script's process exits (plus a moment for its last
      // output), not when its pipes close: an orphan it left (a cancelled
      // step's `sleep`) may hold them open until the orphan cleanup.
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        this.exited = true;
        // A signal death reads like the shell reports it: 128 + signal number.
        const exitCode = code ?? 128 + (signal ? constants.signals[signal] : 0);
        resolve({ exitCode, output: Buffer.concat(chunks).toString('utf8') });
      };
      this.child.on('exit', (code, signal) => {
        const timer = setTimeout(() => finish(code, signal), 200);
        this.child.once('close', () => (clearTimeout(timer), finish(code, signal)));
      });
    });
  }

  /**
   * Cancels the script the way Runner.Sdk/ProcessInvoker.cs
   * (CancelAndKillProcessTree, killProcessOnCancel false) does: SIGINT to the
   * process, 7.5 s; SIGTERM, 2.5 s; then kill. Only the script's own process
   * is signalled: what it started may live on as an orphan until the job's
   * orphan-process cleanup (worker.ts).
   */
  async cancel(): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined) return;
    const exited = new Promise<void>((resolve) => {
      if (this.exited) resolve();
      else this.child.once('exit', () => resolve());
    });
    for (const [signal, waitMs] of [
      ['SIGINT', sigintTimeoutMs()],
      ['SIGTERM', sigtermTimeoutMs()],
    ] as const) {
      if (this.exited) return;
      try {
        process.kill(pid, signal);
      } catch {
        return;
      }
      const gone = new AbortController();
      await Promise.race([exited, sleep(waitMs, gone.signal)]);
      gone.abort();
    }
    if (this.exited) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
