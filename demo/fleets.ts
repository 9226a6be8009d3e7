// Two orgs' fleets, made and removed through the same code paths as `make init`
// and `make purge`: an env file per org in the demo's temp dir, loadConfig on
// it, initFleet, purgeFleet. Only GITHUB_URL/GITHUB_API_URL and RUNNER_IMAGE
// point at the stand-ins.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig, type Config } from '../lib/config/config.ts';
import { toLines, type Reporter } from '../core/reporter.ts';
import { containerNames, removeContainers } from '../lib/docker/containers.ts';
import { imageNames, removeImages } from '../lib/docker/images.ts';
import { existingVolumes, removeVolumes } from '../lib/docker/volumes.ts';
import { initFleet } from '../lib/fleet/lifecycle.ts';
import { purgeFleet } from '../lib/fleet/purge.ts';
import { createRunnerApi, type RunnerApi } from '../lib/github/runner-api.ts';
import { DEMO_PREFIX } from './paths.ts';

export const ORGS = ['acme', 'globex'] as const;
export type Org = (typeof ORGS)[number];
/** The one board both orgs' board runners drive: its lock resource and its runner label. */
export const BOARD = 'devboard';
export const GENERIC_LABEL = 'build';

export interface Fleet {
  org: Org;
  envFile: string;
  config: Config;
  api: RunnerApi;
  boardRunner: string;
}

export const prefixOf = (org: Org): string => `${DEMO_PREFIX}${org}-`;

export interface FleetSettings {
  dir: string;
  lockDir: string;
  githubUrl: string;
  githubApiUrl: string;
  image: string;
  pats: Record<Org, string>;
  /** Extra settings this engine needs (RUNNER_PRIVILEGED=false where privileged root containers cannot start). */
  engine: string[];
}

/** Writes `<org>.env` (0600) and loads it as `make init` would with ENV_FILE=<org>.env. */
export async function prepareFleet(org: Org, s: FleetSettings): Promise<Fleet> {
  const envFile = join(s.dir, `${org}.env`);
  const lines = [
    `# make demo: ${org}'s fleet against the GitHub stand-in (removed when the demo ends)`,
    `ORG=${org}`,
    `GH_PAT=${s.pats[org]}`,
    `GITHUB_URL=${s.githubUrl}`,
    `GITHUB_API_URL=${s.githubApiUrl}`,
    `RUNNER_IMAGE=${s.image}`,
    `RUNNER_NAME_PREFIX=${prefixOf(org)}`,
    `RUNNER_LABELS=${GENERIC_LABEL}`,
    `BOARD_RUNNERS=${BOARD}:${BOARD}`,
    `RUNNER_RESOURCE_ID=${BOARD}`,
    `RUNNER_LOCK_HOST_PATH=${s.lockDir}`,
    ...s.engine,
    '',
  ];
  await writeFile(envFile, lines.join('\n'), { mode: 0o600 });
  const config = await loadConfig({ env: { ENV_FILE: envFile }, cwd: s.dir, interactive: false });
  return { org, envFile, config, api: createRunnerApi(config), boardRunner: `${prefixOf(org)}runner-${BOARD}` };
}

/**
 * `make init N=<generic>` for this fleet. Both fleets build at once, so each
 * build is folded into `<org>: building IMAGE … step i/n: …` lines, one per
 * step (the log only when it fails). Printed as lines on a terminal too, not
 * redrawn in place: compose writes to the terminal itself meanwhile (the other
 * fleet's `up -d`), so a cursor-moving redraw could land on its lines.
 */
export async function bringUp(fleet: Fleet, generic: number, reporter: Reporter): Promise<void> {
  const own = ofOrg(fleet, reporter);
  await initFleet(fleet.config, fleet.api, generic, own, { reporter: own, progress: own });
}

/** `make purge YES=1 FORCE=1 WITH_ENV=1`: runners unregistered, containers, volumes, files and images gone. */
export async function purge(fleet: Fleet, reporter: Reporter): Promise<void> {
  await purgeFleet(fleet.config, fleet.api, { yes: true, force: true, env: true, reporter: ofOrg(fleet, reporter), interactive: false });
}

/** The fleet's lines, each after its org: `acme: …`, `acme: warning: …`. */
function ofOrg(fleet: Fleet, reporter: Reporter): Reporter {
  return toLines((line) => reporter.info(`${fleet.org}: ${line}`));
}

/** Whatever is still there under the demo's prefix (after an interrupted init, say): containers, volumes, images. */
export async function leftovers(): Promise<{ containers: string[]; volumes: string[]; images: string[] }> {
  const containers = await containerNames(DEMO_PREFIX);
  const volumes = [...(await existingVolumes())].filter((volume) => volume.startsWith(DEMO_PREFIX));
  const images = (await imageNames()).filter((image) => image.includes(DEMO_PREFIX.slice(0, -1)));
  return { containers, volumes, images };
}

/** Removes what leftovers() finds, by name; returns what it found. */
export async function sweep(): Promise<string[]> {
  const { containers, volumes, images } = await leftovers();
  await removeContainers(containers);
  await removeVolumes(volumes);
  await removeImages(images);
  return [...containers, ...volumes, ...images];
}
