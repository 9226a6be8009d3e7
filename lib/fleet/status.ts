// The fleet as one table: local containers (found by their compose labels)
// joined with GitHub's runners of this prefix. Flags orphans (registered, no
// container here) and unregistered containers. Without Docker it still shows
// GitHub's side, with a warning. An ephemeral fleet's rows are its slots, with
// each container's age and the job it runs, and whether its supervisor runs.
import { scopeName, type Config } from '../config/config.ts';
import { dockerTargetName, withDockerTarget } from '../docker/command.ts';
import { containerOutputTail, containersUsingVolume, listFleetContainers, type FleetContainer } from '../docker/containers.ts';
import { removeScopeImages } from '../docker/images.ts';
import { existingVolumes, removeVolumes } from '../docker/volumes.ts';
import { CliError, ExitCode } from '../../core/errors.ts';
import { displayText } from '../../lock/display.ts';
import type { Runner, RunnerApi } from '../github/runner-api.ts';
import { formatTable } from '../table.ts';
import { removeRunnerContainers } from './runner-state.ts';
import { runningSupervisor } from './supervisor-pid.ts';

/** What make list, ps, stop, rm and purge ask of Docker (a test may stand in for it). */
export interface DockerApi {
  listFleetContainers: typeof listFleetContainers;
  removeRunnerContainers: typeof removeRunnerContainers;
  removeScopeImages: typeof removeScopeImages;
  containerOutputTail: typeof containerOutputTail;
  existingVolumes: typeof existingVolumes;
  removeVolumes: typeof removeVolumes;
  containersUsingVolume: typeof containersUsingVolume;
}

/** This host's Docker. */
export const hostDocker: DockerApi = {
  listFleetContainers,
  removeRunnerContainers,
  removeScopeImages,
  containerOutputTail,
  existingVolumes,
  removeVolumes,
  containersUsingVolume,
};

export interface FleetRow {
  name: string;
  /** Container state (running, exited, …); null when there is none or Docker could not be asked. */
  container: string | null;
  /** online/offline; null when not registered on GitHub. */
  github_status: string | null;
  /** null when not registered. */
  busy: boolean | null;
  labels: string[];
  /** Registered on GitHub, no container here; null when Docker could not be asked. */
  orphan: boolean | null;
  /** A container here that GitHub does not know. */
  unregistered: boolean;
  kind: 'generic' | 'board' | null;
  /** The board a board runner drives; null for generic runners and without a container. */
  board: string | null;
  /** A board runner's own devices (`host[:container]`), from its container. */
  devices: string[];
  /** GitHub's runner id; null when not registered. */
  id: number | null;
}

/** What a row of an ephemeral fleet adds (make list --json): these fields only appear there. */
export interface SlotFields {
  ephemeral: boolean;
  /** Seconds since its container was created; null without a container. */
  age_s: number | null;
  /** The job its runner is running, from the runner's own output (a hint); null when idle or unknown. */
  job: string | null;
}

export type SlotRow = FleetRow & SlotFields;

export interface FleetStatus {
  /** Rows of a persistent fleet are FleetRows exactly; an ephemeral fleet's carry SlotFields too. */
  rows: FleetRow[] | SlotRow[];
  /** Set for an ephemeral fleet (see slotsOf): its supervisor and that the rows are slots. */
  slots?: SlotsInfo;
  runners: Runner[];
  /** Undefined when Docker could not be reached. */
  containers: FleetContainer[] | undefined;
  /** One line explaining why containers are missing, when Docker could not be reached. */
  dockerWarning?: string;
}

