// Containers: this fleet's, found by the labels the compose file puts on them
// (never by parsing names), throwaway ones that run one command, and removing
// them. Which runner a container is, and what else it owns, is the fleet's.
import type { ProcessPromise } from 'zx';
import type { Config } from '../config/config.ts';
import { CliError, ExitCode } from '../../core/errors.ts';
import { docker, outputLines, start, withDockerTarget, type CommandOptions } from './command.ts';
import { ensureDocker } from './engine.ts';
import { LABEL, labelledScope, labelsMatchScope, type RunnerKind } from './labels.ts';

export interface FleetContainer {
  name: string;
  /** Compose service; equals the runner and container name. */
  service: string;
  /** running | exited | created | restarting | paused | dead */
  state: string;
  kind: RunnerKind;
  /** The runner labels the container registers with (its RUNNER_LABELS). */
  labels: string[];
  board?: string;
  resourceId?: string;
  /** A board runner's own devices (`host[:container]`), from its label. */
  devices?: string[];
  image: string;
  /** When the container was created (ISO 8601): an ephemeral slot's age. */
  createdAt: string;
  /** True for an ephemeral slot's container (RUNNER_MODE=ephemeral). */
  ephemeral: boolean;
}

/**
 * This scope's containers (found by the toolkit's labels and by compose
 * project), running or not. Another ORG/REPO's container under the same
 * prefix or project is refused, not returned: two scopes sharing names would
 * remove each other's runners.
 */
export async function listFleetContainers(
  config: Pick<Config, 'prefix' | 'scope' | 'projectName'> & Partial<Pick<Config, 'docker'>>,
): Promise<FleetContainer[]> {
  // On the fleet's own daemon, whoever asks (make metrics lists several fleets' in one process).
  return config.docker ? withDockerTarget(config.docker, () => fleetContainersHere(config)) : fleetContainersHere(config);
}

async function fleetContainersHere(config: Pick<Config, 'prefix' | 'scope' | 'projectName'>): Promise<FleetContainer[]> {
  await ensureDocker();
  const managed = ['ps', '-a', '-q', '--filter', `label=${LABEL.managed}=true`];
  const byPrefix = await docker([...managed, '--filter', `label=${LABEL.prefix}=${config.prefix}`]);
  const byProject = await docker([...managed, '--filter', `label=com.docker.compose.project=${config.projectName}`]);
  const ids = [...new Set(outputLines(`${byPrefix}\n${byProject}`))];
  if (ids.length === 0) return [];
  const infos = JSON.parse(await docker(['inspect', ...ids])) as DockerInspect[];
  const foreign = infos.find((info) => !labelsMatchScope(info.Config.Labels ?? {}, config.scope));
  if (foreign) {
    const theirs = labelledScope(foreign.Config.Labels ?? {});
    throw new CliError(
      `the names of this fleet (prefix ${config.prefix}, compose project ${config.projectName}) are already used on this host by the fleet of ${theirs} (container ${foreign.Name.replace(/^\//, '')}): give this ORG/REPO a prefix of its own with RUNNER_NAME_PREFIX in its env file`,
      ExitCode.config,
    );
  }
  return infos.map(toFleetContainer).sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}

/** Names of the containers, running or not, whose name starts with `prefix`. */
export async function containerNames(prefix: string): Promise<string[]> {
  await ensureDocker();
  const names = outputLines(await docker(['ps', '-a', '--format', '{{.Names}}', '--filter', `name=^${prefix}`]));
  return names.filter((name) => name.startsWith(prefix));
}

/** Names of the containers (running or not) that mount `volume`. */
export async function containersUsingVolume(volume: string): Promise<string[]> {
  await ensureDocker();
  return outputLines(await docker(['ps', '-a', '--filter', `volume=${volume}`, '--format', '{{.Names}}']));
}

/** Removes containers by name, whatever state they are in (their anonymous volumes too); missing ones are fine. */
export async function removeContainers(names: string[]): Promise<void> {
  if (names.length === 0) return;
  await ensureDocker();
  await docker(['rm', '-f', '-v', ...names]);
}

