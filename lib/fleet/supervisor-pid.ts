// One supervisor per fleet: its pid in a file beside the compose file, taken
// with O_EXCL, so a second `make supervise` is refused and `make stop`/`rm`/
// `purge` can stop the one that runs before touching its slots.
import { open, readFile, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config/config.ts';
import { CliError, ExitCode } from '../../core/errors.ts';

/** `.supervisor.<project>.pid` beside the compose file. */
export function supervisorPidFile(config: Pick<Config, 'composeFile' | 'projectName'>): string {
  return config.composeFile.replace(/[^/]*$/, `.supervisor.${config.projectName}.pid`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The running supervisor's pid, if one runs (a file left by a killed one is not a supervisor). */
export async function runningSupervisor(config: Pick<Config, 'composeFile' | 'projectName'>): Promise<number | undefined> {
  const text = await readFile(supervisorPidFile(config), 'utf8').catch(() => undefined);
  const pid = Number(text?.trim());
  return Number.isInteger(pid) && pid > 1 && alive(pid) ? pid : undefined;
}

/** Takes the fleet's pid file for this process; one line when another supervisor holds it. Returns its release. */
export async function claimSupervisorPid(config: Pick<Config, 'composeFile' | 'projectName'>): Promise<() => Promise<void>> {
  const path = supervisorPidFile(config);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o644);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return async () => {
        if ((await readFile(path, 'utf8').catch(() => '')).trim() === String(process.pid)) await unlink(path).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const other = await runningSupervisor(config);
      if (other !== undefined) {
        throw new CliError(`a supervisor (pid ${other}) already runs for this fleet (${path}): one per env file; stop it first (make stop, or systemctl stop)`, ExitCode.refused);
      }
      await unlink(path).catch(() => undefined); // left by a supervisor that was killed
    }
  }
  throw new CliError(`could not take ${path}: another supervisor is starting at the same moment; try again`, ExitCode.refused);
}

/**
 * Stops the fleet's supervisor, if one runs (SIGTERM, then waits for it to
 * go), so it does not refill the slots a command is about to stop or remove.
 * Returns its pid, or undefined when none ran.
 */
export async function stopSupervisor(config: Pick<Config, 'composeFile' | 'projectName'>, timeoutMs = 15_000): Promise<number | undefined> {
  const pid = await runningSupervisor(config);
  if (pid === undefined) return undefined;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) throw new CliError(`the supervisor (pid ${pid}) did not stop within ${timeoutMs / 1000} s of SIGTERM: stop it (kill ${pid}) and run the command again`, ExitCode.failure);
    await sleep(100);
  }
  return pid;
}
