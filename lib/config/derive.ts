// The last step of loading the configuration: the Config computed from the
// settings, every value validated (one line naming the setting when it is
// not usable). Pure: the facts it needs from outside (working directory,
// host name, an existing fleet's prefix, the credential) are passed in.
import { resolve } from 'node:path';
import { LEGACY_DATA_VOLUME_SUFFIX } from '../../core/constants.ts';
import { ConfigError } from '../../core/errors.ts';
import { defaultLockDir } from '../../lock/layout.ts';
import { parseBoardRunners } from './board-runners.ts';
import type { Config, DockerTarget, Scope } from './config.ts';
import { APP_SETTINGS, ENTERPRISE_APP_ERROR, type GitHubCredential } from './credential.ts';
import {
  composeProjectName,
  defaultComposeFile,
  defaultImageHashFile,
  defaultPrefix,
  defaultTokenCacheFile,
  normalizePrefix,
  parseLabels,
  scopeParts,
  validateDockerName,
  validateEnterprise,
  validateOrg,
  validateRepo,
} from './names.ts';
import { setting, settingNames, whereSet, type Settings } from './settings.ts';
import {
  absolutePath,
  parseBoolean,
  parseCacheVolumes,
  parseComposeCommand,
  parseCount,
  parseDockerContext,
  parseDockerHost,
  parseRunnerMode,
  parseUrl,
  relativePath,
} from './values.ts';
import { lockBackendOf } from './lock-backend.ts';

export const DEFAULTS = {
  RUNNER_LABELS: 'intel',
  RUNNER_GROUP: 'Default',
  RUNNER_IMAGE: 'ghcr.io/actions/actions-runner:latest',
  RUNNER_WORKDIR: '_work',
  DISABLE_AUTO_UPDATE: 'false',
  RUNNER_LOCK_DIR: defaultLockDir,
  REG_TOKEN_CACHE_TTL: '300',
  GITHUB_URL: 'https://github.com',
  GITHUB_API_URL: 'https://api.github.com',
} as const;

const PROXY_SETTINGS = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];

/** What deriveConfig needs besides the settings. */
export interface DeriveFacts {
  /** Relative paths in the settings are taken from here. */
  cwd: string;
  /** This host's name: the default prefix starts with it. */
  hostname: string;
  /** The prefix the fleet's existing compose file was made with (see compose-prefix.ts); kept unless RUNNER_NAME_PREFIX is set. */
  composePrefix?: string;
  /** Absent for commands that call no GitHub. */
  credential?: GitHubCredential;
}

/** ORG unset where it is needed: where to set it. */
export function orgNotSetError(envFile: string): ConfigError {
  return new ConfigError(`ORG is not set: set it in the environment or in ${envFile} (see .env.example; ENTERPRISE instead for an enterprise's runners)`);
}

/**
 * The scope: ENTERPRISE, or ORG (and REPO), validated; one of them must be
 * set. ENTERPRISE with ORG or REPO, or with a GitHub App's settings, is one
 * line (checked from the text alone, even for commands that call no GitHub).
 */
export function scopeOf(settings: Settings): Scope {
  const enterprise = setting(settings, 'ENTERPRISE');
  const org = setting(settings, 'ORG');
  const repo = setting(settings, 'REPO');
  if (enterprise) {
    const other = org ? 'ORG' : repo ? 'REPO' : undefined;
    if (other) {
      throw new ConfigError(
        `ENTERPRISE (in ${whereSet(settings, 'ENTERPRISE')}) and ${other} (in ${whereSet(settings, other)}) are both set: choose one scope, unset ORG and REPO for the enterprise's runners or ENTERPRISE for the ${other === 'ORG' ? "org's" : "repository's"}`,
      );
    }
    const app = APP_SETTINGS.filter((key) => setting(settings, key) !== undefined);
    if (app.length > 0) throw new ConfigError(`${ENTERPRISE_APP_ERROR} instead of ${app.join(', ')}`);
    return { enterprise: validateEnterprise(enterprise) };
  }
  if (!org) throw orgNotSetError(settings.envFile);
  return { org: validateOrg(org), ...(repo ? { repo: validateRepo(repo) } : {}) };
}

/** COMPOSE_FILE, default `docker-compose.<org>[.<repo>].yml` (`docker-compose.enterprises.<slug>.yml`), from the working directory. */
export function composeFileOf(settings: Settings, scope: Scope, cwd: string): string {
  return resolve(cwd, setting(settings, 'COMPOSE_FILE') ?? defaultComposeFile(...scopeParts(scope)));
}

/** RUNNER_LOCK_DIR (inside the containers) and RUNNER_LOCK_HOST_PATH (on the host, default the same path). */
export function lockPaths(settings: Settings): Pick<Config, 'lockDir' | 'lockHostPath'> {
  const lockDir = absolutePath(setting(settings, 'RUNNER_LOCK_DIR') ?? DEFAULTS.RUNNER_LOCK_DIR, 'RUNNER_LOCK_DIR');
  return { lockDir, lockHostPath: absolutePath(setting(settings, 'RUNNER_LOCK_HOST_PATH') ?? lockDir, 'RUNNER_LOCK_HOST_PATH') };
}

/**
 * DOCKER_HOST or DOCKER_CONTEXT, validated: the Docker daemon of the fleet's
 * commands. Both set is one line saying where each is set (docker itself
 * would take DOCKER_HOST and ignore the context without a word).
 */
