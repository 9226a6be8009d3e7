// The lifecycle commands over one fleet: init, start, stop (with drain),
// restart. init, start and restart bring runners up through one pipeline,
// each choosing its steps; scripts parse arguments and print the result.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config/config.ts';
import { prepareLockDir } from '../../lock/directory.ts';
import { stdio, type Reporter } from '../../core/reporter.ts';
import type { RunnerApi } from '../github/runner-api.ts';
import { buildCompose, writeCompose, type RunnerSpec } from '../docker/compose-file.ts';
import { readComposeRunners } from '../docker/compose-reader.ts';
import { compose } from '../docker/compose.ts';
import { listFleetContainers } from '../docker/containers.ts';
import { readHostFacts } from '../docker/host-facts.ts';
import { ensureRunnerImage, type ImageOptions } from '../docker/runner-image.ts';
import { carryOverLegacyState, finishLegacyMigrations } from './legacy.ts';
import { registerRunners, requireRegistered } from './registration.ts';
import { configuredRunners } from './runner-state.ts';

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
export async function writeFleetCompose(config: Config, count: number, reporter: Reporter = stdio): Promise<RunnerSpec[]> {
  await writeCompose(config.composeFile, buildCompose(config, count, readHostFacts(), reporter));
  return readComposeRunners(config);
}

/** Which steps of bringUp a command takes. */
interface BringUpSteps {
  /** Register the runners not yet configured, through this API, before `up`. */
  registerWith?: RunnerApi;
  /** Stop the runners that are up but were never registered before registering them (see stopUnconfigured). */
  stopUnconfigured?: boolean;
  /** `up` only these runners' services (`--no-deps`); unset: the whole compose file. */
  only?: RunnerSpec[];
  /** Recreate the containers even when nothing changed (`--force-recreate`). */
  recreate?: boolean;
  /** Wait until GitHub (asked through this API) shows the runners online. */
  waitOnlineWith?: RunnerApi;
}

/**
 * Brings `runners` up: lock directory → old `-data` volumes carried over →
 * registered → `up -d` → old volumes removed → online, each step as `steps` says.
 */
async function bringUp(config: Config, runners: RunnerSpec[], steps: BringUpSteps, reporter: Reporter): Promise<void> {
  // Board runners with a resource ID need the lock directory before they start.
  if (runners.some((runner) => runner.resourceId)) await prepareLockDir(config.lockHostPath, (line) => reporter.info(line));
  const migrations = await carryOverLegacyState(config, runners);
  if (steps.stopUnconfigured) await stopUnconfigured(config, runners);
  // Registering before `up` spares the containers a restart loop while unconfigured.
  if (steps.registerWith) requireRegistered(await registerRunners(config, steps.registerWith, runners, reporter));
  const services = steps.only ? ['--no-deps', ...steps.only.map((r) => r.name)] : [];
  await compose(config, ['up', '-d', ...(steps.recreate ? ['--force-recreate'] : []), ...services]);
  await finishLegacyMigrations(migrations, reporter);
  if (steps.waitOnlineWith) await waitUntilOnline(steps.waitOnlineWith, runners.map((r) => r.name), reporter);
}

/**
 * make init: image → compose file → the whole fleet brought up (registered,
 * `up -d` recreating runners whose image or settings changed) → online.
 */
export async function initFleet(
  config: Config,
  api: RunnerApi,
  count: number,
  reporter: Reporter = stdio,
  image: Pick<ImageOptions, 'reporter' | 'progress'> = {},
): Promise<void> {
  // A wrong credential, permission or org is said now, not after an image build that may take many minutes.
  await api.checkAccess();
  // make init builds one image at a time, so by default docker build's own
  // output streams to the terminal: someone building their runner image wants
  // to see a slow apt-get or a failing RUN as it happens, as with docker build
  // itself. Builds that run side by side (make demo: two fleets at once) pass
  // image.progress and get one folded line per step, the log only on failure.
  await ensureRunnerImage(config, image);
  const runners = await writeFleetCompose(config, count, reporter);
  reporter.info(`Wrote ${config.composeFile}: ${count} generic + ${config.boards.length} board runner(s)`);
  await noteDroppedRunners(config, runners, reporter);
  await bringUp(config, runners, { registerWith: api, waitOnlineWith: api }, reporter);
}

/** make start: register unconfigured runners, then start them (restarting ones that waited for it). */
export async function startRunners(config: Config, api: RunnerApi, runners: RunnerSpec[], reporter: Reporter = stdio): Promise<void> {
  await bringUp(config, runners, { stopUnconfigured: true, registerWith: api, only: runners }, reporter);
}

/**
 * make restart: recreates the runners' containers from the current image
 * (rebuilt first if its Dockerfile or base changed), so the runner root is the
 * image's again and nothing a job left there survives; the registration and
 * the work directory are in volumes and stay.
 */
export async function restartRunners(config: Config, runners: RunnerSpec[], reporter: Reporter = stdio): Promise<void> {
  await ensureRunnerImage(config);
  await bringUp(config, runners, { only: runners, recreate: true }, reporter);
}

/** Gives freshly started runners a moment to connect, so the table printed next shows them online. */
export async function waitUntilOnline(api: RunnerApi, names: string[], reporter: Reporter, { timeoutMs = 30_000, pollMs = 2000 } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let announced = false;
  for (;;) {
    const online = new Set((await api.listRunners()).filter((r) => r.status === 'online').map((r) => r.name));
    const waiting = names.filter((name) => !online.has(name));
    if (waiting.length === 0) return;
    if (Date.now() >= deadline) {
      reporter.info(`note: still offline after ${timeoutMs / 1000} s: ${waiting.join(', ')} (see make logs RUNNER=…)`);
      return;
    }
    if (!announced) reporter.info(`Waiting for ${waiting.length} runner(s) to come online …`);
    announced = true;
    await sleep(pollMs);
  }
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
  if (waiting.length) await compose(config, ['stop', ...waiting]);
}

export interface StopOptions {
  /** Wait until GitHub (asked through this API) shows each runner idle. */
  drainWith?: RunnerApi;
  pollMs?: number;
  reporter?: Reporter;
}

/** make stop: with drain, waits until GitHub shows each runner idle before stopping it. */
export async function stopRunners(config: Config, runners: RunnerSpec[], options: StopOptions = {}): Promise<void> {
  const reporter = options.reporter ?? stdio;
  const api = options.drainWith;
  if (api) {
    await Promise.all(runners.map((runner) => drainThenStop(config, api, runner.name, options.pollMs ?? 5000, reporter)));
    return;
  }
  await compose(config, ['stop', ...runners.map((r) => r.name)]);
}

async function drainThenStop(config: Config, api: RunnerApi, name: string, pollMs: number, reporter: Reporter): Promise<void> {
  let announced = false;
  for (;;) {
    const runner = await api.findByName(name);
    if (!runner || !runner.busy) break;
    if (!announced) reporter.info(`${name}: running a job; waiting until it is idle before stopping (Ctrl-C to give up)`);
    announced = true;
    await sleep(pollMs);
  }
  await compose(config, ['stop', name], { capture: true });
  reporter.info(`${name}: stopped`);
}

async function noteDroppedRunners(config: Config, runners: RunnerSpec[], reporter: Reporter): Promise<void> {
  const names = new Set(runners.map((r) => r.name));
  const dropped = (await listFleetContainers(config)).filter((c) => !names.has(c.name)).map((c) => c.name);
  if (dropped.length) {
    reporter.info(`note: ${dropped.join(', ')} no longer in the compose file and left as they are; remove them with make rm RUNNERS="${dropped.join(' ')}"`);
  }
}
