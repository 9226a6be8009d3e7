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

/** Labels on the runner images this toolkit builds. */
export const IMAGE_LABEL = {
  /** Content hash of everything that went into the image: decides rebuilds. */
  hash: 'dev.gh-runner-fleet.image-hash',
  /** The compose project (scope) the image was built for: make purge finds its images by it. */
  project: 'dev.gh-runner-fleet.project',
} as const;
