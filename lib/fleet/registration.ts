// Registering runners: config.sh runs in a one-off container with the
// runner's state volume, through image/runner-state.sh, which moves what it
// wrote into that volume. The registration token reaches it only through the
// environment (ACTIONS_RUNNER_INPUT_TOKEN), never argv, files or logs.
import type { RunnerSpec } from '../docker/compose-file.ts';
import { registrationUrl, type Config } from '../config/config.ts';
import { composeResult } from '../docker/compose.ts';
import { CliError, ExitCode } from '../../core/errors.ts';
import { stdio, type Reporter } from '../../core/reporter.ts';
import { redact } from '../github/errors.ts';
import type { RunnerApi } from '../github/runner-api.ts';
import { STATE_SCRIPT } from '../../core/constants.ts';
import { getRegistrationToken } from '../github/token-cache.ts';
import { configuredRunners } from './runner-state.ts';

/** config.sh runs at most this many at once: GitHub asks for mutating calls to be spread out. */
const PARALLEL_REGISTRATIONS = 3;

export interface RegistrationReport {
  registered: string[];
  skipped: string[];
  failed: string[];
}

/** runc's "unable to apply caps": the host cannot give a privileged container as root every capability. */
const PRIVILEGED_ROOT_HINT =
  'this Docker engine cannot start privileged containers as root (its host lacks a capability): set RUNNER_PRIVILEGED=false and list the devices the runners need in BOARD_RUNNER_DEVICES';

export async function registerRunners(config: Config, api: RunnerApi, runners: RunnerSpec[], reporter: Reporter = stdio): Promise<RegistrationReport> {
  const configured = await configuredRunners(
    config.fleetImage,
    runners.map((r) => r.name),
  );
  const skipped = runners.filter((r) => configured.has(r.name)).map((r) => r.name);
  for (const name of skipped) reporter.info(`${name}: already configured, skipped`);
  const todo = runners.filter((r) => !configured.has(r.name));
  if (todo.length === 0) return { registered: [], skipped, failed: [] };

  // One token for the whole batch (cached for the next commands too).
  const { token } = await getRegistrationToken(config, api);
  const registered: string[] = [];
  const failed: string[] = [];
  let done = 0;
  await forEachLimited(todo, PARALLEL_REGISTRATIONS, async (runner) => {
    // A failure is this runner's outcome, said below (redacted), not the end of the others' registration.
    const result = await composeResult(config, configArgs(config, runner), { capture: true, env: { ACTIONS_RUNNER_INPUT_TOKEN: token } });
    done += 1;
    if (result.exitCode === 0) {
      registered.push(runner.name);
      reporter.info(`[${done}/${todo.length}] ${runner.name}: registered (${runner.labels.join(',')})`);
    } else {
      failed.push(runner.name);
      const output = `${result.stdout}\n${result.stderr}`;
      const why = lastLines(redact(output, [token]), 3);
      reporter.info(`[${done}/${todo.length}] ${runner.name}: registration failed (exit ${result.exitCode}): ${why}`);
      if (/unable to apply caps/.test(output)) reporter.info(`  ${PRIVILEGED_ROOT_HINT}`);
    }
  });
  return { registered, skipped, failed };
}

/** Throws when any registration failed, after all were tried. */
export function requireRegistered(report: RegistrationReport): void {
  if (report.failed.length > 0) {
    throw new CliError(`registration failed for ${report.failed.join(', ')}: see the lines above`, ExitCode.failure);
  }
}

function configArgs(config: Config, runner: RunnerSpec): string[] {
  return [
    'run',
    '--rm',
    '--no-deps',
    '-T',
    '-e',
    'ACTIONS_RUNNER_INPUT_TOKEN', // value from our environment, not argv
    '--entrypoint',
    STATE_SCRIPT,
    runner.name,
    'configure',
    '--unattended',
    '--replace',
    '--url',
    registrationUrl(config),
    '--name',
    runner.name,
    '--labels',
    runner.labels.join(','),
    '--runnergroup',
    config.group,
    '--work',
    config.workdir,
    ...(config.disableAutoUpdate ? ['--disableupdate'] : []),
  ];
}

async function forEachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const workers = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  });
  await Promise.all(workers);
}

function lastLines(text: string, count: number): string {
  return text.trim().split('\n').filter(Boolean).slice(-count).join(' | ');
}
