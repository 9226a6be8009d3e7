// Raw HTTP to the GitHub stand-in, for the tests of the stand-in itself: a
// request as a client sends it (a JSON body, or a string sent as it is) and
// the answer with its status, headers and parsed JSON.
export interface HttpAnswer {
  status: number;
  headers: Headers;
  json: any;
}

export interface HttpOptions {
  auth?: string;
  /** JSON-encoded unless a string (sent as it is: a malformed body). */
  body?: unknown;
}

/** `method path` against `baseUrl` (a full URL in `path` is used as it is). */
export async function request(baseUrl: string, method: string, path: string, opts: HttpOptions = {}): Promise<HttpAnswer> {
  const res = await fetch(path.startsWith('http') ? path : `${baseUrl}${path}`, {
    method,
    headers: { ...(opts.auth ? { authorization: opts.auth } : {}), ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
}
