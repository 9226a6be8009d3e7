// locks.log read back as history (lib/fleet/lock-history.ts): the line
// parser (untrusted input), turns put back together whichever way they ended,
// percentiles, SINCE, both files of a rotated log, and the text for a
// terminal made plain.
import assert from 'node:assert/strict';
import { link, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  formatHistory,
  historySvg,
  parseLogLine,
  parseSince,
  readHistory,
  Samples,
  TurnFolder,
  UNKNOWN_ORG,
  type Turn,
} from '../../../lib/fleet/lock-history.ts';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const iso = (ms: number): string => new Date(T0 + ms).toISOString();

interface JobSpec {
  org?: string;
  runId: string;
  runner?: string;
  job?: string;
  resource?: string;
  ticket: number;
}

/** The lines the lock writes for one turn (lock/lock-log.ts), at times relative to T0. */
function turnLines(j: JobSpec, at: { queued?: number; acquired?: number; released?: number; left?: number }, how = 'completed'): string[] {
  const who = {
    resource: j.resource ?? 'board-a',
    org: j.org ?? 'acme',
    repository: `${j.org ?? 'acme'}/fw`,
    runId: j.runId,
    attempt: '1',
    job: j.job ?? `job-${j.runId}`,
    runner: j.runner ?? `${j.org ?? 'acme'}-runner`,
    ticket: String(j.ticket).padStart(12, '0'),
    seq: j.ticket,
  };
  const out: string[] = [];
  const q = at.queued ?? at.acquired ?? 0;
  if (at.queued !== undefined) out.push(JSON.stringify({ time: iso(at.queued), event: 'queued', ...who }));
  if (at.acquired !== undefined) out.push(JSON.stringify({ time: iso(at.acquired), event: 'acquired', ...who, waitMs: at.acquired - q }));
  if (at.released !== undefined)
    out.push(
      JSON.stringify({ time: iso(at.released), event: 'released', ...who, waitMs: (at.acquired ?? 0) - q, holdMs: at.released - (at.acquired ?? 0), how }),
    );
  if (at.left !== undefined) out.push(JSON.stringify({ time: iso(at.left), event: 'left-queue', ...who, waitMs: at.left - q, how, reason: 'x' }));
  return out;
}

function fold(lines: string[]): { ended: Turn[]; open: Turn[]; handoffs: number; folder: TurnFolder } {
  const ended: Turn[] = [];
  let handoffs = 0;
  const folder = new TurnFolder({ ended: (t) => ended.push(t), acquired: (_t, h) => (handoffs += Number(h)) });
  for (const l of lines) folder.add(parseLogLine(l));
  return { ended, open: folder.finish(), handoffs, folder };
}

