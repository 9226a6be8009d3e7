// Runner simulator — STANDS IN for actions/runner, which cannot be downloaded
// on these machines. The Worker (`bin/Runner.Worker spawnclient <in> <out>`,
// one process per job, child of the Listener): the job-started hook, the
// steps, the job-completed hook, each posted as an event; cancel and shutdown
// as the real one. What it follows, file by file (JobExtension.cs,
// StepsRunner.cs, Worker.cs, Program.cs): PROTOCOL.md, "Runner.Worker".
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { request } from './http.ts';
import type { Conclusion, FromWorker, JobEvent, JobMessage, ToWorker, WorkerContext } from './protocol.ts';
import { Script } from './script.ts';
import { Trace } from './trace.ts';

type Hook = 'job_started' | 'job_completed';
const HOOK_ENV: Record<Hook, string> = {
  job_started: 'ACTIONS_RUNNER_HOOK_JOB_STARTED',
  job_completed: 'ACTIONS_RUNNER_HOOK_JOB_COMPLETED',
};
/**
 * A `.sh` hook runs with shell "bash" (JobHookProvider.cs → HostContext.cs
 * GetDefaultShellForScript), whose arguments are `--noprofile --norc -e -o
 * pipefail {0}` (Handlers/ScriptHandlerHelpers.cs). A `run:` step without a
 * `shell:` runs as `bash -e {0}` (GitHub's documented default).
 */
const HOOK_SHELL = ['--noprofile', '--norc', '-e', '-o', 'pipefail'];
const STEP_SHELL = ['-e'];

/** Runner.Common/Util/TaskResultUtil.cs: worker exit code = 100 + TaskResult. */
const EXIT_CODE: Record<Conclusion, number> = { success: 100, failure: 102, cancelled: 103 };

class JobRun {
  private readonly jobUrl: string;
  private readonly auth: string;
  private readonly temp: string;
  private readonly workspace: string;
  private readonly trackingId = randomUUID();
  private current: { script: Script; always: boolean } | undefined;
  stop: 'cancelled' | 'shutdown' | undefined;

  constructor(
    private readonly job: JobMessage,
    private readonly context: WorkerContext,
    private readonly trace: Trace,
  ) {
    this.jobUrl = `${context.serverUrl}/jobs/${encodeURIComponent(String(job.job_id))}`;
    this.auth = `Bearer ${context.runnerToken}`;
    const repoName = job.repository.split('/').pop() || 'workspace';
    this.temp = join(context.workFolder, '_temp');
    this.workspace = join(context.workFolder, repoName, repoName);
  }

  /** The job's conclusion; the Listener reports it to the server (JobDispatcher.cs CompleteJobRequestAsync). */
  async run(): Promise<Conclusion> {
    rmSync(this.temp, { recursive: true, force: true }); // the real runner empties _temp per job
    mkdirSync(this.temp, { recursive: true });
    mkdirSync(this.workspace, { recursive: true });
    await this.post({ event: 'started' });

    let failed = false;
    if ((await this.hook('job_started')) !== 0) failed = true;
    for (const step of this.job.steps) {
      if (failed || this.stop) break; // the remaining steps are skipped
      const result = await this.runStep(step.run);
      await this.settleAfterGroupSignal();
      await this.post({ event: 'step', name: step.name, exit_code: result.exitCode, output: result.output });
      if (result.exitCode !== 0) failed = true;
    }

    if (this.stop !== 'shutdown') {
      // always(): runs after failures and cancels alike.
      if ((await this.hook('job_completed')) !== 0) failed = true;
    }
    this.cleanupOrphans();
    rmSync(this.temp, { recursive: true, force: true });
    return this.stop ? 'cancelled' : failed ? 'failure' : 'success';
  }

  private sigintAt: number | undefined;

  /** run.sh's SIGINT reached the whole group: the step's processes too, not only the Listener. */
  noteSigint(): void {
    this.sigintAt = Date.now();
  }

