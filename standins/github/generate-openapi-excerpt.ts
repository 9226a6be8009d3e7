// Extracts the self-hosted runner and GitHub App operations the toolkit uses from GitHub's
// official OpenAPI descriptions (pinned @octokit/openapi) into a small excerpt,
// standins/github/openapi-runners.json. The stand-in loads only the excerpt at
// runtime: the full file is 13 MB and the package index loads every variant.
// Org, repo and App operations come from api.github.com.json; the enterprise
// runner operations are only in GitHub Enterprise Cloud's description,
// ghec.json (githubCloudOnly; enabledForGitHubApps: false), and come from there.
//
//   npx tsx standins/github/generate-openapi-excerpt.ts   # rewrites the excerpt
//
// Every $ref is inlined so the excerpt is self-contained (the runner schemas
// have no reference cycles; the generator fails loudly if that ever changes).

import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The runner operations the stand-in serves, both scopes (runner groups exist for orgs only). */
export const RUNNER_OPERATIONS = [
  'actions/list-self-hosted-runners-for-org',
  'actions/get-self-hosted-runner-for-org',
  'actions/delete-self-hosted-runner-from-org',
  'actions/create-registration-token-for-org',
  'actions/create-remove-token-for-org',
  'actions/generate-runner-jitconfig-for-org',
  'actions/list-self-hosted-runner-groups-for-org',
  'actions/list-self-hosted-runners-for-repo',
  'actions/get-self-hosted-runner-for-repo',
  'actions/delete-self-hosted-runner-from-repo',
  'actions/create-registration-token-for-repo',
  'actions/create-remove-token-for-repo',
  'actions/generate-runner-jitconfig-for-repo',
] as const;

/**
 * The enterprise runner operations (ENTERPRISE=slug), from ghec.json: most are
 * `enterprise-admin/…`, generate-jitconfig is `actions/…`. PATs (classic,
 * manage_runners:enterprise) only.
 */
export const ENTERPRISE_OPERATIONS = [
  'enterprise-admin/list-self-hosted-runners-for-enterprise',
  'enterprise-admin/get-self-hosted-runner-for-enterprise',
  'enterprise-admin/delete-self-hosted-runner-from-enterprise',
  'enterprise-admin/create-registration-token-for-enterprise',
  'enterprise-admin/create-remove-token-for-enterprise',
  'actions/generate-runner-jitconfig-for-enterprise',
  'enterprise-admin/list-self-hosted-runner-groups-for-enterprise',
] as const;

/** GitHub App operations: finding an installation and getting its access token (both with the App's JWT). */
export const APP_OPERATIONS = ['apps/get-org-installation', 'apps/get-repo-installation', 'apps/create-installation-access-token'] as const;

/** Every operation in the excerpt. */
export const SERVED_OPERATIONS = [...RUNNER_OPERATIONS, ...APP_OPERATIONS, ...ENTERPRISE_OPERATIONS] as const;

/**
 * Schemas GitHub uses for errors any endpoint may answer (401, 403, 404, 5xx)
 * but that the per-operation responses do not list; the stand-in validates
 * such answers against them.
 */
export const COMMON_SCHEMAS = ['basic-error'] as const;

export const EXCERPT_PATH = fileURLToPath(new URL('./openapi-runners.json', import.meta.url));

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** The descriptions the excerpt is made from: api.github.com's, and GitHub Enterprise Cloud's for the enterprise operations. */
export const SPEC_FILES = { dotcom: 'api.github.com.json', ghec: 'ghec.json' } as const;

/** Path of a full description inside the pinned package (resolved via package.json, never the index). */
export function fullSpecPath(file: string = SPEC_FILES.dotcom): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('@octokit/openapi/package.json');
  return join(dirname(pkg), 'generated', file);
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function lookup(spec: JsonObject, ref: string): Json {
  if (!ref.startsWith('#/')) throw new Error(`external $ref not supported: ${ref}`);
  let node: Json | undefined = spec;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    node = isObject(node) ? node[key] : undefined;
    if (node === undefined) throw new Error(`unresolvable $ref: ${ref}`);
  }
  return node;
}

