// The proxy relay (wrapper/proxy-relay.ts) and the choice of run.sh's proxy
// settings (wrapper/runner-proxy.ts): a lab proxy's password never reaches the
// runner's environment unless RUNNER_PROXY_TO_JOBS=true, and what goes through
// the relay reaches the lab proxy with the lab's credentials.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { silent, toLines } from '../../core/reporter.ts';
import { basicAuth, startProxyRelay, type ProxyRelay } from '../../wrapper/proxy-relay.ts';
import { keepProxyCredentials } from '../../wrapper/runner-proxy.ts';

const LAB_PASSWORD = 'p@ss w0rd;#';
const LAB_AUTH = `Basic ${Buffer.from(`lab:${LAB_PASSWORD}`).toString('base64')}`;

/** A lab proxy: answers plain requests itself, echoes what a CONNECT tunnel carries; records what it saw. */
async function startLabProxy(): Promise<{ server: Server; url: string; seen: { method: string; target: string; auth?: string }[] }> {
  const seen: { method: string; target: string; auth?: string }[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', target: req.url ?? '', ...authOf(req.headers) });
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`lab proxy got ${req.method} ${req.url}`);
  });
  server.on('connect', (req, socket: Socket) => {
    seen.push({ method: 'CONNECT', target: req.url ?? '', ...authOf(req.headers) });
    if (req.headers['proxy-authorization'] !== LAB_AUTH) return socket.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n');
    socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
    socket.pipe(socket); // the "origin" echoes
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://lab:${encodeURIComponent(LAB_PASSWORD)}@127.0.0.1:${port}`, seen };
}

function authOf(headers: IncomingHttpHeaders): { auth?: string } {
  return headers['proxy-authorization'] === undefined ? {} : { auth: headers['proxy-authorization'] };
}

/** The relay's address and the Proxy-Authorization its URL stands for. */
function relayParts(relay: ProxyRelay): { port: number; auth: string } {
  const url = new URL(relay.url);
  return { port: Number(url.port), auth: basicAuth(url) };
}

/** A plain request through a proxy (absolute URL): status and body. */
async function viaProxy(port: number, target: string, auth?: string): Promise<{ status: number; body: string; headers: IncomingHttpHeaders }> {
  const req = request({ host: '127.0.0.1', port, path: target, headers: { host: new URL(target).host, ...(auth ? { 'proxy-authorization': auth } : {}) } });
  req.end();
  const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage];
  let body = '';
  for await (const chunk of res) body += String(chunk);
  return { status: res.statusCode ?? 0, body, headers: res.headers };
}

/** A CONNECT through a proxy: its status, and what the tunnel echoes back for `data`. */
async function tunnel(port: number, authority: string, auth: string | undefined, data: string): Promise<{ status: number; echoed?: string }> {
  const req = request({ host: '127.0.0.1', port, method: 'CONNECT', path: authority, headers: auth ? { 'proxy-authorization': auth } : {} });
  req.end();
  const [res, socket] = (await once(req, 'connect')) as [import('node:http').IncomingMessage, Socket];
  if (res.statusCode !== 200) {
    socket.destroy();
    return { status: res.statusCode ?? 0 };
  }
  socket.write(data);
  const [chunk] = (await once(socket, 'data')) as [Buffer];
  socket.destroy();
  return { status: 200, echoed: chunk.toString() };
}

