// Names and figures that several layers must agree on, in one place: paths
// inside the runner image, its labels, the volumes a runner owns, the stop
// grace times, and the images the stand-ins and the demo build. A test proves
// the Dockerfile and the shell steps (which cannot import this) say the same.

/** The runner's home and root, as in the official actions/runner image. */
export const RUNNER_HOME = '/home/runner';
export const RUNNER_SCRIPT = `${RUNNER_HOME}/run.sh`;
export const CONFIG_SCRIPT = `${RUNNER_HOME}/config.sh`;
/** The compiled lock wrapper and its hooks, baked into the image outside the runner's home. */
export const FLEET_DIR = '/opt/runner-fleet';
export const WRAPPER_ENTRYPOINT = `${FLEET_DIR}/entrypoint`;
/**
 * The node root runs the wrapper with: a root-owned copy of the base image's
 * node, made at build time (the runner's own externals/ are the runner user's
 * to change, so root never runs a node from there).
 */
export const WRAPPER_NODE = `${FLEET_DIR}/node`;
/**
 * Root's copy of the image's /home/runner/.env, made at build time: the wrapper
 * writes the runner's .env from it at every start (absent: the image has none).
 */
export const IMAGE_ENV_FILE = `${FLEET_DIR}/runner.env`;
/** The directories root looks commands up in: never one the runner user can write. */
export const ROOT_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The runner's registration, as config.sh writes it into the runner root
 * (HostContext.GetConfigFile, ConfigurationStore.cs): the state volume keeps
 * these, root's alone, and they are all that outlives a container.
 */
export const STATE_FILES = ['.runner', '.credentials', '.credentials_rsaparams'] as const;
/**
 * Written by the running Listener into the runner root (RunnerConfigUpdater.cs)
 * and preferred by it over the files above (Runner.cs, CredentialManager.cs). A
 * job can write them too, so they are never kept: removed at every start, the
 * runner then falls back to STATE_FILES.
 */
export const RUNTIME_STATE_FILES = ['.runner_migrated', '.credentials_migrated'] as const;
/**
 * Ephemeral containers: a root-only tmpfs the supervisor writes the JIT
 * config into with `docker exec` (memory, never the host's disk), and the
 * file the wrapper waits for there (RUNNER_FLEET_JIT_FILE).
 */
export const JIT_DIR = '/run/runner-fleet';
export const JIT_FILE = `${JIT_DIR}/jit-config`;
/** Where each runner's state volume is mounted: outside the runner root, root's, 0700. */
export const STATE_DIR = '/var/lib/runner-fleet/state';
/**
 * image/runner-state.sh, run as root: copies the registration from STATE_DIR
 * into the runner root at start (`start CMD…`, then exec CMD), runs config.sh
 * as the runner user and keeps what it wrote (`configure ARGS…`), carries a
 * registration over from an old volume (`import DIR`).
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

/**
 * The named volumes a runner owns, by suffix on its name: `-state` (the
 * registration, root's), `-work` (checkouts and the tool cache outlive
 * recreations) and `-udev-rules`. The runner root itself has none.
 */
export const RUNNER_VOLUME_SUFFIXES = ['-state', '-work', '-udev-rules'] as const;
/** The volume the layout before issue 10 mounted at the whole runner home: only migration reads it. */
export const LEGACY_DATA_VOLUME_SUFFIX = '-data';

export function runnerVolumeNames(runner: string): string[] {
  return RUNNER_VOLUME_SUFFIXES.map((suffix) => `${runner}${suffix}`);
}

/**
 * How long the wrapper gives run.sh to end a job after SIGTERM before it kills
 * the tree and frees the lock (RUNNER_STOP_GRACE_MS): longer than the runner's
 * own shutdown of a job (see wrapper/supervisor.ts).
 */
export const WRAPPER_STOP_GRACE_MS = 25_000;
/** What docker stop waits before SIGKILL: the wrapper's grace plus time to release the lock and exit. */
export const CONTAINER_STOP_GRACE_MS = WRAPPER_STOP_GRACE_MS + 10_000;
/** CONTAINER_STOP_GRACE_MS as compose's stop_grace_period and docker stop's --time. */
export const CONTAINER_STOP_GRACE = `${CONTAINER_STOP_GRACE_MS / 1000}s`;

/**
 * Images the stand-ins and the demo build (never pulled: no registry here).
 * tests/e2e/setup.sh and standins/runner/base-image.sh take the same names
 * (a test checks them).
 */
export const STANDIN_IMAGES = {
  /** debootstrap --variant=minbase bookworm with sudo, imported: the base of the runner simulator's image. */
  base: 'runner-fleet-test/bookworm:minbase-sudo',
  /** The runner simulator (standins/runner) on that base: what the e2e tests run as runners. */
  simulator: 'runner-fleet-test/actions-runner:sim',
  /** The demo's copy of the simulator image, removed when the demo ends. */
  demoSimulator: 'rf-demo/actions-runner:sim',
} as const;
