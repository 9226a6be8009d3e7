// Runner simulator — STANDS IN for actions/runner, which cannot be downloaded
// on these machines. The Listener (`bin/Runner.Listener run`, started by
// run-helper.sh): opens a session (online), long-polls for messages and hands
// each job to a fresh `bin/Runner.Worker` child; signals, cancel, self-update,
// run-once and polling errors as the real one. What it follows, file by file
// (Runner.cs, MessageListener.cs, JobDispatcher.cs, SelfUpdater.cs):
// PROTOCOL.md, "Runner.Listener".
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { HttpError, field, request } from './http.ts';
import {
  type CancelMessage,
  type Conclusion,
  type FromWorker,
  type JobMessage,
  type ToWorker,
  type UpdateMessage,
  type WorkerContext,
  isCancelMessage,
  isJobMessage,
  isUpdateMessage,
} from './protocol.ts';
import { deleteLocalRunnerConfig } from './config.ts';
import * as store from './store.ts';
import { RunnerError, term } from './terminal.ts';
import {
  SESSION_CONFLICT_RETRY_LIMIT_S,
  SESSION_RETRY_INTERVAL_S,
  cancelKillDelayMs,
  exitOnUnloadTimeoutMs,
  pollBackoffMs,
  sessionRetryMs,
  sleep,
} from './timing.ts';
import { Trace, utcU } from './trace.ts';

/** Constants.cs Runner.ReturnCode. */
export const ReturnCode = {
  Success: 0,
  TerminatedError: 1,
  RetryableError: 2,
  RunnerUpdating: 3,
  RunOnceRunnerUpdating: 4,
  SessionConflict: 5,
} as const;

export const SIM_VERSION = '2.336.0';
const RESULT_WORDS: Record<Conclusion, string> = { success: 'Succeeded', failure: 'Failed', cancelled: 'Canceled' };
const DELETED_MESSAGE =
  'Failed to create a session. The runner registration has been deleted from the server, please re-configure. Runner registrations are automatically deleted for runners that have not connected to the service recently.';

/** The runner's version: what a simulated self-update last installed, else the built-in one. */
export function runnerVersion(root: string): string {
  const file = join(root, 'bin', '.sim-version');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || SIM_VERSION : SIM_VERSION;
}

interface Dispatch {
  job: JobMessage;
  worker: ChildProcess;
  channel: Writable;
  exited: Promise<void>;
  result: FromWorker | undefined;
  cancelled: boolean;
  killTimer: NodeJS.Timeout | undefined;
}

export interface ListenerOptions {
  /** `run --once` (Runner.cs RunOnce): one job, like an ephemeral runner, but the local config stays. */
  once?: boolean;
}

/** The exception type a service error names (its `typeKey`, as GitHub.Services.WebApi maps it), if any. */
function typeKey(err: HttpError): string | undefined {
  try {
    const key = (JSON.parse(err.body) as { typeKey?: unknown }).typeKey;
    return typeof key === 'string' ? key : undefined;
  } catch {
    return undefined;
  }
}

export class Listener {
  private readonly settings: store.RunnerSettings;
  /** Runner.cs: `command.RunOnce || settings.Ephemeral`. */
  private readonly runOnce: boolean;
  /** Runner.cs runOnceJobCompleted: the one job finished while the message loop waited for it. */
  private runOnceJobCompleted = false;
  private readonly context: WorkerContext;
  private readonly auth: string;
  private readonly trace: Trace;
  private readonly version: string;
  private sessionId: string | undefined;
  private stopping = false;
  private readonly poll = new AbortController();
  private current: Dispatch | undefined;
  private readonly queue: JobMessage[] = [];
  private jobsDone = 0;
  private updating: Promise<number> | undefined;