/** Sorts runner names the way people count: prefix-runner-2 before prefix-runner-10. */
export function compareNames(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** Joins GitHub's runners of `prefix` with the local containers (undefined: Docker unknown). */
export function joinFleet(prefix: string, runners: Runner[], containers: FleetContainer[] | undefined): FleetRow[] {
  const ours = runners.filter((runner) => runner.name.startsWith(prefix));
  const byName = new Map(ours.map((runner) => [runner.name, runner]));
  const containerByName = new Map((containers ?? []).map((container) => [container.name, container]));
  const names = [...new Set([...byName.keys(), ...containerByName.keys()])].sort(compareNames);
  return names.map((name) => {
    const runner = byName.get(name);
    const container = containerByName.get(name);
    return {
      name,
      container: container?.state ?? null,
      github_status: runner?.status ?? null,
      busy: runner?.busy ?? null,
      labels: runner?.labels ?? container?.labels ?? [],
      orphan: containers === undefined ? null : runner !== undefined && container === undefined,
      unregistered: container !== undefined && runner === undefined,
      kind: container?.kind ?? null,
      board: container?.board ?? null,
      devices: container?.devices ?? [],
      id: runner?.id ?? null,
    };
  });
}

/** The containers of the fleet, or a warning line when Docker cannot be reached. */
export async function listContainersOrWarn(
  config: Config,
  dockerApi: Pick<DockerApi, 'listFleetContainers'> = hostDocker,
): Promise<{ containers: FleetContainer[] | undefined; dockerWarning?: string }> {
  try {
    return { containers: await dockerApi.listFleetContainers(config) };
  } catch (err) {
    if (err instanceof CliError && err.exitCode === ExitCode.docker) {
      return { containers: undefined, dockerWarning: `${err.message} (showing GitHub's side only)` };
    }
    throw err;
  }
}

export async function fleetStatus(
  config: Config,
  api: Pick<RunnerApi, 'listRunners'>,
  dockerApi: Pick<DockerApi, 'listFleetContainers' | 'containerOutputTail'> = hostDocker,
  now: Date = new Date(),
): Promise<FleetStatus> {
  const [runners, local] = await Promise.all([api.listRunners(), listContainersOrWarn(config, dockerApi)]);
  const rows = joinFleet(config.prefix, runners, local.containers);
  if (!isEphemeralFleet(config, local.containers)) return { rows, runners, ...local };
  const [jobs, supervisorPid] = await Promise.all([slotJobs(local.containers ?? [], dockerApi), runningSupervisor(config)]);
  const containers = new Map((local.containers ?? []).map((c) => [c.name, c]));
  const slotRows = rows.map((row) => ({ ...row, ...slotFields(config, containers.get(row.name), jobs, now) }));
  return { rows: slotRows, runners, ...local, slots: { supervisorPid } };
}

// ---- ephemeral fleets: slots, their age and job, the supervisor ----

/** Whether its rows are an ephemeral fleet's slots: RUNNER_MODE=ephemeral, or slot containers of one still here. */
export function isEphemeralFleet(config: Pick<Config, 'mode'>, containers: FleetContainer[] | undefined): boolean {
  return config.mode === 'ephemeral' || (containers ?? []).some((container) => container.ephemeral);
}

export interface SlotsInfo {
  /** The running supervisor's pid; undefined when none runs. */
  supervisorPid: number | undefined;
}

/** How many of the runner's last output lines are searched for its job (a job's own output may come after). */
export const JOB_TAIL_LINES = 1000;

/** The Listener's lines when it takes a job and when the job ends (JobDispatcher.cs, through Terminal.WriteLine). */
const JOB_STARTED = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ: Running job: (.*)$/;
const JOB_FINISHED = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ: Job .* completed with result: \w+$/;

/**
 * The job a runner is running, from its output: the name of the last
 * "Running job:" line no "completed" line followed; null when idle. A job can
 * print such lines too, so this is a hint: shown cleaned (displayText) and short.
 */
export function jobInOutput(output: string | undefined): string | null {
  let job: string | null = null;
  for (const raw of (output ?? '').split('\n')) {
    const line = raw.replace(/\r$/, '');
    const started = JOB_STARTED.exec(line);
    if (started) job = displayText(started[1], 60) || '?';
    else if (JOB_FINISHED.test(line)) job = null;
  }
  return job;
}

/** The job each running slot container is running (by name); idle ones are absent. */
export async function slotJobs(containers: FleetContainer[], dockerApi: Pick<DockerApi, 'containerOutputTail'> = hostDocker): Promise<Map<string, string>> {
  const running = containers.filter((container) => container.state === 'running');
  const jobs = await Promise.all(
    running.map(async (container) => jobInOutput(await dockerApi.containerOutputTail(container.name, JOB_TAIL_LINES).catch(() => undefined))),
  );
  return new Map(running.flatMap((container, i) => (jobs[i] ? [[container.name, jobs[i]] as const] : [])));
}

/** Whole seconds since `createdAt` (ISO 8601), never negative; null when it cannot be read. */
export function ageSeconds(createdAt: string | undefined, now: Date): number | null {
  const created = createdAt ? Date.parse(createdAt) : NaN;
  return Number.isNaN(created) ? null : Math.max(0, Math.floor((now.getTime() - created) / 1000));
}

/** An age as people say it, in one unit: 45s, 3m, 2h, 5d. */
export function formatAge(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

function slotFields(config: Pick<Config, 'mode'>, container: FleetContainer | undefined, jobs: Map<string, string>, now: Date): SlotFields {
  return {
    ephemeral: container ? container.ephemeral : config.mode === 'ephemeral',
    age_s: container ? ageSeconds(container.createdAt, now) : null,
    job: container ? (jobs.get(container.name) ?? null) : null,
  };
}

/** The line above an ephemeral fleet's tables: what the rows are, and whether the supervisor runs. */
export function slotsHeader(info: SlotsInfo): string {
  const supervisor = info.supervisorPid === undefined ? 'not running — start it with make supervise' : `pid ${info.supervisorPid}`;
  return `ephemeral fleet: each row is a slot the supervisor fills with a fresh container per job; supervisor: ${supervisor}`;
}

function note(row: FleetRow): string {
  if (row.orphan) return 'orphan: no container here';
  if (row.unregistered) return 'unregistered: not on GitHub';
  return '';
}

/** The fleet as an aligned text table with a one-line summary; an ephemeral fleet's (`slots` given) with its slots' age and job. */
export function formatFleetTable(rows: FleetRow[] | SlotRow[], slots?: SlotsInfo): string {
  if (slots) return formatSlotTable(rows as SlotRow[], slots);
  const cells = rows.map((row) => [
    row.name,
    row.container ?? (row.orphan === null ? '?' : '-'),
    row.github_status ?? '-',
    row.busy === null ? '-' : row.busy ? 'busy' : 'idle',
    row.board ?? '-',
    row.labels.join(',') || '-',
    row.devices.join(',') || '-',
    note(row),
  ]);
  return [formatTable(['NAME', 'CONTAINER', 'GITHUB', 'BUSY', 'BOARD', 'LABELS', 'DEVICES', 'NOTE'], cells), '', fleetSummary(rows)].join('\n');
}

/** The line under a fleet's table: how many runners, online, busy, orphans, unregistered. */
function fleetSummary(rows: FleetRow[]): string {
  const count = (predicate: (row: FleetRow) => boolean) => rows.filter(predicate).length;
  return rows.length === 0
    ? 'no runners of this fleet, neither on GitHub nor here'
    : `${rows.length} runner(s): ${count((row) => row.github_status === 'online')} online, ${count((row) => row.busy === true)} busy, ` +
        `${count((row) => row.orphan === true)} orphan(s), ${count((row) => row.unregistered)} unregistered`;
}

/** A slot's job cell: its job, `-` when idle, `?` when GitHub says busy but its output names no job. */
function jobCell(row: Pick<SlotRow, 'job' | 'busy'>): string {
  return row.job ?? (row.busy ? '?' : '-');
}

function formatSlotTable(rows: SlotRow[], slots: SlotsInfo): string {
  const cells = rows.map((row) => [
    row.name,
    row.container ?? (row.orphan === null ? '?' : '-'),
    formatAge(row.age_s),
    row.github_status ?? '-',
    row.busy === null ? '-' : row.busy ? 'busy' : 'idle',
    jobCell(row),
    row.board ?? '-',
    row.labels.join(',') || '-',
    row.devices.join(',') || '-',
    note(row),
  ]);
  const table = formatTable(['NAME', 'CONTAINER', 'AGE', 'GITHUB', 'BUSY', 'JOB', 'BOARD', 'LABELS', 'DEVICES', 'NOTE'], cells);
  return [slotsHeader(slots), table, '', slotSummary(rows)].join('\n');
}

/** The line under an ephemeral fleet's table. */
function slotSummary(rows: SlotRow[]): string {
  const count = (predicate: (row: SlotRow) => boolean) => rows.filter(predicate).length;
  return rows.length === 0
    ? 'no slots filled and no registrations of this fleet, neither on GitHub nor here'
    : `${rows.length} slot(s): ${count((row) => row.container === 'running')} container(s) running, ${count((row) => row.github_status === 'online')} online, ` +
        `${count((row) => row.busy === true)} busy, ${count((row) => row.orphan === true)} orphan(s), ${count((row) => row.unregistered)} unregistered`;
}

// ---- several fleets (make list ENV_FILES=…): one table over their Docker hosts ----

/** One fleet of several: its Docker host (dockerTargetName: DOCKER_HOST, the context, or `local`), its scope and its status. */
export interface HostFleetStatus {
  host: string;
  /** ORG[/REPO], or enterprises/<slug>. */
  scope: string;
  status: FleetStatus;
}

/** A row of the table over several fleets (make list --json with several env files): the fleet's host and scope first. */
export type HostRow = { host: string; scope: string } & (FleetRow | SlotRow);

/** Each fleet's status, each read from its own Docker host (withDockerTarget), in the order given. */
export async function hostsStatus(
  fleets: ReadonlyArray<{ config: Config; api: Pick<RunnerApi, 'listRunners'> }>,
  dockerApi: Pick<DockerApi, 'listFleetContainers' | 'containerOutputTail'> = hostDocker,
  now: Date = new Date(),
): Promise<HostFleetStatus[]> {
  return Promise.all(
    fleets.map(({ config, api }) =>
      withDockerTarget(config.docker, async () => ({
        host: dockerTargetName(config.docker),
        scope: scopeName(config.scope),
        status: await fleetStatus(config, api, dockerApi, now),
      })),
    ),
  );
}

/** The rows of every fleet, each with its host and scope, fleet by fleet. */
export function hostRows(fleets: readonly HostFleetStatus[]): HostRow[] {
  return fleets.flatMap(({ host, scope, status }) => (status.rows as Array<FleetRow | SlotRow>).map((row) => ({ host, scope, ...row })));
}

/**
 * Several fleets as one table, HOST and SCOPE first; AGE and JOB when a fleet
 * is ephemeral. Above it each ephemeral fleet's slots line, under it each
 * fleet's summary, each naming its scope and host.
 */
export function formatHostsTable(fleets: readonly HostFleetStatus[]): string {
  const slotted = fleets.some((fleet) => fleet.status.slots);
  const cells = hostRows(fleets).map((row) => {
    const slot = row as Partial<SlotFields> & FleetRow;
    const busy = row.busy === null ? '-' : row.busy ? 'busy' : 'idle';
    return [
      row.host,
      row.scope,
      row.name,
      row.container ?? (row.orphan === null ? '?' : '-'),
      ...(slotted ? [formatAge(slot.age_s ?? null)] : []),
      row.github_status ?? '-',
      busy,
      ...(slotted ? [slot.job !== undefined ? jobCell({ job: slot.job, busy: row.busy }) : '-'] : []),
      row.board ?? '-',
      row.labels.join(',') || '-',
      row.devices.join(',') || '-',
      note(row),
    ];
  });
  const header = [
    'HOST',
    'SCOPE',
    'NAME',
    'CONTAINER',
    ...(slotted ? ['AGE'] : []),
    'GITHUB',
    'BUSY',
    ...(slotted ? ['JOB'] : []),
    'BOARD',
    'LABELS',
    'DEVICES',
    'NOTE',
  ];
  const fleetOf = (fleet: HostFleetStatus) => `${fleet.scope} on ${fleet.host}`;
  const headers = fleets.flatMap((fleet) => (fleet.status.slots ? [`${fleetOf(fleet)}: ${slotsHeader(fleet.status.slots)}`] : []));
  const summaries = fleets.map(
    (fleet) => `${fleetOf(fleet)}: ${fleet.status.slots ? slotSummary(fleet.status.rows as SlotRow[]) : fleetSummary(fleet.status.rows)}`,
  );
  return [...headers, formatTable(header, cells), '', ...summaries].join('\n');
}

// ---- make ps: this host's containers ----

/** A container as make ps --json shows it; an ephemeral slot's also with its age and job. */
export type ContainerView = FleetContainer & Partial<Pick<SlotFields, 'age_s' | 'job'>>;

export interface ContainersStatus {
  containers: ContainerView[];
  /** Set for an ephemeral fleet. */
  slots?: SlotsInfo;
}

/** make ps: this fleet's containers; an ephemeral fleet's with each slot's age and job, and its supervisor. */
export async function fleetContainers(
  config: Config,
  dockerApi: Pick<DockerApi, 'listFleetContainers' | 'containerOutputTail'> = hostDocker,
  now: Date = new Date(),
): Promise<ContainersStatus> {
  const containers = await dockerApi.listFleetContainers(config);
  if (!isEphemeralFleet(config, containers)) return { containers };
  const [jobs, supervisorPid] = await Promise.all([slotJobs(containers, dockerApi), runningSupervisor(config)]);
  const views = containers.map((c) => (c.ephemeral ? { ...c, age_s: ageSeconds(c.createdAt, now), job: jobs.get(c.name) ?? null } : c));
  return { containers: views, slots: { supervisorPid } };
}

/** make ps's table (the caller says when there are no containers); an ephemeral fleet's with AGE and JOB, under slotsHeader. */
export function formatContainerTable(status: ContainersStatus): string {
  const { containers, slots } = status;
  const common = (c: ContainerView) => [c.kind, c.board ?? '-', c.labels.join(','), c.resourceId ?? '-', c.devices?.join(',') ?? '-'];
  if (!slots) {
    return formatTable(
      ['NAME', 'STATE', 'KIND', 'BOARD', 'LABELS', 'RESOURCE', 'DEVICES'],
      containers.map((c) => [c.name, c.state, ...common(c)]),
    );
  }
  const rows = containers.map((c) => [c.name, c.state, formatAge(c.age_s ?? null), c.job ?? '-', ...common(c)]);
  return [slotsHeader(slots), formatTable(['NAME', 'STATE', 'AGE', 'JOB', 'KIND', 'BOARD', 'LABELS', 'RESOURCE', 'DEVICES'], rows)].join('\n');
}
