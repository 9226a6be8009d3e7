// The hook socket's protocol (wrapper/protocol.ts): what a request may hold, and how much is read.
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MAX_LINE_BYTES, onLines, parseRequest } from '../../wrapper/protocol.ts';

test('a request holds op and job labels only, each of GitHub charset and length; nothing sent is echoed', () => {
  assert.deepEqual(parseRequest({ op: 'acquire', job: { runner: 'r', runId: '12', attempt: '1', repository: 'acme/fw.x_y-z', job: 'build' } }), {
    op: 'acquire',
    job: { runId: '12', attempt: '1', repository: 'acme/fw.x_y-z' },
  });
  assert.deepEqual(parseRequest({ op: 'release', job: {} }), { op: 'release', job: { runId: '', attempt: '', repository: '' } });
  // A managed user's account (handle_shortcode) owns repositories too.
  assert.equal((parseRequest({ op: 'acquire', job: { repository: 'jdoe_acme/fw' } }) as { job: { repository: string } }).job.repository, 'jdoe_acme/fw');
  const refused: Array<[unknown, RegExp]> = [
    [{ op: 'acquire', job: { runId: '1' }, workerPid: 42 }, /workerPid is not accepted/],
    [{ op: 'acquire', job: { runId: '1' }, workerPid: '../../tmp/x' }, /workerPid is not accepted/],
    [{ op: 'status' }, /op must be acquire or release/],
    [{ op: 'acquire', job: { runId: '1', extra: 'x' } }, /only runId, attempt and repository/],
    [{ op: 'acquire', job: { repository: '::warning::x' } }, /repository is invalid/],
    [{ op: 'acquire', job: { repository: `acme/${'a'.repeat(101)}` } }, /repository is invalid/],
    [{ op: 'acquire', job: { repository: 'acme/fw/../x' } }, /repository is invalid/],
    [{ op: 'acquire', job: { repository: 'acme/fw x' } }, /repository is invalid/],
    [{ op: 'acquire', job: { runId: '1\u001b[2J' } }, /runId is invalid/],
    [{ op: 'acquire', job: { runId: 7 } }, /runId is invalid/],
    [{ op: 'acquire', job: { attempt: '1'.repeat(6) } }, /attempt is invalid/],
    [{ op: 'acquire', job: 'x' }, /job must be an object/],
    [[], /not a request/],
    [undefined, /not a request/],
  ];
  for (const [value, pattern] of refused) {
    const r = parseRequest(value);
    assert.ok('error' in r, JSON.stringify(value));
    assert.match(r.error, pattern);
    assert.doesNotMatch(r.error, /::|\u001b|aaaa|tmp/, 'the error echoes the request');
  }
});

test(`a line longer than ${MAX_LINE_BYTES} bytes is never buffered whole: onTooLong once, nothing more delivered`, async () => {
  const path = join(await mkdtemp(join(tmpdir(), 'proto-')), 's');
  const got: unknown[] = [];
  let tooLong = 0;
  const server = createServer((socket: Socket) =>
    onLines(
      socket,
      (v) => got.push(v),
      () => {
        tooLong++;
        socket.destroy();
      },
    ),
  );
  await new Promise<void>((r) => server.listen(path, r));
  const client = connect(path);
  await new Promise((r) => client.once('connect', r));
  client.write('{"op":"release","job":{}}\n');
  client.on('error', () => undefined);
  // A line without end, in pieces, as a job would stream it.
  for (let i = 0; i < 64 && !client.destroyed; i++) client.write('x'.repeat(1024));
  client.write('\n{"op":"acquire","job":{}}\n');
  await new Promise((r) => client.once('close', r));
  server.close();
  assert.deepEqual(got, [{ op: 'release', job: {} }]);
  assert.equal(tooLong, 1);
});