  constructor(
    private readonly root: string,
    options: ListenerOptions = {},
  ) {
    this.trace = new Trace('Runner', root);
    if (!store.isConfigured(root) || !store.hasCredentials(root)) {
      throw new RunnerError('Not configured. Run config.(sh/cmd) to configure the runner.');
    }
    this.settings = store.loadSettings(root);
    this.runOnce = options.once === true || this.settings.ephemeral === true;
    const credentials = store.loadCredentials(root);
    this.auth = `Bearer ${credentials.data.runnerToken}`;
    this.version = runnerVersion(root);
    this.context = {
      runnerName: this.settings.agentName,
      serverUrl: this.settings.serverUrl,
      gitHubUrl: this.settings.gitHubUrl,
      runnerToken: credentials.data.runnerToken,
      workFolder: store.workFolderPath(root, this.settings),
    };
  }

  async run(): Promise<number> {
    this.trace.info('Runner', `Runner is built for Linux (X64) - simulator ${this.version}.`);
    process.on('SIGINT', () => {
      term.line('Exiting...');
      this.trace.info('Runner', 'Received Ctrl-C signal, stop Runner.Listener and Runner.Worker.');
      this.shutdown();
    });
    process.on('SIGTERM', () => {
      this.shutdown();
      // Runner.cs Runner_Unloading: waits for the command at most ExitOnUnloadTimeout.
      setTimeout(() => process.exit(ReturnCode.Success), exitOnUnloadTimeoutMs()).unref();
    });

    const session = await this.createSession();
    if (session !== ReturnCode.Success) return session;
    if (this.sessionId === undefined) return ReturnCode.Success; // stopped before it could connect
    term.line(`Current runner version: '${this.version}' (simulator standing in for actions/runner)`);
    term.event('Listening for Jobs');

    let code: number = ReturnCode.Success;
    let failures = 0;
    let skipSessionDeletion = false;
    let cleanupLocalConfigAfter404 = false;
    let fatal: Error | undefined;
    while (!this.stopping) {
      try {
        const res = await request('GET', `${this.settings.serverUrl}/jobs/next?session_id=${encodeURIComponent(this.sessionId)}`, {
          auth: this.auth,
          signal: this.poll.signal,
        });
        if (failures > 0) term.event('Runner reconnected.');
        failures = 0;
        if (res.status !== 200) continue;
        if (isJobMessage(res.json)) this.accept(res.json);
        else if (isCancelMessage(res.json)) this.cancel(res.json);
        else if (isUpdateMessage(res.json)) this.update(res.json);
      } catch (err) {
        if (this.stopping) break;
        if (err instanceof HttpError && [401, 403, 404].includes(err.status)) {
          const type = typeKey(err);
          if (type === 'TaskAgentNotFoundException' || type === 'RunnerNotFoundException') {
            // Runner.cs (2.336): the registration is gone; clean up and end normally.
            this.trace.info('Runner', `Runner registration no longer exists while retrieving messages. ${serverMessage(err)}`);
            term.error('The runner no longer exists on the server. Cleaning up local configuration.');
            skipSessionDeletion = true;
            cleanupLocalConfigAfter404 = true;
            break;
          }
          if (type === 'TaskAgentSessionExpiredException') {
            // MessageListener.cs: recovered by creating a new session; if that fails, the error is thrown.
            this.sessionId = undefined;
            if ((await this.createSession()) === ReturnCode.Success && this.sessionId !== undefined) {
              this.trace.info('MessageListener', 'TaskAgentSessionExpiredException received, recovered by recreate session.');
              continue;
            }
          }
          // Not retriable (MessageListener.cs IsGetNextMessageExceptionRetriable): thrown out of RunAsync.
          fatal = err;
          break;
        }
        failures++;
        if (failures === 1) {
          const reason = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
          term.error(`${utcU()}: Runner connect error: ${reason}. Retrying until reconnected.`);
        }
        await sleep(pollBackoffMs(failures), this.poll.signal);
      }
    }

    if (this.updating) code = await this.updating;
    // Runner.cs RunAsync's finally: dispatcher, session, local config.
    await this.shutdownDispatcher();
    if (!skipSessionDeletion) await this.deleteSession();
    if ((this.settings.ephemeral && this.runOnceJobCompleted) || cleanupLocalConfigAfter404) deleteLocalRunnerConfig(this.root);
    if (fatal !== undefined) throw fatal;
    this.trace.info('Runner', `Runner execution has finished with return code ${code}`);
    return code;
  }

