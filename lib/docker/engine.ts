// The Docker engine itself: whether it is there and answers, which API
// versions it serves, and what it refuses (privileged root containers on some
// hosts). Asked once per process where the answer cannot change.
import { CliError, ExitCode } from '../../core/errors.ts';
import { currentDockerTarget, dockerTargetName, firstLine, probe, withDockerTarget, type DockerTarget } from './command.ts';

/** The daemons (dockerTargetName) that answered in this process. */
const daemonsChecked = new Set<string>();

/** Throws one clear line when docker is missing or the current target's daemon does not answer. */
export async function ensureDocker(): Promise<void> {
  const target = currentDockerTarget();
  const name = target ? dockerTargetName(target) : `env:${process.env.DOCKER_HOST ?? ''}`;
  if (daemonsChecked.has(name)) return;
  const result = await probe(['info', '--format', '{{.ServerVersion}}']);
  if (result.exitCode === 127 || (result.exitCode === null && result.signal === null)) {
    // the shell could not find the command, or no shell could be started for it
    throw new CliError('docker is not installed: install Docker (Debian: apt-get install docker.io docker-compose)', ExitCode.docker);
  }
  // Docker CLI 26 exits 0 with no server version when no daemon answers (docker/cli#5900): empty output is no daemon.
  if (result.exitCode !== 0 || result.stdout.trim() === '') {
    if (target?.context) {
      throw new CliError(
        `the Docker daemon of context ${target.context} (DOCKER_CONTEXT) does not answer: ${firstLine(result.stderr) || 'start it'}; docker context inspect ${target.context} shows its address`,
        ExitCode.docker,
      );
    }
    const where = target?.host || process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
    throw new CliError(`the Docker daemon at ${where} does not answer: start it (systemctl start docker) or fix DOCKER_HOST`, ExitCode.docker);
  }
  daemonsChecked.add(name);
}

/** The engine's API versions, oldest and newest it serves (`1.24`, `1.45`); undefined when it does not say. */
export async function apiVersions(): Promise<{ min: string; max: string } | undefined> {
  const result = await probe(['version', '--format', '{{.Server.MinAPIVersion}} {{.Server.APIVersion}}']);
  const [min, max] = result.stdout.trim().split(' ');
  return result.exitCode === 0 && min && max ? { min, max } : undefined;
}

/**
 * Whether this engine refuses to start a privileged container as root (runc
 * "unable to apply caps": the host's capability bounding set lacks one, as in
 * some sandboxes). Runner containers start as root, so such an engine needs
 * RUNNER_PRIVILEGED=false.
 */
export async function privilegedRootRefused(image: string): Promise<boolean> {
  const result = await probe(['run', '--rm', '--privileged', '--user', '0', '--network', 'none', '--entrypoint', 'true', image]);
  return result.exitCode !== 0 && /apply caps/.test(result.stderr);
}

/**
 * The daemon's address a target names: DOCKER_HOST's value, or the endpoint
 * of its context (`docker context inspect`); undefined for the docker CLI's
 * default, or a context that cannot be read.
 */
export async function dockerEndpoint(target: DockerTarget): Promise<string | undefined> {
  if (target.host) return target.host;
  const name = target.context ?? (process.env.DOCKER_CONTEXT || undefined);
  if (!name) return process.env.DOCKER_HOST || undefined;
  const result = await withDockerTarget({}, () => probe(['context', 'inspect', '--format', '{{.Endpoints.docker.Host}}', name]));
  return result.exitCode === 0 ? result.stdout.trim() || undefined : undefined;
}

/**
 * Whether a target's daemon runs on this machine, so the paths it bind-mounts
 * are this machine's (a unix socket, TCP to a loopback address, the default);
 * false for another machine's or one that cannot be told.
 */
export async function daemonIsHere(target: DockerTarget): Promise<boolean> {
  if (!target.host && !target.context && !process.env.DOCKER_CONTEXT && !process.env.DOCKER_HOST) return true;
  const endpoint = await dockerEndpoint(target);
  if (endpoint === undefined) return !target.context;
  if (/^unix:\/\//i.test(endpoint)) return true;
  try {
    return /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/i.test(new URL(endpoint).hostname);
  } catch {
    return false;
  }
}
