// End to end on a real Docker engine (issue 19): a lab proxy's password does
// not reach jobs. The fleet's env file names a proxy with credentials; a job
// (hardened mode) looks for the password in its environment and in the
// wrapper's, then sends a request through the proxy it was given and the lab
// proxy (a server in this test) checks it arrived with the lab's credentials.
// The runner is the runner simulator (standins/runner), which STANDS IN for
// actions/runner (its proxy handling follows RunnerWebProxy.cs); GitHub is the
// stand-in, reached directly (loopback).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { eventOutput } from '../../standins/github/server.ts';
import { startGround, type Ground } from '../support/ground.ts';
import { waitFor } from '../support/wait.ts';
import { containerLogs, dockerUnavailable } from './helpers.ts';

const skip = await dockerUnavailable();
if (skip) console.log(`# skipping the proxy e2e tests: ${skip}`);

const LAB_USER = 'lab';
const LAB_PASSWORD = 's3cret-proxy-pw';

/** The job: where the password could be, then one request through $HTTP_PROXY (bash's /dev/tcp, Basic auth from the URL). */
const JOB = [
  `echo "in-env=$(env | grep -c '${LAB_PASSWORD}')"`,
  `if tr '\\0' '\\n' < /proc/1/environ > /dev/null 2>&1; then echo "in-wrapper-env=$(tr '\\0' '\\n' < /proc/1/environ | grep -c '${LAB_PASSWORD}')"; else echo in-wrapper-env=unreadable; fi`,
  `echo "proxy=$HTTP_PROXY" | sed 's/:[0-9a-f]\\{48\\}@/:TOKEN@/'`,
  'rest=${HTTP_PROXY#http://}; cred=${rest%@*}; hostport=${rest#*@}',
  'exec 3<>"/dev/tcp/${hostport%:*}/${hostport#*:}"',
  `printf 'GET http://example.test/ping HTTP/1.1\\r\\nHost: example.test\\r\\nProxy-Authorization: Basic %s\\r\\nConnection: close\\r\\n\\r\\n' "$(printf %s "$cred" | base64 -w0)" >&3`,
  'cat <&3',
].join('\n');

describe("a lab proxy's credentials on a real engine: the runner gets a relay, jobs never the password", { skip, timeout: 300_000 }, () => {
  let ground: Ground;
  let lab: Server;
  const seen: { target: string; auth?: string }[] = [];
  let runner = '';

  before(async () => {
    lab = createServer((req, res) => {
      seen.push({ target: req.url ?? '', ...(req.headers['proxy-authorization'] ? { auth: req.headers['proxy-authorization'] } : {}) });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('answered by the lab proxy\n');
    });
    lab.on('connect', (_req, socket: Socket) => socket.end('HTTP/1.1 403 Forbidden\r\n\r\n'));
    lab.listen(0, '127.0.0.1'); // the runners are on the host's network
    await once(lab, 'listening');
    const proxy = `http://${LAB_USER}:${LAB_PASSWORD}@127.0.0.1:${(lab.address() as AddressInfo).port}`;
    ground = await startGround('proxy', { mode: 'hardened' });
    const prefix = ground.prefix('proxy');
    // NO_PROXY: the toolkit's own calls go to the GitHub stand-in (on a loopback address) directly.
    const standIn = new URL(ground.github.url).hostname;
    await ground.writeEnv(prefix, [`HTTP_PROXY=${proxy}`, `HTTPS_PROXY=${proxy}`, `NO_PROXY=${standIn},localhost`]);
    const init = await ground.run('init.ts', ['-n', '1']);
    assert.equal(init.code, 0, `${init.stdout}\n${init.stderr}`);
    assert.ok(!`${init.stdout}${init.stderr}`.includes(LAB_PASSWORD));
    runner = `${prefix}runner-1`;
    await waitFor(`${runner} online`, () => ground.online(runner), { timeoutMs: 60_000 });
  });

  after(async () => {
    await ground?.close();
    lab?.close();
  });

  test("a job finds no password, and its request reaches the lab proxy with the lab's credentials through the relay", async () => {
    const { job_id } = ground.github.enqueueJob({
      org: ground.org,
      repository: `${ground.org}/pr`,
      runs_on: ['intel'],
      job: 'proxy',
      steps: [{ name: 'look', run: JOB }],
    });
    const done = await ground.github.waitForJob(job_id, (j) => j.status === 'completed', 90_000);
    const out = done.events
      .filter((e) => e.event === 'step')
      .map(eventOutput)
      .join('\n');
    assert.equal(done.conclusion, 'success', out);
    assert.match(out, /^in-env=0$/m);
    assert.match(out, /^in-wrapper-env=unreadable$/m); // root's process: not the runner user's to read
    assert.match(out, /^proxy=http:\/\/runner-fleet:TOKEN@127\.0\.0\.1:\d+$/m);
    assert.match(out, /answered by the lab proxy/);
    assert.deepEqual(seen.at(-1), { target: 'http://example.test/ping', auth: `Basic ${Buffer.from(`${LAB_USER}:${LAB_PASSWORD}`).toString('base64')}` });
  });

  test('the wrapper log names the relayed settings and never the password', async () => {
    const logs = await containerLogs(runner);
    assert.match(logs, /HTTP_PROXY, HTTPS_PROXY: through a relay on 127\.0\.0\.1:\d+ that adds the credentials of http:\/\/127\.0\.0\.1:\d+/);
    assert.ok(!logs.includes(LAB_PASSWORD));
  });
});
