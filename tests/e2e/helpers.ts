// Helpers for end-to-end tests on a real Docker engine: the docker CLI,
// containers and volumes that are cleaned up by name prefix, and the
// checks that the test ground (tests/e2e/setup.sh) is in place.
//
// The runner image here is the simulator, which STANDS IN for actions/runner
// (it cannot be downloaded on these machines): see standins/runner/.
import { composeProjectName } from '../../lib/config/names.ts';
import { privilegedRootRefused } from '../../lib/docker/engine.ts';
import { IMAGE_LABEL, STANDIN_IMAGES } from '../../core/constants.ts';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** The images tests/e2e/setup.sh builds (setup-names.test.ts holds its defaults to these). */
export const BASE_IMAGE = STANDIN_IMAGES.base;
export const SIM_IMAGE = STANDIN_IMAGES.simulator;
/** Every container and volume an e2e test makes starts with this, so leftovers can be found. */
export const E2E_PREFIX = 'rf-e2e-';
/**
 * The test ground's second Docker daemon (tests/e2e/setup.sh starts it on
 * this machine with its own data root): the second host of the tests of
 * several hosts. Its images are the simulator's, copied from the first.
 */
export const SECOND_DOCKER_HOST = 'unix:///run/docker-second.sock';

export interface DockerResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface DockerCallOptions {
  timeoutMs?: number;
  input?: string;
  /** The daemon (DOCKER_HOST) when not this process's: SECOND_DOCKER_HOST. */
  host?: string;
}

