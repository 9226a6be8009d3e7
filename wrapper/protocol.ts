// Messages between the hook scripts and the wrapper, one JSON object per line
// over a unix socket (the hooks are short-lived; the wrapper keeps the heartbeat).
// Any job can connect: a request is read at most MAX_LINE_BYTES far, and only
// the fields checked here get through, as labels: which job runs, and its
// worker process, the wrapper sees for itself (job-lock.ts).
import type { Socket } from 'node:net';

/** What a job's hook says about its job (from GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT, GITHUB_REPOSITORY). */
export interface JobLabels {
  runId: string;
  attempt: string;
  /** owner/name ("" when unknown). */
  repository: string;
}

export type Request = { op: 'acquire'; job: JobLabels } | { op: 'release'; job: JobLabels };

export type Reply =
  | { type: 'waiting'; resource: string; place: number; heldForMs?: number; unreachable?: string }
  | { type: 'acquired'; resource: string; waitedMs: number; ticket: string }
  | { type: 'released'; resource: string; lost?: string }
  | { type: 'ignored'; resource: string; reason: string }
  | { type: 'error'; message: string };

/** The longest line either side reads; a request is a few hundred bytes. */
export const MAX_LINE_BYTES = 4096;

/**
 * GitHub's own limits, rounded up: run IDs and attempts are numbers, owners
 * letters, digits and '-' (and '_' for managed users' accounts, handle_shortcode),
 * repository names letters, digits, '.', '_' and '-' (at most 100). Empty means unknown.
 */
const LABELS: Record<keyof JobLabels, { pattern: RegExp; what: string }> = {
  runId: { pattern: /^\d{1,20}$/, what: 'digits, at most 20 (GITHUB_RUN_ID)' },
  attempt: { pattern: /^\d{1,5}$/, what: 'digits, at most 5 (GITHUB_RUN_ATTEMPT)' },
  repository: {
    pattern: /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}\/[A-Za-z0-9._-]{1,100}$/,
    what: "owner/name of letters, digits, '-', '_', and '.' in the name (GITHUB_REPOSITORY)",
  },
};
const OPS = new Set(['acquire', 'release']);

/** A request as sent, or one line saying what is wrong with it (never echoing what was sent). */
export function parseRequest(value: unknown): Request | { error: string } {
  if (!isObject(value) || typeof value.op !== 'string' || !OPS.has(value.op)) {
    return { error: 'not a request: op must be acquire or release' };
  }
  for (const key of Object.keys(value)) {
    if (key === 'workerPid') return { error: "workerPid is not accepted: the wrapper finds the job's worker process itself" };
    if (key !== 'op' && key !== 'job') return { error: 'a request has only op and job' };
  }
  const job = value.job;
  if (!isObject(job)) return { error: 'job must be an object of runId, attempt and repository' };
  const labels: JobLabels = { runId: '', attempt: '', repository: '' };
  for (const [key, raw] of Object.entries(job)) {
    // runner and job are what older hooks sent: the wrapper knows both itself.
    if (key === 'runner' || key === 'job') continue;
    if (!(key in LABELS)) return { error: 'job has only runId, attempt and repository' };
    const rule = LABELS[key as keyof JobLabels];
    if (raw !== '' && (typeof raw !== 'string' || !rule.pattern.test(raw))) return { error: `${key} is invalid: use ${rule.what}` };
    labels[key as keyof JobLabels] = raw;
  }
  return { op: value.op as Request['op'], job: labels };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function send(socket: Socket, message: Request | Reply): void {
  if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`);
}

/**
 * Calls `onMessage` for each complete JSON line received (`undefined` for a
 * line that is not JSON). A line longer than `maxLineBytes` is never
 * buffered whole: `onTooLong` is called once and nothing more is read.
 */
export function onLines(socket: Socket, onMessage: (value: unknown) => void, onTooLong: () => void, maxLineBytes = MAX_LINE_BYTES): void {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const onData = (chunk: Buffer): void => {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
      if (pendingBytes + nl - start > maxLineBytes) return tooLong();
      const line = Buffer.concat([...pending, chunk.subarray(start, nl)]).toString('utf8');
      pending = [];
      pendingBytes = 0;
      start = nl + 1;
      if (!line.trim()) continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        value = undefined;
      }
      onMessage(value);
      if (socket.destroyed) return;
    }
    const rest = chunk.subarray(start);
    if (pendingBytes + rest.length > maxLineBytes) return tooLong();
    if (rest.length > 0) {
      pending.push(rest);
      pendingBytes += rest.length;
    }
  };
  const tooLong = (): void => {
    socket.off('data', onData);
    pending = [];
    onTooLong();
  };
  socket.on('data', onData);
}