export function dockerTargetOf(settings: Settings): DockerTarget {
  const host = setting(settings, 'DOCKER_HOST');
  const context = setting(settings, 'DOCKER_CONTEXT');
  if (host && context) {
    throw new ConfigError(
      `DOCKER_HOST (in ${whereSet(settings, 'DOCKER_HOST')}) and DOCKER_CONTEXT (in ${whereSet(settings, 'DOCKER_CONTEXT')}) are both set: set one, DOCKER_HOST for a daemon's address or DOCKER_CONTEXT for a docker context that names one`,
    );
  }
  if (host) return { host: parseDockerHost(host) };
  return context ? { context: parseDockerContext(context) } : {};
}

export function deriveConfig(settings: Settings, facts: DeriveFacts): Config {
  const get = (key: string): string | undefined => setting(settings, key);
  const { cwd } = facts;
  const scope = scopeOf(settings);
  const explicitPrefix = get('RUNNER_NAME_PREFIX');
  const prefix = explicitPrefix ? normalizePrefix(explicitPrefix) : (facts.composePrefix ?? defaultPrefix(facts.hostname, ...scopeParts(scope)));
  // Every name made from the prefix differs from this one only in letters,
  // digits and '-', so Docker takes all of them or none; the message shows
  // the first runner's (pre-issue-10) data volume as the example.
  validateDockerName(
    `${prefix}runner-1${LEGACY_DATA_VOLUME_SUFFIX}`,
    explicitPrefix ? 'RUNNER_NAME_PREFIX' : scope.enterprise === undefined ? 'the host name with ORG/REPO' : 'the host name with ENTERPRISE',
  );

  const { lockDir, lockHostPath } = lockPaths(settings);
  const project = composeProjectName(prefix);
  return {
    envFile: settings.envFile,
    scope,
    docker: dockerTargetOf(settings),
    ...(facts.credential ? { credential: facts.credential } : {}),
    prefix,
    labels: parseLabels(get('RUNNER_LABELS') ?? DEFAULTS.RUNNER_LABELS, 'RUNNER_LABELS'),
    group: get('RUNNER_GROUP') ?? DEFAULTS.RUNNER_GROUP,
    mode: parseRunnerMode(get('RUNNER_MODE') ?? 'persistent'),
    cacheVolumes: parseCacheVolumes(get('RUNNER_CACHE_VOLUMES') ?? ''),
    baseImage: get('RUNNER_IMAGE') ?? DEFAULTS.RUNNER_IMAGE,
    // Per scope: two orgs with different Dockerfiles must not overwrite each other's tag.
    customImage: get('RUNNER_CUSTOM_IMAGE') ?? `gh-runner-fleet-custom:${project}`,
    workdir: relativePath(get('RUNNER_WORKDIR') ?? DEFAULTS.RUNNER_WORKDIR, 'RUNNER_WORKDIR'),
    disableAutoUpdate: parseBoolean(get('DISABLE_AUTO_UPDATE') ?? DEFAULTS.DISABLE_AUTO_UPDATE, 'DISABLE_AUTO_UPDATE'),
    boards: parseBoardRunners(get('BOARD_RUNNERS') ?? '', prefix, get, settingNames(settings)),
    lockDir,
    lockHostPath,
    ...lockBackendOf(settings),
    composeFile: composeFileOf(settings, scope, cwd),
    tokenCacheFile: resolve(cwd, get('REG_TOKEN_CACHE_FILE') ?? defaultTokenCacheFile(...scopeParts(scope))),
    tokenCacheTtlSeconds: parseCount(get('REG_TOKEN_CACHE_TTL') ?? DEFAULTS.REG_TOKEN_CACHE_TTL, 'REG_TOKEN_CACHE_TTL'),
    imageHashFile: resolve(cwd, defaultImageHashFile(...scopeParts(scope))),
    githubUrl: parseUrl(get('GITHUB_URL') ?? DEFAULTS.GITHUB_URL, 'GITHUB_URL'),
    githubApiUrl: parseUrl(get('GITHUB_API_URL') ?? DEFAULTS.GITHUB_API_URL, 'GITHUB_API_URL'),
    proxy: Object.fromEntries(PROXY_SETTINGS.flatMap((key) => (get(key) ? [[key, get(key)!]] : []))),
    proxyToJobs: parseBoolean(get('RUNNER_PROXY_TO_JOBS') ?? 'false', 'RUNNER_PROXY_TO_JOBS'),
    ...optional('kvmGid', get('RUNNER_KVM_GID'), (value) => parseCount(value, 'RUNNER_KVM_GID')),
    privileged: parseBoolean(get('RUNNER_PRIVILEGED') ?? 'true', 'RUNNER_PRIVILEGED'),
    sudo: parseBoolean(get('RUNNER_SUDO') ?? 'true', 'RUNNER_SUDO'),
    ...optional('composeCommand', get('RUNNER_COMPOSE'), parseComposeCommand),
    projectName: project,
    fleetImage: `gh-runner-fleet:${project}`,
  };
}

function optional<K extends string, T>(key: K, text: string | undefined, parse: (text: string) => T): { [P in K]?: T } {
  return (text === undefined ? {} : { [key]: parse(text) }) as { [P in K]?: T };
}
