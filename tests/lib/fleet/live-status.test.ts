// make status --watch, the event plumbing, without Docker: a stand-in for
// Docker (its events, its containers, their output) and GitHub, and a real
// lock directory taken and handed over by the real lock (lock/resource-lock.ts).
// The re-read safety net is set to a minute here, so whatever shows within
// the test's bounds was brought by an event: fs.watch, a docker event, a
// line of a runner's output. Boards that lock on etcd: a private etcd
// (tests/support/etcd.ts) and the real etcd lock (lock/etcd/etcd-lock.ts).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Config } from '../../../lib/config/config.ts';
import type { FleetContainer } from '../../../lib/docker/containers.ts';
import type { ContainerEvent } from '../../../lib/docker/events.ts';
import { hostStatus, readStatus, watchStatus, type StatusHost } from '../../../lib/fleet/live-status.ts';
import { renderStatus, statusJsonLine, type StatusView } from '../../../lib/fleet/status-view.ts';
import type { Runner } from '../../../lib/github/runner-api.ts';
import type { HeldTurn } from '../../../lock/backend.ts';
import { etcdClient } from '../../../lock/etcd/client.ts';
import { EtcdLock } from '../../../lock/etcd/etcd-lock.ts';
import { parseEtcdSettings, type EtcdSettings } from '../../../lock/etcd/settings.ts';
import { acquireLock, type HeldLock } from '../../../lock/resource-lock.ts';
import { etcdMissing, TestEtcd } from '../../support/etcd.ts';
import { Contender, killChildren, repoRoot, spawnGroup } from '../../support/lock-helpers.ts';
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

// ---- boards that lock on etcd (RUNNER_LOCK_BACKEND=etcd) ----

function etcdSettings(endpoint: string, prefix: string, extra: NodeJS.ProcessEnv = {}): EtcdSettings {
  const s = parseEtcdSettings({ RUNNER_LOCK_ETCD_ENDPOINTS: endpoint, RUNNER_LOCK_ETCD_PREFIX: prefix, RUNNER_LOCK_ETCD_LEASE_S: '10', ...extra });
  assert.ok(s);
  return s;
}

/** A fleet whose boards lock on etcd; its lock directory (locks.log's) is not read by the status. */
const etcdConfig = (settings: EtcdSettings, o: Partial<Config> = {}): Config => ({ ...config('/nonexistent/locks'), docker: {}, etcd: settings, ...o });

/** `runners[0]` holds board-a on etcd and the others wait behind it, in order, each through its own EtcdLock (as each wrapper does). */
async function etcdBoard(settings: EtcdSettings, runners: Array<{ runner: string; runId: string; repository?: string }>) {
  const locks = runners.map(() => new EtcdLock(settings, 'board-a', { retryMs: 200 }));
  const stopWaiting = new AbortController();
  const entry = (i: number) => ({ ...job('', runners[i]!.runId), runner: runners[i]!.runner, repository: runners[i]!.repository ?? 'acme/fw' });
  const held: HeldTurn = await locks[0]!.acquire(entry(0), { signal: new AbortController().signal, org: 'acme' });
  const waiting: Array<Promise<HeldTurn>> = [];
  for (let i = 1; i < runners.length; i++) {
    let queued!: () => void;
    const inQueue = new Promise<void>((resolve) => (queued = resolve));
    const turn = locks[i]!.acquire(entry(i), { signal: stopWaiting.signal, org: 'acme', onQueued: () => queued() });
    turn.catch(() => undefined);
    await inQueue;
    waiting.push(turn);
  }
  return {
    held,
    waiting,
    async end(): Promise<void> {
      stopWaiting.abort();
      const turns = await Promise.allSettled(waiting);
      for (const t of turns) if (t.status === 'fulfilled') await t.value.release();
      await held.release();
      await Promise.all(locks.map((lock) => lock.close()));
    },
  };
}

/** A wrapper of its own on etcd (tests/lock/etcd-contender.ts): holds board-a once it gets it, as `runner`. */
function etcdContender(settings: EtcdSettings, runner: string): Contender {
  const script = join(repoRoot, 'tests/lock/etcd-contender.ts');
  const args = ['--import', 'tsx', script, '--endpoints', settings.endpoints.join(','), '--prefix', settings.prefix, '--name', runner, '--lease-s', '10'];
  return new Contender(spawnGroup(process.execPath, args, { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] }));
}