  /**
   * A step killed by run.sh's group SIGINT ends before the Listener's shutdown
   * message reaches this worker. The real Worker spends that time finishing
   * the step (its log upload and result, StepsRunner.cs) and sees the
   * shutdown before the post-job steps (actions/runner#2595: no completed
   * hook on shutdown); here the wait for that message is explicit, bounded.
   */
  private async settleAfterGroupSignal(): Promise<void> {
    const until = (this.sigintAt ?? 0) + 2000;
    while (!this.shuttingDown() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  }

  private shuttingDown(): boolean {
    return this.stop === 'shutdown';
  }

  /** A cancel from the server, or the runner shutting down (StepsRunner.cs). */
  interrupt(reason: 'cancelled' | 'shutdown'): void {
    if (this.stop === 'shutdown') return;
    this.stop = reason;
    const current = this.current;
    if (!current) return;
    // always() is re-evaluated on a cancel and stays true; a shutdown skips the re-evaluation.
    if (current.always && reason === 'cancelled') {
      this.trace.info('StepsRunner', "Re-evaluate condition on job cancellation for step: 'Set up runner'.");
      return;
    }
    this.trace.info('StepsRunner', 'Cancel current running step.');
    void current.script.cancel();
  }

  /** Runs a hook when its variable names a script; 0 when there is none. */
  private async hook(hook: Hook): Promise<number> {
    const path = process.env[HOOK_ENV[hook]];
    if (!path) return 0;
    const result = await this.run1(HOOK_SHELL, path, true);
    await this.post({ event: 'hook', hook, exit_code: result.exitCode, output: result.output });
    return result.exitCode;
  }

  /** A step's script goes into a file under RUNNER_TEMP, as the real runner does. */
  private runStep(source: string) {
    const file = join(this.temp, `${randomUUID()}.sh`);
    writeFileSync(file, source);
    return this.run1(STEP_SHELL, file, false);
  }

  private async run1(shell: string[], file: string, always: boolean) {
    const script = new Script(shell, file, this.env(), this.workspace);
    this.current = { script, always };
    // A shutdown that came before this script started cancels it at once.
    if (this.stop === 'shutdown' || (this.stop === 'cancelled' && !always)) void script.cancel();
    const result = await script.done;
    this.current = undefined;
    return result;
  }

  /** The job's environment: the runner's own, the job's env, and the variables GitHub sets. */
  private env(): NodeJS.ProcessEnv {
    const { job, context } = this;
    const server = new URL(context.gitHubUrl).origin;
    return {
      ...process.env,
      ...job.env,
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_RUN_ID: String(job.run_id),
      GITHUB_RUN_ATTEMPT: String(job.run_attempt),
      GITHUB_JOB: job.job,
      GITHUB_REPOSITORY: job.repository,
      GITHUB_REPOSITORY_OWNER: job.repository.split('/')[0] ?? '',
      GITHUB_WORKFLOW: job.workflow,
      GITHUB_WORKSPACE: this.workspace,
      GITHUB_SERVER_URL: server,
      RUNNER_NAME: context.runnerName,
      RUNNER_OS: 'Linux',
      RUNNER_ARCH: 'X64',
      RUNNER_TEMP: this.temp,
      RUNNER_WORKSPACE: join(this.workspace, '..'),
      RUNNER_TRACKING_ID: this.trackingId,
    };
  }

  /** JobExtension.cs (FinalizeJob): kill what the job left running, found by RUNNER_TRACKING_ID. */
  private cleanupOrphans(): void {
    const needle = `\0RUNNER_TRACKING_ID=${this.trackingId}\0`;
    let pids: number[] = [];
    try {
      pids = readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .map(Number);
    } catch {
      return;
    }
    for (const pid of pids) {
      if (pid === process.pid) continue;
      try {
        if (!`\0${readFileSync(`/proc/${pid}/environ`, 'latin1')}`.includes(needle)) continue;
        const name = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
        this.trace.info('JobExtension', `Terminate orphan process: pid (${pid}) (${name})`);
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile, or not ours to read
      }
    }
  }

  private async post(event: JobEvent): Promise<void> {
    try {
      await request('POST', `${this.jobUrl}/events`, { auth: this.auth, body: event });
    } catch (err) {
      this.trace.error('Worker', `could not report '${event.event}' of job ${this.job.job_id}: ${String(err)}`);
    }
  }
}

/**
 * Entry point of `spawnclient <in> <out>`: takes one job from the Listener
 * over the channel, runs it, reports, exits with 100 + result.
 */
export async function runWorker(root: string, inFd: number, outFd: number): Promise<void> {
  const trace = new Trace('Worker', root);
  process.on('SIGINT', () => {
    trace.info('Worker', 'Received SIGINT; the worker keeps running until the Listener says otherwise.');
    run?.noteSigint();
  });
  const input = new Socket({ fd: inFd, readable: true, writable: false });
  const output = new Socket({ fd: outFd, readable: false, writable: true });
  const lines = createInterface({ input });
  let run: JobRun | undefined;
  let resolveJob!: (m: ToWorker) => void;
  const first = new Promise<ToWorker>((resolve) => (resolveJob = resolve));
  trace.info('Worker', 'Waiting to receive the job message from the channel.');
  lines.on('line', (line) => {
    let message: ToWorker;
    try {
      message = JSON.parse(line) as ToWorker;
    } catch {
      return;
    }
    if (message.type === 'job') return resolveJob(message);
    trace.info('Worker', 'Cancellation/Shutdown message received.');
    run?.interrupt(message.type === 'cancel' ? 'cancelled' : 'shutdown');
  });
  // The channel closed (the Listener is gone): like a shutdown.
  lines.on('close', () => run?.interrupt('shutdown'));

  const job = await first;
  if (job.type !== 'job') throw new Error('worker: expected a job first');
  trace.info('Worker', 'Message received.');
  run = new JobRun(job.job, job.context, trace);
  const conclusion = await run.run();
  trace.info('Worker', `Job completed with result: ${conclusion}`);
  const result: FromWorker = { type: 'result', conclusion };
  await new Promise<void>((resolve) => output.write(`${JSON.stringify(result)}\n`, () => resolve()));
  output.end();
  lines.close();
  input.destroy();
  process.exitCode = EXIT_CODE[conclusion];
}