describe('the proxy relay', () => {
  let lab: Awaited<ReturnType<typeof startLabProxy>>;
  let relay: ProxyRelay;
  const lines: string[] = [];

  before(async () => {
    lab = await startLabProxy();
    relay = await startProxyRelay(
      new URL(lab.url),
      toLines((line) => lines.push(line)),
    );
  });
  after(async () => {
    await relay.close();
    lab.server.close();
  });

  test("its URL is on loopback and holds a token of its own, not the lab's password", () => {
    const url = new URL(relay.url);
    assert.equal(url.hostname, '127.0.0.1');
    assert.equal(url.username, 'runner-fleet');
    assert.match(url.password, /^[0-9a-f]{48}$/);
    assert.ok(!relay.url.includes(encodeURIComponent(LAB_PASSWORD)) && !relay.url.includes('lab'));
  });

  test('without its token it asks for credentials (407, Basic) and sends nothing upstream', async () => {
    const { port } = relayParts(relay);
    const before = lab.seen.length;
    const plain = await viaProxy(port, 'http://example.test/');
    assert.equal(plain.status, 407);
    assert.match(String(plain.headers['proxy-authenticate']), /^Basic /);
    const wrong = await viaProxy(port, 'http://example.test/', `Basic ${Buffer.from('runner-fleet:guess').toString('base64')}`);
    assert.equal(wrong.status, 407);
    assert.equal((await tunnel(port, 'example.test:443', undefined, 'x')).status, 407);
    assert.equal(lab.seen.length, before);
  });

  test("a plain request reaches the lab proxy with the lab's credentials in place of the relay's", async () => {
    const { port, auth } = relayParts(relay);
    const got = await viaProxy(port, 'http://example.test/pkg?x=1', auth);
    assert.equal(got.status, 200);
    assert.equal(got.body, 'lab proxy got GET http://example.test/pkg?x=1');
    assert.deepEqual(lab.seen.at(-1), { method: 'GET', target: 'http://example.test/pkg?x=1', auth: LAB_AUTH });
  });

  test("a CONNECT tunnel reaches the lab proxy with the lab's credentials and carries bytes both ways", async () => {
    const { port, auth } = relayParts(relay);
    const got = await tunnel(port, 'github.example:443', auth, 'hello through the tunnel');
    assert.deepEqual(got, { status: 200, echoed: 'hello through the tunnel' });
    assert.deepEqual(lab.seen.at(-1), { method: 'CONNECT', target: 'github.example:443', auth: LAB_AUTH });
  });

  test('a lab proxy that is down gives 502 and one log line without its credentials', async () => {
    const down = await startLabProxy();
    down.server.close();
    await once(down.server, 'close');
    const log: string[] = [];
    const dead = await startProxyRelay(
      new URL(down.url),
      toLines((line) => log.push(line)),
    );
    try {
      const { port, auth } = relayParts(dead);
      assert.equal((await viaProxy(port, 'http://example.test/', auth)).status, 502);
      assert.equal((await tunnel(port, 'example.test:443', auth, 'x')).status, 502);
      assert.equal(log.length, 1, log.join('\n')); // at most one a minute
      assert.match(log[0] ?? '', /^warning: proxy relay: a request to example\.test through http:\/\/127\.0\.0\.1:\d+ failed: /);
      assert.ok(!log[0]?.includes('w0rd'));
    } finally {
      await dead.close();
    }
  });
});

