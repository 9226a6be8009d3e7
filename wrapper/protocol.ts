// Messages between the hook scripts and the wrapper, one JSON object per line
// over a unix socket (the hooks are short-lived; the wrapper keeps the heartbeat).
import type { Socket } from 'node:net';
import type { JobInfo, LockIdentity } from '../lock/layout.ts';

export type Request =
  | { op: 'acquire'; job: JobInfo; workerPid: number }
  | { op: 'release'; identity: LockIdentity }
  | { op: 'status' };

export interface HolderSummary {
  runner: string;
  repository: string;
  runId: string;
  attempt: string;
  since: string;
}

export type Reply =
  | { type: 'waiting'; resource: string; place: number; holder?: HolderSummary }
  | { type: 'acquired'; resource: string; waitedMs: number; ticket: string }
  | { type: 'released'; resource: string; lost?: string }
  | { type: 'ignored'; resource: string; reason: string }
  | { type: 'error'; message: string }
  | { type: 'status'; resource: string; held?: LockIdentity & { ticket: string }; waiting?: LockIdentity };

export function send(socket: Socket, message: Request | Reply): void {
  if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`);
}

/** Calls `onMessage` for each complete JSON line received. */
export function onLines(socket: Socket, onMessage: (value: unknown) => void): void {
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (!line.trim()) continue;
      try {
        onMessage(JSON.parse(line));
      } catch {
        socket.destroy(); // not our protocol
      }
    }
  });
}
