// The toolkit's configuration: process environment first, then ENV_FILE
// (default .env). Every value is validated here, once, so scripts can trust it.
// Loading is a pipeline of steps, each in its own module:
//   read (settings.ts: environment + env file → raw settings, and warnings)
//   → complete (prompt-credentials.ts: ask for a missing ORG or credential on a terminal, save the answers)
//   → credential (credential.ts: a PAT or a GitHub App, its key file read, when the command calls GitHub)
//   → derive (derive.ts: the Config, pure; given the prefix an existing fleet's
//     compose file names, compose-prefix.ts).
import { hostname } from 'node:os';
import { CliError } from '../../core/errors.ts';
import { stdio, type Reporter } from '../../core/reporter.ts';
import type { BoardRunner } from './board-runners.ts';
import { prefixInComposeFile } from './compose-prefix.ts';
import { chosenCredential, noCredentialError, readCredential, type CredentialNeed, type GitHubCredential } from './credential.ts';
import { composeFileOf, deriveConfig, dockerTargetOf, lockPaths, scopeOf } from './derive.ts';
import { useDockerTarget } from '../docker/command.ts';
import { completeSettings } from './prompt-credentials.ts';
import { scopeName } from './names.ts';
import { readSettings, setting } from './settings.ts';
import type { CacheVolume, ComposeCommand, RunnerMode } from './values.ts';
import { lockBackendOf, type LockBackendConfig } from './lock-backend.ts';

export type { BoardRunner } from './board-runners.ts';
export type { BoardHardware, DeviceMapping } from './board-hardware.ts';
export type { AppCredential, CredentialNeed, GitHubCredential, PatCredential } from './credential.ts';
export { APP_SETTINGS, requireCredential } from './credential.ts';
export { DEFAULTS } from './derive.ts';
export { scopeName, scopeParts } from './names.ts';
export { MAX_RUNNERS, parseCount, parseRunnerCount, type ComposeCommand } from './values.ts';

/**
 * Where runners register, a union the compiler keeps apart: an org (ORG) or
 * one of its repositories (ORG+REPO), or an enterprise (ENTERPRISE). In an
 * enterprise scope `org` and `repo` are absent, so on a Scope `org` is
 * `string | undefined` and reading it needs a check first (`scope.enterprise
 * === undefined`, or `scope.repo !== undefined`); org and repo literals
 * (`{ org: 'acme' }`) stay what they were.
 */
export type Scope = OrgScope | EnterpriseScope;

/** Org runners, or a repository's (REPO set). */
export interface OrgScope {
  org: string;
  /** Set for repo-scoped runners. */
  repo?: string;
  enterprise?: undefined;
}

/** Enterprise runners (ENTERPRISE): a classic PAT only, GitHub Apps cannot manage them. */
export interface EnterpriseScope {
  /** The enterprise's slug, as in https://github.com/enterprises/<slug>. */
  enterprise: string;
  org?: undefined;
  repo?: undefined;
}

/**
 * The Docker daemon a fleet's docker and compose commands talk to: DOCKER_HOST
 * (unix://, tcp:// or ssh://) or DOCKER_CONTEXT (a docker context's name), at
 * most one; neither: the docker CLI's own default, this machine's daemon.
 */
export interface DockerTarget {
  host?: string;
  context?: string;
}

