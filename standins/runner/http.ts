// Runner simulator — STANDS IN for actions/runner, which cannot be downloaded
// on these machines. It talks the stand-in's runner protocol
// (standins/github/PROTOCOL.md §2), not the real Actions service protocol.
//
// The one HTTP helper the simulator uses. Errors carry the status the way
// actions/runner prints it ("Http response code: NotFound from 'POST url'").

import { fetch } from 'undici';
import type { WebProxy } from './web-proxy.ts';

// .NET's HttpStatusCode names, which is what the real runner prints.
const STATUS_NAMES: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  422: 'UnprocessableEntity',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
};

export class HttpError extends Error {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`Http response code: ${STATUS_NAMES[status] ?? status} from '${method} ${url}'`);
    this.name = 'HttpError';
  }
}

export interface RequestOptions {
  /** Full Authorization header value, e.g. `Bearer x` or `RemoteAuth x`. */
  auth?: string;
  body?: unknown;
  signal?: AbortSignal;
}

export interface Response {
  status: number;
  /** Parsed JSON body; undefined for an empty body (204). */
  json: unknown;
}

let webProxy: WebProxy = { dispatcherFor: () => undefined };

/** The proxy every request goes through from now on (set where HostContext builds RunnerWebProxy: main.ts). */
export function useWebProxy(proxy: WebProxy): void {
  webProxy = proxy;
}

export async function request(method: string, url: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { 'user-agent': 'GitHubActionsRunner-sim' };
  if (options.auth) headers.authorization = options.auth;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
    dispatcher: webProxy.dispatcherFor(url),
  });
  const text = await res.text();
  if (!res.ok) throw new HttpError(method, url, res.status, text);
  return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined };
}

/** Reads a string field of a JSON object answer, failing loudly when absent. */
export function field(json: unknown, name: string): string {
  const value = (json as Record<string, unknown> | undefined)?.[name];
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw new Error(`unexpected answer from the server: no '${name}' in ${JSON.stringify(json)}`);
  }
  return String(value);
}
