// The fleet as one table: local containers (found by their compose labels)
// joined with GitHub's runners of this prefix. Flags orphans (registered, no
// container here) and unregistered containers. Without Docker it still shows
// GitHub's side, with a warning.
import type { Config } from '../config/config.ts';
import { listFleetContainers, type FleetContainer } from '../docker/containers.ts';
import { removeScopeImages } from '../docker/images.ts';
import { CliError, ExitCode } from '../../core/errors.ts';
import type { Runner, RunnerApi } from '../github/runner-api.ts';
import { formatTable } from '../table.ts';
import { removeRunnerContainers } from './runner-state.ts';

/** What make list, rm and purge ask of Docker (a test may stand in for it). */
export interface DockerApi {
  listFleetContainers: typeof listFleetContainers;
  removeRunnerContainers: typeof removeRunnerContainers;
  removeScopeImages: typeof removeScopeImages;
}

/** This host's Docker. */
export const hostDocker: DockerApi = { listFleetContainers, removeRunnerContainers, removeScopeImages };

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

export interface FleetStatus {
  rows: FleetRow[];
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

export async function fleetStatus(config: Config, api: Pick<RunnerApi, 'listRunners'>, dockerApi: Pick<DockerApi, 'listFleetContainers'> = hostDocker): Promise<FleetStatus> {
  const [runners, local] = await Promise.all([api.listRunners(), listContainersOrWarn(config, dockerApi)]);
  return { rows: joinFleet(config.prefix, runners, local.containers), runners, ...local };
}

function note(row: FleetRow): string {
  if (row.orphan) return 'orphan: no container here';
  if (row.unregistered) return 'unregistered: not on GitHub';
  return '';
}

/** The fleet as an aligned text table with a one-line summary. */
export function formatFleetTable(rows: FleetRow[]): string {
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
  const count = (predicate: (row: FleetRow) => boolean) => rows.filter(predicate).length;
  const summary = rows.length === 0
    ? 'no runners of this fleet, neither on GitHub nor here'
    : `${rows.length} runner(s): ${count((row) => row.github_status === 'online')} online, ${count((row) => row.busy === true)} busy, ` +
      `${count((row) => row.orphan === true)} orphan(s), ${count((row) => row.unregistered)} unregistered`;
  return [formatTable(['NAME', 'CONTAINER', 'GITHUB', 'BUSY', 'BOARD', 'LABELS', 'DEVICES', 'NOTE'], cells), '', summary].join('\n');
}
