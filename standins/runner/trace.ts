// Runner simulator — STANDS IN for actions/runner, which cannot be downloaded
// on these machines.
//
// The runner's own trace ("diag") log, the only signals a process inside the
// container gets about cancels:
// - Runner.Common/HostTraceListener.cs: one file per process start,
//   `<root>/_diag/<Host>_<yyyyMMdd-HHmmss>-utc.log`, every line
//   `[<utc, format u> INFO <source>] message`, flushed after each line.
// - Runner.Common/StdoutTraceListener.cs, added by HostContext.cs when
//   ACTIONS_RUNNER_PRINT_LOG_TO_STDOUT is true: the same lines on stdout as
//   `[<HOST> <utc, format u> INFO <source>] message`.
// The Worker's stdout goes to the Listener, which prints it (JobDispatcher.cs).
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { mask } from './terminal.ts';

export type HostType = 'Runner' | 'Worker';
type Level = 'INFO' | 'WARN' | 'ERR ' | 'VERB';

/** .NET's DateTime "u" format: 2024-01-31 10:00:00Z. */
export function utcU(d = new Date()): string {
  return d
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

function fileStamp(d: Date): string {
  const iso = d.toISOString(); // 2024-01-31T10:00:00.000Z
  return `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}`;
}

/** StringUtil.ConvertToBoolean: "1", "true" or "$true", any case. */
export function envTrue(value: string | undefined): boolean {
  const v = (value ?? '').trim().toLowerCase();
  return v === '1' || v === 'true' || v === '$true';
}

export class Trace {
  private file: string | undefined;
  readonly toStdout: boolean;

  constructor(
    private readonly host: HostType,
    private readonly root: string,
  ) {
    this.toStdout = envTrue(process.env.ACTIONS_RUNNER_PRINT_LOG_TO_STDOUT);
  }

  /** The diag file of this process (created on the first line). */
  get path(): string {
    if (!this.file) {
      const dir = join(this.root, '_diag');
      mkdirSync(dir, { recursive: true });
      this.file = join(dir, `${this.host}_${fileStamp(new Date())}-utc.log`);
    }
    return this.file;
  }

  info(source: string, message: string): void {
    this.write('INFO', source, message);
  }

  warn(source: string, message: string): void {
    this.write('WARN', source, message);
  }

  error(source: string, message: string): void {
    this.write('ERR ', source, message);
  }

  private write(level: Level, source: string, message: string): void {
    const now = new Date();
    for (const line of mask(message).split('\n')) {
      try {
        appendFileSync(this.path, `[${utcU(now)} ${level} ${source}] ${line}\n`); // flushed per line
      } catch {
        // a read-only root must not stop the runner
      }
      if (this.toStdout) process.stdout.write(`[${this.host.toUpperCase()} ${utcU(now)} ${level} ${source}] ${line}\n`);
    }
  }
}
