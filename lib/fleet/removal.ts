// Removing runners: resolve the names against one paginated listing, ask,
// unregister each from GitHub, then remove the containers and their volumes.
// A runner running a job is skipped (GitHub answers 422) unless forced; names
// nobody knows are reported without stopping the others. An ephemeral fleet's
// supervisor is stopped first (haltSupervisor), or it would fill again the
// slots being removed.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config/config.ts';
import { resolveRunnerName } from '../config/names.ts';
import { confirmOrRefuse, listForQuestion } from '../confirm.ts';
import type { FleetContainer } from '../docker/containers.ts';
import { CliError, ExitCode, type ExitCodeValue } from '../../core/errors.ts';
import { stdio, type Reporter } from '../../core/reporter.ts';
import { scopeDescription } from '../github/errors.ts';
import type { Runner, RunnerApi } from '../github/runner-api.ts';
import { compareNames, hostDocker, listContainersOrWarn, type DockerApi } from './status.ts';
import { stopSupervisor } from './supervisor-pid.ts';

export interface RemovalTarget {
  name: string;
  runner?: Runner;
  container?: FleetContainer;
}

export interface UnknownName {
  name: string;
  reason: string;
}

export interface RemovalPlan {
  targets: RemovalTarget[];
  unknown: UnknownName[];
  /** Set when Docker could not be reached: containers are unknown and cannot be removed. */
  dockerWarning?: string;
}

export interface RemovalOutcome {
  unregistered: string[];
  /** Still registered because GitHub says they run a job. */
  busy: string[];
  containersRemoved: string[];
  /** Docker could not be reached: containers of these targets may still exist. */
  containersLeft: string[];
  unknown: string[];
  exitCode: ExitCodeValue;
}

/**
 * Which runners `requested` names (all of this prefix when empty, orphans
 * included). Names resolve as for every other command (resolveRunnerName).
 */
export function planRemoval(prefix: string, runners: Runner[], containers: FleetContainer[] | undefined, requested: string[]): RemovalPlan {
  const runnerByName = new Map(runners.map((runner) => [runner.name, runner]));
  const containerByName = new Map((containers ?? []).map((container) => [container.name, container]));
  const target = (name: string): RemovalTarget => ({
    name,
    ...(runnerByName.has(name) ? { runner: runnerByName.get(name)! } : {}),
    ...(containerByName.has(name) ? { container: containerByName.get(name)! } : {}),
  });
  const ours = (name: string) => name.startsWith(prefix) && (containerByName.has(name) || runnerByName.has(name));

  if (requested.length === 0) {
    const names = new Set([...runnerByName.keys(), ...containerByName.keys()].filter(ours));
    return { targets: [...names].sort(compareNames).map(target), unknown: [] };
  }
  const targets: RemovalTarget[] = [];
  const unknown: UnknownName[] = [];
  for (const asked of new Set(requested)) {
    const name = resolveRunnerName(prefix, asked, ours);
    if (name !== undefined) {
      if (!targets.some((existing) => existing.name === name)) targets.push(target(name));
    } else if (runnerByName.has(asked)) {
      unknown.push({ name: asked, reason: `not a runner of this fleet (its names start with ${prefix})` });
    } else {
      const where = containers === undefined ? 'not registered on GitHub (containers could not be checked)' : 'no such runner on GitHub or container here';
      unknown.push({ name: asked, reason: where });
    }
  }
  return { targets, unknown };
}

/** Lists GitHub's runners once (paginated) and the local containers, and resolves `names`. */
export async function planFleetRemoval(
  config: Config,
  api: Pick<RunnerApi, 'listRunners'>,
  names: string[],
  dockerApi: Pick<DockerApi, 'listFleetContainers'> = hostDocker,
): Promise<RemovalPlan> {
  // Containers first: a name clash with another scope is refused before GitHub is asked anything.
  const local = await listContainersOrWarn(config, dockerApi);
  const runners = await api.listRunners();
  const plan = planRemoval(config.prefix, runners, local.containers, names);
  return local.dockerWarning ? { ...plan, dockerWarning: local.dockerWarning } : plan;
}

