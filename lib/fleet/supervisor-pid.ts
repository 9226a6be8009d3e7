// One supervisor per fleet: its pid in a file beside the compose file, taken
// with O_EXCL, so a second `make supervise` is refused and `make stop`/`rm`/
// `purge` can stop the one that runs before touching its slots.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config/config.ts';
import { CliError, ExitCode } from '../../core/errors.ts';
import { pidFileHolder, processAlive, takePidFile } from '../../core/pid-file.ts';

/** `.supervisor.<project>.pid` beside the compose file. */
export function supervisorPidFile(config: Pick<Config, 'composeFile' | 'projectName'>): string {
  return config.composeFile.replace(/[^/]*$/, `.supervisor.${config.projectName}.pid`);
}

/** The running supervisor's pid, if one runs (a file left by a killed one is not a supervisor). */
export function runningSupervisor(config: Pick<Config, 'composeFile' | 'projectName'>): Promise<number | undefined> {
  return Promise.resolve(pidFileHolder(supervisorPidFile(config)));
}

/** Takes the fleet's pid file for this process; one line when another supervisor holds it. Returns its release. */
export function claimSupervisorPid(config: Pick<Config, 'composeFile' | 'projectName'>): Promise<() => Promise<void>> {
  const path = supervisorPidFile(config);
  const release = takePidFile(path, {
    held: (pid) => `a supervisor (pid ${pid}) already runs for this fleet (${path}): one per env file; stop it first (make stop, or systemctl stop)`,
    exitCode: ExitCode.refused,
  });
  return Promise.resolve(() => Promise.resolve(release()));
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
  while (processAlive(pid)) {
    if (Date.now() > deadline)
      throw new CliError(
        `the supervisor (pid ${pid}) did not stop within ${timeoutMs / 1000} s of SIGTERM: stop it (kill ${pid}) and run the command again`,
        ExitCode.failure,
      );
    await sleep(100);
  }
  return pid;
}
