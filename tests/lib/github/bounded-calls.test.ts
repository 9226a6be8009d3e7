// GitHub calls end: a server that accepts and never answers, or whose `next`
// links never end, gets one line within the deadline from `make list`, not a
// wait of minutes or requests forever. The stand-ins here are bare servers on
// 127.0.0.1 made for these faults (the stand-in answers correctly).
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_TIMINGS } from '../../../lib/github/client.ts';
import { assertOneErrorLine, PAT, PREFIX, startFixture, type Fixture } from '../../support/github-fixture.ts';

let fx: Fixture;
before(async () => {
  fx = await startFixture();
});
after(() => fx.close());

const listen = async <T extends Server | HttpServer>(server: T): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const close = (server: Server | HttpServer): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

/** One valid runner object of the REST API. */
const runnerObject = (id: number) => ({
  id,
  name: `${PREFIX}runner-${id}`,
  os: 'Linux',
  status: 'online',
  busy: false,
  labels: [{ id: 1, name: 'self-hosted', type: 'read-only' }],
});

describe('bounded GitHub calls', () => {
  it('the defaults give a hung GitHub one line well within a minute', () => {
    assert.ok(DEFAULT_TIMINGS.deadlineMs <= 50_000 && DEFAULT_TIMINGS.requestTimeoutMs < DEFAULT_TIMINGS.deadlineMs, JSON.stringify(DEFAULT_TIMINGS));
  });

  it('a server that accepts and never answers: one line naming the deadline setting, exit 6, within the deadline', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket)); // reads nothing, answers nothing
    const url = await listen(silent);
    try {
      const started = Date.now();
      const r = await fx.run('list.ts', [], { GITHUB_API_URL: `${url}/api/v3`, GH_API_TIMEOUT_MS: '10000', GH_API_DEADLINE_MS: '2000' });
      const tookMs = Date.now() - started;
      assert.equal(r.code, 6, r.stderr);
      assertOneErrorLine(
        r,
        /GitHub did not answer with the list of runners within 2000 ms \(GH_API_DEADLINE_MS\) at http:\/\/127\.0\.0\.1:\d+\/api\/v3: check GITHUB_API_URL and the network, or raise GH_API_DEADLINE_MS$/,
      );
      assert.ok(!`${r.stdout}${r.stderr}`.includes(PAT));
      // the process ends soon after the deadline too (node's start-up included; generous for a loaded machine)
      assert.ok(tookMs < 15_000, `make list took ${tookMs} ms`);
    } finally {
      for (const socket of sockets) socket.destroy();
      await close(silent);
    }
  });

  it('one request with no answer ends at GH_API_TIMEOUT_MS and is retried; when the retries are spent it is a network line, exit 6', async () => {
    const sockets: Socket[] = [];
    let connections = 0;
    const silent = createServer((socket) => {
      connections += 1;
      sockets.push(socket);
    });
    const url = await listen(silent);
    try {
      const r = await fx.run('list.ts', [], { GITHUB_API_URL: `${url}/api/v3`, GH_API_TIMEOUT_MS: '300', GH_API_DEADLINE_MS: '30000', GH_API_RETRIES: '2' });
      assert.equal(r.code, 6, r.stderr);
      assertOneErrorLine(r, /^error: could not reach the GitHub API at http:\/\/127\.0\.0\.1:\d+\/api\/v3 \(.*timeout.*\)/i);
      assert.ok(connections >= 2, `${connections} connection(s): the request was not retried`);
    } finally {
      for (const socket of sockets) socket.destroy();
      await close(silent);
    }
  });

  for (const [kind, nextPage, expected] of [
    ['loops back', (page: number) => (page === 1 ? 2 : 1), /links back to a page it already sent .*stopped after \d+ pages/],
    ['never ends', (page: number) => page + 1, /goes on past 5 pages \(500 runners\): stopped; raise GH_API_MAX_PAGES/],
  ] as const) {
    it(`a listing whose next link ${kind}: one line, bounded requests`, async () => {
      let requests = 0;
      const server = createHttpServer((req, res) => {
        requests += 1;
        const url = new URL(req.url ?? '/', 'http://x');
        const page = Number(url.searchParams.get('page') ?? '1');
        url.searchParams.set('page', String(nextPage(page)));
        res.writeHead(200, { 'content-type': 'application/json', link: `<${base}${url.pathname}${url.search}>; rel="next"` });
        res.end(JSON.stringify({ total_count: 100_000, runners: [runnerObject(page)] }));
      });
      const base = await listen(server);
      try {
        const r = await fx.run('list.ts', [], { GITHUB_API_URL: `${base}/api/v3`, GH_API_MAX_PAGES: '5' });
        assert.equal(r.code, 1, r.stderr);
        assertOneErrorLine(r, expected);
        assert.ok(requests <= 6, `${requests} requests`);
      } finally {
        await close(server);
      }
    });
  }
});
