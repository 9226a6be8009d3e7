// Extracts the self-hosted runner and GitHub App operations the toolkit uses from GitHub's
// official OpenAPI description (pinned @octokit/openapi) into a small excerpt,
// standins/github/openapi-runners.json. The stand-in loads only the excerpt at
// runtime: the full file is 13 MB and the package index loads every variant.
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

/** GitHub App operations: finding an installation and getting its access token (both with the App's JWT). */
export const APP_OPERATIONS = [
  'apps/get-org-installation',
  'apps/get-repo-installation',
  'apps/create-installation-access-token',
] as const;

/** Every operation in the excerpt. */
export const SERVED_OPERATIONS = [...RUNNER_OPERATIONS, ...APP_OPERATIONS] as const;

/**
 * Schemas GitHub uses for errors any endpoint may answer (401, 403, 404, 5xx)
 * but that the per-operation responses do not list; the stand-in validates
 * such answers against them.
 */
export const COMMON_SCHEMAS = ['basic-error'] as const;

export const EXCERPT_PATH = fileURLToPath(new URL('./openapi-runners.json', import.meta.url));

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Path of the full spec inside the pinned package (resolved via package.json, never the index). */
export function fullSpecPath(): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('@octokit/openapi/package.json');
  return join(dirname(pkg), 'generated', 'api.github.com.json');
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

/** Builds the excerpt from the parsed full spec (pure: the drift test calls it too). */
export function buildExcerpt(spec: JsonObject, sourceVersion: string): JsonObject {
  const paths = spec.paths;
  if (!isObject(paths)) throw new Error('spec has no paths');
  const wanted = new Set<string>(SERVED_OPERATIONS);
  const outPaths: JsonObject = {};
  for (const [path, item] of Object.entries(paths)) {
    if (!isObject(item)) continue;
    for (const [method, op] of Object.entries(item)) {
      if (!isObject(op) || typeof op.operationId !== 'string' || !wanted.has(op.operationId)) continue;
      wanted.delete(op.operationId);
      const entry = (outPaths[path] ??= {}) as JsonObject;
      entry[method] = inline(spec, op, []);
    }
  }
  if (wanted.size > 0) throw new Error(`operations missing from the spec: ${[...wanted].join(', ')}`);
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
      title: 'GitHub REST API: self-hosted runner and GitHub App excerpt',
      description: 'Generated by standins/github/generate-openapi-excerpt.ts; do not edit by hand.',
      version: (spec.info as JsonObject | undefined)?.version ?? null,
      'x-source': `@octokit/openapi ${sourceVersion} generated/api.github.com.json`,
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
  return serializeExcerpt(buildExcerpt(spec, pkg.version));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = generateExcerptText();
  writeFileSync(EXCERPT_PATH, text);
  process.stdout.write(`wrote ${EXCERPT_PATH} (${text.length} bytes)\n`);
}
