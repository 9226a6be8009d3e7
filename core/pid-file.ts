// One process of a kind at a time: its pid in a file taken with O_EXCL. A
// file left by a process that died (its pid gone) is taken over; a live
// holder is refused with the line the caller words.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { CliError, ExitCode, type ExitCodeValue } from './errors.ts';

/** Whether a process with this pid exists (EPERM: it does, another user's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live process whose pid the file holds, if any. */
export function pidFileHolder(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 1 && processAlive(pid) ? pid : undefined;
}

export interface PidFileRefusal {
  /** The one line for a live holder. */
  held: (pid: number) => string;
  exitCode?: ExitCodeValue;
}

/** Takes the pid file for this process; returns its release (which removes it only while it is still ours). */
export function takePidFile(path: string, refusal: PidFileRefusal): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        if (pidFileHolder(path) === process.pid) rmSync(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = pidFileHolder(path);
      if (holder !== undefined) throw new CliError(refusal.held(holder), refusal.exitCode ?? ExitCode.failure);
      rmSync(path, { force: true }); // left by a process that died without cleaning up
    }
  }
  throw new CliError(`cannot take ${path}: another process keeps taking it at the same moment; try again`, refusal.exitCode ?? ExitCode.failure);
}