  /** MessageListener.cs CreateSessionAsync; Success (0) with sessionId set, or the exit code. */
  private async createSession(): Promise<number> {
    let conflicts = 0;
    let reportedError = false;
    while (!this.stopping) {
      term.line();
      term.success('Connected to GitHub');
      term.line();
      try {
        const res = await request('POST', `${this.settings.serverUrl}/sessions`, {
          auth: this.auth,
          body: { version: this.version, disable_update: this.settings.disableUpdate, os: 'Linux' },
        });
        this.sessionId = field(res.json, 'session_id');
        this.trace.info('MessageListener', 'Session created.');
        if (reportedError) term.event('Runner reconnected.');
        return ReturnCode.Success;
      } catch (err) {
        if (this.stopping) return ReturnCode.Success;
        const message = err instanceof HttpError ? serverMessage(err) : err instanceof Error ? err.message : String(err);
        if (err instanceof HttpError && (err.status === 401 || err.status === 404)) {
          term.error(DELETED_MESSAGE);
          return ReturnCode.TerminatedError;
        }
        if (err instanceof HttpError && err.status === 403) {
          // AccessDeniedException: an outdated runner with updates disabled (Program.cs → exit 1).
          term.error(`An error occurred: ${message}`);
          return ReturnCode.TerminatedError;
        }
        if (err instanceof HttpError && err.status === 409) {
          term.error('A session for this runner already exists.');
          conflicts++;
          if (conflicts > 1 && conflicts * SESSION_RETRY_INTERVAL_S >= SESSION_CONFLICT_RETRY_LIMIT_S) {
            term.error(`Stop retry on SessionConflictException after retried for ${SESSION_CONFLICT_RETRY_LIMIT_S} seconds.`);
            term.error(`Failed to create session. ${message}`);
            return ReturnCode.SessionConflict;
          }
        } else if (err instanceof HttpError && err.status < 500 && err.status !== 429) {
          term.error(`Failed to create session. ${message}`);
          return ReturnCode.TerminatedError;
        }
        if (!reportedError) {
          const reason = err instanceof Error && err.cause instanceof Error ? err.cause.message : message;
          term.error(`${utcU()}: Runner connect error: ${reason}. Retrying until reconnected.`);
          reportedError = true;
        }
        this.trace.info('MessageListener', `Sleeping for ${SESSION_RETRY_INTERVAL_S} seconds before retrying.`);
        await sleep(sessionRetryMs(), this.poll.signal);
      }
    }
    return ReturnCode.Success;
  }