describe('parseLogLine: every line is untrusted', () => {
  test('a turn line and another event', () => {
    const [queued] = turnLines({ runId: '7', ticket: 3 }, { queued: 0 });
    const parsed = parseLogLine(queued!);
    assert.ok('turn' in parsed);
    assert.deepEqual(parsed.turn, {
      time: T0,
      event: 'queued',
      resource: 'board-a',
      org: 'acme',
      repository: 'acme/fw',
      runId: '7',
      attempt: '1',
      job: 'job-7',
      runner: 'acme-runner',
      ticket: '000000000003',
    });
    const other = parseLogLine(
      JSON.stringify({ time: iso(0), event: 'dead-ticket-removed', resource: 'board-a', ticket: '000000000003', unchangedForMs: 8100 }),
    );
    assert.deepEqual(other, { other: { time: T0, event: 'dead-ticket-removed', resource: 'board-a', ticket: '000000000003', unchangedForMs: 8100 } });
    const older = parseLogLine(JSON.stringify({ time: iso(0), event: 'queued', resource: 'board-a', runner: 'r', ticket: '000000000001' }));
    assert.ok('turn' in older && older.turn.org === UNKNOWN_ORG, 'a line without org (an older wrapper)');
  });

  test('what is not a line of ours is bad, with a reason', () => {
    const ok = { time: iso(0), event: 'acquired', resource: 'board-a', runner: 'r', ticket: '000000000001', waitMs: 5 };
    const cases: Array<[string, RegExp]> = [
      ['garbage', /not JSON/],
      ['[1,2]', /not a JSON object/],
      ['null', /not a JSON object/],
      [JSON.stringify({ ...ok, time: 'yesterday' }), /no valid time/],
      [JSON.stringify({ ...ok, event: 5 }), /no valid event/],
      [JSON.stringify({ ...ok, resource: '../etc' }), /without a valid resource/],
      [JSON.stringify({ ...ok, ticket: '../x' }), /without a valid ticket/],
      [JSON.stringify({ ...ok, ticket: '0' }), /without a valid ticket/],
      [JSON.stringify({ ...ok, ticket: '00001' }), /without a valid ticket/],
      [JSON.stringify({ ...ok, runner: '' }), /without a runner/],
      [JSON.stringify({ ...ok, waitMs: -1 }), /without a valid waitMs/],
      [JSON.stringify({ ...ok, waitMs: 'NaN' }), /without a valid waitMs/],
      [JSON.stringify({ ...ok, event: 'released', holdMs: 1e300 }), /without a valid holdMs/],
    ];
    for (const [line, reason] of cases) {
      const parsed = parseLogLine(line);
      assert.ok('bad' in parsed, line);
      assert.match(parsed.bad, reason, line);
    }
    // the etcd lock's ticket is its key's create revision
    const etcdTurn = parseLogLine(JSON.stringify({ ...ok, ticket: '4711' }));
    assert.ok('turn' in etcdTurn && etcdTurn.turn.ticket === '4711');
  });

  test('long strings are cut, a made-up how is "unknown"', () => {
    const line = JSON.stringify({
      time: iso(0),
      event: 'released',
      resource: 'board-a',
      runner: 'r'.repeat(10_000),
      job: 'j'.repeat(10_000),
      ticket: '000000000001',
      waitMs: 0,
      holdMs: 1,
      how: 'Completed; rm -rf',
    });
    const parsed = parseLogLine(line);
    assert.ok('turn' in parsed);
    assert.equal(parsed.turn.runner.length, 128);
    assert.equal(parsed.turn.job.length, 200);
    assert.equal(parsed.turn.how, 'unknown');
  });
});

