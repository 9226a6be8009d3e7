// The runner simulator's proxy handling follows RunnerWebProxy.cs: what its
// steps inherit (both casings) and which requests go through the proxy, with
// the URL's credentials (a request through a proxy that records what it got).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { test } from 'node:test';
import { request, useWebProxy } from '../../../standins/runner/http.ts';
import { loadWebProxy } from '../../../standins/runner/web-proxy.ts';

test('the lower-case setting wins, and both casings are set for the steps', () => {
  const env: NodeJS.ProcessEnv = { HTTPS_PROXY: 'http://upper:3128', https_proxy: 'http://lower:3128', NO_PROXY: '.corp' };
  loadWebProxy(env);
  assert.equal(env.HTTPS_PROXY, 'http://lower:3128');
  assert.equal(env.https_proxy, 'http://lower:3128');
  assert.equal(env.no_proxy, '.corp');
  assert.equal(env.HTTP_PROXY, undefined); // none given: https only
});

test('an address without a scheme gets http:// in front', () => {
  const env: NodeJS.ProcessEnv = { http_proxy: '10.0.0.1:3128' };
  loadWebProxy(env);
  assert.equal(env.HTTP_PROXY, 'http://10.0.0.1:3128');
});

test('loopback, NO_PROXY hosts (suffix, subdomain, port, *) go direct; IP addresses in NO_PROXY are ignored', () => {
  const proxy = loadWebProxy({ https_proxy: 'http://proxy:3128', http_proxy: 'http://proxy:3128', no_proxy: '.corp,ghe.lab:8443,10.1.2.3,example.org' });
  const direct = (url: string): boolean => proxy.dispatcherFor(url) === undefined;
  assert.ok(direct('https://127.0.0.1:8080/api'));
  assert.ok(direct('http://localhost/'));
  assert.ok(direct('https://git.corp/x'));
  assert.ok(direct('https://ghe.lab:8443/'));
  assert.ok(!direct('https://ghe.lab/'), 'another port of a host:port entry is proxied');
  assert.ok(direct('https://api.example.org/'));
  assert.ok(!direct('https://notexample.org/'));
  assert.ok(!direct('http://10.1.2.3/'), 'RunnerWebProxy skips IP entries');
  assert.ok(!direct('https://api.github.com/'));
  assert.ok(loadWebProxy({ https_proxy: 'http://proxy:3128', no_proxy: 'a, *' }).dispatcherFor('https://api.github.com/') === undefined);
  assert.ok(loadWebProxy({ https_proxy: 'http://proxy:3128' }).dispatcherFor('http://api.github.com/') === undefined, 'no http proxy: direct');
});

test("a proxied request reaches the proxy with the URL's credentials", async () => {
  const seen: { url: string; auth?: string }[] = [];
  const proxy = createServer((req, res) => {
    seen.push({ url: req.url ?? '', ...(req.headers['proxy-authorization'] ? { auth: req.headers['proxy-authorization'] } : {}) });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"via":"proxy"}');
  });
  proxy.on('connect', (_req, socket: Socket) => socket.end('HTTP/1.1 403 Forbidden\r\n\r\n'));
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  const { port } = proxy.address() as AddressInfo;
  try {
    useWebProxy(loadWebProxy({ http_proxy: `http://lab:s%40cret@127.0.0.1:${port}` }));
    const res = await request('GET', 'http://runner-api.example/_apis/connectionData');
    assert.deepEqual(res.json, { via: 'proxy' });
    assert.deepEqual(seen, [{ url: 'http://runner-api.example/_apis/connectionData', auth: `Basic ${Buffer.from('lab:s@cret').toString('base64')}` }]);
  } finally {
    useWebProxy(loadWebProxy({}));
    proxy.close();
  }
});
