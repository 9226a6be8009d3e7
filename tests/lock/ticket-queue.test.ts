// The FIFO ticket queue with real processes contending for one lock directory.
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { afterEach, describe, test } from 'node:test';
import { forceRelease, readResource } from '../../lock/inspect.ts';
import { killChildren, startContender, tempDir, type Contender, type LockEvent } from '../support/lock-helpers.ts';

const contender = startContender;
/** Every test fails rather than waits forever; its contenders die with it (killChildren). */
const limit = { timeout: 45_000 };

function held(events: LockEvent[]): Array<{ name: string; from: number; to: number }> {
  const acquired = events.filter((e) => e.event === 'acquired');
  return acquired.map((a) => {
    const rel = events.find((e) => e.event === 'releasing' && e.name === a.name && e.round === a.round);
    assert.ok(rel, `${a.name} round ${a.round} never released`);
    return { name: a.name, from: a.t, to: rel.t };
  });
}

describe('lock queue (processes)', () => {
  afterEach(killChildren);

  test('8 contenders never hold the lock at the same time', limit, async () => {
    const dir = await tempDir('lockq-');
    const cs = Array.from({ length: 8 }, (_, i) => contender(dir, { name: `c${i}`, rounds: 3, holdMs: 15 }));
    assert.deepEqual(await Promise.all(cs.map((c) => c.exited)), Array(8).fill(0));
    const spans = held(cs.flatMap((c) => c.events)).sort((a, b) => a.from - b.from);
    assert.equal(spans.length, 24);
    for (let i = 1; i < spans.length; i++) {
      const [prev, cur] = [spans[i - 1]!, spans[i]!];
      assert.ok(cur.from >= prev.to, `${cur.name} acquired ${(prev.to - cur.from).toFixed(1)} ms before ${prev.name} released`);
    }
    const state = await readResource(dir, 'board-a');
    assert.equal(state.holder, undefined, 'lock left held');
    assert.equal(state.queue.length, 0, 'tickets left behind');
  });

  test('waiters get the lock in the order they queued', limit, async () => {
    const dir = await tempDir('lockq-');
    const first = contender(dir, { name: 'first', holdMs: -1 });
    await first.waitFor('acquired');
    const waiters: Contender[] = [];
    for (const name of ['w1', 'w2', 'w3', 'w4', 'w5']) {
      const w = contender(dir, { name, holdMs: 10 });
      await w.waitFor('queued'); // the next one starts only once this one holds a ticket
      waiters.push(w);
    }
    first.kill('SIGUSR1');
    await Promise.all(waiters.map((w) => w.exited));
    const order = waiters
      .map((w) => w.events.find((e) => e.event === 'acquired')!)
      .sort((a, b) => a.t - b.t)
      .map((e) => e.name);
    assert.deepEqual(order, ['w1', 'w2', 'w3', 'w4', 'w5']);
  });

  test('a SIGKILLed holder is taken over within the stale window', limit, async () => {
    const dir = await tempDir('lockq-');
    const staleMs = 2000;
    const holder = contender(dir, { name: 'holder', holdMs: -1, staleMs });
    await holder.waitFor('acquired');
    const waiter = contender(dir, { name: 'waiter', staleMs });
    await waiter.waitFor('queued');
    const killedAt = performance.timeOrigin + performance.now();
    holder.kill('SIGKILL');
    const got = await waiter.waitFor('acquired');
    const takeoverMs = got.t - killedAt;
    assert.ok(takeoverMs > 0, 'taken over before the kill');
    // stale window + one heartbeat + poll, with a generous margin for a loaded machine
    assert.ok(takeoverMs < staleMs + 4000, `takeover after ${takeoverMs.toFixed(0)} ms`);
    assert.equal(await waiter.exited, 0);
  });

  test('a waiter that dies leaves the queue; the one behind it is not held up', limit, async () => {
    const dir = await tempDir('lockq-');
    const staleMs = 2000;
    const holder = contender(dir, { name: 'holder', holdMs: -1, staleMs });
    await holder.waitFor('acquired');
    const doomed = contender(dir, { name: 'doomed', staleMs });
    await doomed.waitFor('queued');
    const behind = contender(dir, { name: 'behind', staleMs });
    await behind.waitFor('queued');
    doomed.kill('SIGKILL');
    const killedAt = performance.timeOrigin + performance.now();
    holder.kill('SIGUSR1');
    const got = await behind.waitFor('acquired');
    assert.ok(got.t - killedAt < staleMs + 4000, `waited ${(got.t - killedAt).toFixed(0)} ms after the waiter died`);
    assert.equal(await behind.exited, 0);
    const log = await readFile(`${dir}/locks.log`, 'utf8');
    assert.match(log, /"event":"dead-ticket-removed".*"runner":"doomed"/);
  });

  test('a compromised lock (operator force release) is reported, not fatal, and the next waiter proceeds', limit, async () => {
    const dir = await tempDir('lockq-');
    const holder = contender(dir, { name: 'holder', holdMs: 4000 });
    await holder.waitFor('acquired');
    const waiter = contender(dir, { name: 'waiter' });
    await waiter.waitFor('queued');
    const removed = await forceRelease(dir, 'board-a', 'test-operator');
    assert.equal(removed?.runner, 'holder');
    await waiter.waitFor('acquired', 3000); // at once: the holder's ticket went with the lock
    const lost = await holder.waitFor('lost', 5000); // within a heartbeat or two
    assert.match(lost.reason ?? '', /ENOENT|compromised|stale/i);
    assert.equal(await holder.exited, 0, 'the old holder crashed');
    assert.equal(await waiter.exited, 0);
    await assert.rejects(stat(`${dir}/board-a.lock`), 'lock left behind');
    const log = await readFile(`${dir}/locks.log`, 'utf8');
    assert.match(log, /"event":"force-release".*"by":"test-operator"/);
  });
});