describe('TurnFolder: turns put back together', () => {
  test('queued → acquired → released, a hand-over, and a job that left the queue', () => {
    const lines = [
      ...turnLines({ runId: '1', ticket: 1 }, { queued: 0, acquired: 10 }),
      ...turnLines({ runId: '2', ticket: 2, org: 'globex' }, { queued: 500 }),
      ...turnLines({ runId: '3', ticket: 3 }, { queued: 600 }),
      ...turnLines({ runId: '1', ticket: 1 }, { released: 2010 }).map((l) => l.replace('"holdMs":2010', '"holdMs":2000')),
      ...turnLines({ runId: '3', ticket: 3 }, { queued: 600, left: 2500 }, 'cancelled').slice(1),
      ...turnLines({ runId: '2', ticket: 2, org: 'globex' }, { queued: 500, acquired: 2020, released: 3020 }).slice(1),
    ];
    const { ended, open, handoffs } = fold(lines);
    assert.deepEqual(open, []);
    assert.deepEqual(
      ended.map((t) => [t.runId, t.how, t.acquiredAt === undefined ? null : t.acquiredAt - T0, t.waitMs, t.holdMs ?? null]),
      [
        ['1', 'completed', 10, 10, 2000],
        ['3', 'cancelled', null, 1900, null],
        ['2', 'completed', 2020, 1520, 1000],
      ],
    );
    assert.equal(handoffs, 1, 'run 2 waited while run 1 held the board');
  });

  test('a ticket lost and taken again is the same turn', () => {
    const first = turnLines({ runId: '1', ticket: 1 }, { queued: 0 });
    const again = turnLines({ runId: '1', ticket: 5 }, { queued: 3000 }).map((l) => l.replace('"event":"queued"', '"event":"queued","requeued":true'));
    const rest = turnLines({ runId: '1', ticket: 5 }, { queued: 0, acquired: 4000, released: 5000 }).slice(1);
    const { ended } = fold([...first, ...again, ...rest]);
    assert.equal(ended.length, 1);
    assert.equal(ended[0]!.waitMs, 4000);
    assert.equal(ended[0]!.ticket, '000000000005');
  });

  test('a holder killed: ended by the dead-ticket removal, at the time its heartbeat stopped', () => {
    const lines = [
      ...turnLines({ runId: '1', ticket: 1 }, { queued: 0, acquired: 0 }),
      ...turnLines({ runId: '2', ticket: 2 }, { queued: 100 }),
      JSON.stringify({
        time: iso(20_000),
        event: 'dead-ticket-removed',
        resource: 'board-a',
        ticket: '000000000001',
        runner: 'acme-runner',
        runId: '1',
        unchangedForMs: 8000,
      }),
      ...turnLines({ runId: '2', ticket: 2 }, { queued: 100, acquired: 20_050, released: 21_000 }).slice(1),
    ];
    const { ended } = fold(lines);
    assert.deepEqual(
      ended.map((t) => [t.runId, t.how, t.inferred ?? false, t.holdMs]),
      [
        ['1', 'killed', true, 12_000],
        ['2', 'completed', false, 950],
      ],
    );
  });

  test('a holder whose board was taken: its own late line says how (lost), else it ended killed when the next job took it', () => {
    const lost = fold([
      ...turnLines({ runId: '1', ticket: 1 }, { queued: 0, acquired: 0 }),
      ...turnLines({ runId: '2', ticket: 2 }, { queued: 100, acquired: 5000 }),
      ...turnLines({ runId: '1', ticket: 1 }, { acquired: 0, released: 5800 }, 'lost').slice(1),
    ]);
    assert.deepEqual(
      lost.ended.map((t) => [t.runId, t.how]),
      [['1', 'lost']],
    );
    assert.deepEqual(
      lost.open.map((t) => t.runId),
      ['2'],
    );

    const killed = fold([
      ...turnLines({ runId: '1', ticket: 1 }, { queued: 0, acquired: 0 }),
      ...turnLines({ runId: '2', ticket: 2 }, { queued: 100, acquired: 5000, released: 6000 }),
    ]);
    assert.deepEqual(
      killed.ended.map((t) => [t.runId, t.how, t.holdMs]),
      [
        ['2', 'completed', 1000],
        ['1', 'killed', 5000],
      ],
    );
  });

  test('a turn whose first lines were rotated away starts from the line there is', () => {
    const [released] = turnLines({ runId: '1', ticket: 1 }, { queued: 0, acquired: 1000, released: 4000 }).slice(2);
    const { ended } = fold([released!]);
    assert.equal(ended.length, 1);
    assert.equal(ended[0]!.acquiredAt, T0 + 1000);
    assert.equal(ended[0]!.queuedAt, T0);
  });

  test('a forged flood of queued lines keeps at most 10000 open turns', () => {
    const folder = new TurnFolder({});
    for (let i = 0; i < 12_000; i++) folder.add(parseLogLine(turnLines({ runId: String(i), ticket: i + 1 }, { queued: i })[0]!));
    assert.equal(folder.finish().length, 10_000);
    assert.equal(folder.dropped, 2000);
  });
});

describe('Samples: percentiles', () => {
  test('nearest rank over 1..100, one value, none', () => {
    const s = new Samples();
    for (let v = 100; v >= 1; v--) s.add(v);
    assert.deepEqual([s.percentile(50), s.percentile(95), s.percentile(100), s.max, s.count, s.sum], [50, 95, 100, 100, 100, 5050]);
    const one = new Samples();
    one.add(7);
    assert.deepEqual([one.percentile(50), one.percentile(95)], [7, 7]);
    assert.equal(new Samples().percentile(95), 0);
  });

  test('beyond MAX_SAMPLES: a uniform sample, count and max exact', () => {
    const s = new Samples();
    for (let i = 1; i <= 300_000; i++) s.add(i);
    assert.equal(s.count, 300_000);
    assert.equal(s.max, 300_000);
    assert.ok(s.sampled);
    assert.ok(Math.abs(s.percentile(50) - 150_000) < 6000, String(s.percentile(50)));
  });
});

