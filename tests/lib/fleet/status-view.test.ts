// make status, the pure half: the view assembled from containers, GitHub's
// runners, lock states and the time; its text in 80 columns; what counts as a
// change; the terminal frame.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FleetContainer } from '../../../lib/docker/containers.ts';
import { jsonLinesOutput, screenFrame } from '../../../lib/fleet/live-status.ts';
import {
  assembleStatus,
  fitTable,
  formatDuration,
  renderStatus,
  statusChangeKey,
  statusJsonLine,
  type FleetInput,
  type StatusInput,
} from '../../../lib/fleet/status-view.ts';
import type { Runner } from '../../../lib/github/runner-api.ts';
import type { ResourceState } from '../../../lock/inspect.ts';

const P = 'lab-acme-';
const NOW = new Date('2026-12-04T10:10:00.000Z');

const container = (name: string, extra: Partial<FleetContainer> = {}): FleetContainer => ({
  name: `${P}${name}`,
  service: `${P}${name}`,
  state: 'running',
  kind: 'generic',
  labels: ['intel'],
  image: 'gh-runner-fleet:h',
  createdAt: '2026-12-04T10:00:00.123456789Z',
  ephemeral: false,
  ...extra,
});
const board = (name: string, extra: Partial<FleetContainer> = {}): FleetContainer =>
  container(`runner-${name}`, { kind: 'board', board: name, resourceId: 'board-a', labels: ['board-a'], ...extra });
const runner = (name: string, extra: Partial<Runner> = {}): Runner => ({
  id: name.length,
  name: `${P}${name}`,
  os: 'Linux',
  status: 'online',
  busy: false,
  labels: ['self-hosted'],
  ...extra,
});

function lockState(extra: Partial<ResourceState> = {}): ResourceState {
  return {
    resource: 'board-a',
    holder: {
      runner: `${P}runner-b1`,
      runId: '17',
      attempt: '1',
      repository: 'acme/firmware',
      job: 'flash',
      ticket: '000000000003',
      since: '2026-12-04T10:09:48.500Z',
      staleMs: 8000,
      heartbeatAgeMs: 900,
      alive: true,
    },
    queue: [
      {
        name: '000000000004',
        runner: 'lab-globex-runner-a2',
        runId: '9',
        attempt: '2',
        repository: 'globex/os',
        job: 'boot test',
        seq: 4,
        requestedAt: '2026-12-04T10:08:55.000Z',
        staleMs: 8000,
        heartbeatAgeMs: 500,
        alive: true,
      },
    ],
    warnings: [],
    unreadable: 0,
    ...extra,
  };
}

function fleet(extra: Partial<FleetInput> = {}): FleetInput {
  return {
    scope: 'acme',
    prefix: P,
    boards: [
      { service: `${P}runner-b1`, resourceId: 'board-a' },
      { service: `${P}runner-b2`, resourceId: 'board-a' },
    ],
    lockDir: '/tmp/github-runner-locks',
    containers: [container('runner-1'), container('runner-2', { state: 'exited', createdAt: '2026-12-02T09:00:00Z' }), board('b1'), board('b2')],
    runners: [
      runner('runner-1', { busy: true }),
      runner('runner-2', { status: 'offline' }),
      runner('runner-b1', { busy: true }),
      runner('runner-b2'),
      runner('runner-9'),
    ],
    githubAt: Date.parse('2026-12-04T10:09:56Z'),
    jobs: new Map([
      [`${P}runner-1`, 'build (ubuntu)'],
      [`${P}runner-b1`, 'flash'],
      [`${P}runner-2`, 'stale'],
    ]),
    ...extra,
  };
}

const input = (extra: Partial<StatusInput> = {}): StatusInput => ({
  fleets: [fleet()],
  locks: [{ dir: '/tmp/github-runner-locks', resources: [lockState()] }],
  ...extra,
});

