// Running the compose CLI over a fleet's compose file: which CLI (v2 plugin,
// v1, or the one RUNNER_COMPOSE forces), the environment it needs (the proxy
// settings the file leaves out, v1's API pin), and its failures as one line.
import type { ProcessOutput } from 'zx';
import type { ComposeCommand, Config } from '../config/config.ts';
import { CliError, ExitCode } from '../../core/errors.ts';
import { currentDockerTarget, dockerTargetName, failure, lastLine, start } from './command.ts';
import { apiVersions, ensureDocker } from './engine.ts';

export type ComposeConfig = Pick<Config, 'projectName' | 'composeFile' | 'proxy' | 'composeCommand'> & Partial<Pick<Config, 'etcd'>>;

export interface ComposeOptions {
  /** Keep the output (stdout, stderr) instead of showing it on the terminal. */
  capture?: boolean;
  /** Added to the environment compose runs in (a registration token, never argv). */
  env?: Record<string, string>;
}

const composeCommands = new Map<string, string[]>();

/**
 * The compose command: the one RUNNER_COMPOSE forces, else `docker compose`
 * (v2) when the plugin exists, else `docker-compose` (v1). A forced command
 * that does not run is one line naming the setting.
 */
export async function composeCli(forced?: ComposeCommand): Promise<string[]> {
  const key = forced ?? 'auto';
  const known = composeCommands.get(key);
  if (known) return known;
  const runs = async (command: string[]): Promise<boolean> => (await start([...command, 'version']).catch(() => undefined))?.exitCode === 0;
  const candidates = forced ? [forced.split(' ')] : [['docker', 'compose'], ['docker-compose']];
  for (const command of candidates) {
    if (await runs(command)) {
      composeCommands.set(key, command);
      return command;
    }
  }
  if (forced)
    throw new CliError(
      `RUNNER_COMPOSE is '${forced}', but \`${forced} version\` does not run: install it, or unset RUNNER_COMPOSE to use the compose that is installed`,
      ExitCode.docker,
    );
  throw new CliError('neither `docker compose` nor `docker-compose` is installed: install one (Debian: apt-get install docker-compose)', ExitCode.docker);
}

/**
 * `docker compose -p <project> -f <file> …args`, output on the terminal
 * unless captured; a failure throws one line naming the compose command (its
 * last stderr line when captured: compose prints progress first, the error last).
 */
export async function compose(config: ComposeConfig, args: string[], options: ComposeOptions = {}): Promise<ProcessOutput> {
  const result = await composeResult(config, args, options);
  if (result.exitCode !== 0) throw failure(`docker compose ${args[0] ?? ''}`.trim(), result, { reason: lastLine(result.stderr) });
  return result;
}

/**
 * Like compose(), but a failure is returned, not thrown: for a caller to whom
 * it is one runner's outcome among several (registration reports each and
 * goes on), or whose exit code is the script's (make logs).
 */
export async function composeResult(config: ComposeConfig, args: string[], options: ComposeOptions = {}): Promise<ProcessOutput> {
  await ensureDocker();
  const [cli = 'docker', ...sub] = await composeCli(config.composeCommand);
  const v1 = cli === 'docker-compose' ? await composeV1Env() : {};
  // The proxy settings and the etcd password the compose file leaves to the environment (see compose-file.ts).
  const etcdPassword = config.etcd?.password !== undefined ? { RUNNER_LOCK_ETCD_PASSWORD: config.etcd.password } : {};
  const env = { ...v1, ...process.env, ...config.proxy, ...etcdPassword, ...options.env };
  return start([cli, ...sub, '-p', config.projectName, '-f', config.composeFile, ...args], { env, stdio: options.capture ? 'pipe' : 'inherit' });
}

/** The Docker API version compose v1 is pinned to (Docker 20.10's). */
const COMPOSE_V1_API = '1.41';
/** By daemon (dockerTargetName): each engine serves its own API versions. */
const v1Envs = new Map<string, Promise<Record<string, string>>>();

/**
 * Compose v1 reads an image's ContainerConfig whenever it recreates a
 * container, and engines from Docker 25 leave that field out at API 1.44 and
 * later, so v1 fails every recreate with "KeyError: 'ContainerConfig'" and
 * leaves the container renamed. Older API versions still carry the field:
 * pin v1 to 1.41 where the engine still serves it (COMPOSE_API_VERSION set
 * by the user wins).
 */
async function composeV1Env(): Promise<Record<string, string>> {
  const target = currentDockerTarget();
  const key = target ? dockerTargetName(target) : '';
  const known = v1Envs.get(key);
  if (known) return known;
  const v1Env = (async (): Promise<Record<string, string>> => {
    const served = await apiVersions();
    const atMost = (a: string, b: string): boolean =>
      a
        .split('.')
        .map(Number)
        .reduce((cmp, part, i) => cmp || part - Number(b.split('.')[i] ?? 0), 0) <= 0;
    return served && atMost(served.min, COMPOSE_V1_API) && atMost(COMPOSE_V1_API, served.max) ? { COMPOSE_API_VERSION: COMPOSE_V1_API } : {};
  })();
  v1Envs.set(key, v1Env);
  return v1Env;
}