/**
 * Runs `args` as root in a running container with `input` on its stdin: how
 * a secret reaches a container without an argument, a host file or its
 * settings. A failure throws.
 */
export async function execWithInput(name: string, args: string[], input: string, options: Omit<CommandOptions, 'input'> = {}): Promise<void> {
  await docker(['exec', '-i', '-u', '0', name, ...args], { ...options, input });
}

/**
 * The last `lines` lines a container printed (stdout and stderr), at most
 * `maxBytes`: what its runner said, which a job can add to, so only ever a hint.
 */
export async function containerOutputTail(name: string, lines: number, maxBytes = 256 * 1024): Promise<string | undefined> {
  const result = await start(['docker', 'logs', '--tail', String(lines), name]);
  if (result.exitCode !== 0) return undefined;
  return `${result.stdout}\n${result.stderr}`.slice(-maxBytes);
}

/**
 * Follows what a container prints from now on (`docker logs -f`), one line at
 * a time (lines over 16 KiB skipped), until it stops or close() is called.
 */
export function followContainerOutput(name: string, onLine: (line: string) => void): { close(): void } {
  const proc = start(['docker', 'logs', '-f', '--since', '0s', name]);
  let pending = '';
  const feed = (chunk: Buffer | string): void => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop() ?? '';
    if (pending.length > 16 * 1024) pending = '';
    for (const line of lines) if (line.length <= 16 * 1024) onLine(line.replace(/\r$/, ''));
  };
  proc.stdout.on('data', feed);
  proc.stderr.on('data', feed);
  // zx's exitCode is a promise: whether the process still runs is tracked here.
  let running = true;
  void proc.then(
    () => void (running = false),
    () => void (running = false),
  );
  return {
    close: () => {
      if (running) void proc.kill('SIGTERM').catch(() => undefined);
    },
  };
}

export interface OneOffContainer extends CommandOptions {
  entrypoint: string;
  /** `source:target[:ro]` mounts. */
  volumes?: string[];
  /** The user it runs as (default: the image's). */
  user?: string;
}

/**
 * Runs `entrypoint …args` in a throwaway container of `image` (no network,
 * removed when it ends) and returns its stdout; a failure throws.
 */
export async function runOneOff(image: string, args: string[], container: OneOffContainer): Promise<string> {
  await ensureDocker();
  const { entrypoint, volumes = [], user, ...options } = container;
  const mounts = volumes.flatMap((volume) => ['-v', volume]);
  return docker(['run', '--rm', '--network', 'none', ...(user ? ['--user', user] : []), ...mounts, '--entrypoint', entrypoint, image, ...args], options);
}

/** Starts `docker run …args` and returns it running (output piped), for callers that read it as it comes. */
export function runContainer(args: string[]): ProcessPromise {
  return start(['docker', 'run', ...args]);
}

interface DockerInspect {
  Name: string;
  Created: string;
  State: { Status: string };
  Config: { Labels: Record<string, string> | null; Env: string[] | null; Image: string };
}

function toFleetContainer(info: DockerInspect): FleetContainer {
  const labels = info.Config.Labels ?? {};
  const env = new Map((info.Config.Env ?? []).map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
  const name = info.Name.replace(/^\//, '');
  const board = labels[LABEL.board];
  const resourceId = labels[LABEL.resource];
  const devices = (labels[LABEL.devices] ?? '').split(',').filter(Boolean);
  return {
    name,
    service: labels['com.docker.compose.service'] ?? name,
    state: info.State.Status,
    kind: labels[LABEL.kind] === 'board' ? 'board' : 'generic',
    labels: (env.get('RUNNER_LABELS') ?? '').split(',').filter(Boolean),
    image: info.Config.Image,
    createdAt: info.Created,
    ephemeral: labels[LABEL.mode] === 'ephemeral',
    ...(board ? { board } : {}),
    ...(resourceId ? { resourceId } : {}),
    ...(devices.length ? { devices } : {}),
  };
}
