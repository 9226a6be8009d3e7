// Anything found in the lock directory is untrusted input (issue 11): jobs
// share it, so a planted directory, FIFO, symlink, a tampered mtime or
// counter must never break mutual exclusion or FIFO order, hang a waiter, or
// crash one. Every contender is a real process; every wait is bounded.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstat, mkdir, readdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { readResource } from '../../lock/inspect.ts';
import { killChildren, startContender, tempDir, type Contender, type LockEvent } from '../support/lock-helpers.ts';
import { waitFor } from '../support/wait.ts';

const limit = { timeout: 60_000 };
const staleMs = 2000;
const contender = (dir: string, name: string, holdMs = 20, rounds = 1): Contender => startContender(dir, { name, holdMs, rounds, staleMs, pollMs: 100 });
const past = new Date('2000-01-01T00:00:00Z');
const future = new Date('2030-01-01T00:00:00Z');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function mkfifo(path: string): void {
  const r = spawnSync('mkfifo', [path]);
  assert.equal(r.status, 0, `mkfifo ${path}: ${r.stderr.toString()}`);
}

/** The lock spans, sorted: asserts no two overlap and grants follow ticket order. */
function assertExclusiveAndFifo(events: LockEvent[]): void {
  const acquired = events.filter((e) => e.event === 'acquired').sort((a, b) => a.t - b.t);
  for (let i = 1; i < acquired.length; i++) {
    const prev = acquired[i - 1]!;
    const rel = events.find((e) => e.event === 'releasing' && e.name === prev.name && e.round === prev.round);
    assert.ok(rel, `${prev.name} round ${prev.round} never released`);
    assert.ok(acquired[i]!.t >= rel.t, `${acquired[i]!.name} acquired before ${prev.name} released`);
    // Tickets rise in request order. A counter tampered with while the queue was
    // empty starts again low, which is no jump: nobody was waiting then.
    const cur = acquired[i]!;
    const queuedAt = events.find((e) => e.event === 'queued' && e.name === cur.name && e.round === cur.round)?.t ?? cur.requested ?? cur.t;
    if (queuedAt < prev.t) assert.ok(cur.ticket! > prev.ticket!, `ticket ${cur.ticket} (waiting since before) granted after ${prev.ticket}: not FIFO`);
  }
  assert.deepEqual(
    events.filter((e) => e.event === 'lost'),
    [],
    'a holder lost its lock',
  );
}

async function holderTicket(dir: string): Promise<string> {
  return waitFor('the holder record', async () => (await readResource(dir, 'board-a')).holder?.ticket || undefined, { timeoutMs: 15_000 });
}

