// Fixed paths inside the runner image, shared by the image build, the compose
// file and the lock wrapper.

/** The runner's home and root: a persistent named volume, so nothing of ours lives here. */
export const RUNNER_HOME = '/home/runner';
export const RUNNER_SCRIPT = `${RUNNER_HOME}/run.sh`;
export const CONFIG_SCRIPT = `${RUNNER_HOME}/config.sh`;
/** The compiled lock wrapper and its hooks, baked into the image outside the volume. */
export const FLEET_DIR = '/opt/runner-fleet';
export const WRAPPER_ENTRYPOINT = `${FLEET_DIR}/entrypoint`;
