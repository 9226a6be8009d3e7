// The toolkit's configuration: process environment first, then ENV_FILE
// (default .env). Every value is validated here, once, so scripts can trust it.
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { parseBoardRunners, type BoardRunner } from './board-runners.ts';
import { ConfigError } from '../../core/errors.ts';
import { isReadableByOthers, readEnvFile, settingsCutAtHash } from './env-file.ts';
import { defaultLockDir } from '../../lock/layout.ts';
import { LABEL } from '../docker/labels.ts';
import {
  composeProjectName,
  defaultComposeFile,
  defaultImageHashFile,
  defaultPrefix,
  defaultTokenCacheFile,
  normalizePrefix,
  parseLabels,
  validateDockerName,
  validateOrg,
  validateRepo,
} from './names.ts';
import { askForCredentials } from './prompt-credentials.ts';
import { readAppPrivateKey, validateAppId, validateInstallationId } from './app-key.ts';

export type { BoardRunner } from './board-runners.ts';
export type { BoardHardware, DeviceMapping } from './board-hardware.ts';

export interface Scope {
  org: string;
  /** Set for repo-scoped runners. */
  repo?: string;
}

/** A GitHub App as the credential (GH_APP_ID, GH_APP_PRIVATE_KEY_FILE, GH_APP_INSTALLATION_ID). */
export interface GitHubApp {
  /** The App ID (or client ID), the JWT's issuer. */
  appId: string;
  privateKeyFile: string;
  /** The key's PEM text, read and checked when the config was loaded. */
  privateKey: string;
  /** Looked up from the org or repo when absent. */
  installationId?: number;
}

/** The settings of each kind of credential, for messages. */
export const APP_SETTINGS = ['GH_APP_ID', 'GH_APP_PRIVATE_KEY_FILE', 'GH_APP_INSTALLATION_ID'] as const;

export interface Config {
  envFile: string;
  scope: Scope;
  /** The PAT (GH_PAT); empty when a GitHub App is the credential, or the caller said it needs none. */
  pat: string;
  /** The GitHub App, when it is the credential (never together with a PAT). */
  app?: GitHubApp;
  /** Runner, container and volume name prefix; always ends with '-'. */
  prefix: string;
  /** Labels of the generic runners (RUNNER_LABELS). */
  labels: string[];
  group: string;
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
  composeFile: string;
  tokenCacheFile: string;
  tokenCacheTtlSeconds: number;
  imageHashFile: string;
  githubUrl: string;
  githubApiUrl: string;
  /** HTTP_PROXY/HTTPS_PROXY/NO_PROXY (and lower-case forms) to pass into containers. */
  proxy: Record<string, string>;
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
  /** Scripts that never call GitHub (compose generation) run without a credential (PAT or App). */
  requirePat?: boolean;
  hostname?: string;
  /** Where a warning line goes (default stderr). */
  warn?: (line: string) => void;
}

export type ComposeCommand = 'docker compose' | 'docker-compose';
const COMPOSE_COMMANDS: readonly ComposeCommand[] = ['docker compose', 'docker-compose'];

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