describe('assembleStatus', () => {
  const view = assembleStatus(input(), NOW);

  it('joins containers with GitHub: state, online/busy, job from the output, age from createdAt; orphans flagged', () => {
    const byName = Object.fromEntries(view.fleets[0]!.runners.map((r) => [r.name.slice(P.length), r]));
    assert.deepEqual(Object.keys(byName), ['runner-1', 'runner-2', 'runner-9', 'runner-b1', 'runner-b2']);
    assert.deepEqual(byName['runner-1'], {
      name: `${P}runner-1`,
      kind: 'generic',
      board: null,
      resource: null,
      container: 'running',
      github: 'online',
      busy: true,
      job: 'build (ubuntu)',
      created_at: '2026-12-04T10:00:00.123456789Z',
      age_s: 599,
      note: null,
    });
    assert.equal(byName['runner-2']?.job, null, 'an exited container runs no job, whatever was recorded');
    assert.equal(byName['runner-2']?.age_s, 2 * 86_400 + 3600 + 600);
    assert.equal(byName['runner-9']?.note, 'orphan');
    assert.equal(byName['runner-b1']?.resource, 'board-a');
    assert.equal(view.fleets[0]!.github_checked_at, '2026-12-04T10:09:56.000Z');
  });

  it('each board: its runners here, the holder with how long it has held it, the queue in order with each wait so far', () => {
    assert.equal(view.boards.length, 1);
    const b = view.boards[0]!;
    assert.deepEqual(b.runners, [`${P}runner-b1`, `${P}runner-b2`]);
    assert.deepEqual(b.holder, {
      runner: `${P}runner-b1`,
      repository: 'acme/firmware',
      job: 'flash',
      run_id: '17',
      attempt: '1',
      alive: true,
      since: '2026-12-04T10:09:48.500Z',
      held_s: 11,
    });
    assert.deepEqual(
      b.queue.map((t) => [t.runner, t.ticket, t.wait_s, t.alive]),
      [['lab-globex-runner-a2', '000000000004', 65, true]],
    );
  });

  it('a board the fleet drives is shown free before anyone locked it; other resources of the lock directory are shown too', () => {
    const v = assembleStatus(
      input({ locks: [{ dir: '/tmp/github-runner-locks', resources: [lockState({ resource: 'power-switch', holder: undefined, queue: [] })] }] }),
      NOW,
    );
    assert.deepEqual(
      v.boards.map((b) => [b.resource, b.holder, b.runners.length]),
      [
        ['board-a', null, 2],
        ['power-switch', null, 0],
      ],
    );
  });

  it('before GitHub answered: no container is "unregistered"; a failed poll is a note; Docker missing is a note', () => {
    const v = assembleStatus(
      input({
        fleets: [
          fleet({
            runners: undefined,
            githubAt: undefined,
            githubError: 'GitHub could not be reached',
            containers: undefined,
            dockerWarning: 'Docker does not answer',
          }),
        ],
      }),
      NOW,
    );
    assert.deepEqual(v.fleets[0]!.runners, []);
    assert.deepEqual(v.fleets[0]!.notes, ['Docker does not answer', 'GitHub: GitHub could not be reached']);
    const w = assembleStatus(input({ fleets: [fleet({ runners: undefined })] }), NOW);
    assert.ok(w.fleets[0]!.runners.every((r) => r.note === null && r.github === null));
  });

  it('several fleets (--env-file repeated): each with its runners; a board they share lists the runners of both, once', () => {
    const G = 'lab-globex-';
    const globex = fleet({
      scope: 'globex',
      prefix: G,
      boards: [{ service: `${G}runner-a2`, resourceId: 'board-a' }],
      containers: [{ ...board('x'), name: `${G}runner-a2`, service: `${G}runner-a2` }],
      runners: [],
      jobs: new Map(),
    });
    const v = assembleStatus(input({ fleets: [fleet(), globex] }), NOW);
    assert.deepEqual(
      v.fleets.map((f) => [f.scope, f.runners.length]),
      [
        ['acme', 5],
        ['globex', 1],
      ],
    );
    assert.equal(v.boards.length, 1);
    assert.deepEqual(v.boards[0]!.runners, [`${P}runner-b1`, `${P}runner-b2`, `${G}runner-a2`]);
    const text = renderStatus(v);
    assert.match(text, /^globex \(lab-globex-\): 1 runner, 1 running, 0 online, 0 busy$/m);
    // The foreign holder's name loses its own fleet's prefix too.
    assert.match(text, /^ +1\. +runner-a2 +globex\/os/m);
  });

  it("lock entries that are not the protocol's, unreadable records and an unreadable directory are notes", () => {
    const v = assembleStatus(
      input({
        locks: [
          { dir: '/l', resources: [lockState({ warnings: ['board-a.queue/x: not a ticket: skipped'], unreadable: 2 })] },
          { dir: '/m', resources: undefined, error: 'lock directory /m does not exist yet' },
        ],
      }),
      NOW,
    );
    assert.deepEqual(v.boards.find((b) => b.lock_dir === '/l')?.notes, [
      'board-a.queue/x: not a ticket: skipped',
      "2 record(s) not readable by this user (they are root's, mode 0600): run as root",
    ]);
    assert.deepEqual(v.notes, ['lock directory /m does not exist yet']);
  });
});

