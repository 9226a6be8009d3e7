// make status --watch, the event plumbing, without Docker: a stand-in for
// Docker (its events, its containers, their output) and GitHub, and a real
// lock directory taken and handed over by the real lock (lock/resource-lock.ts).
// The re-read safety net is set to a minute here, so whatever shows within
// the test's bounds was brought by an event: fs.watch, a docker event, a
// line of a runner's output.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Config } from '../../../lib/config/config.ts';
import type { FleetContainer } from '../../../lib/docker/containers.ts';
import type { ContainerEvent } from '../../../lib/docker/events.ts';
import { hostStatus, readStatus, watchStatus, type StatusHost } from '../../../lib/fleet/live-status.ts';
import type { StatusView } from '../../../lib/fleet/status-view.ts';
import type { Runner } from '../../../lib/github/runner-api.ts';
import { acquireLock, type HeldLock } from '../../../lock/resource-lock.ts';
import { waitFor } from '../../support/wait.ts';

const P = 'h-acme-';

function boardContainer(name: string): FleetContainer {
  return {
    name: `${P}${name}`,
    service: `${P}${name}`,
    state: 'running',
    kind: 'board',
    labels: ['board-a'],
    board: name,
    resourceId: 'board-a',
    image: 'img',
    createdAt: new Date().toISOString(),
    ephemeral: false,
  };
}

/** Docker and GitHub stood in for; the lock directory and fs.watch are real. */
function fakeHost() {
  const containers: FleetContainer[] = [boardContainer('runner-b1'), boardContainer('runner-b2')];
  const outputs = new Map<string, string>();
  const followers = new Map<string, (line: string) => void>();
  const listeners: Array<(event: ContainerEvent) => void> = [];
  const calls = { listContainers: 0, outputTail: 0, closedFollowers: 0 };
  const host: StatusHost = {
    listContainers: async () => {
      calls.listContainers++;
      await Promise.resolve();
      return { containers: containers.map((c) => ({ ...c })) };
    },
    outputTail: async (name) => {
      calls.outputTail++;
      await Promise.resolve();
      return outputs.get(name);
    },
    followOutput: (name, onLine) => {
      followers.set(name, onLine);
      return { close: () => void (calls.closedFollowers++, followers.delete(name)) };
    },
    watchEvents: (_filters, onEvent) => {
      listeners.push(onEvent);
      return { close: () => undefined, ended: new Promise<void>(() => undefined) };
    },
    readLocks: hostStatus.readLocks,
    watchFolder: hostStatus.watchFolder,
  };
  const event = (action: string, name: string) => listeners.forEach((l) => l({ action, name, labels: {} }));
  return { host, containers, outputs, followers, calls, event };
}

function fakeGitHub(runners: Runner[]) {
  const counter = { calls: 0 };
  return {
    counter,
    github: {
      listRunners: async () => {
        counter.calls++;
        await Promise.resolve();
        return runners;
      },
    },
  };
}

const config = (lockHostPath: string): Config =>
  ({
    prefix: P,
    scope: { org: 'acme' },
    projectName: 'h-acme',
    lockHostPath,
    boards: [
      { name: 'b1', service: `${P}runner-b1`, resourceId: 'board-a', labels: [], hardware: {} },
      { name: 'b2', service: `${P}runner-b2`, resourceId: 'board-a', labels: [], hardware: {} },
    ],
  }) as unknown as Config;

const QUEUE = { resource: 'board-a', staleMs: 8000, updateMs: 1000, pollMs: 5000 };
const job = (runner: string, runId: string) => ({ runner: `${P}${runner}`, runId, attempt: '1', repository: 'acme/fw', job: `job ${runId}` });

