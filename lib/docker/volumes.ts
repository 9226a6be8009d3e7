// Named volumes: which exist, making one that compose will adopt as its own,
// removing them. Which volumes belong to a runner is the fleet's knowledge
// (core/constants.ts, lib/fleet/runner-state.ts), not this module's.
import { docker, outputLines } from './command.ts';
import { ensureDocker } from './engine.ts';

/** The names of the named volumes that exist; with `project`, only those compose made (or adopted) for that project. */
export async function existingVolumes(project?: string): Promise<Set<string>> {
  await ensureDocker();
  const filter = project === undefined ? [] : ['--filter', `label=com.docker.compose.project=${project}`];
  return new Set(outputLines(await docker(['volume', 'ls', '-q', ...filter])));
}

/**
 * Creates `volume` with the labels compose gives the volumes it makes for
 * `project`, so a later `up` adopts it instead of refusing it as foreign.
 */
export async function createComposeVolume(project: string, volume: string): Promise<void> {
  await ensureDocker();
  await docker(['volume', 'create', '--label', `com.docker.compose.project=${project}`, '--label', `com.docker.compose.volume=${volume}`, volume]);
}

/** `docker volume rm VOLUME`: fails while a container still mounts it. */
export async function removeVolume(volume: string): Promise<void> {
  await ensureDocker();
  await docker(['volume', 'rm', volume]);
}

/** Removes those of `volumes` that exist; missing ones are fine. */
export async function removeVolumes(volumes: string[]): Promise<void> {
  if (volumes.length === 0) return;
  const existing = await existingVolumes();
  const present = volumes.filter((volume) => existing.has(volume));
  if (present.length) await docker(['volume', 'rm', '-f', ...present]);
}