/** Runs the docker CLI; never throws for a non-zero exit (see dockerOk). */
export function docker(args: string[], { timeoutMs = 120_000, input, host }: DockerCallOptions = {}): Promise<DockerResult> {
  return new Promise((resolve, reject) => {
    const env = host ? { ...process.env, DOCKER_HOST: host, DOCKER_CONTEXT: undefined } : process.env;
    const child = spawn('docker', args, { stdio: 'pipe', env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A child that exits before reading its input closes the pipe: EPIPE here is no failure of the test.
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

/** Runs the docker CLI and returns its trimmed stdout; throws with stderr on failure. */
export async function dockerOk(args: string[], options?: DockerCallOptions): Promise<string> {
  const res = await docker(args, options);
  if (res.code !== 0) {
    throw new Error(`docker ${args.join(' ')} exited ${res.code}: ${res.stderr.trim() || res.stdout.trim()}`);
  }
  return res.stdout.trim();
}

/**
 * Why e2e tests cannot run here (no engine answers), or undefined when they
 * can. Under CI (CI=true) a missing engine is an error, never a skip: the
 * e2e ground must not pass vacuously.
 */
export async function dockerUnavailable(): Promise<string | undefined> {
  const reason = await whyNoDocker();
  if (reason && process.env.CI === 'true') throw new Error(`CI=true, and ${reason}`);
  return reason;
}

async function whyNoDocker(): Promise<string | undefined> {
  try {
    const res = await docker(['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 20_000 });
    if (res.code === 0 && res.stdout.trim() !== '') return undefined; // CLI 26 exits 0 without a daemon (docker/cli#5900)
    return `no Docker engine answers (docker info: ${res.stderr.trim().split('\n').pop()}); run tests/e2e/setup.sh as root`;
  } catch (err) {
    return `the docker CLI cannot be run (${(err as Error).message}); run tests/e2e/setup.sh as root`;
  }
}

/**
 * Why the tests of several hosts cannot run here (the second daemon does not
 * answer, or lacks the simulator image), or undefined when they can; an error
 * under CI, as dockerUnavailable.
 */
export async function secondDockerUnavailable(): Promise<string | undefined> {
  const first = await dockerUnavailable();
  if (first) return first;
  const on = { host: SECOND_DOCKER_HOST, timeoutMs: 20_000 };
  const info = await docker(['info', '--format', '{{.ServerVersion}}'], on);
  const image = info.code === 0 && info.stdout.trim() !== '' ? await docker(['image', 'inspect', '--format', '{{.Id}}', SIM_IMAGE], on) : undefined;
  const reason =
    info.code !== 0 || info.stdout.trim() === ''
      ? `the second Docker daemon at ${SECOND_DOCKER_HOST} does not answer (${info.stderr.trim().split('\n').pop()}); run tests/e2e/setup.sh as root`
      : image?.code !== 0
        ? `${SIM_IMAGE} is not on the second Docker daemon; run tests/e2e/setup.sh as root`
        : undefined;
  if (reason && process.env.CI === 'true') throw new Error(`CI=true, and ${reason}`);
  return reason;
}

/** Fails clearly when the ground images are missing (the engine is there, so setup.sh was not run). */
export async function assertImages(images: string[] = [BASE_IMAGE, SIM_IMAGE]): Promise<void> {
  for (const image of images) {
    const res = await docker(['image', 'inspect', '--format', '{{.Id}}', image]);
    if (res.code !== 0) throw new Error(`image ${image} is missing: run tests/e2e/setup.sh first`);
  }
}

/** A unique name prefix for one test's containers and volumes, e.g. rf-e2e-sim-1a2b3c-. */
export function uniquePrefix(test: string): string {
  return `${E2E_PREFIX}${test}-${randomBytes(3).toString('hex')}-`;
}

export interface RunOptions {
  image?: string;
  name?: string;
  /** `docker run -d`; otherwise it waits for the container and returns its output. */
  detach?: boolean;
  /** `--rm` (default true for attached runs). */
  rm?: boolean;
  /** host network: containers reach the stand-in on 127.0.0.1. Default true. */
  hostNetwork?: boolean;
  /** `VOLUME_OR_DIR:/path[:ro]` */
  volumes?: string[];
  env?: Record<string, string>;
  user?: string;
  workdir?: string;
  timeoutMs?: number;
}

/** `docker run` with the options tests use most; the command follows the image. */
export function runContainer(command: string[], options: RunOptions = {}): Promise<DockerResult> {
  const args = ['run'];
  if (options.detach) args.push('-d');
  if (options.rm ?? !options.detach) args.push('--rm');
  if (options.name) args.push('--name', options.name);
  if (options.hostNetwork ?? true) args.push('--network', 'host');
  for (const v of options.volumes ?? []) args.push('-v', v);
  for (const [k, v] of Object.entries(options.env ?? {})) args.push('-e', `${k}=${v}`);
  if (options.user) args.push('--user', options.user);
  if (options.workdir) args.push('--workdir', options.workdir);
  args.push(options.image ?? SIM_IMAGE, ...command);
  return docker(args, { timeoutMs: options.timeoutMs });
}

/** `docker exec` in a running container. */
export function execIn(container: string, command: string[], { user, timeoutMs }: { user?: string; timeoutMs?: number } = {}): Promise<DockerResult> {
  return docker(['exec', ...(user ? ['--user', user] : []), container, ...command], { timeoutMs });
}

/** Reads a file from a volume through a throw-away container (as root: files may be 0600). */
export async function readVolumeFile(volume: string, path: string): Promise<string> {
  const res = await runContainer(['cat', `/volume/${path.replace(/^\/+/, '')}`], {
    volumes: [`${volume}:/volume:ro`],
    user: '0',
    hostNetwork: false,
  });
  if (res.code !== 0) throw new Error(`cannot read ${path} from volume ${volume}: ${res.stderr.trim()}`);
  return res.stdout;
}

export interface ContainerState {
  status: string; // created, running, exited…
  running: boolean;
  exitCode: number;
}

export async function containerState(name: string): Promise<ContainerState | undefined> {
  const res = await docker(['inspect', '--format', '{{.State.Status}} {{.State.Running}} {{.State.ExitCode}}', name]);
  if (res.code !== 0) return undefined;
  const [status = '', running, exitCode] = res.stdout.trim().split(' ');
  return { status, running: running === 'true', exitCode: Number(exitCode) };
}

export async function containerLogs(name: string): Promise<string> {
  const res = await docker(['logs', name]);
  return res.stdout + res.stderr;
}

/**
 * Removes every image built for a fleet of `prefix`: tagged, or left dangling
 * by a rebuild while a container still used the old one (the project label,
 * which make purge also goes by), and the given extra tags (a custom image).
 */
export async function removeFleetImages(prefix: string, extra: string[] = [], on: { host?: string } = {}): Promise<void> {
  const project = composeProjectName(prefix);
  const labelled = (await docker(['images', '-q', '--filter', `label=${IMAGE_LABEL.project}=${project}`], on)).stdout.split('\n').filter(Boolean);
  const images = [...new Set([`gh-runner-fleet:${project}`, ...extra, ...labelled])];
  await docker(['rmi', '-f', ...images], on);
}

/** Removes every container and volume whose name starts with prefix (leftovers included), on this process's daemon or `on.host`. */
export async function removeByPrefix(prefix: string, on: { host?: string } = {}): Promise<void> {
  const containers = await dockerOk(['ps', '-aq', '--filter', `name=^${prefix}`], on);
  if (containers) await docker(['rm', '-f', '-v', ...containers.split('\n')], on);
  // The volume name filter matches substrings only: keep those that start with prefix.
  const volumes = (await dockerOk(['volume', 'ls', '-q', '--filter', `name=${prefix}`], on)).split('\n').filter((v) => v.startsWith(prefix));
  if (volumes.length > 0) await docker(['volume', 'rm', '-f', ...volumes], on);
}

/** The settings of hardened mode (README, Security): no privileged container, no sudo for the runner user. */
export const HARDENED_SETTINGS = ['RUNNER_PRIVILEGED=false', 'RUNNER_SUDO=false'];

/**
 * The mode a suite's fleets run in: the default (privileged, with sudo), as
 * labs run it, or hardened (HARDENED_SETTINGS).
 */
export type RunnerMode = 'default' | 'hardened';

let privilegedRefused: Promise<boolean> | undefined;

/**
 * The settings a suite's fleets run with in `mode`, announced in one
 * diagnostic line naming the suite and the mode. The test ground's engine
 * (Docker 26) starts privileged containers as root; an engine that cannot
 * (runc "unable to apply caps": Docker 20.10 on some VMs) is an error under
 * CI, and elsewhere runs the default mode unprivileged, saying so.
 */
export async function modeSettings(suite: string, mode: RunnerMode = 'default'): Promise<string[]> {
  if (mode === 'hardened') {
    console.log(`# ${suite}: runners in hardened mode (${HARDENED_SETTINGS.join(', ')})`);
    return HARDENED_SETTINGS;
  }
  privilegedRefused ??= whyNoDocker().then((why) => (why === undefined ? privilegedRootRefused(SIM_IMAGE) : false));
  if (await privilegedRefused) {
    const why = 'this Docker engine cannot start privileged containers as root (its host lacks a capability)';
    if (process.env.CI === 'true') throw new Error(`CI=true, and ${why}: the test ground (tests/e2e/setup.sh) installs Docker 26, which can`);
    console.log(`# ${suite}: runners in the default mode but unprivileged: ${why} (RUNNER_PRIVILEGED=false)`);
    return ['RUNNER_PRIVILEGED=false'];
  }
  console.log(`# ${suite}: runners in the default mode (privileged, with sudo)`);
  return [];
}
