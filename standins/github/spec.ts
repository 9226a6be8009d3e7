// Validation against the committed OpenAPI excerpt (openapi-runners.json):
// route matching by the spec's own path templates, request checks (path and
// query parameters, body) and response checks (documented status, body schema).
// Only the excerpt is loaded at runtime; see generate-openapi-excerpt.ts.

import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule.default;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/**
 * Statuses GitHub may answer on any endpoint (auth, missing resource, rate
 * limits, bad parameters, outages) although the per-operation responses in the
 * spec do not list them; their bodies must match the spec's `basic-error`.
 */
export const COMMON_ERROR_STATUSES: ReadonlySet<number> = new Set([400, 401, 403, 404, 422, 429, 500, 502, 503]);

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  type: string | undefined;
  validate: ValidateFunction;
}

export interface Operation {
  operationId: string;
  method: string; // upper case
  pathTemplate: string;
  regex: RegExp;
  pathParamNames: string[];
  literalSegments: number; // routing prefers literal segments over parameters
  parameters: Parameter[];
  /** status → validator for the JSON body, or null when the status has no body. */
  responses: Map<number, ValidateFunction | null>;
  requestBody: ValidateFunction | null;
}

export interface RouteMatch {
  operation: Operation;
  pathParams: Record<string, string>;
}

/** OpenAPI 3.0 `nullable: true` is not JSON Schema: turn it into a type union. */
export function convertNullable(node: Json): Json {
  if (Array.isArray(node)) return node.map(convertNullable);
  if (node === null || typeof node !== 'object') return node;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'nullable' || key === 'example' || key === 'examples') continue;
    out[key] = convertNullable(value);
  }
  if (node.nullable !== true) return out;
  if (typeof out.type === 'string') out.type = [out.type, 'null'];
  else if (Array.isArray(out.type) && !out.type.includes('null')) out.type = [...out.type, 'null'];
  else if (out.type === undefined) return { anyOf: [out, { type: 'null' }] };
  if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  return out;
}

function asObject(v: Json | undefined): JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {};
}

function jsonSchemaOf(content: Json | undefined): Json | undefined {
  return asObject(asObject(content)['application/json']).schema;
}

export class Spec {
  readonly operations: Operation[] = [];
  readonly commonError: ValidateFunction;
  private readonly ajv: Ajv;

  constructor(excerpt: JsonObject) {
    // strict:false because the spec carries OpenAPI-only keywords (e.g. readOnly, discriminator).
    this.ajv = new Ajv({ strict: false, allErrors: true, logger: false });
    addFormats(this.ajv);
    const compile = (schema: Json): ValidateFunction => this.ajv.compile(asObject(convertNullable(schema)));

    for (const [pathTemplate, item] of Object.entries(asObject(excerpt.paths))) {
      const names: string[] = [];
      const segments = pathTemplate.split('/').slice(1);
      const pattern = segments
        .map((seg) => {
          const m = /^\{(.+)\}$/.exec(seg);
          if (!m || !m[1]) return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          names.push(m[1]);
          return '([^/]+)';
        })
        .join('/');
      for (const [method, rawOp] of Object.entries(asObject(item))) {
        const op = asObject(rawOp);
        const parameters: Parameter[] = (Array.isArray(op.parameters) ? op.parameters : []).map((raw) => {
          const p = asObject(raw);
          const schema = asObject(p.schema);
          return {
            name: specString(p.name),
            in: specString(p.in) as Parameter['in'],
            required: p.required === true,
            type: typeof schema.type === 'string' ? schema.type : undefined,
            validate: compile(schema),
          };
        });
        const responses = new Map<number, ValidateFunction | null>();
        for (const [status, rawResp] of Object.entries(asObject(op.responses))) {
          const schema = jsonSchemaOf(asObject(rawResp).content);
          responses.set(Number(status), schema === undefined ? null : compile(schema));
        }
        const bodySchema = jsonSchemaOf(asObject(op.requestBody).content);
        this.operations.push({
          operationId: specString(op.operationId),
          method: method.toUpperCase(),
          pathTemplate,
          regex: new RegExp(`^/${pattern}/?$`),
          pathParamNames: names,
          literalSegments: segments.length - names.length,
          parameters,
          responses,
          requestBody: bodySchema === undefined ? null : compile(bodySchema),
        });
      }
    }
    this.operations.sort((a, b) => b.literalSegments - a.literalSegments);
    const common = asObject(asObject(excerpt.components).schemas)['basic-error'];
    if (common === undefined) throw new Error('excerpt lacks components.schemas.basic-error');
    this.commonError = compile(common);
  }