  private async deleteSession(): Promise<void> {
    if (this.sessionId === undefined) return;
    this.trace.info('Runner', 'Deleting Runner Session...');
    try {
      await request('DELETE', `${this.settings.serverUrl}/sessions/${encodeURIComponent(this.sessionId)}`, { auth: this.auth });
    } catch (err) {
      // Runner.cs: ignored for a run-once runner, which the server may have deleted already.
      if (this.runOnce) this.trace.info('Runner', `Ignore any exception during DeleteSession for an ephemeral runner. ${String(err)}`);
      else term.error(`Could not delete the session: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.sessionId = undefined;
  }

  /** A new job: start it now, or right after the current worker exits. */
  private accept(job: JobMessage): void {
    this.trace.info('JobDispatcher', `Job request ${job.job_id} for job ${job.job} received.`);
    if (this.current || this.updating) this.queue.push(job);
    else this.startWorker(job);
  }

  private startWorker(job: JobMessage): void {
    term.event(`Running job: ${job.job}`);
    const bin = join(this.root, 'bin');
    const workerExe = join(bin, 'Runner.Worker');
    // In the image bin/Runner.Worker is a symlink to node; elsewhere (unit tests) node itself.
    const exe = existsSync(workerExe) ? workerExe : process.execPath;
    // Same process group as the Listener (a group SIGINT from run.sh reaches it, and it ignores it).
    const worker = spawn(exe, [process.argv[1] ?? '', 'spawnclient', '3', '4'], {
      cwd: bin,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
    });
    const channel = worker.stdio[3] as Writable;
    const fromWorker = worker.stdio[4] as NodeJS.ReadableStream | null;
    const dispatch: Dispatch = {
      job,
      worker,
      channel,
      result: undefined,
      cancelled: false,
      killTimer: undefined,
      exited: Promise.resolve(),
    };
    this.current = dispatch;
    channel.on('error', () => {}); // a dead worker's channel
    if (fromWorker) {
      createInterface({ input: fromWorker }).on('line', (line) => {
        try {
          const m = JSON.parse(line) as FromWorker;
          if (m.type === 'result') dispatch.result = m;
        } catch {
          // not a message
        }
      });
    }
    // JobDispatcher.cs: worker stdout lines are printed when PRINT_LOG_TO_STDOUT; stderr is kept for a crash.
    const stderrLines: string[] = [];
    if (worker.stdout) {
      createInterface({ input: worker.stdout }).on('line', (line) => {
        if (line !== '' && this.trace.toStdout) process.stdout.write(`${line}\n`);
      });
    }
    if (worker.stderr) createInterface({ input: worker.stderr }).on('line', (line) => stderrLines.push(line));
    dispatch.exited = new Promise((resolve) => {
      worker.on('close', (code, signal) => {
        if (dispatch.killTimer) clearTimeout(dispatch.killTimer);
        void this.finishJob(dispatch, code, signal, stderrLines).then(resolve);
      });
    });
    this.send(dispatch, { type: 'job', job, context: this.context });
  }

  private send(dispatch: Dispatch, message: ToWorker): void {
    if (dispatch.channel.writable) dispatch.channel.write(`${JSON.stringify(message)}\n`);
  }

  private async finishJob(dispatch: Dispatch, code: number | null, signal: NodeJS.Signals | null, stderr: string[]): Promise<void> {
    const { job } = dispatch;
    let conclusion: Conclusion = dispatch.result?.conclusion ?? 'failure';
    if (dispatch.cancelled) conclusion = 'cancelled'; // resultOnAbandonOrCancel
    if (!dispatch.cancelled && (code === null || code < 100 || code > 105)) {
      this.trace.error('JobDispatcher', `Worker crashed (exit ${code ?? signal}): ${stderr.join('\n')}`);
    }
    this.trace.info('JobDispatcher', `finish job request for job ${job.job_id} with result: ${RESULT_WORDS[conclusion]}`);
    term.event(`Job ${job.job} completed with result: ${RESULT_WORDS[conclusion]}`);
    {
      // JobDispatcher.cs: the Listener completes the job request (CompleteJobRequestAsync) with the
      // worker's result, or with Canceled once a cancel or shutdown fired before the worker ended.
      try {
        await request('POST', `${this.settings.serverUrl}/jobs/${encodeURIComponent(String(job.job_id))}/events`, {
          auth: this.auth,
          body: { event: 'completed', conclusion },
        });
      } catch (err) {
        this.trace.error('JobDispatcher', `could not complete job ${job.job_id}: ${String(err)}`);
      }
    }
    this.current = undefined;
    this.jobsDone++;
    if (this.stopping || this.updating) return;
    if (this.runOnce) {
      // Runner.cs: "Job has finished at backend, the runner will exit since it is running under onetime use mode."
      this.trace.info('Runner', 'Job has finished at backend, the runner will exit since it is running under onetime use mode.');
      this.runOnceJobCompleted = true;
      this.stopping = true;
      this.poll.abort();
      return;
    }
    const next = this.queue.shift();
    if (next) this.startWorker(next);
  }

  /** JobDispatcher.Cancel and WorkerDispatcher.Cancel. */
  private cancel(message: CancelMessage): void {
    this.trace.info('JobDispatcher', `Job cancellation request ${message.job_id} received, cancellation timeout ${message.timeout_minutes} minutes.`);
    const dispatch = this.current;
    if (!dispatch || String(dispatch.job.job_id) !== String(message.job_id)) {
      const queued = this.queue.findIndex((j) => String(j.job_id) === String(message.job_id));
      if (queued >= 0) this.queue.splice(queued, 1);
      return;
    }
    if (dispatch.cancelled) return;
    dispatch.cancelled = true;
    this.trace.info('JobDispatcher', `Send job cancellation message to worker for job ${message.job_id}.`);
    this.send(dispatch, { type: 'cancel' });
    dispatch.killTimer = setTimeout(() => {
      this.trace.info('JobDispatcher', `worker process for job ${message.job_id} haven't exit within cancellation timout, kill running worker.`);
      // ProcessInvoker (killProcessOnCancel) kills the Worker process itself; its children are left.
      try {
        dispatch.worker.kill('SIGKILL');
      } catch {
        // gone
      }
    }, cancelKillDelayMs(message.timeout_minutes));
  }

