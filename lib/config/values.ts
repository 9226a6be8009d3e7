// Parsers of one setting's (or argument's) text: each returns the value or
// throws a one-line ConfigError naming the setting and the fix.
import { ConfigError } from '../../core/errors.ts';

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

export function parseBoolean(text: string, setting: string): boolean {
  const value = text.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(`${setting} '${text}' is not a boolean: set ${setting} to true or false`);
}

export type ComposeCommand = 'docker compose' | 'docker-compose';
const COMPOSE_COMMANDS: readonly ComposeCommand[] = ['docker compose', 'docker-compose'];

export function parseComposeCommand(text: string): ComposeCommand {
  const command = text.split(/\s+/).join(' ');
  const known = COMPOSE_COMMANDS.find((c) => c === command);
  if (!known)
    throw new ConfigError(
      `RUNNER_COMPOSE '${text}' is not a compose command: set RUNNER_COMPOSE to 'docker compose' (v2) or docker-compose (v1), or leave it unset to pick v2 when present`,
    );
  return known;
}

export function parseUrl(text: string, setting: string): string {
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
export function absolutePath(text: string, setting: string): string {
  if (!text.startsWith('/')) throw new ConfigError(`${setting} '${text}' must be an absolute path: set ${setting} like /tmp/github-runner-locks`);
  if (/[:\n\r,]/.test(text))
    throw new ConfigError(`${setting} '${text}' contains ':', ',' or a line break, which would change the mount it is written into: use a path without them`);
  return text.replace(/(.)\/+$/, '$1');
}

/** A path under the runner's root: relative, without '..' or ':'. */
export function relativePath(text: string, setting: string): string {
  const parts = text.split('/');
  if (text.startsWith('/') || parts.includes('..') || /[:\n\r\\]/.test(text) || parts.every((p) => p === '' || p === '.')) {
    throw new ConfigError(`${setting} '${text}' must be a folder under the runner's root, like _work: no leading '/', no '..', no ':'`);
  }
  return text;
}

export type RunnerMode = 'persistent' | 'ephemeral';

/** RUNNER_MODE: persistent runners (registered once, kept) or ephemeral ones (a fresh container for every job). */
export function parseRunnerMode(text: string): RunnerMode {
  const mode = text.trim().toLowerCase();
  if (mode === 'persistent' || mode === 'ephemeral') return mode;
  throw new ConfigError(`RUNNER_MODE '${text}' is not a runner mode: set RUNNER_MODE to persistent (the default) or ephemeral`);
}

/** A named volume every ephemeral container mounts, shared between jobs (RUNNER_CACHE_VOLUMES). */
export interface CacheVolume {
  name: string;
  path: string;
}

/** RUNNER_CACHE_VOLUMES: `name:/path[,name2:/path2]`; names Docker takes, absolute container paths, each once. */
export function parseCacheVolumes(text: string): CacheVolume[] {
  const volumes: CacheVolume[] = [];
  for (const entry of text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const match = /^([a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}):(\/.*)$/.exec(entry);
    if (!match) throw new ConfigError(`RUNNER_CACHE_VOLUMES entry '${entry}' is not name:/path: write it like toolcache:/opt/hostedtoolcache`);
    const name = match[1]!;
    const path = absolutePath(match[2]!, 'RUNNER_CACHE_VOLUMES');
    if (path === '/' || /^\/(opt\/runner-fleet|var\/lib\/runner-fleet|run\/runner-fleet|proc|sys|dev)(\/|$)/.test(path)) {
      throw new ConfigError(`RUNNER_CACHE_VOLUMES entry '${entry}' mounts over ${path}, which the runner container needs: choose another path`);
    }
    if (volumes.some((v) => v.name === name || v.path === path))
      throw new ConfigError(`RUNNER_CACHE_VOLUMES names '${name}' or ${path} twice: give each cache its own name and path`);
    volumes.push({ name, path });
  }
  return volumes;
}

/** DOCKER_HOST's forms the toolkit takes: a socket on this machine, a TCP daemon, or one reached over ssh. */
const DOCKER_HOST_FORMS = 'unix:///path/to/docker.sock, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT]';

/**
 * DOCKER_HOST: the Docker daemon a fleet's docker and compose commands talk
 * to, as the docker CLI reads it. A password is refused without being echoed
 * (docker's ssh:// takes none: an ssh key does it).
 */
export function parseDockerHost(text: string): string {
  const bad = (why = ''): ConfigError =>
    new ConfigError(`DOCKER_HOST '${text}' is not a Docker host${why}: set DOCKER_HOST to ${DOCKER_HOST_FORMS}, or unset it for this machine's Docker`);
  const scheme = /^([a-z]+):\/\//i.exec(text)?.[1]?.toLowerCase();
  if (scheme === 'unix') {
    if (!/^unix:\/\/\/[^\s]*[^/\s]$/i.test(text)) throw bad(' (unix:// takes the absolute path of a socket)');
    return text;
  }
  if (scheme !== 'tcp' && scheme !== 'ssh') throw bad();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad();
  }
  if (url.password)
    throw new ConfigError('DOCKER_HOST holds a password: docker takes none in ssh://USER@HOST, give ssh a key instead (ssh-agent or ~/.ssh/config)');
  if (!url.hostname) throw bad(' (no host name)');
  if ((url.pathname && url.pathname !== '/') || url.search || url.hash) throw bad(` (nothing may follow ${scheme}://HOST:PORT)`);
  return text;
}

/** DOCKER_CONTEXT: a docker context's name, as `docker context create` takes it. */
export function parseDockerContext(text: string): string {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$/.test(text)) {
    throw new ConfigError(
      `DOCKER_CONTEXT '${text}' is not a docker context name (letters, digits and _.+-): set DOCKER_CONTEXT to one that docker context ls lists`,
    );
  }
  return text;
}
