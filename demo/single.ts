// One demo at a time on a host: an O_EXCL pid file. A file left by a demo
// that died (its pid gone) is taken over.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { CliError } from '../core/errors.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the pid file; returns its release. Throws one line when another demo runs. */
export function takeDemoLock(path: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(path, 'utf8').trim() === String(process.pid)) rmSync(path, { force: true });
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
        throw new CliError(`another make demo is running (pid ${pid}, ${path}): wait for it to end, or stop it with kill -INT ${pid}`);
      }
      rmSync(path, { force: true }); // a demo that died without cleaning up
    }
  }
  throw new CliError(`cannot take ${path}: another make demo keeps starting; try again`);
}