describe('boards that lock on etcd', () => {
  const place = { endpoints: ['http://10.0.0.5:2379', 'http://10.0.0.6:2379'], prefix: '/gh-runner-fleet/locks' };
  const G = 'lab-globex-';
  const globex = fleet({
    scope: 'globex',
    prefix: G,
    boards: [{ service: `${G}runner-e1`, resourceId: 'board-e' }],
    containers: [{ ...board('e1', { resourceId: 'board-e' }), name: `${G}runner-e1`, service: `${G}runner-e1` }],
    runners: [],
    jobs: new Map(),
    etcd: place,
  });

  it("a fleet on etcd: its boards under etcd's place (no lock directory), beside a directory fleet's", () => {
    const v = assembleStatus(
      input({
        fleets: [fleet(), globex],
        locks: [
          { dir: '/tmp/github-runner-locks', resources: [lockState()] },
          { etcd: place, resources: [lockState({ resource: 'board-e' })] },
        ],
      }),
      NOW,
    );
    const e = v.boards.find((b) => b.resource === 'board-e');
    assert.deepEqual([e?.lock_dir, e?.etcd, e?.runners, e?.holder?.run_id, e?.queue.length], [null, place, [`${G}runner-e1`], '17', 1]);
    assert.equal(v.boards.find((b) => b.resource === 'board-a')?.lock_dir, '/tmp/github-runner-locks');
    assert.equal(v.boards.find((b) => b.resource === 'board-a')?.etcd, undefined);
    const text = renderStatus(v, { width: 160 });
    assert.match(
      text,
      /^boards \(lock directory \/tmp\/github-runner-locks, etcd http:\/\/10\.0\.0\.5:2379,http:\/\/10\.0\.0\.6:2379 under \/gh-runner-fleet\/locks\)$/m,
    );
    assert.match(text, /^board-e +held +runner-b1 +acme\/firmware +flash +11s$/m);
  });

  it('a lock that could not be read: its boards "?" (not "free"), one note saying why', () => {
    const why = 'etcd http://10.0.0.5:2379 under /gh-runner-fleet/locks (lease 10 s) cannot be read: 14 UNAVAILABLE: No connection established';
    const v = assembleStatus(input({ fleets: [globex], locks: [{ etcd: place, resources: undefined, error: why }] }), NOW);
    assert.deepEqual(
      v.boards.map((b) => [b.resource, b.holder, b.unknown]),
      [['board-e', null, true]],
    );
    assert.deepEqual(v.notes, [why]);
    const text = renderStatus(v, { width: 200 });
    assert.match(text, /^board-e +\?$/m);
    assert.equal(text.split('\n').filter((l) => l.startsWith('! ')).length, 1);
    assert.equal(assembleStatus(input(), NOW).boards[0]?.unknown, undefined, 'a board read is not unknown');
  });
});

describe('what counts as a change', () => {
  it('the clock alone is no change; a handoff, a job, a state are', () => {
    const a = assembleStatus(input(), NOW);
    const later = assembleStatus(input(), new Date(NOW.getTime() + 7000));
    assert.equal(statusChangeKey(later), statusChangeKey(a));
    assert.equal(
      statusChangeKey(assembleStatus(input({ fleets: [fleet({ githubAt: NOW.getTime() })] }), NOW)),
      statusChangeKey(a),
      'a GitHub poll that found the same',
    );
    const handoff = lockState();
    handoff.holder = { ...handoff.holder!, runner: 'lab-globex-runner-a2', runId: '9', ticket: '000000000004' };
    handoff.queue = [];
    assert.notEqual(statusChangeKey(assembleStatus(input({ locks: [{ dir: '/tmp/github-runner-locks', resources: [handoff] }] }), NOW)), statusChangeKey(a));
    assert.notEqual(statusChangeKey(assembleStatus(input({ fleets: [fleet({ jobs: new Map() })] }), NOW)), statusChangeKey(a));
    const dead = lockState();
    dead.holder = { ...dead.holder!, alive: false };
    assert.notEqual(statusChangeKey(assembleStatus(input({ locks: [{ dir: '/tmp/github-runner-locks', resources: [dead] }] }), NOW)), statusChangeKey(a));
  });

  it('--watch --json: one line per change, none for the clock; every line printable ASCII', () => {
    const lines: string[] = [];
    const out = jsonLinesOutput((line) => lines.push(line));
    out.show(assembleStatus(input(), NOW));
    out.show(assembleStatus(input(), new Date(NOW.getTime() + 1000)));
    out.show(assembleStatus(input({ fleets: [fleet({ jobs: new Map() })] }), new Date(NOW.getTime() + 2000)));
    assert.equal(lines.length, 2);
    const hostile = lockState();
    hostile.holder = { ...hostile.holder!, job: 'x\u001b[2J\u202e::set-output name=x::y\n' };
    const line = statusJsonLine(assembleStatus(input({ locks: [{ dir: '/l', resources: [hostile] }] }), NOW));
    assert.match(line, /^[\x20-\x7e]+$/);
    assert.equal(
      (JSON.parse(line) as { boards: Array<{ holder: { job: string } }> }).boards[0]!.holder.job,
      hostile.holder.job,
      'JSON keeps the value as recorded',
    );
  });
});

