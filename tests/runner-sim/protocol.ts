// Runner simulator — STANDS IN for actions/runner, which cannot be downloaded
// on these machines.
//
// The job message and events of the emulator's runner protocol
// (tests/emulator/PROTOCOL.md §2), and the messages between the listener
// (run.sh) and its per-job worker process.

export interface JobMessage {
  job_id: string | number;
  run_id: string | number;
  run_attempt: string | number;
  job: string;
  repository: string;
  workflow: string;
  steps: { name: string; run: string }[];
  env?: Record<string, string>;
}

export type Conclusion = 'success' | 'failure' | 'cancelled';

export type JobEvent =
  | { event: 'started' }
  | { event: 'hook'; hook: 'job_started' | 'job_completed'; exit_code: number; output: string }
  | { event: 'step'; name: string; exit_code: number; output: string }
  | { event: 'completed'; conclusion: Conclusion };

/** What the worker needs besides the job: who it runs as and where. */
export interface WorkerContext {
  runnerName: string;
  serverUrl: string;
  gitHubUrl: string;
  runnerToken: string;
  workFolder: string;
}

export type ToWorker = { type: 'job'; job: JobMessage; context: WorkerContext } | { type: 'shutdown' };
export type FromWorker = { type: 'result'; conclusion: Conclusion };

export function isJobMessage(value: unknown): value is JobMessage {
  const v = value as Partial<JobMessage> | undefined;
  return v !== undefined && v.job_id !== undefined && typeof v.job === 'string' && Array.isArray(v.steps);
}