describe('SINCE', () => {
  const now = Date.parse('2026-12-08T12:00:00Z');
  test('7d, 12h, 30m and ISO dates', () => {
    assert.equal(parseSince('7d', now), now - 7 * 86_400_000);
    assert.equal(parseSince('12h', now), now - 12 * 3_600_000);
    assert.equal(parseSince('30m', now), now - 30 * 60_000);
    assert.equal(parseSince('2026-12-01', now), Date.parse('2026-12-01'));
    assert.equal(parseSince('2026-12-01T08:00:00Z', now), Date.parse('2026-12-01T08:00:00Z'));
    assert.equal(parseSince('2026-12-01T08:00:00+02:00', now), Date.parse('2026-12-01T06:00:00Z'));
  });
  test('anything else is not a time', () => {
    for (const bad of ['', '7', '7w', 'd7', '-7d', 'yesterday', '2026-13-45', '2026-12-01T25:00', '7d; rm -rf /'])
      assert.equal(parseSince(bad, now), undefined, bad);
  });
});

describe('readHistory: both files, in bounded lines', () => {
  const tempLockDir = (): Promise<string> => mkdtemp(join(tmpdir(), 'history-'));

  test('locks.log.1 then locks.log; bad and too-long lines skipped and counted; SINCE leaves out what ended before', async () => {
    const dir = await tempLockDir();
    await writeFile(join(dir, 'locks.log.1'), [...turnLines({ runId: '1', ticket: 1 }, { queued: 0, acquired: 0 }), 'not json', ''].join('\n'));
    await writeFile(
      join(dir, 'locks.log'),
      [
        ...turnLines({ runId: '1', ticket: 1 }, { acquired: 0, released: 60_000 }).slice(1),
        `{"pad":"${'x'.repeat(20_000)}"}`,
        ...turnLines({ runId: '2', ticket: 2, org: 'globex' }, { queued: 3_600_000, acquired: 3_600_500, released: 3_700_000 }),
        ...turnLines({ runId: '3', ticket: 3 }, { queued: 3_700_000, acquired: 3_700_000 }),
      ].join('\n'),
    );
    const until = T0 + 3_760_000;
    const { report } = await readHistory(dir, { until });
    assert.equal(report.lines, 10);
    assert.equal(report.bad_lines, 2);
    const a = report.resources[0]!;
    assert.equal(a.jobs, 3);
    assert.equal(a.open, 1);
    assert.deepEqual(a.results, { completed: 2, open: 1 });
    assert.equal(a.held_ms, 60_000 + 99_500 + 60_000);
    assert.deepEqual(
      a.orgs.map((o) => [o.org, o.jobs, o.held_ms]),
      [
        ['acme', 2, 120_000],
        ['globex', 1, 99_500],
      ],
    );
    assert.deepEqual(a.wait_ms, { count: 3, p50: 0, p95: 500, max: 500 });
    assert.deepEqual(
      a.longest_holds.map((h) => [h.run_id, h.hold_ms, h.how]),
      [
        ['2', 99_500, 'completed'],
        ['1', 60_000, 'completed'],
        ['3', 60_000, 'open'],
      ],
    );

    const recent = (await readHistory(dir, { since: T0 + 3_000_000, until })).report.resources[0]!;
    assert.equal(recent.jobs, 2, 'run 1 ended before SINCE');
  });

  test('a locks.log.1 that is locks.log (a rotation between the opens) is read once', async () => {
    const dir = await tempLockDir();
    await writeFile(join(dir, 'locks.log'), turnLines({ runId: '1', ticket: 1 }, { queued: 0, acquired: 0, released: 10 }).join('\n'));
    await link(join(dir, 'locks.log'), join(dir, 'locks.log.1'));
    const { report } = await readHistory(dir, { until: T0 + 100 });
    assert.equal(report.resources[0]!.jobs, 1);
    assert.equal(report.files.length, 1);
  });

  test('text for a terminal: escape sequences and workflow commands from the log are made plain; the SVG is well-formed', async () => {
    const dir = await tempLockDir();
    const evil = '\u001b]0;pwned\u0007::error::x\u001b[2J<script>';
    const lines = turnLines({ runId: '1', ticket: 1, job: evil, runner: `r${evil}` }, { queued: 0, acquired: 0, released: 10 });
    await writeFile(join(dir, 'locks.log'), lines.join('\n'));
    const { report, builder } = await readHistory(dir, { until: T0 + 100 });
    const text = formatHistory(report);
    assert.doesNotMatch(text, /\u001b|\u0007|::/);
    assert.match(text, /job :error:x<script> /);
    const svg = historySvg(report, builder);
    assert.doesNotMatch(svg, /\u001b|<script>/);
    assert.match(svg, /&lt;script&gt;/);
  });
});