function inline(spec: JsonObject, node: Json, trail: string[]): Json {
  if (Array.isArray(node)) return node.map((item) => inline(spec, item, trail));
  if (!isObject(node)) return node;
  const ref = node.$ref;
  if (typeof ref === 'string') {
    if (trail.includes(ref)) throw new Error(`$ref cycle: ${[...trail, ref].join(' > ')}`);
    return inline(spec, lookup(spec, ref), [...trail, ref]);
  }
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) out[key] = inline(spec, value, trail);
  return out;
}

/** Copies the `wanted` operations of `spec` into `outPaths`, each $ref inlined from that spec; throws naming any it lacks. */
function extract(spec: JsonObject, wantedIds: readonly string[], outPaths: JsonObject, what: string): void {
  const paths = spec.paths;
  if (!isObject(paths)) throw new Error(`${what} has no paths`);
  const wanted = new Set<string>(wantedIds);
  for (const [path, item] of Object.entries(paths)) {
    if (!isObject(item)) continue;
    for (const [method, op] of Object.entries(item)) {
      if (!isObject(op) || typeof op.operationId !== 'string' || !wanted.has(op.operationId)) continue;
      wanted.delete(op.operationId);
      const entry = (outPaths[path] ??= {}) as JsonObject;
      entry[method] = inline(spec, op, []);
    }
  }
  if (wanted.size > 0) throw new Error(`operations missing from ${what}: ${[...wanted].join(', ')}`);
}

/**
 * Builds the excerpt from the parsed full descriptions (pure: the drift test
 * calls it too): the org, repo and App operations from api.github.com's, the
 * enterprise ones from GitHub Enterprise Cloud's.
 */
export function buildExcerpt(spec: JsonObject, sourceVersion: string, ghec: JsonObject): JsonObject {
  const outPaths: JsonObject = {};
  extract(spec, [...RUNNER_OPERATIONS, ...APP_OPERATIONS], outPaths, SPEC_FILES.dotcom);
  extract(ghec, ENTERPRISE_OPERATIONS, outPaths, SPEC_FILES.ghec);
  const schemas = (spec.components as JsonObject | undefined)?.schemas as JsonObject | undefined;
  const common: JsonObject = {};
  for (const name of COMMON_SCHEMAS) {
    const schema = schemas?.[name];
    if (schema === undefined) throw new Error(`schema missing from the spec: ${name}`);
    common[name] = inline(spec, schema, []);
  }
  return {
    openapi: spec.openapi ?? null,
    info: {
      title: 'GitHub REST API: self-hosted runner (org, repo, enterprise) and GitHub App excerpt',
      description: 'Generated by standins/github/generate-openapi-excerpt.ts; do not edit by hand.',
      version: (spec.info as JsonObject | undefined)?.version ?? null,
      'x-source': `@octokit/openapi ${sourceVersion} generated/${SPEC_FILES.dotcom}; the enterprise operations from generated/${SPEC_FILES.ghec}`,
    },
    paths: outPaths,
    components: { schemas: common },
  };
}

export function serializeExcerpt(excerpt: JsonObject): string {
  return `${JSON.stringify(excerpt, null, 2)}\n`;
}

/** Reads the pinned full spec and returns the excerpt text exactly as it should be committed. */
export function generateExcerptText(): string {
  const specFile = fullSpecPath();
  const pkg = JSON.parse(readFileSync(join(dirname(dirname(specFile)), 'package.json'), 'utf8')) as { version: string };
  const spec = JSON.parse(readFileSync(specFile, 'utf8')) as JsonObject;
  const ghec = JSON.parse(readFileSync(fullSpecPath(SPEC_FILES.ghec), 'utf8')) as JsonObject;
  return serializeExcerpt(buildExcerpt(spec, pkg.version, ghec));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = generateExcerptText();
  writeFileSync(EXCERPT_PATH, text);
  process.stdout.write(`wrote ${EXCERPT_PATH} (${text.length} bytes)\n`);
}
