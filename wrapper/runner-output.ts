// What the runner's own stdout tells the wrapper: a job started, a job
// cancelled (actions/runner gives a process in its container no other signal).
// Anything with the runner's uid can write to this pipe (a job opening
// /proc/<Listener>/fd/1), so a line only ever starts the wrapper looking: the
// job lock believes a job runs once it finds its Runner.Worker itself.
import type { Readable, Writable } from 'node:stream';
import { displayText } from '../lock/display.ts';

export type RunnerEvent = { type: 'job-started'; job: string } | { type: 'cancel-requested'; line: string };

/** Longest line read; a longer one is passed through but not interpreted. */
export const MAX_LINE_BYTES = 16 * 1024;

/** The Listener prints "<utc>: Running job: <name>" when it dispatches a job (JobDispatcher.cs, Terminal.WriteLine). */
const JOB_STARTED = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ: Running job: (.*)$/;
/**
 * With ACTIONS_RUNNER_PRINT_LOG_TO_STDOUT set, trace lines go to stdout as
 * "[RUNNER <utc> INFO <source>] …" (Runner.Common/StdoutTraceListener.cs,
 * added by HostContext.cs), the Worker's as "[WORKER …]" (the Listener prints
 * what its Worker writes, JobDispatcher.cs). A cancel shows as
 * "Job cancellation request <id> received, cancellation timeout <n> minutes."
 * (JobDispatcher.cs) and "Cancellation/Shutdown message received." (Worker.cs).
 */
const CANCELLED = new RegExp(
  String.raw`^\[(?:RUNNER|WORKER) [^\]]* (?:JobDispatcher|Worker)\] ` +
    String.raw`(?:Job cancellation request \S+ received|Cancellation\/Shutdown message received)`,
);

/**
 * What a line of the runner's stdout means to the wrapper, if anything. The
 * job-started hook is not cancelled with the job (it runs with always(),
 * StepsRunner.cs), so the wrapper acts on a cancel line itself.
 */
export function classifyLine(line: string): RunnerEvent | undefined {
  const started = JOB_STARTED.exec(line);
  // The job's display name, from the workflow: a label for logs and lock records, made plain and short.
  if (started) return { type: 'job-started', job: displayText(started[1], 100) };
  if (CANCELLED.test(line)) return { type: 'cancel-requested', line };
  return undefined;
}

/**
 * Copies the runner's stdout to `out` unchanged and calls `onEvent` for each
 * line that means something to the wrapper. Lines are split on '\n' and read
 * only up to MAX_LINE_BYTES (the rest of a longer line is skipped).
 */
export function watchRunnerOutput(input: Readable, out: Writable, onEvent: (event: RunnerEvent) => void): void {
  let pending = '';
  let overlong = false;
  input.setEncoding('utf8');
  input.on('data', (chunk: string) => {
    out.write(chunk);
    let start = 0;
    for (let nl = chunk.indexOf('\n'); nl >= 0; nl = chunk.indexOf('\n', start)) {
      const line = pending + chunk.slice(start, nl);
      if (!overlong && line.length <= MAX_LINE_BYTES) {
        const event = classifyLine(line.replace(/\r$/, ''));
        if (event) onEvent(event);
      }
      pending = '';
      overlong = false;
      start = nl + 1;
    }
    const rest = chunk.slice(start);
    if (overlong || pending.length + rest.length > MAX_LINE_BYTES) {
      overlong = true;
      pending = '';
    } else {
      pending += rest;
    }
  });
}
