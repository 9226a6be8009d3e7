// locks.log as history (issue 22): every job's turn at a board in lines of
// its own (queued, acquired, released, left-queue) and the log's rotation at
// its cap, by one appender and by several processes at once, with hostile
// entries where the rotation writes.
import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { forceRelease } from '../../lock/inspect.ts';
import { appendLockLog, parseLogMaxBytes, DEFAULT_LOG_MAX_BYTES } from '../../lock/lock-log.ts';
import { acquireLock, StopWaiting } from '../../lock/resource-lock.ts';
import { killChildren, repoRoot, spawnGroup, tempDir } from '../support/lock-helpers.ts';
import { waitFor } from '../support/wait.ts';

const limit = { timeout: 60_000 };
afterEach(killChildren);

type Line = Record<string, unknown>;
const lines = async (path: string): Promise<Line[]> =>
  (await readFile(path, 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);
const ids = (ls: Line[]): string[] => ls.map((l) => String(l.id));
const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

describe('locks.log rotation', () => {
  test("at the cap the log becomes locks.log.1 and a new one starts: every line kept, in order, both root's alone", limit, async () => {
    const dir = await tempDir('lockl-');
    for (let i = 0; i < 40; i++) await appendLockLog(dir, { event: 'test', resource: 'board-a', id: i, pad: 'x'.repeat(100) }, { maxBytes: 4096 });
    const [old, current] = [await lines(join(dir, 'locks.log.1')), await lines(join(dir, 'locks.log'))];
    assert.ok(old.length > 0 && current.length > 0, `${old.length} + ${current.length} lines`);
    assert.deepEqual(
      [...ids(old), ...ids(current)],
      Array.from({ length: 40 }, (_, i) => String(i)),
    );
    assert.ok((await stat(join(dir, 'locks.log.1'))).size <= 4096);
    assert.equal(await mode(join(dir, 'locks.log.1')), 0o600);
    assert.equal(await mode(join(dir, 'locks.log')), 0o600);
    assert.deepEqual((await readdir(dir)).sort(), ['locks.log', 'locks.log.1'], 'the rotation marker is left behind');
  });

  test('one rotated file: the next rotation replaces locks.log.1, the newest lines stay', limit, async () => {
    const dir = await tempDir('lockl-');
    for (let i = 0; i < 100; i++) await appendLockLog(dir, { event: 'test', resource: 'board-a', id: i, pad: 'x'.repeat(100) }, { maxBytes: 4096 });
    const kept = [...ids(await lines(join(dir, 'locks.log.1'))), ...ids(await lines(join(dir, 'locks.log')))].map(Number);
    assert.equal(kept.at(-1), 99);
    assert.deepEqual(
      kept,
      Array.from({ length: kept.length }, (_, i) => 100 - kept.length + i),
      'a gap or a repeat',
    );
    assert.ok(kept.length >= 20, `only ${kept.length} lines kept of two files of 4 KiB`);
  });

  test('four processes appending across a rotation: every line kept exactly once', { timeout: 120_000 }, async () => {
    for (let round = 0; round < 3; round++) {
      const dir = await tempDir('lockl-');
      const children = ['a', 'b', 'c', 'd'].map((name) =>
        spawnGroup(
          process.execPath,
          ['--import', 'tsx', join(repoRoot, 'tests/lock/log-appender.ts'), '--dir', dir, '--name', name, '--count', '250', '--max-bytes', '100000'],
          {
            cwd: repoRoot,
            stdio: ['ignore', 'inherit', 'inherit'],
          },
        ),
      );
      const codes = await Promise.all(children.map((c) => new Promise((r) => c.once('exit', r))));
      assert.deepEqual(codes, [0, 0, 0, 0]);
      const all = [...ids(await lines(join(dir, 'locks.log.1'))), ...ids(await lines(join(dir, 'locks.log')))];
      const want = ['a', 'b', 'c', 'd'].flatMap((n) => Array.from({ length: 250 }, (_, i) => `${n}-${i}`));
      assert.equal(all.length, want.length, `round ${round}: ${all.length} lines of ${want.length}`);
      assert.deepEqual([...all].sort(), [...want].sort(), `round ${round}: a line lost or repeated`);
      assert.ok((await stat(join(dir, 'locks.log.1'))).size > 0, `round ${round}: never rotated`);
    }
  });

  test('a symlink at locks.log.1 is replaced, never followed; a directory there is moved aside', limit, async () => {
    const dir = await tempDir('lockl-');
    const victim = join(await tempDir('lockl-victim-'), 'victim');
    await writeFile(victim, 'untouched\n');
    await symlink(victim, join(dir, 'locks.log.1'));
    for (let i = 0; i < 40; i++) await appendLockLog(dir, { event: 'test', resource: 'board-a', id: i, pad: 'x'.repeat(100) }, { maxBytes: 4096 });
    assert.equal(await readFile(victim, 'utf8'), 'untouched\n');
    assert.ok((await lstat(join(dir, 'locks.log.1'))).isFile());

    const dir2 = await tempDir('lockl-');
    await mkdir(join(dir2, 'locks.log.1', 'inside'), { recursive: true });
    for (let i = 0; i < 40; i++) await appendLockLog(dir2, { event: 'test', resource: 'board-a', id: i, pad: 'x'.repeat(100) }, { maxBytes: 4096 });
    assert.ok((await lstat(join(dir2, 'locks.log.1'))).isFile());
    const kept = [...ids(await lines(join(dir2, 'locks.log.1'))), ...ids(await lines(join(dir2, 'locks.log')))];
    assert.deepEqual(
      kept,
      Array.from({ length: 40 }, (_, i) => String(i)),
    );
  });

  test('a rotation marker planted by a job: lines are still written (past the cap), nothing waits', limit, async () => {
    const dir = await tempDir('lockl-');
    await mkdir(join(dir, 'locks.log.rotate'));
    const started = Date.now();
    for (let i = 0; i < 40; i++) await appendLockLog(dir, { event: 'test', resource: 'board-a', id: i, pad: 'x'.repeat(100) }, { maxBytes: 4096 });
    assert.ok(Date.now() - started < 5000, 'appends waited for the marker');
    assert.deepEqual(
      ids(await lines(join(dir, 'locks.log'))),
      Array.from({ length: 40 }, (_, i) => String(i)),
    );
  });

  test('RUNNER_LOCK_LOG_MAX_BYTES: default 10 MiB, a bad value is one line naming it', () => {
    assert.equal(parseLogMaxBytes(undefined), DEFAULT_LOG_MAX_BYTES);
    assert.equal(parseLogMaxBytes('65536'), 65536);
    for (const bad of ['10M', '-1', '100', '1.5', 'x']) {
      const parsed = parseLogMaxBytes(bad);
      assert.ok(typeof parsed !== 'number', bad);
      assert.match(parsed.invalid, /^RUNNER_LOCK_LOG_MAX_BYTES=.* is invalid: /);
    }
  });
});

describe('locks.log history: a turn at the board', () => {
  const opts = (dir: string) => ({ dir, resource: 'board-a', staleMs: 2000, updateMs: 1000, pollMs: 20 });
  const job = (runId: string) => ({ runner: `runner-${runId}`, runId, attempt: '1', repository: 'acme/fw', job: `job ${runId}` });
  const turns = async (dir: string) =>
    (await lines(join(dir, 'locks.log'))).filter((l) => ['queued', 'acquired', 'released', 'left-queue'].includes(String(l.event)));

  test('queued, acquired, released: who, which org, the ticket, the wait, the hold and how it ended', limit, async () => {
    const dir = await tempDir('lockl-');
    const held = await acquireLock(opts(dir), job('1'), { signal: new AbortController().signal, org: 'acme' });
    await new Promise((r) => setTimeout(r, 120));
    await held.release('completed');
    const [queued, acquired, released, ...rest] = await turns(dir);
    assert.deepEqual(rest, []);
    const who = {
      resource: 'board-a',
      org: 'acme',
      repository: 'acme/fw',
      runId: '1',
      attempt: '1',
      job: 'job 1',
      runner: 'runner-1',
      ticket: held.ticket.name,
      seq: held.ticket.seq,
    };
    assert.deepEqual({ ...queued, time: undefined }, { time: undefined, event: 'queued', ...who });
    assert.equal(acquired?.event, 'acquired');
    assert.deepEqual({ ...acquired, time: undefined, waitMs: undefined }, { time: undefined, event: 'acquired', ...who, waitMs: undefined });
    assert.ok(typeof acquired.waitMs === 'number' && acquired.waitMs >= 0 && acquired.waitMs < 2000);
    assert.equal(released?.event, 'released');
    assert.equal(released.how, 'completed');
    assert.ok(Number(released.holdMs) >= 100 && Number(released.holdMs) < 2000, String(released.holdMs));
    assert.ok(Date.parse(String(queued!.time)) <= Date.parse(String(released.time)));
    await held.release('completed');
    assert.equal((await turns(dir)).length, 3, 'a second release wrote a line');
  });

  test('a waiter that stops waiting: left-queue with how and why, never acquired', limit, async () => {
    const dir = await tempDir('lockl-');
    const holder = await acquireLock(opts(dir), job('1'), { signal: new AbortController().signal, org: 'acme' });
    const stop = new AbortController();
    const waiting = acquireLock(opts(dir), job('2'), { signal: stop.signal, org: 'globex' });
    await waitFor('the waiter queued', async () => (await turns(dir)).some((l) => l.event === 'queued' && l.runId === '2') || undefined);
    stop.abort(new StopWaiting('the job was cancelled while waiting', 'cancelled'));
    await assert.rejects(waiting);
    await holder.release();
    const of2 = (await turns(dir)).filter((l) => l.runId === '2');
    assert.deepEqual(
      of2.map((l) => l.event),
      ['queued', 'left-queue'],
    );
    assert.equal(of2[1]!.how, 'cancelled');
    assert.equal(of2[1]!.org, 'globex');
    assert.equal(of2[1]!.reason, 'the job was cancelled while waiting');
    assert.ok(Number(of2[1]!.waitMs) >= 0);
    const released = (await turns(dir)).find((l) => l.event === 'released');
    assert.equal(released?.how, 'released', 'a release without a reason');
  });

  test("a hand-over: the holder's released line comes before the next holder's acquired line", limit, async () => {
    const dir = await tempDir('lockl-');
    for (let round = 0; round < 5; round++) {
      const a = await acquireLock(opts(dir), job(`a${round}`), { signal: new AbortController().signal, org: 'acme' });
      const b = acquireLock(opts(dir), job(`b${round}`), { signal: new AbortController().signal, org: 'globex' });
      await waitFor('b queued', async () => (await turns(dir)).some((l) => l.event === 'queued' && l.runId === `b${round}`) || undefined);
      await a.release('completed');
      await (await b).release('completed');
    }
    const order = (await turns(dir)).filter((l) => l.event === 'acquired' || l.event === 'released').map((l) => `${String(l.event)} ${String(l.runId)}`);
    const want = Array.from({ length: 5 }, (_, r) => [`acquired a${r}`, `released a${r}`, `acquired b${r}`, `released b${r}`]).flat();
    assert.deepEqual(order, want);
  });

  test("a lock taken by an operator: the holder's turn ends with how lost", limit, async () => {
    const dir = await tempDir('lockl-');
    const held = await acquireLock(opts(dir), job('1'), { signal: new AbortController().signal, org: 'acme' });
    await forceRelease(dir, 'board-a', 'operator');
    const released = await waitFor('the lost turn', async () => (await turns(dir)).find((l) => l.event === 'released') ?? undefined, { timeoutMs: 10_000 });
    assert.equal(released.how, 'lost');
    await held.release('completed');
    assert.equal((await turns(dir)).filter((l) => l.event === 'released').length, 1);
  });
});
