// The hook socket (wrapper/hook-server.ts) on its own, in front of a stand-in
// for the job lock: one bounded request per connection, one line for a
// refusal, nothing malformed reaches the lock, and a socket a job deletes or
// replaces is listened on again.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { collecting } from '../../core/reporter.ts';
import { serveHooks, type HookHandler, type HookServer } from '../../wrapper/hook-server.ts';
import type { AcquireResult, WaitingReply } from '../../wrapper/job-lock.ts';
import type { JobLabels } from '../../wrapper/protocol.ts';
import { tempDir } from '../support/lock-helpers.ts';
import { waitFor } from '../support/wait.ts';
import { rawRequest } from './harness.ts';

const limit = { timeout: 20_000 };
const labels = { runId: '12', attempt: '1', repository: 'org/repo' };
const line = (value: unknown): string => `${JSON.stringify(value)}\n`;

/** A job lock that records what reached it and answers as the test says. */
function standIn(acquire: (onWaiting: (r: WaitingReply) => void, gone: AbortSignal) => Promise<AcquireResult>) {
  const reached: Array<{ op: string; job: JobLabels }> = [];
  const handler: HookHandler = {
    resource: 'board-a',
    acquire: (job, onWaiting, gone) => {
      reached.push({ op: 'acquire', job });
      return acquire(onWaiting, gone);
    },
    release: (job) => {
      reached.push({ op: 'release', job });
      return Promise.resolve({ type: 'released', resource: 'board-a' });
    },
  };
  return { handler, reached };
}

const servers: HookServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function serve(handler: HookHandler, checkMs = 60_000) {
  const socket = join(await tempDir('hooksrv-'), 'runner-fleet', 'wrapper.sock');
  const reporter = collecting();
  servers.push(await serveHooks(handler, socket, { checkMs, reporter }));
  return { socket, reporter };
}

const acquired: AcquireResult = { type: 'acquired', resource: 'board-a', waitedMs: 5, ticket: '000000000001' };

describe('hook server', () => {
  test('an acquire gets its waiting lines, then its outcome, then the connection ends; labels only reach the lock', limit, async () => {
    const { handler, reached } = standIn((onWaiting) => {
      onWaiting({ type: 'waiting', resource: 'board-a', place: 2, heldForMs: 1000 });
      onWaiting({ type: 'waiting', resource: 'board-a', place: 1 });
      return Promise.resolve(acquired);
    });
    const { socket, reporter } = await serve(handler);
    const r = await rawRequest(socket, line({ op: 'acquire', job: { ...labels, runner: 'forged', job: 'forged' } }));
    assert.deepEqual(
      r.lines.map((l) => JSON.parse(l) as unknown),
      [{ type: 'waiting', resource: 'board-a', place: 2, heldForMs: 1000 }, { type: 'waiting', resource: 'board-a', place: 1 }, acquired],
    );
    assert.ok(r.closed);
    assert.deepEqual(reached, [{ op: 'acquire', job: labels }]);
    const release = await rawRequest(socket, line({ op: 'release', job: labels }));
    assert.deepEqual(
      release.lines.map((l) => JSON.parse(l) as unknown),
      [{ type: 'released', resource: 'board-a' }],
    );
    assert.deepEqual(reporter.lines, []);
  });

  test('a refusal from the lock is one error line naming the resource, and one line in the log', limit, async () => {
    const { handler } = standIn(() => Promise.resolve({ type: 'refused', reason: 'no job is running on runner-1' }));
    const { socket, reporter } = await serve(handler);
    const r = await rawRequest(socket, line({ op: 'acquire', job: labels }));
    assert.deepEqual(r.lines, [line({ type: 'error', message: 'board-a: no job is running on runner-1' }).trim()]);
    assert.ok(r.closed);
    assert.deepEqual(reporter.lines, ['refused a hook request: board-a: no job is running on runner-1']);
  });

  test('a request the protocol refuses never reaches the lock; a job looping on the socket is logged once per window', limit, async () => {
    const { handler, reached } = standIn(() => Promise.resolve(acquired));
    const { socket, reporter } = await serve(handler);
    const bad = [
      line({ op: 'acquire', job: labels, workerPid: 1 }),
      'not json\n',
      line({ op: 'status' }),
      line({ op: 'acquire', job: { runId: '1\u001b[2J' } }),
    ];
    for (const request of bad) {
      const r = await rawRequest(socket, request);
      assert.equal(r.lines.length, 1, JSON.stringify(r.lines));
      assert.equal((JSON.parse(r.lines[0]!) as { type: string }).type, 'error');
      assert.doesNotMatch(r.lines[0]!, /\\u001b/, 'the reply echoes the request');
      assert.ok(r.closed);
    }
    assert.deepEqual(reached, []);
    assert.equal(reporter.lines.length, 1, reporter.lines.join('\n'));
    assert.match(reporter.lines[0]!, /^refused a hook request: board-a: workerPid is not accepted/);
  });

  test('a request line longer than 4096 bytes: one line back, nothing read on, nothing reaches the lock', limit, async () => {
    const { handler, reached } = standIn(() => Promise.resolve(acquired));
    const { socket } = await serve(handler);
    const r = await rawRequest(socket, `{"op":"acquire","job":{"repository":"org/${'a'.repeat(1024 * 1024)}`, 10_000);
    assert.equal(r.lines.length, 1, JSON.stringify(r.lines));
    assert.match(r.lines[0]!, /board-a: request longer than 4096 bytes: refused/);
    assert.ok(r.closed);
    assert.deepEqual(reached, []);
  });

  test('a hook that goes away ends its wait', limit, async () => {
    let abandoned = false;
    const { handler } = standIn(
      (_onWaiting, gone) =>
        new Promise((resolve) =>
          gone.addEventListener('abort', () => {
            abandoned = true;
            resolve({ type: 'error', message: 'gone' });
          }),
        ),
    );
    const { socket } = await serve(handler);
    const client = connect(socket);
    await new Promise((r) => client.once('connect', r));
    client.write(line({ op: 'acquire', job: labels }));
    await new Promise((r) => setTimeout(r, 100));
    client.destroy();
    await waitFor('the wait ended', () => abandoned, { timeoutMs: 5000 });
  });

  test('a socket deleted or replaced by a job is listened on again, and the log says so once each', limit, async () => {
    const { handler } = standIn(() => Promise.resolve(acquired));
    const { socket, reporter } = await serve(handler, 20);
    const isSocket = async (): Promise<boolean> => (await stat(socket).catch(() => undefined))?.isSocket() ?? false;
    await rm(socket);
    await waitFor('the socket back', isSocket, { timeoutMs: 5000 });
    assert.equal((await rawRequest(socket, line({ op: 'acquire', job: labels }))).lines.length, 1);
    await rm(socket);
    await writeFile(socket, 'not a socket');
    await waitFor('the socket back', isSocket, { timeoutMs: 5000 });
    assert.equal((await rawRequest(socket, line({ op: 'acquire', job: labels }))).lines.length, 1);
    assert.deepEqual(reporter.lines, [
      `hook socket ${socket} was deleted (by a job cleaning up?): listening on it again`,
      `hook socket ${socket} was replaced (by a job cleaning up?): listening on it again`,
    ]);
  });
});
