// Runner simulator — STANDS IN for actions/runner, which cannot be downloaded
// on these machines.
//
// The messages of the stand-in's runner protocol (standins/github/PROTOCOL.md
// §2), and those between the Listener and its per-job Worker process (the
// real ones talk over two anonymous pipes, Runner.Common/ProcessChannel.cs;
// here: one JSON object per line on the fds named by `spawnclient <in> <out>`).

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

/** A job cancellation (JobCancelMessage: job id and the server's cancel timeout). */
export interface CancelMessage {
  type: 'cancel';
  job_id: string | number;
  timeout_minutes: number;
}

/** A runner update (AgentRefreshMessage: target version). */
export interface UpdateMessage {
  type: 'update';
  target_version: string;
}

export type ServerMessage = JobMessage | CancelMessage | UpdateMessage;

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

/**
 * Listener → Worker (Runner.Common/ProcessChannel.cs MessageType): the job,
 * then at most one of CancelRequest (server cancel) or RunnerShutdown (the
 * Listener got SIGINT/SIGTERM).
 */
export type ToWorker = { type: 'job'; job: JobMessage; context: WorkerContext } | { type: 'cancel' } | { type: 'shutdown' };
/** Worker → Listener: the job's result (the Listener reports it to the server). */
export type FromWorker = { type: 'result'; conclusion: Conclusion };

export function isJobMessage(value: unknown): value is JobMessage {
  const v = value as Partial<JobMessage> | undefined;
  return v !== undefined && v !== null && v.job_id !== undefined && typeof v.job === 'string' && Array.isArray(v.steps);
}

export function isCancelMessage(value: unknown): value is CancelMessage {
  const v = value as Partial<CancelMessage> | undefined;
  return v?.type === 'cancel' && v.job_id !== undefined;
}

export function isUpdateMessage(value: unknown): value is UpdateMessage {
  const v = value as Partial<UpdateMessage> | undefined;
  return v?.type === 'update' && typeof v.target_version === 'string';
}