describe('renderStatus', () => {
  it('80 columns: fleet line, runner table without the prefix, boards with holder and queue, nothing wider', () => {
    const text = renderStatus(assembleStatus(input(), NOW), { live: true });
    for (const line of text.split('\n')) assert.ok(line.length <= 80, `${line.length}: ${line}`);
    assert.match(text, /^fleet status at 2026-12-04 10:10:00 UTC, GitHub read 4s ago - Ctrl-C quits$/m);
    assert.match(text, /^acme \(lab-acme-\): 5 runners, 3 running, 4 online, 2 busy$/m);
    assert.match(text, /^RUNNER +CONTAINER +AGE +GITHUB +BUSY +JOB +NOTE$/m);
    assert.match(text, /^runner-1 +running +9m +online +busy +build \(ubuntu\)$/m);
    assert.match(text, /^runner-2 +exited +2d +offline +idle +-$/m);
    assert.match(text, /^runner-9 +- +- +online +idle +- +orphan$/m);
    assert.match(text, /^board-a +held +runner-b1 +acme\/firmware +flash +11s$/m);
    assert.match(text, /^ +1\. +lab-globex-runner-a2 +globex\/os +boot test +waits 1m05s$/m);
  });

  it('long names and jobs are cut with … to fit; a narrower terminal cuts more', () => {
    const long = fleet({ jobs: new Map([[`${P}runner-1`, 'a very long job name that goes on and on: build, test, package, sign, upload']]) });
    for (const width of [80, 60]) {
      const text = renderStatus(assembleStatus(input({ fleets: [long] }), NOW), { width });
      for (const line of text.split('\n')) assert.ok(line.length <= width, `${width}: ${line}`);
      assert.match(text, /^runner-1 .*a very lo[^\n]*…/m);
    }
  });

  it('a dead holder and a record not written yet', () => {
    const s = lockState();
    s.holder = { ...s.holder!, runner: '', repository: '', job: '', runId: '', since: '', alive: false };
    const text = renderStatus(assembleStatus(input({ locks: [{ dir: '/l', resources: [s] }] }), NOW));
    assert.match(text, /^board-a +held +\? +\? +- +\? \(no heartbeat\)$/m);
  });

  it('lock-record text reaches the terminal plain: no escape sequence, no control character, no "::"', () => {
    const s = lockState();
    s.holder = { ...s.holder!, runner: '\u001b]0;pwned\u0007evil', job: '::error::x\u001b[31mred\r' };
    s.warnings = ['board-a.queue/\u001b[2Jx: bad'];
    const text = renderStatus(assembleStatus(input({ locks: [{ dir: '/l', resources: [s] }] }), NOW));
    assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    assert.doesNotMatch(text, /::/);
    assert.match(text, /evil/);
  });

  it('no fleet runners, no boards: says so', () => {
    const text = renderStatus(assembleStatus({ fleets: [fleet({ containers: [], runners: [], boards: [] })], locks: [] }, NOW));
    assert.match(text, /no runners of this fleet, neither on GitHub nor here/);
    assert.doesNotMatch(text, /boards/);
  });
});

describe('helpers', () => {
  it('formatDuration', () => {
    assert.deepEqual([0, 59, 65, 3599, 3600, 7265, null].map(formatDuration), ['0s', '59s', '1m05s', '59m59s', '1h00m', '2h01m', '?']);
  });

  it('fitTable shrinks the named columns first, then cuts', () => {
    const lines = fitTable(['A', 'JOB'], [['x'.repeat(10), 'y'.repeat(50)]], 30, [1]);
    assert.deepEqual(
      lines.map((l) => l.length),
      [15, 30],
    );
    assert.match(lines[1]!, /y…$/);
  });

  it('screenFrame: home, each line erased to its end, erase below; clear only when asked; cut to the terminal', () => {
    assert.equal(screenFrame('a\nb', { rows: 0, clear: false }), '\u001b[Ha\u001b[K\nb\u001b[K\n\u001b[J');
    assert.ok(screenFrame('a', { rows: 24, clear: true }).startsWith('\u001b[2J\u001b[H'));
    const tall = screenFrame(Array.from({ length: 30 }, (_, i) => `l${i}`).join('\n'), { rows: 10, clear: false });
    assert.equal(tall.split('\n').length - 1, 9);
    assert.match(tall, /… 22 more line\(s\)/);
  });
});
