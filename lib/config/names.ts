// Naming rules: what GitHub and Docker accept, and the names this toolkit
// derives from ORG/REPO so that several scopes on one host never collide.
import { ConfigError } from '../../core/errors.ts';
import type { Scope } from './config.ts';

// GitHub: alphanumerics and single hyphens, no leading/trailing hyphen, ≤ 39 chars.
const ORG_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
// GitHub repository names: letters, digits, '.', '_', '-', ≤ 100 chars.
const REPO_NAME = /^[A-Za-z0-9._-]{1,100}$/;
// Enterprise slugs (https://github.com/enterprises/<slug>): GitHub publishes no
// rule; they are made of letters, digits and hyphens, like octo-enterprise,
// and begin and end with a letter or digit. At most 100, a generous bound.
const ENTERPRISE_SLUG = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,98}[A-Za-z0-9])?$/;
// Docker container and volume names.
const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/**
 * The first path segment of an enterprise's URL, `<GITHUB_URL>/enterprises/<slug>`:
 * GitHub's own route, so no organization has this name, and actions/runner
 * reads a URL starting with it as an enterprise's (ConfigurationManager.cs).
 */
export const ENTERPRISES_PATH = 'enterprises';

export function validateOrg(org: string): string {
  if (!ORG_NAME.test(org)) {
    throw new ConfigError(
      `ORG '${org}' is not a GitHub organization name (letters, digits and single hyphens, at most 39): fix ORG in the environment or .env`,
    );
  }
  if (org.toLowerCase() === ENTERPRISES_PATH) {
    throw new ConfigError(
      `ORG '${org}' is GitHub's path for enterprises, not an organization: for an enterprise's runners unset ORG and set ENTERPRISE to its slug`,
    );
  }
  return org;
}

/**
 * The one or two path segments of the scope's URL: [org], [org, repo] or
 * ['enterprises', slug]. The names made from them (prefix, compose file,
 * token cache) are those an ORG=enterprises REPO=<slug> would get, which no
 * scope can have: GitHub reserves that path for enterprises (validateOrg).
 */
export function scopeParts(scope: Scope): [owner: string, name?: string] {
  if (scope.enterprise !== undefined) return [ENTERPRISES_PATH, scope.enterprise];
  return scope.repo === undefined ? [scope.org] : [scope.org, scope.repo];
}

/** The scope as GitHub's web URLs name it, for messages and records: `acme`, `acme/widgets` or `enterprises/octo`. */
export function scopeName(scope: Scope): string {
  return scopeParts(scope).join('/');
}

export function validateEnterprise(slug: string): string {
  if (!ENTERPRISE_SLUG.test(slug)) {
    throw new ConfigError(
      `ENTERPRISE '${slug}' is not a GitHub enterprise slug (letters, digits and hyphens, as in https://github.com/enterprises/<slug>): fix ENTERPRISE in the environment or .env`,
    );
  }
  return slug;
}

export function validateRepo(repo: string): string {
  if (!REPO_NAME.test(repo) || repo === '.' || repo === '..') {
    throw new ConfigError(
      `REPO '${repo}' is not a GitHub repository name (letters, digits, '.', '_', '-', at most 100): fix REPO or leave it empty for org scope`,
    );
  }
  return repo;
}

/** Throws unless `name` is usable as a Docker container or volume name. */
export function validateDockerName(name: string, setting: string): string {
  if (!DOCKER_NAME.test(name)) {
    throw new ConfigError(
      `${setting} gives the name '${name}', which Docker cannot use (letters, digits, '_', '.', '-'; starting with a letter or digit): change ${setting}`,
    );
  }
  return name;
}

/**
 * Parses a comma-separated label list: items trimmed, duplicates dropped
 * (GitHub compares labels case-insensitively), empty items and spaces refused.
 */
export function parseLabels(text: string, setting: string): string[] {
  const labels: string[] = [];
  for (const raw of text.split(',')) {
    const label = raw.trim();
    if (label === '') {
      throw new ConfigError(`${setting} has an empty label in '${text}': remove the extra comma`);
    }
    if (/\s/.test(label)) {
      throw new ConfigError(`${setting} label '${label}' contains a space: labels are comma-separated without spaces`);
    }
    if (!labels.some((known) => known.toLowerCase() === label.toLowerCase())) labels.push(label);
  }
  return labels;
}

/**
 * The default runner name prefix: `<hostname>-<org>-` or `<hostname>-<org>_<repo>-`.
 * '_' cannot occur in an org name, so ORG=acme REPO=x and ORG=acme-x never
 * share a prefix (and with it containers, volumes, compose project and image).
 */
export function defaultPrefix(hostname: string, org: string, repo?: string): string {
  return `${hostname}-${repo ? `${org}_${repo}` : org}-`;
}

/** An explicit prefix gets its trailing '-' if the user left it off. */
export function normalizePrefix(prefix: string): string {
  return prefix.endsWith('-') ? prefix : `${prefix}-`;
}

/**
 * The runner a name typed on the command line means, the same for every
 * command: the first of the full runner name, the name after the prefix
 * (`runner-2`), or a board/number (`phytiumpi`, `2`) that `isKnown` accepts.
 */
export function resolveRunnerName(prefix: string, asked: string, isKnown: (name: string) => boolean): string | undefined {
  return [asked, `${prefix}${asked}`, `${prefix}runner-${asked}`].find(isKnown);
}

/** `docker-compose.<org>.yml` or `docker-compose.<org>.<repo>.yml`. */
export function defaultComposeFile(org: string, repo?: string): string {
  return `docker-compose.${scopeSuffix(org, repo)}.yml`;
}

/** `.reg_token.cache.<org>` or `.reg_token.cache.<org>.<repo>`. */
export function defaultTokenCacheFile(org: string, repo?: string): string {
  return `.reg_token.cache.${scopeSuffix(org, repo)}`;
}

/** `.image-hash.<org>[.<repo>]`: the hash of the last runner image built for this scope. */
export function defaultImageHashFile(org: string, repo?: string): string {
  return `.image-hash.${scopeSuffix(org, repo)}`;
}

/** Compose project name: lower-case letters, digits, '-' and '_' only. */
export function composeProjectName(prefix: string): string {
  const name = prefix
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '');
  return name === '' ? 'runners' : name;
}

/** `<SETTING>_<BOARD>`: the board's own value of a setting; board name upper-cased, every other character as '_'. */
export function boardSettingName(setting: string, board: string): string {
  return `${setting}_${board.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** `RUNNER_RESOURCE_ID_<BOARD>` (boardSettingName's rule). */
export function boardResourceIdSetting(board: string): string {
  return boardSettingName('RUNNER_RESOURCE_ID', board);
}

// Org names are case-insensitive on GitHub; file names follow the user's spelling.
function scopeSuffix(org: string, repo?: string): string {
  return repo ? `${org}.${repo}` : org;
}
