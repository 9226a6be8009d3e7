// `make purge`: remove every runner of this prefix (as `make rm` does), then
// the files and images the toolkit generated for this scope. The env file is the user's
// own and goes only when asked for (--env). An ephemeral fleet: its supervisor
// is stopped first, and its cache volumes and a pid file left by a killed
// supervisor go too.
import { rm, stat } from 'node:fs/promises';
import { relative } from 'node:path';
import type { Config } from '../config/config.ts';
import { confirmOrRefuse, listForQuestion } from '../confirm.ts';
import { ExitCode, type ExitCodeValue } from '../../core/errors.ts';
import { stdio, type Reporter } from '../../core/reporter.ts';
import { scopeDescription } from '../github/errors.ts';
import type { RunnerApi } from '../github/runner-api.ts';
import { executeRemoval, haltSupervisor, planFleetRemoval } from './removal.ts';
import { hostDocker, type DockerApi } from './status.ts';
import { stopSupervisor, supervisorPidFile } from './supervisor-pid.ts';
import { tokenCacheLockPath } from '../github/token-cache.ts';

/** The generated files of this scope (and the env file when `withEnv`), in deletion order. */
export function generatedFiles(config: Config, withEnv: boolean): string[] {
  const files = [config.composeFile, config.tokenCacheFile, tokenCacheLockPath(config.tokenCacheFile), config.imageHashFile, supervisorPidFile(config)];
  return withEnv ? [...files, config.envFile] : files;
}

/** The cache volumes of an ephemeral fleet: `<prefix>cache-<name>` (RUNNER_CACHE_VOLUMES, compose-file.ts cacheVolumeName). */
export function cacheVolumesOf(prefix: string, volumes: Iterable<string>): string[] {
  return [...volumes].filter((volume) => volume.startsWith(`${prefix}cache-`) && volume.length > `${prefix}cache-`.length).sort();
}

/**
 * Removes the fleet's cache volumes; one still mounted by a container of
 * another fleet (whose prefix begins like these names) is kept, and said so.
 */
async function removeCacheVolumes(config: Config, dockerApi: DockerApi, reporter: Reporter): Promise<void> {
  const volumes = cacheVolumesOf(config.prefix, await dockerApi.existingVolumes(config.projectName));
  const removable: string[] = [];
  for (const volume of volumes) {
    const users = await dockerApi.containersUsingVolume(volume);
    if (users.length === 0) removable.push(volume);
    else reporter.info(`kept volume ${volume}: still mounted by ${listForQuestion(users)}`);
  }
  if (removable.length === 0) return;
  await dockerApi.removeVolumes(removable);
  reporter.info(`removed cache volumes: ${removable.join(', ')}`);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export interface PurgeOptions {
  yes: boolean;
  force: boolean;
  /** Also delete the env file. */
  env: boolean;
  reporter?: Reporter;
  dockerApi?: DockerApi;
  interactive?: boolean;
  /** Test hook: how the supervisor is stopped. */
  stopSupervisor?: typeof stopSupervisor;
}

export async function purgeFleet(config: Config, api: RunnerApi, options: PurgeOptions): Promise<ExitCodeValue> {
  const reporter = options.reporter ?? stdio;
  const dockerApi = options.dockerApi ?? hostDocker;
  const plan = await planFleetRemoval(config, api, [], dockerApi);
  const files: string[] = [];
  for (const file of generatedFiles(config, options.env)) if (await exists(file)) files.push(file);
  const shown = files.map((file) => relative(process.cwd(), file) || file);
  const caches = plan.dockerWarning ? [] : cacheVolumesOf(config.prefix, await dockerApi.existingVolumes(config.projectName));

  if (plan.targets.length === 0 && files.length === 0 && caches.length === 0) {
    if (plan.dockerWarning) reporter.warn(plan.dockerWarning);
    reporter.info(`nothing to purge for ${scopeDescription(config.scope)}: no runners named ${config.prefix}*, no generated files`);
    return plan.dockerWarning ? ExitCode.docker : ExitCode.ok;
  }
  const runners = plan.targets.map((target) => target.name);
  await confirmOrRefuse({
    question:
      `Purge ${scopeDescription(config.scope)}: remove ${runners.length} runner(s)${runners.length ? ` (${listForQuestion(runners)})` : ''}` +
      ` and delete ${files.length ? listForQuestion(shown) : 'no files'}${caches.length ? ` and the cache volumes ${listForQuestion(caches)}` : ''}?`,
    action: `purge ${runners.length} runner(s) and ${files.length} file(s)`,
    yes: options.yes,
    ...(options.interactive !== undefined ? { interactive: options.interactive } : {}),
  });

  // Stopped after the question (declining leaves it running); while it ran, slots were refilled under new registrations: list again.
  const current = (await haltSupervisor(config, reporter, options.stopSupervisor)) ? await planFleetRemoval(config, api, [], dockerApi) : plan;
  const outcome = await executeRemoval(config, api, current, { force: options.force, reporter, dockerApi });
  // Runners left behind (busy, or Docker unreachable) are still managed through the compose file: keep it.
  const left = [...outcome.busy, ...outcome.containersLeft];
  for (const [index, file] of files.entries()) {
    if (file === config.composeFile && left.length > 0) {
      reporter.info(`kept ${shown[index]}: ${listForQuestion([...new Set(left)])} still there; run make purge again once they can go`);
      continue;
    }
    // A supervisor deletes its own pid file as it stops.
    if (file === supervisorPidFile(config) && !(await exists(file))) continue;
    await rm(file, { force: true, recursive: true });
    reporter.info(`deleted ${shown[index]}`);
  }
  if (left.length === 0 && !current.dockerWarning) {
    const images = await dockerApi.removeScopeImages(config);
    if (images.length) reporter.info(`removed images: ${images.join(', ')}`);
    await removeCacheVolumes(config, dockerApi, reporter);
  }
  if (!options.env) reporter.info(`kept ${relative(process.cwd(), config.envFile) || config.envFile} (yours; --env deletes it too)`);
  return outcome.exitCode;
}
