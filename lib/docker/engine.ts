// The Docker engine itself: whether it is there and answers, which API
// versions it serves, and what it refuses (privileged root containers on some
// hosts). Asked once per process where the answer cannot change.
import { CliError, ExitCode } from '../../core/errors.ts';
import { probe } from './command.ts';

let daemonChecked = false;

/** Throws one clear line when docker is missing or its daemon does not answer. */
export async function ensureDocker(): Promise<void> {
  if (daemonChecked) return;
  const result = await probe(['info', '--format', '{{.ServerVersion}}']);
  if (result.exitCode === 127 || (result.exitCode === null && result.signal === null)) {
    // the shell could not find the command, or no shell could be started for it
    throw new CliError('docker is not installed: install Docker (Debian: apt-get install docker.io docker-compose)', ExitCode.docker);
  }
  if (result.exitCode !== 0) {
    const where = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
    throw new CliError(`the Docker daemon at ${where} does not answer: start it (systemctl start docker) or fix DOCKER_HOST`, ExitCode.docker);
  }
  daemonChecked = true;
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
