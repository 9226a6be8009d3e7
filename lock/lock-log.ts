// locks.log: one JSON line per event an operator may need later (takeovers,
// forced releases, lost locks), appended by the wrapper and by `make locks release`.
import { appendFile } from 'node:fs/promises';
import { logPath } from './layout.ts';

export interface LogEntry {
  event: string;
  resource: string;
  [key: string]: unknown;
}

/** Appends one JSON line to the directory's log; small appends are atomic. */
export async function appendLockLog(dir: string, entry: LogEntry): Promise<void> {
  const line = JSON.stringify({ time: new Date().toISOString(), ...entry });
  await appendFile(logPath(dir), `${line}\n`, { mode: 0o666 });
}