export async function loadConfig(options: LoadConfigOptions = {}): Promise<Config> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const { envFile, fileValues, get } = await readSettings(env, cwd);
  const warn = options.warn ?? ((line: string) => process.stderr.write(`warning: ${line}\n`));
  if (fileValues.GH_PAT && (await isReadableByOthers(envFile))) {
    warn(`${envFile} holds GH_PAT and other users can read it: chmod 600 ${envFile}`);
  }
  for (const key of await settingsCutAtHash(envFile)) {
    if (env[key] === undefined) warn(`${key} in ${envFile} has a '#' in its unquoted value, which dotenv reads as the start of a comment, so the value is cut there: quote it, ${key}='…'`);
  }

  let org = get('ORG');
  let repo = get('REPO');
  let pat = get('GH_PAT');
  let appSettings = appSettingsOf(get);
  const requirePat = options.requirePat ?? true;
  if (pat && appSettings) {
    const source = (key: string): string => (env[key] !== undefined && env[key].trim() !== '' ? 'the environment' : envFile);
    const appKey = appSettings.setKeys[0]!;
    throw new ConfigError(
      `GH_PAT (in ${source('GH_PAT')}) and ${appKey} (in ${source(appKey)}) are both set: choose one credential, unset GH_PAT to use the GitHub App or unset ${appSettings.setKeys.join(', ')} to use the PAT`,
    );
  }
  if (!org || (requirePat && !pat && !appSettings)) {
    const interactive = options.interactive ?? Boolean(process.stdin.isTTY && process.stdout.isTTY);
    if (!interactive) {
      if (!org) throw new ConfigError(`ORG is not set: set it in the environment or in ${envFile} (see .env.example)`);
      throw new ConfigError(`no GitHub credential is set: set GH_PAT, or GH_APP_ID and GH_APP_PRIVATE_KEY_FILE for a GitHub App, in the environment or in ${envFile} (see README, Credentials)`);
    }
    const answers = await askForCredentials(envFile, { org, repo, ...(pat || appSettings ? { credentialKnown: true } : {}) });
    ({ org, repo } = answers);
    pat = answers.pat ?? pat;
    if (answers.app) appSettings = appSettingsOf((key) => answers.app![key]);
  }
  let app: GitHubApp | undefined;
  if (appSettings && requirePat) {
    const privateKeyFile = resolve(cwd, appSettings.privateKeyFile);
    app = {
      appId: appSettings.appId,
      privateKeyFile,
      privateKey: await readAppPrivateKey(privateKeyFile),
      ...(appSettings.installationId === undefined ? {} : { installationId: appSettings.installationId }),
    };
  }

  const scope: Scope = { org: validateOrg(org!), ...(repo ? { repo: validateRepo(repo) } : {}) };
  const explicitPrefix = get('RUNNER_NAME_PREFIX');
  const composeFile = resolve(cwd, get('COMPOSE_FILE') ?? defaultComposeFile(scope.org, scope.repo));
  const prefix = explicitPrefix
    ? normalizePrefix(explicitPrefix)
    : ((await prefixInComposeFile(composeFile)) ?? defaultPrefix(options.hostname ?? hostname(), scope.org, scope.repo));
  validateDockerName(`${prefix}runner-1-data`, explicitPrefix ? 'RUNNER_NAME_PREFIX' : 'the host name with ORG/REPO');

  const lockDir = absolutePath(get('RUNNER_LOCK_DIR') ?? DEFAULTS.RUNNER_LOCK_DIR, 'RUNNER_LOCK_DIR');
  const project = composeProjectName(prefix);
  return {
    envFile,
    scope,
    pat: pat ?? '',
    ...(app ? { app } : {}),
    prefix,
    labels: parseLabels(get('RUNNER_LABELS') ?? DEFAULTS.RUNNER_LABELS, 'RUNNER_LABELS'),
    group: get('RUNNER_GROUP') ?? DEFAULTS.RUNNER_GROUP,
    baseImage: get('RUNNER_IMAGE') ?? DEFAULTS.RUNNER_IMAGE,
    // Per scope: two orgs with different Dockerfiles must not overwrite each other's tag.
    customImage: get('RUNNER_CUSTOM_IMAGE') ?? `gh-runner-fleet-custom:${project}`,
    workdir: relativePath(get('RUNNER_WORKDIR') ?? DEFAULTS.RUNNER_WORKDIR, 'RUNNER_WORKDIR'),
    disableAutoUpdate: parseBoolean(get('DISABLE_AUTO_UPDATE') ?? DEFAULTS.DISABLE_AUTO_UPDATE, 'DISABLE_AUTO_UPDATE'),
    boards: parseBoardRunners(get('BOARD_RUNNERS') ?? '', prefix, get, [...Object.keys(env), ...Object.keys(fileValues)]),
    lockDir,
    lockHostPath: absolutePath(get('RUNNER_LOCK_HOST_PATH') ?? lockDir, 'RUNNER_LOCK_HOST_PATH'),
    composeFile,
    tokenCacheFile: resolve(cwd, get('REG_TOKEN_CACHE_FILE') ?? defaultTokenCacheFile(scope.org, scope.repo)),
    tokenCacheTtlSeconds: parseCount(get('REG_TOKEN_CACHE_TTL') ?? DEFAULTS.REG_TOKEN_CACHE_TTL, 'REG_TOKEN_CACHE_TTL'),
    imageHashFile: resolve(cwd, defaultImageHashFile(scope.org, scope.repo)),
    githubUrl: parseUrl(get('GITHUB_URL') ?? DEFAULTS.GITHUB_URL, 'GITHUB_URL'),
    githubApiUrl: parseUrl(get('GITHUB_API_URL') ?? DEFAULTS.GITHUB_API_URL, 'GITHUB_API_URL'),
    proxy: Object.fromEntries(PROXY_SETTINGS.flatMap((key) => (get(key) ? [[key, get(key)!]] : []))),
    ...optional('kvmGid', get('RUNNER_KVM_GID'), (value) => parseCount(value, 'RUNNER_KVM_GID')),
    privileged: parseBoolean(get('RUNNER_PRIVILEGED') ?? 'true', 'RUNNER_PRIVILEGED'),
    sudo: parseBoolean(get('RUNNER_SUDO') ?? 'true', 'RUNNER_SUDO'),
    ...optional('composeCommand', get('RUNNER_COMPOSE'), parseComposeCommand),
    projectName: project,
    fleetImage: `gh-runner-fleet:${project}`,
  };
}