  /** SelfUpdater.cs, kept modest: no download; the "update" records the new version. */
  private update(message: UpdateMessage): void {
    if (this.updating) {
      this.trace.info('Runner', 'Refresh message received, skip autoupdate since a previous autoupdate is already running.');
      return;
    }
    this.trace.info('Runner', 'Refresh message received, kick-off selfupdate background process.');
    this.updating = (async () => {
      term.line('Runner update in progress, do not shutdown runner.');
      term.line(`Downloading ${message.target_version} runner`);
      term.line('Waiting for current job finish running.');
      await this.current?.exited;
      term.line('Generate and execute update script.');
      // The update script waits for this Listener to exit, swaps in the new
      // version and touches update.finished in its working directory (update.sh.template).
      const script = [
        `while kill -0 ${process.pid} 2>/dev/null; do sleep 0.2; done`,
        `printf '%s\\n' "$1" > "$2/bin/.sim-version"`,
        'touch update.finished',
      ].join('\n');
      spawn('bash', ['-c', script, 'update.sh', message.target_version, this.root], {
        detached: true,
        stdio: 'ignore',
        cwd: process.cwd(),
      }).unref();
      term.line('Runner will exit shortly for update, should be back online within 10 seconds.');
      term.line('Runner update process finished.');
      this.stopping = true;
      this.poll.abort();
      return this.runOnce ? ReturnCode.RunOnceRunnerUpdating : ReturnCode.RunnerUpdating;
    })();
    void this.updating.then(() => {
      if (!this.stopping) {
        this.stopping = true;
        this.poll.abort();
      }
    });
  }

  /** HostContext.ShutdownRunner(UserCancelled). */
  private shutdown(): void {
    if (this.stopping && !this.updating) return;
    this.trace.info('HostContext', 'Runner will be shutdown for UserCancelled');
    this.stopping = true;
    this.poll.abort();
    // The message loop ends at once and ShutdownAsync cancels the running job (see shutdownDispatcher).
    const dispatch = this.current;
    if (dispatch && !dispatch.cancelled) {
      dispatch.cancelled = true;
      this.trace.info('JobDispatcher', 'Shutting down JobDispatcher. Make sure all WorkerDispatcher has finished.');
      this.trace.info('JobDispatcher', `Send job cancellation message to worker for job ${dispatch.job.job_id}.`);
      this.send(dispatch, { type: 'shutdown' });
    }
  }

  /** JobDispatcher.ShutdownAsync: cancel the running job with RunnerShutdown and wait for the worker, without a timeout. */
  private async shutdownDispatcher(): Promise<void> {
    const dispatch = this.current;
    if (!dispatch) return;
    if (!dispatch.cancelled) {
      this.trace.info('JobDispatcher', 'Shutting down JobDispatcher. Make sure all WorkerDispatcher has finished.');
      dispatch.cancelled = true;
    }
    // Also after a server cancel: the worker learns the runner is going away.
    this.send(dispatch, { type: 'shutdown' });
    await dispatch.exited;
  }
}

/** The server's message from an error body ({"message": …}), else the HTTP status line. */
function serverMessage(err: HttpError): string {
  try {
    const m = (JSON.parse(err.body) as { message?: unknown }).message;
    if (typeof m === 'string') return m;
  } catch {
    // not JSON
  }
  return err.message;
}
