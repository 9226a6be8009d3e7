// What a runner keeps on this host outside its container: the named volumes it
// owns (core/constants.ts; its old whole-home `-data` volume too while one is
// left) and whether they hold a registration, which decides whether it is
// registered again. Removing a runner removes them with its container.
import { LEGACY_DATA_VOLUME_SUFFIX, runnerVolumeNames, type RUNNER_VOLUME_SUFFIXES, type STATE_FILES } from '../../core/constants.ts';
import { removeContainers, runOneOff } from '../docker/containers.ts';
import { existingVolumes, removeVolumes } from '../docker/volumes.ts';

/** The volume that holds the runner's registration, mounted at STATE_DIR. */
export function stateVolume(runner: string): string {
  const suffix: (typeof RUNNER_VOLUME_SUFFIXES)[number] = '-state';
  return `${runner}${suffix}`;
}

/** The volume the layout before issue 10 mounted at the whole runner home (see legacy.ts). */
export function legacyDataVolume(runner: string): string {
  return `${runner}${LEGACY_DATA_VOLUME_SUFFIX}`;
}

/** The named volumes a runner owns, with its old `-data` volume if one is left. */
export function runnerVolumes(runner: string): string[] {
  return [...runnerVolumeNames(runner), legacyDataVolume(runner)];
}

/**
 * Which runners hold a registration (`.runner`): in their state volume, or,
 * for a runner not yet moved to the state-volume layout, in its old whole-home
 * `-data` volume (never registered over; init carries it over). Checked in one
 * throwaway container of the runner image that mounts them all read-only.
 */
export async function configuredRunners(image: string, runners: string[]): Promise<Set<string>> {
  if (runners.length === 0) return new Set();
  const existing = await existingVolumes();
  const checked = runners
    .map((runner) => ({ runner, volumes: [stateVolume(runner), legacyDataVolume(runner)].filter((volume) => existing.has(volume)) }))
    .filter((entry) => entry.volumes.length > 0);
  if (checked.length === 0) return new Set();
  const mounts = checked.flatMap(({ volumes }, i) => volumes.map((volume, j) => `${volume}:/check/${i}-${j}:ro`));
  // A regular file, not a link: an old -data volume is the runner user's, and root follows nothing of it.
  const isRegistration = (path: string) => `{ test -f ${path} && test ! -L ${path}; }`;
  const settings: (typeof STATE_FILES)[number] = '.runner';
  const script =
    checked.map(({ volumes }, i) => `{ ${volumes.map((_, j) => isRegistration(`/check/${i}-${j}/${settings}`)).join(' || ')}; } && echo ${i}`).join('; ') +
    '; true';
  const found = await runOneOff(image, ['-c', script], {
    entrypoint: '/bin/sh',
    user: '0',
    volumes: mounts,
    what: "reading which runners' volumes hold a registration",
  });
  return new Set(
    found
      .split('\n')
      .filter(Boolean)
      .map((i) => checked[Number(i)]!.runner),
  );
}

/** Removes the runners' containers, then the named volumes they own; missing ones are fine. */
export async function removeRunnerContainers(names: string[]): Promise<void> {
  if (names.length === 0) return;
  await removeContainers(names);
  await removeVolumes(names.flatMap(runnerVolumes));
}
