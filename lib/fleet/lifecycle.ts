// The lifecycle commands over one fleet: init, start, stop (with drain),
// restart. init, start and restart bring runners up through one pipeline,
// each choosing its steps; scripts parse arguments and print the result.
// An ephemeral fleet's runners are started by its supervisor (make
// supervise), so start, restart and register refuse it; its stop stops the
// supervisor, then empties the slots (stopSlots).
import { relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config/config.ts';
import { prepareLockDir } from '../../lock/directory.ts';
import { CliError, ConfigError, ExitCode } from '../../core/errors.ts';
import { stdio, type Reporter } from '../../core/reporter.ts';
import type { Runner, RunnerApi } from '../github/runner-api.ts';
import { buildCompose, writeCompose, type RunnerSpec } from '../docker/compose-file.ts';
import { readComposeRunners } from '../docker/compose-reader.ts';
import { compose } from '../docker/compose.ts';
import { listFleetContainers, removeContainers, type FleetContainer } from '../docker/containers.ts';
import { readHostFacts } from '../docker/host-facts.ts';
import { ensureRunnerImage, type ImageOptions } from '../docker/runner-image.ts';
import { carryOverLegacyState, finishLegacyMigrations } from './legacy.ts';
import { registerRunners, requireRegistered } from './registration.ts';
import { configuredRunners } from './runner-state.ts';
import { compareNames } from './status.ts';
import { stopSupervisor } from './supervisor-pid.ts';

/**
 * make start, restart and register do not apply to an ephemeral fleet: its
 * supervisor starts a fresh container, registered just in time, for every job.
 */
export function refuseEphemeral(config: Pick<Config, 'mode' | 'envFile'>, command: string): void {
  if (config.mode !== 'ephemeral') return;
  const envFile = relative(process.cwd(), config.envFile) || config.envFile;
  throw new ConfigError(
    `${command} does not apply to an ephemeral fleet (RUNNER_MODE=ephemeral in ${envFile}): its runners are started by the supervisor, a fresh container per job: make supervise`,
  );
}

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
  if (steps.waitOnlineWith)
    await waitUntilOnline(
      steps.waitOnlineWith,
      runners.map((r) => r.name),
      reporter,
    );
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
  refuseEphemeral(config, 'make start');
  await bringUp(config, runners, { stopUnconfigured: true, registerWith: api, only: runners }, reporter);
}

/**
 * make restart: recreates the runners' containers from the current image
 * (rebuilt first if its Dockerfile or base changed), so the runner root is the
 * image's again and nothing a job left there survives; the registration and
 * the work directory are in volumes and stay.
 */
export async function restartRunners(config: Config, runners: RunnerSpec[], reporter: Reporter = stdio): Promise<void> {
  refuseEphemeral(config, 'make restart');
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
  /** An ephemeral fleet's registrations are looked at and deleted through this API (drainWith serves too). */
  api?: RunnerApi;
  /** No names were given: an ephemeral fleet's slot containers no longer in the compose file are stopped too. */
  all?: boolean;
  pollMs?: number;
  reporter?: Reporter;
}

/**
 * make stop: with drain, waits until GitHub shows each runner idle before
 * stopping it. An ephemeral fleet: stopSlots.
 */