async function unregister(api: Pick<RunnerApi, 'deleteRunner'>, runner: Runner): Promise<'deleted' | 'absent' | 'busy'> {
  try {
    return await api.deleteRunner(runner);
  } catch (err) {
    if (err instanceof CliError && err.exitCode === ExitCode.runnerBusy) return 'busy';
    throw err;
  }
}

/** Asks again every 2 s until GitHub no longer calls the runner busy, or `waitMs` is over. */
async function unregisterOnceIdle(api: Pick<RunnerApi, 'deleteRunner'>, runner: Runner, waitMs: number): Promise<'deleted' | 'absent' | 'busy'> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const result = await unregister(api, runner);
    if (result !== 'busy' || Date.now() >= deadline) return result;
    await sleep(Math.min(2000, Math.max(0, deadline - Date.now())));
  }
}

/** The exit code for what is left undone: busy runners first, then containers, then unknown names. */
function exitCodeFor(outcome: Omit<RemovalOutcome, 'exitCode'>): ExitCodeValue {
  if (outcome.busy.length > 0) return ExitCode.runnerBusy;
  if (outcome.containersLeft.length > 0) return ExitCode.docker;
  if (outcome.unknown.length > 0) return ExitCode.githubNotFound;
  return ExitCode.ok;
}

export interface ExecuteOptions {
  force: boolean;
  reporter?: Reporter;
  dockerApi?: Pick<DockerApi, 'removeRunnerContainers'>;
  /** With force: how long to keep asking GitHub to unregister a runner whose container was removed mid-job. */
  forceWaitMs?: number;
}

/** Unregisters the planned runners, then removes their containers and volumes. */
export async function executeRemoval(
  config: Config,
  api: Pick<RunnerApi, 'deleteRunner'>,
  plan: RemovalPlan,
  { force, reporter = stdio, dockerApi = hostDocker, forceWaitMs = 60_000 }: ExecuteOptions,
): Promise<RemovalOutcome> {
  const unregistered: string[] = [];
  const busy: Runner[] = [];
  for (const { runner, name } of plan.targets) {
    if (!runner) continue;
    const result = await unregister(api, runner);
    if (result === 'busy') {
      busy.push(runner);
      if (!force) reporter.info(`${name}: skipped, it is running a job (GitHub refuses to remove it; --force stops the job)`);
      continue;
    }
    unregistered.push(name);
    reporter.info(result === 'deleted' ? `${name}: unregistered from GitHub` : `${name}: already gone from GitHub`);
  }

  const skipped = new Set(force ? [] : busy.map((runner) => runner.name));
  const withContainer = plan.targets.filter((target) => !skipped.has(target.name));
  const containerNames = withContainer.filter((target) => target.container).map((target) => target.name);
  const containersLeft: string[] = [];
  if (plan.dockerWarning) {
    containersLeft.push(...withContainer.map((target) => target.name));
    if (containersLeft.length > 0) reporter.warn(`containers and volumes not removed: ${plan.dockerWarning.replace(/ \(showing.*\)$/, '')}`);
  } else if (containerNames.length > 0) {
    await dockerApi.removeRunnerContainers(containerNames);
    reporter.info(`removed containers and volumes: ${containerNames.join(', ')}`);
  }

  const stillBusy: string[] = [];
  const removed = new Set(plan.dockerWarning ? [] : containerNames);
  for (const runner of busy) {
    if (!force) {
      stillBusy.push(runner.name);
      continue;
    }
    if (!removed.has(runner.name)) {
      // Nothing here stopped its job: GitHub will keep refusing.
      stillBusy.push(runner.name);
      const why = containersLeft.includes(runner.name)
        ? 'its container could not be removed (see above), so its job goes on'
        : 'it has no container on this host, so its job was not stopped here';
      reporter.info(`${runner.name}: not unregistered: ${why}, and GitHub refuses to remove a runner while it runs a job`);
      continue;
    }
    // Its container is gone, so the job ends; GitHub takes a moment to notice the runner went away.
    const result = await unregisterOnceIdle(api, runner, forceWaitMs);
    if (result === 'busy') {
      stillBusy.push(runner.name);
      reporter.info(
        `${runner.name}: container removed, but GitHub still lists it as running a job after ${Math.round(forceWaitMs / 1000)} s; run this again once the job has failed`,
      );
    } else {
      unregistered.push(runner.name);
      reporter.info(`${runner.name}: job stopped, unregistered from GitHub`);
    }
  }
  const outcome = {
    unregistered,
    busy: stillBusy,
    containersRemoved: plan.dockerWarning ? [] : containerNames,
    containersLeft,
    unknown: plan.unknown.map((entry) => entry.name),
  };
  return { ...outcome, exitCode: exitCodeFor(outcome) };
}

