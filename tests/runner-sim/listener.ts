// Runner simulator — STANDS IN for actions/runner, which cannot be downloaded
// on these machines.
//
// The listener (`run.sh`, like Runner.Listener): opens a session (online),
// long-polls for jobs and hands each one to a fresh worker process. It keeps
// polling while a job runs, since polling is the liveness heartbeat. On
// SIGTERM/SIGINT it tells the worker to shut down (no completed hook, as
// actions/runner#2595), ends the session (offline) and exits 0.
import { type ChildProcess, fork } from 'node:child_process';
import { HttpError, field, request } from './http.ts';
import type { Conclusion, FromWorker, JobMessage, ToWorker, WorkerContext } from './protocol.ts';
import { isJobMessage } from './protocol.ts';
import * as store from './store.ts';
import { RunnerError, term } from './terminal.ts';

const WORKER_EXIT_GRACE_MS = 6000; // docker stop waits 10 s before SIGKILL
const RESULT_WORDS: Record<Conclusion, string> = { success: 'Succeeded', failure: 'Failed', cancelled: 'Canceled' };

/** Resolves after ms, or at once when signal aborts (a shutdown must not wait out a backoff). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

export class Listener {
  private readonly settings: store.RunnerSettings;
  private readonly context: WorkerContext;
  private readonly auth: string;
  private sessionId: string | undefined;
  private stopping = false;
  private readonly poll = new AbortController();
  private worker: ChildProcess | undefined;
  private workerExit: Promise<void> = Promise.resolve();
  private readonly queue: JobMessage[] = [];
  private jobsDone = 0;

  constructor(private readonly root: string) {
    if (!store.isConfigured(root) || !store.hasCredentials(root)) {
      throw new RunnerError('Not configured. Run config.(sh/cmd) to configure the runner.');
    }
    this.settings = store.loadSettings(root);
    const credentials = store.loadCredentials(root);
    this.auth = `Bearer ${credentials.data.runnerToken}`;
    this.context = {
      runnerName: this.settings.agentName,
      serverUrl: this.settings.serverUrl,
      gitHubUrl: this.settings.gitHubUrl,
      runnerToken: credentials.data.runnerToken,
      workFolder: store.workFolderPath(root, this.settings),
    };
  }

  async run(): Promise<number> {
    process.on('SIGTERM', () => this.shutdown('SIGTERM'));
    process.on('SIGINT', () => this.shutdown('SIGINT'));

    this.sessionId = await this.createSession();
    if (this.sessionId === undefined) return 0; // stopped before it could connect
    term.line();
    term.success('Connected to GitHub');
    term.line();
    term.line("Current runner version: '2.0.0-sim' (simulator standing in for actions/runner)");
    term.event('Listening for Jobs');

    let failures = 0;
    while (!this.stopping) {
      try {
        const res = await request('GET', `${this.settings.serverUrl}/jobs/next?session_id=${encodeURIComponent(this.sessionId)}`, {
          auth: this.auth,
          signal: this.poll.signal,
        });
        failures = 0;
        if (res.status === 200 && isJobMessage(res.json)) this.accept(res.json);
      } catch (err) {
        if (this.stopping) break;
        if (err instanceof HttpError && [401, 403, 404].includes(err.status)) {
          if (this.settings.ephemeral && (this.worker || this.jobsDone > 0)) {
            // The server removes an ephemeral runner once its job completes: a normal end.
            await this.workerExit;
            break;
          }
          term.error('Runner registration has been deleted from the server, please re-configure.');
          await this.stopWorker();
          return 1;
        }
        // The server is unreachable or failing: retry with a bounded backoff, as the real runner does.
        failures++;
        await this.backoff(err, failures);
      }
    }

    await this.stopWorker();
    await this.endSession();
    if (this.settings.ephemeral && this.jobsDone > 0) {
      // An ephemeral runner is done after one job; its registration is gone server-side.
      store.deleteCredentials(this.root);
      store.deleteSettings(this.root);
    }
    return 0;
  }

  /** The new session's id; undefined when a shutdown came first. */
  private async createSession(): Promise<string | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await request('POST', `${this.settings.serverUrl}/sessions`, { auth: this.auth, body: {} });
        return field(res.json, 'session_id');
      } catch (err) {
        if (this.stopping) return undefined;
        if (err instanceof HttpError && err.status === 409 && attempt < 30) {
          // A previous session of this runner may not have expired yet (a killed container).
          term.event('A session for this runner already exists. Retrying.');
          await sleep(1000, this.poll.signal);
        } else if (err instanceof HttpError) {
          throw err;
        } else {
          await this.backoff(err, attempt); // the server is not reachable (yet)
        }
        if (this.stopping) return undefined;
      }
    }
  }

  /** Waits before retrying an unreachable or failing server, with a bounded exponential backoff. */
  private async backoff(err: unknown, failures: number): Promise<void> {
    const reason = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
    term.event(`Runner connect error: ${reason}. Retrying until reconnected.`);
    await sleep(Math.min(500 * 2 ** failures, 15000), this.poll.signal);
  }

  private async endSession(): Promise<void> {
    if (this.sessionId === undefined) return;
    try {
      await request('DELETE', `${this.settings.serverUrl}/sessions/${encodeURIComponent(this.sessionId)}`, { auth: this.auth });
    } catch (err) {
      term.error(`Could not end the session: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /**
   * A new job: start it now, or right after the current worker exits. The
   * server sees the runner idle from the worker's `completed` event on, so the
   * next job can arrive while that worker is still exiting.
   */
  private accept(job: JobMessage): void {
    if (this.worker) this.queue.push(job);
    else this.startWorker(job);
  }

  private startWorker(job: JobMessage): void {
    term.event(`Running job: ${job.job}`);
    // The same bundle in worker mode, in a process group of its own: a
    // terminal's Ctrl-C reaches the listener only, which then decides.
    const worker = fork(process.argv[1] ?? '', ['worker'], { detached: true, stdio: 'inherit' });
    this.worker = worker;
    let conclusion: Conclusion = 'failure';
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'result') conclusion = m.conclusion;
    });
    this.workerExit = new Promise((resolve) => {
      worker.on('exit', () => {
        term.event(`Job ${job.job} completed with result: ${RESULT_WORDS[conclusion]}`);
        this.worker = undefined;
        this.jobsDone++;
        resolve();
        this.afterJob();
      });
    });
    const message: ToWorker = { type: 'job', job, context: this.context };
    worker.send(message);
  }

  private afterJob(): void {
    if (this.stopping) return;
    if (this.settings.ephemeral) {
      this.stopping = true;
      this.poll.abort();
      return;
    }
    const next = this.queue.shift();
    if (next) this.startWorker(next);
  }

  private shutdown(signal: string): void {
    if (this.stopping) return;
    term.event(`Received ${signal}, shutting down the runner.`);
    this.stopping = true;
    this.poll.abort();
  }

  /** Tells a running worker to shut down, and kills its process group if it does not exit in time. */
  private async stopWorker(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    term.event('The runner is shutting down: the running job is cancelled without its completed hook.');
    const message: ToWorker = { type: 'shutdown' };
    if (worker.connected) worker.send(message);
    const exited = await Promise.race([this.workerExit.then(() => true), sleep(WORKER_EXIT_GRACE_MS).then(() => false)]);
    if (!exited && worker.pid !== undefined) {
      try {
        process.kill(-worker.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