export interface Config {
  envFile: string;
  scope: Scope;
  /** DOCKER_HOST or DOCKER_CONTEXT: where every docker and compose command of this fleet runs (lib/docker/command.ts). */
  docker: DockerTarget;
  /** A PAT or a GitHub App; absent when the command was loaded with `credential: 'none'` (see requireCredential). */
  credential?: GitHubCredential;
  /** Runner, container and volume name prefix; always ends with '-'. */
  prefix: string;
  /** Labels of the generic runners (RUNNER_LABELS). */
  labels: string[];
  /** RUNNER_GROUP: the runner group (by name) runners register in. */
  group: string;
  /** RUNNER_MODE: persistent runners, or a fresh container for every job kept by the supervisor (make supervise). */
  mode: RunnerMode;
  /** RUNNER_CACHE_VOLUMES: named volumes every ephemeral container mounts, shared between jobs. */
  cacheVolumes: CacheVolume[];
  /** RUNNER_IMAGE: the base image when there is no custom Dockerfile. */
  baseImage: string;
  /** RUNNER_CUSTOM_IMAGE: the tag the Dockerfile next to the env file is built as. */
  customImage: string;
  workdir: string;
  disableAutoUpdate: boolean;
  boards: BoardRunner[];
  /** Lock directory inside the containers. */
  lockDir: string;
  /** The same directory on the host, bind-mounted into board runners. */
  lockHostPath: string;
  /** RUNNER_LOCK_BACKEND: the lock directory (default) or etcd (RUNNER_LOCK_ETCD_*). */
  lockBackend: LockBackendConfig['lockBackend'];
  etcd?: LockBackendConfig['etcd'];
  composeFile: string;
  tokenCacheFile: string;
  tokenCacheTtlSeconds: number;
  imageHashFile: string;
  githubUrl: string;
  githubApiUrl: string;
  /** HTTP_PROXY/HTTPS_PROXY/NO_PROXY (and lower-case forms) to pass into containers. */
  proxy: Record<string, string>;
  /**
   * RUNNER_PROXY_TO_JOBS (default false): a proxy URL's credentials reach the
   * runner, and so every job, as given. False: the wrapper relays them and jobs
   * see the relay's address only (wrapper/runner-proxy.ts).
   */
  proxyToJobs: boolean;
  /** RUNNER_KVM_GID; when unset the host's /dev/kvm group is used. */
  kvmGid?: number;
  /**
   * RUNNER_PRIVILEGED (default true): runners run privileged, as the labs'
   * jobs need (loop devices, KVM, debootstrap). False: only the listed devices.
   */
  privileged: boolean;
  /** RUNNER_SUDO (default true): the runner user keeps the base image's sudo. False: the image takes it away. */
  sudo: boolean;
  /** RUNNER_COMPOSE: the compose command forced; unset picks `docker compose` (v2) when present, else `docker-compose` (v1). */
  composeCommand?: ComposeCommand;
  /** docker compose project name derived from the prefix. */
  projectName: string;
  /** The image the runners run: the base plus the lock wrapper, built locally per scope. */
  fleetImage: string;
}

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Ask for missing ORG and credentials when on a terminal (default: when stdin and stdout are TTYs). */
  interactive?: boolean;
  /**
   * Whether the command calls GitHub (default 'required'); 'none' for those that never do
   * (compose generation, ps, logs): no credential is asked for or loaded.
   */
  credential?: CredentialNeed;
  hostname?: string;
  /** Where warnings about the env file go (default stdio: stderr, as `warning: …`). */
  reporter?: Reporter;
}

export async function loadConfig(options: LoadConfigOptions = {}): Promise<Config> {
  const cwd = options.cwd ?? process.cwd();
  const need = options.credential ?? 'required';
  const reporter = options.reporter ?? stdio;
  const read = await readSettings(options.env ?? process.env, cwd);
  for (const line of read.warnings) reporter.warn(line);
  // An enterprise scope's own lines (with ORG or REPO, with a GitHub App) come first: the credential's would point the wrong way.
  if (setting(read.settings, 'ENTERPRISE')) scopeOf(read.settings);
  // A bad DOCKER_HOST/DOCKER_CONTEXT before any question at the prompt.
  dockerTargetOf(read.settings);
  const settings = await completeSettings(read.settings, {
    credential: need,
    interactive: options.interactive ?? Boolean(process.stdin.isTTY && process.stdout.isTTY),
  });
  let credential: GitHubCredential | undefined;
  if (need === 'required') {
    const chosen = chosenCredential(settings);
    // Only when a prompt was answered with an empty PAT.
    if (!chosen) throw noCredentialError(settings.envFile);
    credential = await readCredential(chosen, cwd);
  }
  const composePrefix = setting(settings, 'RUNNER_NAME_PREFIX') ? undefined : await prefixInComposeFile(composeFileOf(settings, scopeOf(settings), cwd));
  const config = deriveConfig(settings, {
    cwd,
    hostname: options.hostname ?? hostname(),
    ...(composePrefix ? { composePrefix } : {}),
    ...(credential ? { credential } : {}),
  });
  // Its docker and compose commands go to its daemon from here on (see lib/docker/command.ts).
  useDockerTarget(config.docker);
  return config;
}

