// Runner simulator — STANDS IN for actions/runner, which cannot be downloaded
// on these machines.
//
// The worker: one process per job, like Runner.Worker. It runs the job-started
// hook ("Set up runner"), the steps, and the job-completed hook ("Complete
// runner"), posting each as an event. A failing started hook fails the job and
// skips the steps; the completed hook runs anyway, also after a cancel from
// the server. A runner shutdown (the listener's `shutdown` message, sent on
// SIGTERM/SIGINT) skips the completed hook, as actions/runner does (#2595).
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from './http.ts';
import type { Conclusion, FromWorker, JobEvent, JobMessage, ToWorker, WorkerContext } from './protocol.ts';
import { Script } from './script.ts';

const CANCEL_POLL_MS = 400; // the protocol asks for ≤ 500 ms

type Hook = 'job_started' | 'job_completed';
const HOOK_ENV: Record<Hook, string> = {
  job_started: 'ACTIONS_RUNNER_HOOK_JOB_STARTED',
  job_completed: 'ACTIONS_RUNNER_HOOK_JOB_COMPLETED',
};

class JobRun {
  private readonly jobUrl: string;
  private readonly auth: string;
  private readonly temp: string;
  private readonly workspace: string;
  private current: Script | undefined;
  private stop: 'cancelled' | 'shutdown' | undefined;
  private cancelPoll: NodeJS.Timeout | undefined; // set while hooks/steps may be cancelled

  constructor(
    private readonly job: JobMessage,
    private readonly context: WorkerContext,
  ) {
    this.jobUrl = `${context.serverUrl}/jobs/${encodeURIComponent(String(job.job_id))}`;
    this.auth = `Bearer ${context.runnerToken}`;
    const repoName = job.repository.split('/').pop() || 'workspace';
    this.temp = join(context.workFolder, '_temp');
    this.workspace = join(context.workFolder, repoName, repoName);
  }

  async run(): Promise<Conclusion> {
    rmSync(this.temp, { recursive: true, force: true }); // the real runner empties _temp per job
    mkdirSync(this.temp, { recursive: true });
    mkdirSync(this.workspace, { recursive: true });
    await this.post({ event: 'started' });
    this.cancelPoll = setInterval(() => void this.pollCancel(), CANCEL_POLL_MS);

    let failed = false;
    if (await this.hook('job_started') !== 0) failed = true;
    for (const step of this.job.steps) {
      if (failed || this.stop) break; // the remaining steps are skipped
      const result = await this.runScript(step.run);
      await this.post({ event: 'step', name: step.name, exit_code: result.exitCode, output: result.output });
      if (result.exitCode !== 0) failed = true;
    }
    clearInterval(this.cancelPoll);
    this.cancelPoll = undefined;

    if (this.stop !== 'shutdown') {
      // Runs after failures and cancels alike; it is not itself cancellable.
      if (await this.hook('job_completed') !== 0) failed = true;
    }
    const conclusion: Conclusion = this.stop ? 'cancelled' : failed ? 'failure' : 'success';
    await this.post({ event: 'completed', conclusion });
    rmSync(this.temp, { recursive: true, force: true });
    return conclusion;
  }

  /** Cancel from the server, or shutdown of the runner: stop the running script. */
  interrupt(reason: 'cancelled' | 'shutdown'): void {
    if (this.stop === 'shutdown') return;
    this.stop = reason;
    void this.current?.kill(reason === 'shutdown' ? 1000 : 2500);
  }

  /** Runs a hook when its variable names a script; 0 when there is none. */
  private async hook(hook: Hook): Promise<number> {
    const path = process.env[HOOK_ENV[hook]];
    if (!path) return 0;
    const result = await this.run1(path);
    await this.post({ event: 'hook', hook, exit_code: result.exitCode, output: result.output });
    return result.exitCode;
  }

  /** A step's script goes into a file under RUNNER_TEMP, as the real runner does. */
  private runScript(source: string) {
    const file = join(this.temp, `${randomUUID()}.sh`);
    writeFileSync(file, source);
    return this.run1(file);
  }

  private async run1(file: string) {
    const script = new Script(file, this.env(), this.workspace);
    this.current = script;
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
    };
  }

  private async pollCancel(): Promise<void> {
    try {
      const res = await request('GET', this.jobUrl, { auth: this.auth });
      const cancelled = (res.json as { cancelled?: unknown } | undefined)?.cancelled === true;
      // An answer that arrives after the steps must not touch the completed hook.
      if (cancelled && this.cancelPoll) this.interrupt('cancelled');
    } catch {
      // a missed poll is retried on the next tick
    }
  }

  private async post(event: JobEvent): Promise<void> {
    try {
      await request('POST', `${this.jobUrl}/events`, { auth: this.auth, body: event });
    } catch (err) {
      process.stderr.write(`worker: could not report '${event.event}' of job ${this.job.job_id}: ${String(err)}\n`);
    }
  }
}

/** Entry point of `sim.mjs worker`: takes one job from the listener over IPC, runs it, reports, exits. */
export async function runWorker(): Promise<void> {
  const first = await new Promise<ToWorker>((resolve) => process.once('message', (m) => resolve(m as ToWorker)));
  if (first.type !== 'job') throw new Error('worker: expected a job first');
  const run = new JobRun(first.job, first.context);
  process.on('message', (m: ToWorker) => {
    if (m.type === 'shutdown') run.interrupt('shutdown');
  });
  // The listener died without a word (SIGKILL outside a container): same as a shutdown.
  process.once('disconnect', () => run.interrupt('shutdown'));
  const conclusion = await run.run();
  if (process.connected) {
    const result: FromWorker = { type: 'result', conclusion };
    await new Promise<void>((resolve) => process.send?.(result, () => resolve()) ?? resolve());
    process.removeAllListeners('disconnect');
    process.disconnect();
  }
}