describe('make status --watch: events drive the view', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('a holder appears, a waiter queues, the handoff shows: each within 300 ms, with no re-read for a minute', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'status-live-'));
    dirs.push(dir);
    const fake = fakeHost();
    const gh = fakeGitHub([]);
    const views: Array<{ at: number; view: StatusView }> = [];
    const stop = new AbortController();
    const watching = watchStatus(
      [{ config: config(dir), github: gh.github }],
      { signal: stop.signal, rereadMs: 60_000, onView: (view) => views.push({ at: Date.now(), view }) },
      fake.host,
    );
    /** The first view since views[from] that passes `check`. */
    const seen = (what: string, check: (view: StatusView) => boolean, from = 0) =>
      waitFor(what, () => views.slice(from).find((v) => check(v.view)), { timeoutMs: 5000, intervalMs: 10 });
    try {
      await seen('the first view, board-a free', (v) => v.boards[0]?.resource === 'board-a' && v.boards[0].holder === null);
      const holder = (v: StatusView) => v.boards[0]?.holder?.run_id;
      const opts = { ...QUEUE, dir };
      const signal = new AbortController().signal;

      let from = views.length;
      const first: HeldLock = await acquireLock(opts, job('runner-b1', '1'), { signal });
      const acquiredAt = first.since.getTime();
      const shown = await seen('holder 1', (v) => holder(v) === '1', from);
      assert.ok(shown.at - acquiredAt < 300, `holder shown ${shown.at - acquiredAt} ms after it acquired`);

      const second = acquireLock(opts, job('runner-b2', '2'), { signal });
      await seen('2 queued', (v) => v.boards[0]?.queue[0]?.run_id === '2');
      from = views.length;
      await first.release();
      const next = await second;
      const handoff = await seen('holder 2', (v) => holder(v) === '2', from);
      console.log(`# status view: holder ${shown.at - acquiredAt} ms, handoff ${handoff.at - next.since.getTime()} ms after the lock's own record`);
      assert.ok(handoff.at - next.since.getTime() < 300, `handoff shown ${handoff.at - next.since.getTime()} ms after it acquired`);
      assert.deepEqual(handoff.view.boards[0]?.queue, []);
      from = views.length;
      await next.release();
      await seen('free again', (v) => v.boards[0]?.holder === null, from);
    } finally {
      stop.abort();
      await watching;
    }
  });

  it("a docker event re-lists the containers; a runner's output lines set and clear its job; GitHub is asked once in 15 s", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'status-live-'));
    dirs.push(dir);
    const fake = fakeHost();
    fake.outputs.set(`${P}runner-b1`, '2026-12-04 10:00:00Z: Listening for Jobs\n2026-12-04 10:00:05Z: Running job: flash\n');
    const gh = fakeGitHub([]);
    let last: StatusView | undefined;
    const stop = new AbortController();
    const watching = watchStatus(
      [{ config: config(dir), github: gh.github }],
      { signal: stop.signal, rereadMs: 60_000, onView: (view) => (last = view) },
      fake.host,
    );
    const runner = (name: string) => last?.fleets[0]?.runners.find((r) => r.name === `${P}${name}`);
    try {
      await waitFor('b1 running flash, from its output tail', () => runner('runner-b1')?.job === 'flash');
      assert.equal(runner('runner-b2')?.job, null);
      assert.deepEqual([...fake.followers.keys()].sort(), [`${P}runner-b1`, `${P}runner-b2`]);

      fake.followers.get(`${P}runner-b2`)!('2026-12-04 10:01:00Z: Running job: boot test');
      assert.equal(runner('runner-b2')?.job, 'boot test', 'a followed line shows at once');
      fake.followers.get(`${P}runner-b2`)!('2026-12-04 10:01:09Z: Job boot test completed with result: Succeeded');
      assert.equal(runner('runner-b2')?.job, null);

      const listed = fake.calls.listContainers;
      fake.containers[1]!.state = 'exited';
      fake.event('die', `${P}runner-b2`);
      fake.event('exec_start', `${P}runner-b2`);
      await waitFor('b2 exited', () => runner('runner-b2')?.container === 'exited', { timeoutMs: 2000, intervalMs: 10 });
      assert.equal(fake.calls.listContainers, listed + 1, 'one re-list for the die event, none for exec_start');
      assert.ok(!fake.followers.has(`${P}runner-b2`), 'the exited runner is no longer followed');

      fake.containers[1]!.state = 'running';
      fake.event('start', `${P}runner-b2`);
      await waitFor('b2 followed again', () => fake.followers.has(`${P}runner-b2`) && runner('runner-b2')?.container === 'running', {
        timeoutMs: 2000,
        intervalMs: 10,
      });
      assert.equal(gh.counter.calls, 1, 'GitHub asked once, at the start');
    } finally {
      stop.abort();
      await watching;
    }
    assert.equal(fake.followers.size, 0, 'every follower closed at the end');
  });

  it('past maxFollowed, a runner is not followed; its job is read from its tail when GitHub says it is busy', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'status-live-'));
    dirs.push(dir);
    const fake = fakeHost();
    const runners: Runner[] = [`${P}runner-b1`, `${P}runner-b2`].map((name, id) => ({ id, name, os: 'Linux', status: 'online', busy: false, labels: [] }));
    const gh = fakeGitHub(runners);
    let last: StatusView | undefined;
    const stop = new AbortController();
    const watching = watchStatus(
      [{ config: config(dir), github: gh.github }],
      { signal: stop.signal, rereadMs: 60_000, githubPollMs: 100, maxFollowed: 1, onView: (view) => (last = view) },
      fake.host,
    );
    try {
      await waitFor('first view', () => last?.fleets[0]?.runners.length === 2);
      assert.equal(fake.followers.size, 1);
      const unfollowed = [`${P}runner-b1`, `${P}runner-b2`].find((n) => !fake.followers.has(n))!;
      fake.outputs.set(unfollowed, '2026-12-04 10:00:05Z: Running job: nightly\n');
      runners.find((r) => r.name === unfollowed)!.busy = true;
      await waitFor('its job from the tail at the next poll', () => last?.fleets[0]?.runners.find((r) => r.name === unfollowed)?.job === 'nightly', {
        timeoutMs: 3000,
      });
    } finally {
      stop.abort();
      await watching;
    }
  });

  it("readStatus: one snapshot of the same, with the jobs from each running runner's tail", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'status-live-'));
    dirs.push(dir);
    const fake = fakeHost();
    fake.outputs.set(`${P}runner-b2`, '2026-12-04 10:00:05Z: Running job: flash\n');
    const held = await acquireLock({ ...QUEUE, dir }, job('runner-b2', '5'), { signal: new AbortController().signal });
    try {
      const view = await readStatus([{ config: config(dir), github: fakeGitHub([]).github }], fake.host);
      assert.equal(view.fleets[0]?.runners.find((r) => r.name === `${P}runner-b2`)?.job, 'flash');
      assert.equal(view.boards[0]?.holder?.run_id, '5');
      assert.equal(fake.followers.size, 0, 'a snapshot follows nothing');
    } finally {
      await held.release();
    }
  });
});