/**
 * The fleets of several env files (make list ENV_FILES=…), in the order
 * given, each loaded as ENV_FILE=<file> would load it; none given: the one
 * of ENV_FILE (default .env). One fleet is loaded as loadConfig loads it;
 * of several, none asks at a prompt (which file would it be for?).
 */
export async function loadConfigs(envFiles: readonly string[], options: LoadConfigOptions = {}): Promise<Config[]> {
  const env = options.env ?? process.env;
  if (envFiles.length === 0) return [await loadConfig({ ...options, env })];
  const several = envFiles.length > 1 ? { interactive: false } : {};
  const configs: Config[] = [];
  for (const file of envFiles)
    configs.push(await namingFile(file, envFiles.length > 1, () => loadConfig({ ...options, ...several, env: { ...env, ENV_FILE: file } })));
  return configs;
}

/** `load`, its one-line error led by the env file's name when several are loaded (unless the line names it already). */
async function namingFile<T>(file: string, several: boolean, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    if (several && err instanceof CliError && !err.message.includes(file)) throw new CliError(`${file}: ${err.message}`, err.exitCode);
    throw err;
  }
}

/**
 * The host's shared lock directory, for host tools that serve every org
 * (make locks): needs no ORG or PAT, only RUNNER_LOCK_HOST_PATH/RUNNER_LOCK_DIR.
 */
export async function loadLockHostPath(options: Pick<LoadConfigOptions, 'env' | 'cwd'> = {}): Promise<string> {
  return (await loadLockHost(options)).lockHostPath;
}

/** What a host tool that reads the lock directory knows of one env file: the directory, the Docker host it serves, the scope if set. */
export interface LockHost {
  envFile: string;
  lockHostPath: string;
  docker: DockerTarget;
  /** Where the lock is (RUNNER_LOCK_BACKEND): the directory above, or etcd (locks.log stays in the directory); unset: the directory. */
  lock?: LockBackendConfig;
  /** ORG[/REPO] or enterprises/<slug>; undefined when the env file sets no scope (make locks needs none). */
  scope?: string;
}

/** loadLockHostPath, with the Docker host (DOCKER_HOST/DOCKER_CONTEXT, validated) and the scope's name when set. */
export async function loadLockHost(options: Pick<LoadConfigOptions, 'env' | 'cwd'> = {}): Promise<LockHost> {
  const { settings } = await readSettings(options.env ?? process.env, options.cwd ?? process.cwd());
  const scope = setting(settings, 'ENTERPRISE') || setting(settings, 'ORG') ? shownScope(settings) : undefined;
  return {
    envFile: settings.envFile,
    lockHostPath: lockPaths(settings).lockHostPath,
    docker: dockerTargetOf(settings),
    lock: lockBackendOf(settings),
    ...(scope ? { scope } : {}),
  };
}

/** The scope's name for a heading; undefined when it is not a valid one (the lock tools need none, and refuse nothing for it). */
function shownScope(settings: Parameters<typeof scopeOf>[0]): string | undefined {
  try {
    return scopeName(scopeOf(settings));
  } catch {
    return undefined;
  }
}

/** loadLockHost for each env file given (none: ENV_FILE's, default .env). */
export async function loadLockHosts(envFiles: readonly string[], options: Pick<LoadConfigOptions, 'env' | 'cwd'> = {}): Promise<LockHost[]> {
  const env = options.env ?? process.env;
  if (envFiles.length === 0) return [await loadLockHost({ ...options, env })];
  return Promise.all(envFiles.map((file) => namingFile(file, envFiles.length > 1, () => loadLockHost({ ...options, env: { ...env, ENV_FILE: file } }))));
}

/**
 * The URL runners register against: `<GITHUB_URL>/<org>`, `<GITHUB_URL>/<org>/<repo>`
 * or `<GITHUB_URL>/enterprises/<slug>` (how actions/runner tells an
 * enterprise from a repository: ConfigurationManager.cs, GetEntityUrl).
 */
export function registrationUrl(config: Pick<Config, 'githubUrl' | 'scope'>): string {
  return `${config.githubUrl}/${scopeName(config.scope)}`;
}
