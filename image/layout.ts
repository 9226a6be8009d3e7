// The runner image's fixed facts, in one place: paths inside the image and the
// labels put on it. Used by the bake step (image/build.ts, image/Dockerfile),
// the compose file and the wrapper's defaults; a test proves the Dockerfile
// says the same.

/** The runner's home and root, as in the official actions/runner image. */
export const RUNNER_HOME = '/home/runner';
export const RUNNER_SCRIPT = `${RUNNER_HOME}/run.sh`;
export const CONFIG_SCRIPT = `${RUNNER_HOME}/config.sh`;
/** The compiled lock wrapper and its hooks, baked into the image outside the runner's home. */
export const FLEET_DIR = '/opt/runner-fleet';
export const WRAPPER_ENTRYPOINT = `${FLEET_DIR}/entrypoint`;

/**
 * The runner's registration: the files actions/runner keeps in its root and
 * reads at every start (HostContext.GetConfigFile: .runner, .credentials,
 * .credentials_rsaparams written by config.sh; .runner_migrated and
 * .credentials_migrated written at run time by RunnerConfigUpdater.cs). Only
 * these outlive a container; everything else under RUNNER_HOME is the image's.
 */
export const STATE_FILES = ['.runner', '.runner_migrated', '.credentials', '.credentials_migrated', '.credentials_rsaparams'] as const;
/** Where each runner's state volume is mounted: outside the runner root, owned by the runner user, 0700. */
export const STATE_DIR = '/var/lib/runner-fleet/state';
/**
 * image/runner-state.sh: links the state files into the runner root at start
 * (`start CMD…`, then exec CMD), runs config.sh and keeps what it wrote
 * (`configure ARGS…`), carries a registration over from an old volume (`import DIR`).
 */
export const STATE_SCRIPT = `${FLEET_DIR}/runner-state`;

/** Where a runner's work directory (RUNNER_WORKDIR, relative to the root unless absolute) is in the container. */
export function workDirPath(workdir: string): string {
  return workdir.startsWith('/') ? workdir : `${RUNNER_HOME}/${workdir}`;
}

/** Labels on the runner images this toolkit builds. */
export const IMAGE_LABEL = {
  /** Content hash of everything that went into the image: decides rebuilds. */
  hash: 'dev.gh-runner-fleet.image-hash',
  /** The compose project (scope) the image was built for: make purge finds its images by it. */
  project: 'dev.gh-runner-fleet.project',
} as const;