describe('make status: boards that lock on etcd', { skip: etcdMissing() }, () => {
  let etcd: TestEtcd;
  let n = 0;
  before(async () => {
    etcd = await TestEtcd.start();
  });
  after(async () => {
    killChildren();
    await etcd?.destroy();
  });
  const where = () => `etcd http://${etcd.endpoint} under /st`;

  it('shows the holder and the queue in order, as for a lock directory; the boards line names etcd', async () => {
    const settings = etcdSettings(etcd.endpoint, `/st${n++}`);
    const board = await etcdBoard(settings, [
      { runner: `${P}runner-b1`, runId: '1' },
      { runner: `${P}runner-b2`, runId: '2' },
      { runner: 'lab-globex-runner-g1', runId: '3', repository: 'globex/os' },
    ]);
    try {
      const view = await readStatus([{ config: etcdConfig(settings), github: fakeGitHub([]).github }], fakeHost().host);
      const b = view.boards[0]!;
      assert.equal(view.boards.length, 1);
      assert.equal(b.holder?.runner, `${P}runner-b1`);
      assert.deepEqual(
        b.queue.map((t) => [t.runner, t.run_id]),
        [
          [`${P}runner-b2`, '2'],
          ['lab-globex-runner-g1', '3'],
        ],
      );
      const tickets = b.queue.map((t) => BigInt(t.ticket));
      assert.ok(BigInt(board.held.ticket.name) < tickets[0]! && tickets[0]! < tickets[1]!, 'tickets are create revisions, in queue order');
      assert.equal(b.lock_dir, null);
      assert.deepEqual(b.etcd, { endpoints: [`http://${etcd.endpoint}`], prefix: settings.prefix });
      assert.deepEqual(b.runners, [`${P}runner-b1`, `${P}runner-b2`]);
      assert.deepEqual(view.notes, []);
      const text = renderStatus(view, { width: 100 });
      assert.match(text, new RegExp(`^boards \\(${where().replaceAll('.', '\\.')}\\d+\\)$`, 'm'));
      assert.match(text, /^board-a +held +runner-b1 +acme\/fw +job 1 +\d+s$/m);
      assert.match(text, /^ +1\. +runner-b2 +acme\/fw +job 2 +waits \d+s$/m);
      assert.match(text, /^ +2\. +lab-globex-runner-g1 +globex\/os +job 3 +waits \d+s$/m);
    } finally {
      await board.end();
    }
  });

  it('two env files on one etcd cluster and prefix: its boards once, with the runners of both', async () => {
    const settings = etcdSettings(etcd.endpoint, `/st${n++}`);
    const board = await etcdBoard(settings, [{ runner: `${P}runner-b1`, runId: '1' }]);
    const G = 'h-globex-';
    const globex = etcdConfig(settings, {
      prefix: G,
      scope: { org: 'globex' },
      lockHostPath: '/another/locks',
      boards: [{ name: 'g1', service: `${G}runner-g1`, resourceId: 'board-a', labels: [], hardware: {} }],
    } as unknown as Partial<Config>);
    const host = fakeHost();
    host.host.listContainers = (c) => Promise.resolve({ containers: c.prefix === G ? [{ ...boardContainer('x'), name: `${G}runner-g1` }] : host.containers });
    try {
      const view = await readStatus(
        [
          { config: etcdConfig(settings), github: fakeGitHub([]).github },
          { config: globex, github: fakeGitHub([]).github },
        ],
        host.host,
      );
      assert.equal(view.boards.length, 1);
      assert.deepEqual(view.boards[0]!.runners, [`${P}runner-b1`, `${P}runner-b2`, `${G}runner-g1`]);
      assert.equal(view.boards[0]!.holder?.run_id, '1');
    } finally {
      await board.end();
    }
  });

  it('values from etcd reach the terminal plain: no escape sequence, no control character, no "::"; JSON escapes them', async () => {
    const settings = etcdSettings(etcd.endpoint, `/st${n++}`);
    const client = await etcdClient(settings);
    try {
      const hostile = {
        runner: '\u001b]0;pwned\u0007evil',
        repository: 'acme/fw\u202e',
        job: '::error::x\u001b[31mred\r\n::set-output',
        runId: '9',
        attempt: '1',
      };
      await client.put(`${settings.prefix}/board-a/queue/1`).value(JSON.stringify(hostile)).exec();
      await client.put(`${settings.prefix}/board-a/queue/2\u001b[2J`).value('{}').exec();
      const view = await readStatus([{ config: etcdConfig(settings), github: fakeGitHub([]).github }], fakeHost().host);
      assert.equal(view.boards[0]?.holder?.job, hostile.job, 'the view keeps the recorded value');
      const text = renderStatus(view);
      assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
      assert.doesNotMatch(text, /::/);
      assert.match(text, /^board-a +held +evil +acme\/fw +:error:xred:set-output/m);
      assert.match(text, /! board-a: .*not a queue key: skipped/);
      assert.match(statusJsonLine(view), /^[\x20-\x7e]+$/);
    } finally {
      client.close();
    }
  });

  it("--watch: etcd's watch brings a holder and a handoff within a second, with no poll for a minute", async () => {
    const settings = etcdSettings(etcd.endpoint, `/st${n++}`);
    const views: Array<{ at: number; view: StatusView }> = [];
    const stop = new AbortController();
    const watching = watchStatus(
      [{ config: etcdConfig(settings), github: fakeGitHub([]).github }],
      { signal: stop.signal, rereadMs: 60_000, etcdPollMs: 60_000, onView: (view) => views.push({ at: Date.now(), view }) },
      fakeHost().host,
    );
    const seen = (what: string, check: (view: StatusView) => boolean, from: number) =>
      waitFor(what, () => views.slice(from).find((v) => check(v.view)), { timeoutMs: 5000, intervalMs: 10 });
    let board: Awaited<ReturnType<typeof etcdBoard>> | undefined;
    try {
      await seen('the first view, board-a free', (v) => v.boards[0]?.resource === 'board-a' && v.boards[0].holder === null, 0);
      let from = views.length;
      board = await etcdBoard(settings, [
        { runner: `${P}runner-b1`, runId: '1' },
        { runner: `${P}runner-b2`, runId: '2' },
      ]);
      const queued = Date.now();
      const shown = await seen('holder 1 and 2 waiting', (v) => v.boards[0]?.holder?.run_id === '1' && v.boards[0].queue[0]?.run_id === '2', from);
      assert.ok(shown.at - queued < 1000, `shown ${shown.at - queued} ms after 2 queued`);
      from = views.length;
      await board.held.release();
      const next = await board.waiting[0]!;
      const handoff = await seen('holder 2', (v) => v.boards[0]?.holder?.run_id === '2' && v.boards[0].queue.length === 0, from);
      console.log(`# status view on etcd: handoff shown ${handoff.at - next.since.getTime()} ms after it acquired`);
      assert.ok(handoff.at - next.since.getTime() < 1000, `handoff shown ${handoff.at - next.since.getTime()} ms after it acquired`);
    } finally {
      stop.abort();
      await watching;
      await board?.end();
    }
  });

  it('--watch with etcd stopped: one line naming the endpoint, the board "?", the view goes on; back, the holder shows again', async () => {
    const settings = etcdSettings(etcd.endpoint, `/st${n++}`);
    // Wrappers of their own (processes): an etcd client that saw etcd go keeps retrying for a while after its close.
    const holder = etcdContender(settings, `${P}runner-b1`);
    await holder.waitFor('acquired');
    const waiter = etcdContender(settings, `${P}runner-b2`);
    await waiter.waitFor('queued');
    const views: Array<{ at: number; view: StatusView }> = [];
    const stop = new AbortController();
    const watching = watchStatus(
      [{ config: etcdConfig(settings), github: fakeGitHub([]).github }],
      { signal: stop.signal, rereadMs: 60_000, etcdPollMs: 200, tickMs: 100, onView: (view) => views.push({ at: Date.now(), view }) },
      fakeHost().host,
    );
    const seen = (what: string, check: (view: StatusView) => boolean, from: number, timeoutMs = 5000) =>
      waitFor(what, () => views.slice(from).find((v) => check(v.view)), { timeoutMs, intervalMs: 20 });
    const holderAndQueue = (v: StatusView) => [v.boards[0]?.holder?.runner, ...(v.boards[0]?.queue.map((t) => t.runner) ?? [])].join(' ');
    try {
      await seen('b1 holding, b2 waiting', (v) => holderAndQueue(v) === `${P}runner-b1 ${P}runner-b2`, 0);
      let from = views.length;
      await etcd.stop();
      const down = await seen('the note', (v) => v.notes.length > 0, from);
      assert.equal(down.view.notes.length, 1);
      assert.match(down.view.notes[0]!, new RegExp(`^${where().replaceAll('.', '\\.')}\\d+ \\(lease 10 s\\) cannot be read: `));
      assert.deepEqual([down.view.boards[0]?.holder, down.view.boards[0]?.unknown], [null, true]);
      const text = renderStatus(down.view, { width: 120 });
      assert.match(text, /^board-a +\?$/m);
      assert.equal(text.split('\n').filter((line) => line.startsWith('! ')).length, 1, 'one line says why');
      from = views.length;
      await new Promise((r) => setTimeout(r, 1000));
      assert.ok(views.length - from >= 5, `${views.length - from} views in the second etcd was down: the view goes on`);
      from = views.length;
      await etcd.resume();
      await seen('b1 holding, b2 waiting again, no note', (v) => holderAndQueue(v) === `${P}runner-b1 ${P}runner-b2` && v.notes.length === 0, from, 10_000);
    } finally {
      await etcd.resume();
      const closing = Date.now();
      stop.abort();
      await watching;
      assert.ok(Date.now() - closing < 2000, `the watch took ${Date.now() - closing} ms to end`);
      killChildren();
    }
  });

  it("etcd unreachable from the start: a snapshot says so in one line, and never shows etcd's password", async () => {
    const settings = etcdSettings('127.0.0.1:1', '/st', { RUNNER_LOCK_ETCD_USER: 'fleet', RUNNER_LOCK_ETCD_PASSWORD: 'hunter2-secret' });
    const view = await readStatus([{ config: etcdConfig(settings), github: fakeGitHub([]).github }], fakeHost().host);
    assert.equal(view.notes.length, 1);
    assert.match(view.notes[0]!, /^etcd http:\/\/127\.0\.0\.1:1 under \/st \(lease 10 s, user fleet\) cannot be read: /);
    assert.match(renderStatus(view), /^board-a +\?$/m);
    assert.doesNotMatch(statusJsonLine(view), /hunter2/);
    assert.doesNotMatch(renderStatus(view), /hunter2/);
  });
});
