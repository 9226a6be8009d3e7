// Moving runners made by the layout before issue 10 (one named volume,
// `<runner>-data`, over the whole runner home) to the state-volume layout: the
// registration is copied into `<runner>-state` (root's) by image/runner-state.sh
// in a throwaway container of the runner image, read there as the runner user
// (the files are its own, some 0600),
// and the old volume is removed once no container mounts it any more, that is
// once compose has recreated the runner's container on the new layout.
import type { Config } from '../config/config.ts';
import type { RunnerSpec } from '../docker/compose.ts';
import { readComposeVolumes } from '../docker/compose-reader.ts';
import { containersUsingVolume, existingVolumes, importOldState, legacyDataVolume, removeVolume } from '../docker/docker.ts';
import { STATE_FILES } from '../../core/constants.ts';

export interface StateMigration {
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
export async function carryOverOldState(config: Config, runners: RunnerSpec[]): Promise<StateMigration[]> {
  const declared = await readComposeVolumes(config);
  const existing = await existingVolumes();
  const migrations: StateMigration[] = [];
  for (const { name } of runners) {
    const from = legacyDataVolume(name);
    const to = `${name}-state`;
    if (!existing.has(from) || !declared.has(to)) continue;
    const known = new Set<string>(STATE_FILES);
    const carried = (await importOldState(config.fleetImage, config.projectName, from, to)).filter((file) => known.has(file));
    migrations.push({ runner: name, from, to, carried });
  }
  return migrations;
}

/** Removes the old volumes no container mounts any more; one line per runner says what happened. */
export async function finishMigrations(migrations: StateMigration[], log: (line: string) => void): Promise<void> {
  for (const { runner, from, to, carried } of migrations) {
    const what = carried.length ? `registration (${carried.join(', ')}) carried over from ${from} into ${to}` : `nothing to carry over from ${from}`;
    const users = await containersUsingVolume(from);
    if (users.length > 0) {
      log(`${runner}: moved to the state-volume layout: ${what}; ${from} kept while ${users.join(', ')} still mounts it (make init removes it once recreated)`);
      continue;
    }
    const failed = await removeVolume(from);
    log(
      failed
        ? `${runner}: moved to the state-volume layout: ${what}; ${from} could not be removed (${failed}): remove it with docker volume rm ${from}`
        : `${runner}: moved to the state-volume layout: ${what}; ${from} removed`,
    );
  }
}
