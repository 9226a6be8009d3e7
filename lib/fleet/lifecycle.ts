// The lifecycle commands over one fleet: init, start, stop (with drain),
// restart. Scripts parse arguments and print; the steps live here.
import { setTimeout as sleep } from 'node:timers/promises';
import { buildCompose, writeCompose, type RunnerSpec } from '../docker/compose.ts';
import type { Config } from '../config/config.ts';
import { compose, composeOrFail, configuredRunners, listFleetContainers } from '../docker/docker.ts';
import { prepareLockDir } from '../../lock/directory.ts';
import { CliError, ExitCode } from '../../core/errors.ts';
import type { RunnerApi } from '../github/runner-api.ts';
import { readHostFacts } from '../docker/host-facts.ts';
import { readComposeRunners } from '../docker/compose-reader.ts';
import { registerRunners, requireRegistered } from './registration.ts';
import { ensureRunnerImage, type ImageOptions } from '../docker/runner-image.ts';
import { carryOverOldState, finishMigrations } from './state-migration.ts';

type Log = (line: string) => void;
const print: Log = (line) => console.log(line);

/**
 * The number of generic runners this fleet has now: the highest `runner-<i>`
 * among its containers (found by label), so that removing runner-2 of four
 * never drops runner-4 from the compose file; else the compose file's count.
 */
export async function currentGenericCount(config: Config): Promise<number | undefined> {
  const containers = await listFleetContainers(config);
  const indexes = containers
    .filter((c) => c.kind === 'generic' && c.name.startsWith(`${config.prefix}runner-`))
    .map((c) => Number(c.name.slice(`${config.prefix}runner-`.length)))
    .filter((index) => Number.isInteger(index) && index > 0);
  if (indexes.length > 0) return Math.max(...indexes);
  try {
    return (await readComposeRunners(config)).filter((r) => r.kind === 'generic').length;
  } catch {
    return undefined;
  }
}

/** Writes the compose file for `count` generic runners plus the boards; returns the runners. */
export async function writeFleetCompose(config: Config, count: number): Promise<RunnerSpec[]> {
  await writeCompose(config.composeFile, buildCompose(config, count, readHostFacts()));
  return readComposeRunners(config);
}

/**
 * make init: image → compose file → lock directory → old volumes carried over
 * → register → up -d (recreating runners whose image or settings changed) →
 * old volumes removed → wait until online.
 */
export async function initFleet(config: Config, api: RunnerApi, count: number, log: Log = print, image: Pick<ImageOptions, 'log' | 'progress'> = {}): Promise<void> {
  // A wrong credential, permission or org is said now, not after an image build that may take many minutes.
  await api.checkAccess();
  // make init builds one image at a time, so by default docker build's own
  // output streams to the terminal: someone building their runner image wants
  // to see a slow apt-get or a failing RUN as it happens, as with docker build
  // itself. Builds that run side by side (make demo: two fleets at once) pass
  // image.progress and get one folded line per step, the log only on failure.
  await ensureRunnerImage(config, image);
  const runners = await writeFleetCompose(config, count);
  log(`Wrote ${config.composeFile}: ${count} generic + ${config.boards.length} board runner(s)`);
  await noteDroppedRunners(config, runners, log);
  await ensureLockDirFor(config, runners, log);
  const migrations = await carryOverOldState(config, runners);
  // Registering before `up` spares the containers a restart loop while unconfigured.
  requireRegistered(await registerRunners(config, api, runners, log));
  await composeOrFail(config, ['up', '-d'], 'up');
  await finishMigrations(migrations, log);
  await waitUntilOnline(api, runners.map((r) => r.name), log);
}

/** Gives freshly started runners a moment to connect, so the table printed next shows them online. */
export async function waitUntilOnline(api: RunnerApi, names: string[], log: Log, { timeoutMs = 30_000, pollMs = 2000 } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let announced = false;
  for (;;) {
    const online = new Set((await api.listRunners()).filter((r) => r.status === 'online').map((r) => r.name));
    const waiting = names.filter((name) => !online.has(name));
    if (waiting.length === 0) return;
    if (Date.now() >= deadline) {
      log(`note: still offline after ${timeoutMs / 1000} s: ${waiting.join(', ')} (see make logs RUNNER=…)`);
      return;
    }
    if (!announced) log(`Waiting for ${waiting.length} runner(s) to come online …`);
    announced = true;
    await sleep(pollMs);
  }
}