export async function stopRunners(config: Config, runners: RunnerSpec[], options: StopOptions = {}): Promise<void> {
  const reporter = options.reporter ?? stdio;
  if (config.mode === 'ephemeral') {
    const api = options.drainWith ?? options.api;
    if (!api) throw new CliError('stopping an ephemeral fleet needs GitHub (its registrations are deleted): no API given', ExitCode.failure);
    await stopSlots(
      config,
      api,
      runners.map((runner) => runner.name),
      { drain: Boolean(options.drainWith), all: options.all ?? false, pollMs: options.pollMs ?? 5000, reporter },
    );
    return;
  }
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

// ---- make stop on an ephemeral fleet ----

/** What make stop does with one slot of an ephemeral fleet. */
export type SlotStop =
  /** Registration deleted first (GitHub refuses while a job runs), then the single-use container removed. */
  | { name: string; action: 'remove'; container?: FleetContainer; runner?: Runner }
  /** GitHub says it runs a job: left to finish it (with drain: waited for). */
  | { name: string; action: 'busy'; container?: FleetContainer; runner: Runner }
  /** No container here and no registration: nothing to do. */
  | { name: string; action: 'empty' };

/**
 * The plan for stopping `names` (with `all`, every slot container of the
 * fleet too): per slot, from its container and GitHub's registration.
 */
export function planSlotStop(names: string[], containers: FleetContainer[], runners: Runner[], all = false): SlotStop[] {
  const containerByName = new Map(containers.map((container) => [container.name, container]));
  const runnerByName = new Map(runners.map((runner) => [runner.name, runner]));
  const extra = all ? containers.filter((container) => container.ephemeral).map((container) => container.name) : [];
  return [...new Set([...names, ...extra])].sort(compareNames).map((name): SlotStop => {
    const container = containerByName.get(name);
    const runner = runnerByName.get(name);
    if (runner?.busy) return { name, action: 'busy', runner, ...(container ? { container } : {}) };
    if (!container && !runner) return { name, action: 'empty' };
    return { name, action: 'remove', ...(container ? { container } : {}), ...(runner ? { runner } : {}) };
  });
}

/** The line for a busy slot make stop leaves alone. */
export function busySlotLine(stop: Extract<SlotStop, { action: 'busy' }>): string {
  if (!stop.container) return `${stop.name}: registered and busy on GitHub, but no container here: left alone`;
  return `${stop.name}: running a job: left running to finish it; it will not be replaced (the supervisor is stopped; make stop again removes what it leaves)`;
}

export interface SlotStopOptions {
  /** Wait for busy slots' jobs to end, then remove them too. */
  drain: boolean;
  /** No names were given: also the fleet's slot containers no longer in the compose file. */
  all: boolean;
  pollMs: number;
  reporter: Reporter;
  /** Test hooks: Docker and the supervisor. */
  docker?: { listFleetContainers: typeof listFleetContainers; removeContainers: typeof removeContainers };
  stopSupervisor?: typeof stopSupervisor;
}

export interface SlotStopOutcome {
  removed: string[];
  /** Left running their job. */
  busy: string[];
}

/**
 * make stop on an ephemeral fleet: the supervisor first (it would refill what
 * is stopped), then each slot: a busy one is left to finish its job (with
 * drain: waited for, then removed); any other's registration is deleted and
 * its container, single-use, removed.
 */
export async function stopSlots(
  config: Config,
  api: Pick<RunnerApi, 'listRunners' | 'deleteRunner' | 'findByName'>,
  names: string[],
  options: SlotStopOptions,
): Promise<SlotStopOutcome> {
  const { reporter } = options;
  const docker = options.docker ?? { listFleetContainers, removeContainers };
  const pid = await (options.stopSupervisor ?? stopSupervisor)(config);
  reporter.info(
    pid === undefined
      ? 'no supervisor was running for this fleet'
      : `stopped the supervisor (pid ${pid}): it no longer fills the slots; make supervise starts it again`,
  );
  const [containers, runners] = await Promise.all([docker.listFleetContainers(config), api.listRunners()]);
  const plan = planSlotStop(
    names,
    containers,
    runners.filter((runner) => runner.name.startsWith(config.prefix)),
    options.all,
  );
  const outcome: SlotStopOutcome = { removed: [], busy: [] };
  const settle = async (step: SlotStop): Promise<void> => {
    const done = step.action === 'remove' ? await removeSlot(step, api, docker, reporter) : step;
    if (done.action === 'busy') {
      outcome.busy.push(done.name);
      reporter.info(busySlotLine(done));
    } else if (done.action === 'remove') {
      outcome.removed.push(done.name);
    }
  };
  // One slot after the other, in order; with drain, the busy ones are then waited for side by side.
  const waiting: Extract<SlotStop, { action: 'busy' }>[] = [];
  for (const step of plan) {
    if (step.action === 'empty') reporter.info(`${step.name}: empty slot, nothing to stop`);
    else if (step.action === 'busy' && options.drain && step.container) waiting.push(step);
    else await settle(step);
  }
  await Promise.all(waiting.map(async (step) => settle(await untilIdle(api, step, options.pollMs, reporter))));
  return outcome;
}

/** Deletes the registration (refused while busy: then the slot is busy after all), then removes the container. */
async function removeSlot(
  step: Extract<SlotStop, { action: 'remove' }>,
  api: Pick<RunnerApi, 'deleteRunner'>,
  docker: { removeContainers: typeof removeContainers },
  reporter: Reporter,
): Promise<SlotStop> {
  let registration = 'it had no registration';
  if (step.runner) {
    try {
      registration = (await api.deleteRunner(step.runner)) === 'deleted' ? 'registration deleted' : 'its registration was already gone';
    } catch (err) {
      // It took a job since the listing: GitHub refuses, and the slot is left to finish it.
      if (err instanceof CliError && err.exitCode === ExitCode.runnerBusy) return { ...step, action: 'busy', runner: { ...step.runner, busy: true } };
      throw err;
    }
  }
  if (step.container) {
    await docker.removeContainers([step.name]);
    reporter.info(`${step.name}: container stopped and removed (single-use), ${registration}`);
  } else {
    reporter.info(`${step.name}: no container here, ${registration}`);
  }
  return step;
}

/** With drain: waits until GitHub no longer shows the slot's runner busy (an ephemeral runner is deleted after its job). */
async function untilIdle(
  api: Pick<RunnerApi, 'findByName'>,
  step: Extract<SlotStop, { action: 'busy' }>,
  pollMs: number,
  reporter: Reporter,
): Promise<SlotStop> {
  reporter.info(`${step.name}: running a job; waiting until it ends before removing the slot (Ctrl-C to give up)`);
  for (;;) {
    await sleep(pollMs);
    const runner = await api.findByName(step.name);
    if (!runner) return { name: step.name, action: 'remove', ...(step.container ? { container: step.container } : {}) };
    if (!runner.busy) return { name: step.name, action: 'remove', runner, ...(step.container ? { container: step.container } : {}) };
  }
}