interface AppSettings {
  appId: string;
  privateKeyFile: string;
  installationId?: number;
  /** The GH_APP_* settings that are set, for messages. */
  setKeys: string[];
}

/** The GH_APP_* settings, checked as a whole; undefined when none is set. */
function appSettingsOf(get: (key: string) => string | undefined): AppSettings | undefined {
  const setKeys = APP_SETTINGS.filter((key) => get(key) !== undefined);
  if (setKeys.length === 0) return undefined;
  const appId = get('GH_APP_ID');
  const privateKeyFile = get('GH_APP_PRIVATE_KEY_FILE');
  if (!appId) throw new ConfigError(`${setKeys.join(' and ')} ${setKeys.length > 1 ? 'are' : 'is'} set but GH_APP_ID is not: set GH_APP_ID to the App ID shown on the App's settings page`);
  if (!privateKeyFile) throw new ConfigError(`GH_APP_ID is set but GH_APP_PRIVATE_KEY_FILE is not: set it to the App's private key (.pem) file, mode 0600`);
  const installation = get('GH_APP_INSTALLATION_ID');
  return {
    appId: validateAppId(appId),
    privateKeyFile,
    ...(installation === undefined ? {} : { installationId: validateInstallationId(installation) }),
    setKeys,
  };
}

/**
 * The prefix an existing fleet was made with, from its compose file: a fleet
 * made before the default changed keeps its names (and its containers).
 */
async function prefixInComposeFile(path: string): Promise<string | undefined> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const found = new RegExp(`${LABEL.prefix.replaceAll('.', '\\.')}:\\s*['"]?([A-Za-z0-9][A-Za-z0-9_.-]*-)['"]?\\s*$`, 'm').exec(text.slice(0, 1024 * 1024));
  return found?.[1];
}

interface Settings {
  envFile: string;
  fileValues: Record<string, string>;
  /** A setting's trimmed value, the environment first; undefined when unset or empty. */
  get: (key: string) => string | undefined;
}