describe("run.sh's proxy settings", () => {
  test('a URL with credentials becomes a relay (one per lab proxy); one without, and NO_PROXY, stay as given', async () => {
    const lab = await startLabProxy();
    const env: NodeJS.ProcessEnv = { HTTPS_PROXY: lab.url, https_proxy: lab.url, HTTP_PROXY: 'http://open-proxy:3128', NO_PROXY: '.corp,localhost' };
    const lines: string[] = [];
    const proxy = await keepProxyCredentials(
      env,
      false,
      toLines((line) => lines.push(line)),
    );
    try {
      assert.equal(env.HTTPS_PROXY, env.https_proxy);
      assert.match(env.HTTPS_PROXY ?? '', /^http:\/\/runner-fleet:[0-9a-f]{48}@127\.0\.0\.1:\d+$/);
      assert.equal(env.HTTP_PROXY, 'http://open-proxy:3128');
      assert.equal(env.NO_PROXY, '.corp,localhost');
      assert.ok(!JSON.stringify(env).includes('w0rd') && !lines.join('\n').includes('w0rd'));
      assert.match(lines.join('\n'), /^HTTPS_PROXY, https_proxy: through a relay on 127\.0\.0\.1:\d+ that adds the credentials of http:\/\/127\.0\.0\.1:\d+;/);
      // the relay works: what the runner sends reaches the lab proxy with the lab's credentials
      const relay = new URL(env.HTTPS_PROXY ?? '');
      assert.equal((await tunnel(Number(relay.port), 'api.github.example:443', basicAuth(relay), 'ping')).echoed, 'ping');
      assert.equal(lab.seen.at(-1)?.auth, LAB_AUTH);
    } finally {
      await proxy.close();
      lab.server.close();
    }
  });

  test('a proxy address without a scheme is read as http:// (as RunnerWebProxy.cs does) and relayed', async () => {
    const env: NodeJS.ProcessEnv = { https_proxy: 'lab:secret@proxy.corp:3128' };
    const proxy = await keepProxyCredentials(env, false, silent);
    await proxy.close();
    assert.match(env.https_proxy ?? '', /^http:\/\/runner-fleet:[0-9a-f]{48}@127\.0\.0\.1:\d+$/);
  });

  test('a URL with credentials that cannot be relayed is left out, with a line that names the setting and not the value', async () => {
    const env: NodeJS.ProcessEnv = { HTTPS_PROXY: 'socks5://lab:secret@proxy.corp:1080' };
    const lines: string[] = [];
    const proxy = await keepProxyCredentials(
      env,
      false,
      toLines((line) => lines.push(line)),
    );
    await proxy.close();
    assert.equal(env.HTTPS_PROXY, undefined);
    assert.deepEqual(lines, [
      "warning: HTTPS_PROXY left out of the runner's environment: not an http:// or https:// proxy URL, so its credentials cannot be relayed",
    ]);
  });

  test('RUNNER_PROXY_TO_JOBS=true hands the URL over as given, and says so', async () => {
    const env: NodeJS.ProcessEnv = { HTTPS_PROXY: 'http://lab:secret@proxy.corp:3128' };
    const lines: string[] = [];
    const proxy = await keepProxyCredentials(
      env,
      true,
      toLines((line) => lines.push(line)),
    );
    await proxy.close();
    assert.equal(env.HTTPS_PROXY, 'http://lab:secret@proxy.corp:3128');
    assert.deepEqual(lines, ["HTTPS_PROXY: the proxy's credentials reach every job (RUNNER_PROXY_TO_JOBS=true)"]);
  });
});

describe('the proxy relay when a side hangs up', { timeout: 20_000 }, () => {
  test('a client gone mid-request and a lab proxy gone mid-answer leave the relay serving the next request', async () => {
    const lab = createServer((req, res) => {
      if (req.url === 'http://example.test/cut') {
        res.writeHead(200, { 'content-length': '100' }).write('partial');
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      if (req.url === 'http://example.test/slow') return; // never answers: the client gives up
      res.writeHead(200).end('fine');
    });
    lab.listen(0, '127.0.0.1');
    await once(lab, 'listening');
    const relay = await startProxyRelay(new URL(`http://lab:pw@127.0.0.1:${(lab.address() as AddressInfo).port}`), silent);
    try {
      const { port, auth } = relayParts(relay);
      await assert.rejects(viaProxy(port, 'http://example.test/cut', auth)); // the body ends short: the client sees the cut
      const slow = request({
        host: '127.0.0.1',
        port,
        path: 'http://example.test/slow',
        method: 'POST',
        headers: { 'proxy-authorization': auth, 'content-length': '1000' },
      });
      slow.on('error', () => undefined);
      slow.write('half a body');
      await new Promise((resolve) => setTimeout(resolve, 50));
      slow.destroy();
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(await viaProxy(port, 'http://example.test/ok', auth).then((r) => [r.status, r.body]), [200, 'fine']);
    } finally {
      await relay.close();
      lab.closeAllConnections();
      lab.close();
    }
  });
});
