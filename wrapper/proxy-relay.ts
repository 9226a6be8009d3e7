// A forward proxy on loopback that adds the lab proxy's credentials: the
// runner (and so every job, which inherits its environment) is given this
// relay's address and a token of its own, never the lab's password, which
// stays in the root wrapper. Plain http:// requests and CONNECT tunnels only,
// the two a proxy client sends. Why and what a job can still do: README,
// Security ("Proxy credentials").
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Reporter } from '../core/reporter.ts';

export interface ProxyRelay {
  /** The relay's URL with its own token, `http://runner-fleet:<token>@127.0.0.1:<port>`. */
  readonly url: string;
  close(): Promise<void>;
}

/** The user name in the relay's URL; the token is the password. */
export const RELAY_USER = 'runner-fleet';
/** A job may open many tunnels; more than this at once are refused by the kernel's backlog, not queued in the wrapper. */
const MAX_CONNECTIONS = 256;
/** Upstream failures are logged at most this often: a job retrying in a loop must not fill the wrapper's log. */
const ERROR_LOG_INTERVAL_MS = 60_000;

/** `Basic base64(user:password)` for a proxy URL's user info (decoded as RunnerWebProxy.cs does, split at the first ':'). */
export function basicAuth(url: URL): string {
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Starts a relay to `upstream` (an http: or https: proxy URL with credentials) on 127.0.0.1, a free port. */
export async function startProxyRelay(upstream: URL, reporter: Reporter): Promise<ProxyRelay> {
  const token = randomBytes(24).toString('hex');
  const expected = `Basic ${Buffer.from(`${RELAY_USER}:${token}`).toString('base64')}`;
  const upstreamAuth = basicAuth(upstream);
  const where = `${upstream.protocol}//${upstream.host}`; // never the user info
  const send = upstream.protocol === 'https:' ? httpsRequest : httpRequest;
  const target = { host: upstream.hostname.replace(/^\[|\]$/g, ''), port: Number(upstream.port) || (upstream.protocol === 'https:' ? 443 : 80) };

  let lastLogged = 0;
  const upstreamFailed = (what: string, err: Error): void => {
    if (Date.now() - lastLogged < ERROR_LOG_INTERVAL_MS) return;
    lastLogged = Date.now();
    reporter.warn(`proxy relay: ${what} through ${where} failed: ${err.message}`);
  };
  const toUpstream = (options: RequestOptions): ClientRequest => send({ ...target, ...options, agent: false });

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (!sameSecret(req.headers['proxy-authorization'], expected)) return askForCredentials(res);
    if (!/^http:\/\//i.test(req.url ?? '')) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('runner-fleet proxy relay: send absolute http:// URLs, or CONNECT for https\n');
      return;
    }
    const headers = { ...req.headers, 'proxy-authorization': upstreamAuth };
    const out = toUpstream({ method: req.method ?? 'GET', path: req.url ?? '/', headers });
    out.on('response', (up) => {
      res.writeHead(up.statusCode ?? 502, up.statusMessage, up.headers);
      up.on('error', () => res.destroy()); // the proxy hung up mid-answer
      up.pipe(res);
    });
    // A client that goes away (a job's process killed mid-request) ends the upstream request; never an unhandled error in root's process.
    req.on('error', () => out.destroy());
    res.on('close', () => out.destroy());
    out.on('error', (err) => {
      upstreamFailed(`a request to ${hostOf(req.url)}`, err);
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`runner-fleet proxy relay: the proxy ${where} failed\n`);
      else res.destroy();
    });
    req.pipe(out);
  });

  const tunnels = new Set<Duplex>(); // CONNECT sockets leave the server's own tracking
  server.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) => {
    tunnels.add(client);
    client.on('close', () => tunnels.delete(client));
    client.on('error', () => client.destroy());
    if (!sameSecret(req.headers['proxy-authorization'], expected)) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="runner-fleet"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const authority = req.url ?? '';
    const out = toUpstream({ method: 'CONNECT', path: authority, headers: { host: authority, 'proxy-authorization': upstreamAuth } });
    out.on('connect', (res: IncomingMessage, tunnel: Socket, upHead: Buffer) => {
      tunnel.on('error', () => client.destroy());
      client.on('close', () => tunnel.destroy());
      tunnel.on('close', () => client.destroy());
      client.write(`HTTP/1.1 ${res.statusCode ?? 502} ${res.statusMessage ?? ''}\r\n\r\n`);
      if (res.statusCode !== 200) {
        client.end();
        tunnel.destroy();
        return;
      }
      if (upHead.length > 0) client.write(upHead);
      if (head.length > 0) tunnel.write(head);
      tunnel.pipe(client).pipe(tunnel);
    });
    out.on('error', (err) => {
      upstreamFailed(`a tunnel to ${authority}`, err);
      client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
    });
    out.end();
  });
  server.maxConnections = MAX_CONNECTIONS;

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${RELAY_USER}:${token}@127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      for (const socket of tunnels) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** 407 with a Basic challenge: .NET's HttpClient (the runner) sends proxy credentials only when asked. */
function askForCredentials(res: ServerResponse): void {
  res
    .writeHead(407, { 'proxy-authenticate': 'Basic realm="runner-fleet"', 'content-type': 'text/plain' })
    .end('runner-fleet proxy relay: credentials required\n');
}

function hostOf(url: string | undefined): string {
  try {
    return new URL(url ?? '').host;
  } catch {
    return 'an address';
  }
}
