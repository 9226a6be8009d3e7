// Moving runners made by the layout before issue 10 (one named volume,
// `<runner>-data`, over the whole runner home) to the state-volume layout: the
// registration is copied into `<runner>-state` (root's) by image/runner-state.sh
// in a throwaway container of the runner image, read there as the runner user
// (the files are its own, some 0600), and the old volume is removed once no
// container mounts it any more, that is once compose has recreated the
// runner's container on the new layout.
import type { Config } from '../config/config.ts';
import { STATE_DIR, STATE_FILES, STATE_SCRIPT } from '../../core/constants.ts';
import { CliError } from '../../core/errors.ts';
import type { Reporter } from '../../core/reporter.ts';
import type { RunnerSpec } from '../docker/compose-file.ts';
import { readComposeVolumes } from '../docker/compose-reader.ts';
import { containersUsingVolume, runOneOff } from '../docker/containers.ts';
import { createComposeVolume, existingVolumes, removeVolume } from '../docker/volumes.ts';
import { legacyDataVolume, stateVolume } from './runner-state.ts';

export interface LegacyMigration {
  runner: string;
  /** The old whole-home volume. */
  from: string;
  /** The state volume it was carried over into. */
  to: string;
  /** The registration files copied (none when the old volume had none, or the state volume had one already). */
  carried: string[];
}

/**
 * Carries the registration of every runner that still has an old `-data`
 * volume over into its state volume. Does nothing while the compose file is
 * of the old layout (it does not mount the state volumes): the old volume is
 * then still the runner's, and `make init` writes the new file first.
 */
export async function carryOverLegacyState(config: Config, runners: RunnerSpec[]): Promise<LegacyMigration[]> {
  const declared = await readComposeVolumes(config);
  const existing = await existingVolumes();
  const migrations: LegacyMigration[] = [];
  for (const { name } of runners) {
    const from = legacyDataVolume(name);
    const to = stateVolume(name);
    if (!existing.has(from) || !declared.has(to)) continue;
    const known = new Set<string>(STATE_FILES);
    const carried = (await importOldState(config.fleetImage, config.projectName, from, to)).filter((file) => known.has(file));
    migrations.push({ runner: name, from, to, carried });
  }
  return migrations;
}

/** Removes the old volumes no container mounts any more; one line per runner says what happened. */
export async function finishLegacyMigrations(migrations: LegacyMigration[], reporter: Reporter): Promise<void> {
  for (const { runner, from, to, carried } of migrations) {
    const what = carried.length ? `registration (${carried.join(', ')}) carried over from ${from} into ${to}` : `nothing to carry over from ${from}`;
    const users = await containersUsingVolume(from);
    if (users.length > 0) {
      reporter.info(
        `${runner}: moved to the state-volume layout: ${what}; ${from} kept while ${users.join(', ')} still mounts it (make init removes it once recreated)`,
      );
      continue;
    }
    try {
      await removeVolume(from);
      reporter.info(`${runner}: moved to the state-volume layout: ${what}; ${from} removed`);
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      reporter.warn(
        `${runner}: moved to the state-volume layout: ${what}; ${from} could not be removed (${err.message}): remove it with docker volume rm ${from}`,
      );
    }
  }
}

/**
 * Runs image/runner-state.sh `import` as root in a throwaway container of the
 * runner image (the old volume read-only): the registration in the old
 * whole-home volume `from`, read as the runner user, is copied into the state
 * volume `to` (root's), created first as compose would, so compose adopts it.
 * Returns the files copied.
 */
async function importOldState(image: string, project: string, from: string, to: string): Promise<string[]> {
  await createComposeVolume(project, to);
  const old = '/fleet-old';
  const copied = await runOneOff(image, ['import', old], {
    entrypoint: STATE_SCRIPT,
    user: '0',
    volumes: [`${from}:${old}:ro`, `${to}:${STATE_DIR}`],
    what: `carrying the registration over from ${from} into ${to}`,
    fix: `${from} is kept: fix this and run make init again`,
  });
  return copied
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}