export interface RemoveOptions {
  /** Runner names; empty: every runner of this prefix. */
  names: string[];
  yes: boolean;
  force: boolean;
  reporter?: Reporter;
  dockerApi?: DockerApi;
  interactive?: boolean;
  /** Test hook: how the supervisor is stopped. */
  stopSupervisor?: typeof stopSupervisor;
}

/**
 * Stops the fleet's supervisor, if one runs, so it does not fill again the
 * slots about to be removed; says so (an ephemeral fleet also when none ran).
 * True when one was stopped: what was listed before may have changed since.
 */
export async function haltSupervisor(config: Config, reporter: Reporter, stop: typeof stopSupervisor = stopSupervisor): Promise<boolean> {
  const pid = await stop(config);
  if (pid !== undefined) reporter.info(`stopped the supervisor (pid ${pid}) so it does not fill the slots again; make supervise starts it again`);
  else if (config.mode === 'ephemeral') reporter.info('no supervisor was running for this fleet');
  return pid !== undefined;
}

/** The question asked before removing `plan`'s runners. */
export function removalQuestion(config: Config, plan: RemovalPlan): string {
  const names = plan.targets.map((target) => target.name);
  return `Remove ${names.length} runner(s) of ${scopeDescription(config.scope)} (unregister, delete container and volumes): ${listForQuestion(names)}?`;
}

/** `make rm`: plan, confirm, remove. Returns the exit code. */
export async function removeFleetRunners(config: Config, api: RunnerApi, options: RemoveOptions): Promise<ExitCodeValue> {
  const reporter = options.reporter ?? stdio;
  const dockerApi = options.dockerApi ?? hostDocker;
  const plan = await planFleetRemoval(config, api, options.names, dockerApi);
  for (const { name, reason } of plan.unknown) reporter.warn(`${name}: ${reason}`);
  if (plan.targets.length === 0) {
    reporter.info(
      `nothing to remove: ${options.names.length ? 'none of these names is' : 'there is no'} a runner of ${scopeDescription(config.scope)} named ${config.prefix}*`,
    );
    return plan.unknown.length > 0 ? ExitCode.githubNotFound : ExitCode.ok;
  }
  await confirmOrRefuse({
    question: removalQuestion(config, plan),
    action: `remove ${plan.targets.length} runner(s)`,
    yes: options.yes,
    ...(options.interactive !== undefined ? { interactive: options.interactive } : {}),
  });
  // Stopped after the question (declining leaves it running); while it ran, slots were refilled under new registrations: list again.
  const current = (await haltSupervisor(config, reporter, options.stopSupervisor)) ? await planFleetRemoval(config, api, options.names, dockerApi) : plan;
  const outcome = await executeRemoval(config, api, current, { force: options.force, reporter, dockerApi });
  return outcome.exitCode;
}