async function readSettings(env: NodeJS.ProcessEnv, cwd: string): Promise<Settings> {
  const envFile = resolve(cwd, env.ENV_FILE || '.env');
  const fileValues = (await readEnvFile(envFile)) ?? {};
  const get = (key: string): string | undefined => {
    const value = env[key] ?? fileValues[key];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  return { envFile, fileValues, get };
}

/**
 * The host's shared lock directory, for host tools that serve every org
 * (make locks): needs no ORG or PAT, only RUNNER_LOCK_HOST_PATH/RUNNER_LOCK_DIR.
 */
export async function loadLockHostPath(options: Pick<LoadConfigOptions, 'env' | 'cwd'> = {}): Promise<string> {
  const { get } = await readSettings(options.env ?? process.env, options.cwd ?? process.cwd());
  const lockDir = absolutePath(get('RUNNER_LOCK_DIR') ?? DEFAULTS.RUNNER_LOCK_DIR, 'RUNNER_LOCK_DIR');
  return absolutePath(get('RUNNER_LOCK_HOST_PATH') ?? lockDir, 'RUNNER_LOCK_HOST_PATH');
}

/** The URL runners register against: `<GITHUB_URL>/<org>` or `<GITHUB_URL>/<org>/<repo>`. */
export function registrationUrl(config: Pick<Config, 'githubUrl' | 'scope'>): string {
  return [config.githubUrl, config.scope.org, config.scope.repo].filter(Boolean).join('/');
}

/** Human-readable scope for messages: `acme` or `acme/widgets`. */
export function scopeName(scope: Scope): string {
  return scope.repo ? `${scope.org}/${scope.repo}` : scope.org;
}

/** More generic runners than this on one host is a typo (and Docker would not cope). */
export const MAX_RUNNERS = 200;

/** Parses a non-negative integer setting or argument. */
export function parseCount(text: string, setting: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(text.trim())) {
    throw new ConfigError(`${setting} '${text}' is not a non-negative integer: set ${setting} to a number like 4`);
  }
  const value = Number(text.trim());
  if (value > max) throw new ConfigError(`${setting} '${text}' is more than ${max}: set ${setting} to at most ${max}`);
  return value;
}

/** The number of generic runners asked for on the command line (-n, make N=…). */
export function parseRunnerCount(text: string, setting = '-n/--count (make: N)'): number {
  return parseCount(text, setting, MAX_RUNNERS);
}

function parseBoolean(text: string, setting: string): boolean {
  const value = text.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(`${setting} '${text}' is not a boolean: set ${setting} to true or false`);
}

function parseComposeCommand(text: string): ComposeCommand {
  const command = text.split(/\s+/).join(' ');
  const known = COMPOSE_COMMANDS.find((c) => c === command);
  if (!known) throw new ConfigError(`RUNNER_COMPOSE '${text}' is not a compose command: set RUNNER_COMPOSE to 'docker compose' (v2) or docker-compose (v1), or leave it unset to pick v2 when present`);
  return known;
}

function parseUrl(text: string, setting: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`${setting} '${text}' is not a URL: set ${setting} like https://github.example.com`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`${setting} '${text}' must be an http(s) URL: set ${setting} like https://github.example.com`);
  }
  return text.replace(/\/+$/, '');
}

/** An absolute path that is safe in a bind mount (`host:container`): no ':' and no newline. */
function absolutePath(text: string, setting: string): string {
  if (!text.startsWith('/')) throw new ConfigError(`${setting} '${text}' must be an absolute path: set ${setting} like /tmp/github-runner-locks`);
  if (/[:\n\r,]/.test(text)) throw new ConfigError(`${setting} '${text}' contains ':', ',' or a line break, which would change the mount it is written into: use a path without them`);
  return text.replace(/(.)\/+$/, '$1');
}

/** A path under the runner's root: relative, without '..' or ':'. */
function relativePath(text: string, setting: string): string {
  const parts = text.split('/');
  if (text.startsWith('/') || parts.includes('..') || /[:\n\r\\]/.test(text) || parts.every((p) => p === '' || p === '.')) {
    throw new ConfigError(`${setting} '${text}' must be a folder under the runner's root, like _work: no leading '/', no '..', no ':'`);
  }
  return text;
}

function optional<K extends string, T>(key: K, text: string | undefined, parse: (text: string) => T): { [P in K]?: T } {
  return (text === undefined ? {} : { [key]: parse(text) }) as { [P in K]?: T };
}