  static load(file = new URL('./openapi-runners.json', import.meta.url)): Spec {
    return new Spec(JSON.parse(readFileSync(file, 'utf8')) as JsonObject);
  }

  /** Finds the operation for a method and a path below the API root (`/orgs/...`). */
  match(method: string, path: string): RouteMatch | undefined {
    for (const operation of this.operations) {
      if (operation.method !== method) continue;
      const m = operation.regex.exec(path);
      if (!m) continue;
      const pathParams: Record<string, string> = {};
      operation.pathParamNames.forEach((name, i) => {
        pathParams[name] = decodeURIComponent(m[i + 1] ?? '');
      });
      // Like GitHub's router: an integer path segment that is not a number is another (unknown) route.
      const numeric = operation.parameters.filter((p) => p.in === 'path' && p.type === 'integer');
      if (numeric.some((p) => !/^\d+$/.test(pathParams[p.name] ?? ''))) continue;
      return { operation, pathParams };
    }
    return undefined;
  }

  /**
   * Checks the request against the operation's parameters and body. Returns
   * typed parameter values (query strings coerced to the schema's type) and
   * the violations found.
   */
  validateRequest(
    op: Operation,
    pathParams: Record<string, string>,
    query: URLSearchParams,
    body: unknown,
  ): { params: Record<string, string | number | boolean>; errors: string[] } {
    const params: Record<string, string | number | boolean> = {};
    const errors: string[] = [];
    for (const p of op.parameters) {
      if (p.in === 'header') continue;
      const raw = p.in === 'path' ? pathParams[p.name] : (query.get(p.name) ?? undefined);
      if (raw === undefined) {
        if (p.required) errors.push(`${p.in} parameter ${p.name} is required`);
        continue;
      }
      const value = coerce(raw, p.type);
      if (!p.validate(value)) {
        errors.push(`${p.in} parameter ${p.name}=${JSON.stringify(raw)}: ${this.ajv.errorsText(p.validate.errors)}`);
        continue;
      }
      params[p.name] = value;
    }
    if (op.requestBody) {
      if (!op.requestBody(body ?? {})) errors.push(`request body: ${this.ajv.errorsText(op.requestBody.errors)}`);
    } else if (body !== undefined && !(isPlainObject(body) && Object.keys(body).length === 0)) {
      errors.push('request body sent to an operation that takes none');
    }
    return { params, errors };
  }

  /** Checks a response the stand-in is about to send. Returns the violations found. */
  validateResponse(op: Operation, status: number, body: unknown): string[] {
    if (op.responses.has(status)) {
      const validate = op.responses.get(status) ?? null;
      if (validate === null) return body === undefined ? [] : [`status ${status} is documented without a body`];
      return validate(body) ? [] : [`response ${status} body: ${this.ajv.errorsText(validate.errors)}`];
    }
    if (!COMMON_ERROR_STATUSES.has(status)) return [`status ${status} is not documented for ${op.operationId}`];
    return this.commonError(body) ? [] : [`error ${status} body: ${this.ajv.errorsText(this.commonError.errors)}`];
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function coerce(raw: string, type: string | undefined): string | number | boolean {
  if ((type === 'integer' || type === 'number') && raw.trim() !== '' && !Number.isNaN(Number(raw))) return Number(raw);
  if (type === 'boolean' && (raw === 'true' || raw === 'false')) return raw === 'true';
  return raw;
}

/** A field the pinned description gives as a string (String() of a number or boolean, else ''). */
function specString(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
}