describe('hostile entries in the lock directory (processes)', () => {
  afterEach(killChildren);

  test('touch -d 2000-01-01 on board.lock (and the holder ticket) while the holder runs: the next waiter does not take the board', limit, async () => {
    const dir = await tempDir('lockh-');
    const holder = contender(dir, 'holder', -1);
    await holder.waitFor('acquired');
    const waiter = contender(dir, 'waiter');
    await waiter.waitFor('queued');
    const ticket = join(dir, 'board-a.queue', await holderTicket(dir));
    // A job touching them back, again and again, for more than two stale windows.
    for (const until = Date.now() + 2.5 * staleMs; Date.now() < until; await sleep(150)) {
      await utimes(join(dir, 'board-a.lock'), past, past).catch(() => undefined);
      await utimes(ticket, past, past).catch(() => undefined);
    }
    assert.equal(
      waiter.events.find((e) => e.event === 'acquired'),
      undefined,
      'the waiter took the board while the holder runs',
    );
    assert.equal(
      holder.events.find((e) => e.event === 'lost'),
      undefined,
      'the holder lost its lock to a touch',
    );
    holder.kill('SIGUSR1');
    await waiter.waitFor('acquired');
    assert.equal(await holder.exited, 0);
    assert.equal(await waiter.exited, 0);
    assertExclusiveAndFifo([...holder.events, ...waiter.events]);
  });

  test('touch -d 2030 on a dead holder’s lock and ticket does not keep them alive forever', limit, async () => {
    const dir = await tempDir('lockh-');
    const holder = contender(dir, 'holder', -1);
    await holder.waitFor('acquired');
    const waiter = contender(dir, 'waiter');
    await waiter.waitFor('queued');
    const ticket = join(dir, 'board-a.queue', await holderTicket(dir));
    holder.kill('SIGKILL');
    await holder.exited;
    await utimes(join(dir, 'board-a.lock'), future, future);
    await utimes(ticket, future, future);
    await waiter.waitFor('acquired', 20_000);
    assert.equal(await waiter.exited, 0);
  });

  test('a directory, a FIFO and a symlink planted as tickets ahead of the waiters are skipped: no crash, no hang, FIFO holds', limit, async () => {
    const dir = await tempDir('lockh-');
    const outside = await tempDir('lockh-outside-');
    const queue = join(dir, 'board-a.queue');
    await mkdir(queue, { recursive: true });
    await mkdir(join(queue, '000000000001'));
    await writeFile(join(queue, '000000000001', 'x'), 'keep me non-empty');
    mkfifo(join(queue, '000000000002'));
    // A symlink to a live-looking ticket outside, its mtime far in the future.
    const fake = join(outside, 'fake-ticket');
    await writeFile(fake, JSON.stringify({ runner: 'ghost', runId: '1', attempt: '1', staleMs: 2000 }));
    await utimes(fake, future, future);
    await symlink(fake, join(queue, '000000000003'));
    const cs = ['c0', 'c1', 'c2'].map((name) => contender(dir, name, 30, 2));
    assert.deepEqual(await Promise.all(cs.map((c) => c.exited)), [0, 0, 0]);
    assertExclusiveAndFifo(cs.flatMap((c) => c.events));
    assert.equal(await readFile(fake, 'utf8'), JSON.stringify({ runner: 'ghost', runId: '1', attempt: '1', staleMs: 2000 }), 'the symlink target was touched');
    assert.match(await readFile(join(dir, 'locks.log'), 'utf8'), /000000000002/, 'the FIFO was not reported');
  });

  test('999999999999 in the counter does not break ticket numbering: tickets stay 12 digits and FIFO holds', limit, async () => {
    const dir = await tempDir('lockh-');
    await writeFile(join(dir, 'board-a.seq'), '999999999999');
    const holder = contender(dir, 'holder', -1);
    await holder.waitFor('acquired');
    const waiters: Contender[] = [];
    for (const name of ['w1', 'w2', 'w3']) {
      const w = contender(dir, name, 10);
      await w.waitFor('queued', 10_000);
      waiters.push(w);
    }
    for (const name of await readdir(join(dir, 'board-a.queue'))) assert.match(name, /^\d{12}$/);
    holder.kill('SIGUSR1');
    await Promise.all(waiters.map((w) => w.exited));
    const order = waiters
      .map((w) => w.events.find((e) => e.event === 'acquired')!)
      .sort((a, b) => a.t - b.t)
      .map((e) => e.name);
    assert.deepEqual(order, ['w1', 'w2', 'w3']);
    assertExclusiveAndFifo([...holder.events, ...waiters.flatMap((w) => w.events)]);
  });

  test('a FIFO planted as the counter or as the holder record does not block anyone', limit, async () => {
    const dir = await tempDir('lockh-');
    mkfifo(join(dir, 'board-a.seq'));
    mkfifo(join(dir, 'board-a.holder.json'));
    const cs = ['c0', 'c1'].map((name) => contender(dir, name, 20, 2));
    assert.deepEqual(await Promise.all(cs.map((c) => c.exited)), [0, 0]);
    assertExclusiveAndFifo(cs.flatMap((c) => c.events));
  });

  test('hostile entries planted while 5 contenders run: mutual exclusion and FIFO hold, no hang, no crash', limit, async () => {
    const dir = await tempDir('lockh-');
    const outside = await tempDir('lockh-outside-');
    const victim = join(outside, 'victim');
    await writeFile(victim, 'untouched\n');
    const cs = ['c0', 'c1', 'c2', 'c3', 'c4'].map((name) => contender(dir, name, 40, 4));
    const queue = join(dir, 'board-a.queue');
    const lock = join(dir, 'board-a.lock');
    let running = true;
    const done = Promise.all(cs.map((c) => c.exited)).finally(() => (running = false));
    const planter = (async () => {
      for (let round = 0; running; round++) {
        const low = String(round % 5).padStart(12, '0'); // below every real ticket
        try {
          switch (round % 9) {
            case 0:
              await mkdir(join(queue, low), { recursive: true });
              await writeFile(join(queue, low, 'x'), '');
              break;
            case 1:
              mkfifo(join(queue, low));
              break;
            case 2:
              await symlink(victim, join(queue, low));
              break;
            case 3:
              await writeFile(join(dir, 'board-a.seq'), '999999999999');
              break;
            case 4:
              await utimes(lock, round % 2 ? past : future, round % 2 ? past : future);
              break;
            case 5:
              for (const t of await readdir(queue)) await utimes(join(queue, t), past, past).catch(() => undefined);
              break;
            case 6:
              await writeFile(join(dir, 'board-a.seq'), 'garbage');
              break;
            case 7:
              await rm(join(dir, 'locks.log'), { force: true });
              await symlink(victim, join(dir, 'locks.log'));
              break;
            case 8:
              await writeFile(join(queue, '999999999999'), '{}');
              break;
          }
        } catch {
          // the entry is there already, or the directory is between states
        }
        await sleep(60);
      }
    })();
    assert.deepEqual(await done, [0, 0, 0, 0, 0]);
    await planter;
    const events = cs.flatMap((c) => c.events);
    assert.equal(events.filter((e) => e.event === 'acquired').length, 20);
    assertExclusiveAndFifo(events);
    assert.equal(await readFile(victim, 'utf8'), 'untouched\n', 'a symlink was followed');
    assert.ok((await lstat(victim)).isFile());
  });
});