/** make start: register unconfigured runners, then start them (restarting ones that waited for it). */
export async function startRunners(config: Config, api: RunnerApi, runners: RunnerSpec[], log: Log = print): Promise<void> {
  await ensureLockDirFor(config, runners, log);
  const migrations = await carryOverOldState(config, runners);
  await stopUnconfigured(config, runners);
  requireRegistered(await registerRunners(config, api, runners, log));
  await composeOrFail(config, ['up', '-d', '--no-deps', ...runners.map((r) => r.name)], 'up');
  await finishMigrations(migrations, log);
}

/**
 * A container that is up but was never registered only restart-loops; it is
 * stopped before registration, because compose v1 cannot `run` a one-off
 * container of a host-network service while that service's container is up.
 * `up` starts it again once it is registered.
 */
async function stopUnconfigured(config: Config, runners: RunnerSpec[]): Promise<void> {
  const names = new Set(runners.map((r) => r.name));
  const up = (await listFleetContainers(config)).filter((c) => names.has(c.name) && (c.state === 'running' || c.state === 'restarting')).map((c) => c.name);
  if (up.length === 0) return;
  const configured = await configuredRunners(config.fleetImage, up);
  const waiting = up.filter((name) => !configured.has(name));
  if (waiting.length) await composeOrFail(config, ['stop', ...waiting], 'stop');
}

export interface StopOptions {
  /** Wait until GitHub (asked through this API) shows each runner idle. */
  drainWith?: RunnerApi;
  pollMs?: number;
  log?: Log;
}

/** make stop: with drain, waits until GitHub shows each runner idle before stopping it. */
export async function stopRunners(config: Config, runners: RunnerSpec[], options: StopOptions = {}): Promise<void> {
  const log = options.log ?? print;
  const api = options.drainWith;
  if (api) {
    await Promise.all(runners.map((runner) => drainThenStop(config, api, runner.name, options.pollMs ?? 5000, log)));
    return;
  }
  await composeOrFail(config, ['stop', ...runners.map((r) => r.name)], 'stop');
}

/**
 * make restart: recreates the runners' containers from the current image
 * (rebuilt first if its Dockerfile or base changed), so the runner root is the
 * image's again and nothing a job left there survives; the registration and
 * the work directory are in volumes and stay.
 */
export async function restartRunners(config: Config, runners: RunnerSpec[], log: Log = print): Promise<void> {
  await ensureLockDirFor(config, runners, log);
  await ensureRunnerImage(config);
  const migrations = await carryOverOldState(config, runners);
  await composeOrFail(config, ['up', '-d', '--force-recreate', '--no-deps', ...runners.map((r) => r.name)], 'up');
  await finishMigrations(migrations, log);
}

async function drainThenStop(config: Config, api: RunnerApi, name: string, pollMs: number, log: Log): Promise<void> {
  let announced = false;
  for (;;) {
    const runner = await api.findByName(name);
    if (!runner || !runner.busy) break;
    if (!announced) log(`${name}: running a job; waiting until it is idle before stopping (Ctrl-C to give up)`);
    announced = true;
    await sleep(pollMs);
  }
  const result = await compose(config, ['stop', name], { capture: true });
  if (result.exitCode !== 0) throw new CliError(`docker compose stop ${name} failed: ${result.stderr.trim().split('\n').pop()}`, ExitCode.docker);
  log(`${name}: stopped`);
}

/** Board runners with a resource ID need the lock directory before they start. */
async function ensureLockDirFor(config: Config, runners: RunnerSpec[], log: Log): Promise<void> {
  if (runners.some((runner) => runner.resourceId)) await prepareLockDir(config.lockHostPath, log);
}

async function noteDroppedRunners(config: Config, runners: RunnerSpec[], log: Log): Promise<void> {
  const names = new Set(runners.map((r) => r.name));
  const dropped = (await listFleetContainers(config)).filter((c) => !names.has(c.name)).map((c) => c.name);
  if (dropped.length) {
    log(`note: ${dropped.join(', ')} no longer in the compose file and left as they are; remove them with make rm RUNNERS="${dropped.join(' ')}"`);
  }
}
