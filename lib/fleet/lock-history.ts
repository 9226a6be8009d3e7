// The history of the boards from locks.log (make report, make metrics): each
// job's turn at a board put back together from its lines (queued, acquired,
// released, left-queue; lock/lock-log.ts), then counted per board and org.
//
// locks.log is read line by line (lock/log-reader.ts) and what is kept is
// bounded whatever its size: turns still open (a few per board, capped),
// per board and org the counts and up to MAX_SAMPLES waits and holds for the
// percentiles (a uniform sample beyond that), the five longest holds, and the
// last MAX_SPANS turns for the picture. Jobs with sudo can write the lock
// directory, so every line is untrusted: a line that is not one of ours is
// skipped and counted, strings are cut short, and text reaches a terminal
// only through displayText.
import { lstat } from 'node:fs/promises';
import { CliError, ConfigError, ExitCode } from '../../core/errors.ts';
import { errorCode } from '../../core/safe-read.ts';
import { displayText } from '../../lock/display.ts';
import { isValidResource, ticketSeq } from '../../lock/layout.ts';
import { TURN_EVENTS, type TurnEvent } from '../../lock/lock-log.ts';
import { openHistory, readLines, type LineSink } from '../../lock/log-reader.ts';
import { formatTable } from '../table.ts';
import { occupancySvg, type OccupancySpan } from './occupancy-svg.ts';

/** How an org that no line names is shown (a wrapper older than RUNNER_FLEET_ORG). */
export const UNKNOWN_ORG = '(unknown)';

export interface TurnLine {
  /** ms since the epoch. */
  time: number;
  event: TurnEvent;
  resource: string;
  org: string;
  repository: string;
  runId: string;
  attempt: string;
  job: string;
  runner: string;
  ticket: string;
  waitMs?: number;
  holdMs?: number;
  how?: string;
}

/** A line of another event: only what pairing turns needs (dead-ticket-removed). */
export interface OtherLine {
  time: number;
  event: string;
  resource: string;
  ticket: string;
  unchangedForMs?: number;
}

export type ParsedLine = { turn: TurnLine } | { other: OtherLine } | { bad: string };

const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;

function str(value: unknown, max = 256): string {
  return typeof value === 'string' ? value.slice(0, max) : typeof value === 'number' && Number.isFinite(value) ? String(value) : '';
}

function duration(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= TEN_YEARS_MS ? value : undefined;
}

/** One line of locks.log: a turn event, another event, or why it is not a line of ours. */
/** A turn's ticket: the directory's (12 digits, lock/layout.ts) or the etcd lock's (its key's create revision, a decimal number). */
function isTicket(ticket: string): boolean {
  return ticketSeq(ticket) !== undefined || /^[1-9]\d{0,19}$/.test(ticket);
}

export function parseLogLine(line: string): ParsedLine {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { bad: 'not JSON' };
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { bad: 'not a JSON object' };
  const r = raw as Record<string, unknown>;
  const time = typeof r.time === 'string' ? Date.parse(r.time) : Number.NaN;
  if (!Number.isFinite(time)) return { bad: 'no valid time' };
  if (typeof r.event !== 'string' || r.event === '' || r.event.length > 64) return { bad: 'no valid event' };
  const resource = str(r.resource, 64);
  const ticket = str(r.ticket, 20);
  if (!(TURN_EVENTS as readonly string[]).includes(r.event)) {
    const unchangedForMs = duration(r.unchangedForMs);
    return { other: { time, event: r.event, resource, ticket, ...(unchangedForMs !== undefined ? { unchangedForMs } : {}) } };
  }
  const event = r.event as TurnEvent;
  if (!isValidResource(resource)) return { bad: `${event} without a valid resource` };
  if (!isTicket(ticket)) return { bad: `${event} without a valid ticket` };
  const runner = str(r.runner, 128);
  if (!runner) return { bad: `${event} without a runner` };
  const waitMs = duration(r.waitMs);
  const holdMs = duration(r.holdMs);
  if ((event === 'acquired' || event === 'left-queue') && waitMs === undefined) return { bad: `${event} without a valid waitMs` };
  if (event === 'released' && holdMs === undefined) return { bad: 'released without a valid holdMs' };
  const how = str(r.how, 32);
  return {
    turn: {
      time,
      event,
      resource,
      org: str(r.org, 100) || UNKNOWN_ORG,
      repository: str(r.repository, 201),
      runId: str(r.runId, 24),
      attempt: str(r.attempt, 8),
      job: str(r.job, 200),
      runner,
      ticket,
      ...(waitMs !== undefined ? { waitMs } : {}),
      ...(holdMs !== undefined ? { holdMs } : {}),
      ...(event === 'released' || event === 'left-queue' ? { how: /^[a-z][a-z-]{0,31}$/.test(how) ? how : 'unknown' } : {}),
    },
  };
}

/** One job's turn at a board, as far as the lines tell; `ticket` is its last one. */
export interface Turn extends Pick<TurnLine, 'resource' | 'org' | 'repository' | 'runId' | 'attempt' | 'job' | 'runner' | 'ticket'> {
  queuedAt: number;
  acquiredAt?: number;
  endedAt?: number;
  waitMs?: number;
  holdMs?: number;
  /** How it ended (lock-log.ts), or 'killed': no line of its own ended it (its wrapper was killed). */
  how?: string;
  /** Ended by what came after (the next holder, a dead-ticket removal), not by a line of its own. */
  inferred?: boolean;
  /** Another job took the board at this time while this turn had no release line yet. */
  supersededAt?: number;
}

export interface TurnObserver {
  queued?(turn: Turn): void;
  /** `handoff`: the board was let go while this job waited, and went to it. */
  acquired?(turn: Turn, handoff: boolean): void;
  ended?(turn: Turn): void;
}

/**
 * How long a holder whose board another job took keeps its chance to say how
 * it ended (a lost lock's holder notices at its next heartbeat, after the new
 * holder's acquired line). Past it, or at the end, it ended 'killed'.
 */
const SUPERSEDED_GRACE_MS = 120_000;
/** Open turns kept at most (a few per board in fact; many only in a forged log). */
const MAX_OPEN_TURNS = 10_000;

const turnKey = (t: Pick<TurnLine, 'resource' | 'runner' | 'runId' | 'attempt' | 'job'>): string =>
  [t.resource, t.runner, t.runId, t.attempt, t.job].join('\0');

/**
 * Puts turns back together from parsed lines, in file order, telling the
 * observer as each is queued, acquired and ended. A job is known by board,
 * runner, run, attempt and job name (a matrix's jobs differ by name); a turn
 * whose earlier lines are not in the files (rotated away) starts from the
 * line that is, its times taken back from waitMs and holdMs.
 */
export class TurnFolder {
  private readonly open = new Map<string, Turn>();
  private readonly holders = new Map<string, Turn>();
  /** resource → when its last holder let it go. */
  private readonly lastEnd = new Map<string, number>();
  /** resource + ticket → the open turn it stands for (dead-ticket-removed names tickets). */
  private readonly byTicket = new Map<string, Turn>();
  /** Holders whose board another job took, waiting for their own line (SUPERSEDED_GRACE_MS). */
  private readonly superseded = new Set<Turn>();
  /** Keys of turns ended by inference: a late line of theirs is not a new turn. */
  private readonly inferredKeys = new Set<string>();
  /** Open turns dropped at the cap, and late lines of inferred turns: not counted anywhere. */
  dropped = 0;
  late = 0;

  constructor(private readonly observer: TurnObserver) {}

  add(parsed: ParsedLine): void {
    if ('bad' in parsed) return;
    const time = 'turn' in parsed ? parsed.turn.time : parsed.other.time;
    this.expire(time);
    if ('other' in parsed) return this.other(parsed.other);
    const l = parsed.turn;
    const key = turnKey(l);
    let turn = this.open.get(key);
    if (turn === undefined && (l.event === 'released' || l.event === 'left-queue') && this.inferredKeys.has(key)) {
      this.late++;
      return;
    }
    switch (l.event) {
      case 'queued':
        if (turn?.acquiredAt === undefined && turn !== undefined) return this.setTicket(turn, l.ticket); // queued again (its ticket was lost): the same turn
        if (turn) this.end(turn, 'killed', l.time, true); // it held the board and asks again: its wrapper was restarted
        turn = this.track(key, fromLine(l, l.time));
        this.observer.queued?.(turn);
        return;
      case 'acquired': {
        turn ??= this.track(key, fromLine(l, l.time - (l.waitMs ?? 0)));
        if (turn.acquiredAt !== undefined) return; // a repeated line
        const previous = this.holders.get(l.resource);
        if (previous && previous !== turn) {
          previous.supersededAt = l.time;
          this.superseded.add(previous);
          this.holders.delete(l.resource);
          this.lastEnd.set(l.resource, l.time);
        }
        turn.acquiredAt = l.time;
        turn.waitMs = l.waitMs ?? Math.max(0, l.time - turn.queuedAt);
        this.setTicket(turn, l.ticket);
        const last = this.lastEnd.get(l.resource);
        this.holders.set(l.resource, turn);
        this.observer.acquired?.(turn, last !== undefined && last >= turn.queuedAt);
        return;
      }
      case 'released': {
        const holdMs = l.holdMs ?? 0;
        turn ??= this.track(key, fromLine(l, l.time - holdMs - (l.waitMs ?? 0)));
        if (turn.acquiredAt === undefined) {
          turn.acquiredAt = l.time - holdMs;
          turn.waitMs = l.waitMs ?? Math.max(0, turn.acquiredAt - turn.queuedAt);
        }
        turn.holdMs = holdMs;
        this.end(turn, l.how ?? 'unknown', l.time, false);
        return;
      }
      case 'left-queue':
        turn ??= this.track(key, fromLine(l, l.time - (l.waitMs ?? 0)));
        if (turn.acquiredAt === undefined) turn.waitMs = l.waitMs;
        this.end(turn, l.how ?? 'unknown', l.time, false);
        return;
    }
  }

  /** A dead ticket removed by a waiter: the turn it stood for ended (its wrapper was killed) when its heartbeat stopped. */
  private other(l: OtherLine): void {
    if (l.event !== 'dead-ticket-removed') return;
    const turn = this.byTicket.get(`${l.resource}\0${l.ticket}`);
    if (!turn) return;
    const since = turn.acquiredAt ?? turn.queuedAt;
    this.end(turn, 'killed', Math.max(since, l.time - (l.unchangedForMs ?? 0)), true);
  }

  /** Ends superseded holders whose grace is over by `now` (a line's time, or the clock when tailing). */
  expire(now: number): void {
    for (const turn of this.superseded) {
      if (now - turn.supersededAt! > SUPERSEDED_GRACE_MS) this.end(turn, 'killed', turn.supersededAt!, true);
    }
  }

  /** At the end of the files: superseded holders ended 'killed'; the other open turns are returned (holding now, or waiting). */
  finish(): Turn[] {
    for (const turn of this.superseded) this.end(turn, 'killed', turn.supersededAt!, true);
    return [...this.open.values()];
  }

  private track(key: string, turn: Turn): Turn {
    if (this.open.size >= MAX_OPEN_TURNS) {
      const [oldest] = this.open.keys();
      if (oldest !== undefined) {
        this.forget(this.open.get(oldest)!);
        this.dropped++;
      }
    }
    this.open.set(key, turn);
    this.byTicket.set(`${turn.resource}\0${turn.ticket}`, turn);
    return turn;
  }

  private setTicket(turn: Turn, ticket: string): void {
    if (this.byTicket.get(`${turn.resource}\0${turn.ticket}`) === turn) this.byTicket.delete(`${turn.resource}\0${turn.ticket}`);
    turn.ticket = ticket;
    this.byTicket.set(`${turn.resource}\0${ticket}`, turn);
  }

  /** No longer open: out of every index. */
  private forget(turn: Turn): void {
    this.open.delete(turnKey(turn));
    this.superseded.delete(turn);
    if (this.byTicket.get(`${turn.resource}\0${turn.ticket}`) === turn) this.byTicket.delete(`${turn.resource}\0${turn.ticket}`);
    if (this.holders.get(turn.resource) === turn) this.holders.delete(turn.resource);
  }

  private end(turn: Turn, how: string, time: number, inferred: boolean): void {
    const key = turnKey(turn);
    if (this.open.get(key) !== turn) return;
    const holding = this.holders.get(turn.resource) === turn;
    this.forget(turn);
    turn.how = how;
    turn.endedAt = time;
    if (inferred) {
      turn.inferred = true;
      this.inferredKeys.add(key);
      if (this.inferredKeys.size > 1000) this.inferredKeys.delete(this.inferredKeys.values().next().value!);
    }
    if (turn.acquiredAt !== undefined) {
      turn.holdMs ??= Math.max(0, time - turn.acquiredAt);
      if (holding) this.lastEnd.set(turn.resource, time);
    } else {
      turn.waitMs ??= Math.max(0, time - turn.queuedAt);
    }
    this.observer.ended?.(turn);
  }
}

function fromLine(l: TurnLine, queuedAt: number): Turn {
  return {
    resource: l.resource,
    org: l.org,
    repository: l.repository,
    runId: l.runId,
    attempt: l.attempt,
    job: l.job,
    runner: l.runner,
    ticket: l.ticket,
    queuedAt,
  };
}

/** Values for percentiles: exact up to MAX_SAMPLES, a uniform sample (reservoir) beyond; count, sum and max always exact. */
export class Samples {
  static readonly MAX_SAMPLES = 100_000;
  private readonly values: number[] = [];
  count = 0;
  sum = 0;
  max = 0;
  private sorted = true;

  add(value: number): void {
    this.count++;
    this.sum += value;
    this.max = Math.max(this.max, value);
    if (this.values.length < Samples.MAX_SAMPLES) this.values.push(value);
    else {
      const slot = Math.floor(Math.random() * this.count);
      if (slot < Samples.MAX_SAMPLES) this.values[slot] = value;
    }
    this.sorted = false;
  }

  get sampled(): boolean {
    return this.count > this.values.length;
  }

  /** Nearest rank: the smallest value with at least p % of the values at or below it; 0 without values. */
  percentile(p: number): number {
    if (this.values.length === 0) return 0;
    if (!this.sorted) {
      this.values.sort((a, b) => a - b);
      this.sorted = true;
    }
    const rank = Math.max(1, Math.ceil((p / 100) * this.values.length));
    return this.values[Math.min(rank, this.values.length) - 1]!;
  }
}

export interface Distribution {
  count: number;
  p50: number;
  p95: number;
  max: number;
  /** Percentiles from a sample (over Samples.MAX_SAMPLES values). */
  sampled?: true;
}

function distribution(s: Samples): Distribution {
  return {
    count: s.count,
    p50: Math.round(s.percentile(50)),
    p95: Math.round(s.percentile(95)),
    max: Math.round(s.max),
    ...(s.sampled ? { sampled: true as const } : {}),
  };
}

export interface TurnSummary {
  /** Turns that held the board (ended, or holding now). */
  jobs: number;
  /** Turns that left the queue without the board. */
  left_queue: number;
  /** Time the board was held, ms (open holds up to `until`). */
  held_ms: number;
  /** Holds with no release line yet: holding at `until`, or a holder killed with no job after it. */
  open: number;
  wait_ms: Distribution;
  hold_ms: Distribution;
  /** How the turns that held the board ended (lock-log.ts; killed: no line of its own; open: not yet). */
  results: Record<string, number>;
}

export interface LongHold {
  org: string;
  repository: string;
  run_id: string;
  attempt: string;
  job: string;
  runner: string;
  acquired_at: string;
  hold_ms: number;
  how: string;
}

export interface ResourceHistory extends TurnSummary {
  resource: string;
  orgs: Array<TurnSummary & { org: string }>;
  longest_holds: LongHold[];
}

export interface HistoryReport {
  lock_dir: string;
  files: string[];
  since: string | null;
  until: string;
  lines: number;
  bad_lines: number;
  /** Lines of a turn already ended by what came after it. */
  late_lines: number;
  /** What is not a regular file at locks.log or locks.log.1 (skipped), one line each. */
  warnings: string[];
  resources: ResourceHistory[];
}

class Group {
  jobs = 0;
  leftQueue = 0;
  heldMs = 0;
  open = 0;
  readonly waits = new Samples();
  readonly holds = new Samples();
  readonly results = new Map<string, number>();

  add(turn: Turn, until: number): void {
    if (turn.acquiredAt === undefined) {
      this.leftQueue++;
      return;
    }
    const hold = turn.endedAt === undefined ? Math.max(0, until - turn.acquiredAt) : (turn.holdMs ?? 0);
    this.jobs++;
    this.heldMs += hold;
    this.waits.add(turn.waitMs ?? 0);
    this.holds.add(hold);
    const result = turn.endedAt === undefined ? 'open' : (turn.how ?? 'unknown');
    if (turn.endedAt === undefined) this.open++;
    this.results.set(result, (this.results.get(result) ?? 0) + 1);
  }

  summary(): TurnSummary {
    return {
      jobs: this.jobs,
      left_queue: this.leftQueue,
      held_ms: Math.round(this.heldMs),
      open: this.open,
      wait_ms: distribution(this.waits),
      hold_ms: distribution(this.holds),
      results: Object.fromEntries([...this.results].sort(([a], [b]) => a.localeCompare(b))),
    };
  }
}

/** Turns drawn at most in the picture: the last ones. */
export const MAX_SPANS = 2000;
const LONGEST = 5;

/** What one report counts: turns that ended at or after `since` (every one without it), and those open at the end. */
export class HistoryBuilder implements TurnObserver {
  private readonly resources = new Map<string, { all: Group; orgs: Map<string, Group>; longest: Turn[] }>();
  private readonly spans: Turn[] = [];
  private spanStart = 0;
  lines = 0;
  badLines = 0;

  constructor(
    private readonly since: number | undefined,
    private readonly until: number,
  ) {}

  ended(turn: Turn): void {
    if (this.since !== undefined && (turn.endedAt ?? this.until) < this.since) return;
    this.count(turn);
  }

  /** The turns still open at the end (TurnFolder.finish). */
  finish(open: Turn[]): void {
    for (const turn of open) if (turn.acquiredAt !== undefined || this.since === undefined || turn.queuedAt >= this.since) this.count(turn);
  }

  private count(turn: Turn): void {
    let r = this.resources.get(turn.resource);
    if (!r) this.resources.set(turn.resource, (r = { all: new Group(), orgs: new Map(), longest: [] }));
    let g = r.orgs.get(turn.org);
    if (!g) r.orgs.set(turn.org, (g = new Group()));
    r.all.add(turn, this.until);
    g.add(turn, this.until);
    if (turn.acquiredAt === undefined) return;
    const hold = (t: Turn): number => (t.endedAt === undefined ? this.until - t.acquiredAt! : (t.holdMs ?? 0));
    r.longest.push(turn);
    r.longest.sort((a, b) => hold(b) - hold(a));
    r.longest.length = Math.min(r.longest.length, LONGEST);
    // The last MAX_SPANS holds, as a ring.
    if (this.spans.length < MAX_SPANS) this.spans.push(turn);
    else {
      this.spans[this.spanStart] = turn;
      this.spanStart = (this.spanStart + 1) % MAX_SPANS;
    }
  }

  /** Holds drawn in the picture, oldest first; `dropped` turns held the board before them. */
  drawn(): { turns: Turn[]; dropped: number } {
    const turns = [...this.spans.slice(this.spanStart), ...this.spans.slice(0, this.spanStart)];
    const total = [...this.resources.values()].reduce((n, r) => n + r.all.jobs, 0);
    return { turns, dropped: Math.max(0, total - turns.length) };
  }

  report(lockDir: string, files: string[], late: number, warnings: string[] = []): HistoryReport {
    const hold = (t: Turn): number => (t.endedAt === undefined ? this.until - t.acquiredAt! : (t.holdMs ?? 0));
    const resources = [...this.resources.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([resource, r]) => ({
        resource,
        ...r.all.summary(),
        orgs: [...r.orgs.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([org, g]) => ({ org, ...g.summary() })),
        longest_holds: r.longest.map((t) => ({
          org: t.org,
          repository: t.repository,
          run_id: t.runId,
          attempt: t.attempt,
          job: t.job,
          runner: t.runner,
          acquired_at: new Date(t.acquiredAt!).toISOString(),
          hold_ms: Math.round(hold(t)),
          how: t.endedAt === undefined ? 'open' : (t.how ?? 'unknown'),
        })),
      }));
    return {
      lock_dir: lockDir,
      files,
      since: this.since === undefined ? null : new Date(this.since).toISOString(),
      until: new Date(this.until).toISOString(),
      lines: this.lines,
      bad_lines: this.badLines,
      late_lines: late,
      warnings,
      resources,
    };
  }
}

export interface HistoryOptions {
  /** ms since the epoch: turns that ended before are left out. */
  since?: number;
  /** The report's "now" (default Date.now()). */
  until?: number;
}

/** Reads locks.log.1 and locks.log of `dir` line by line and counts the turns. Throws (code kept) when a file cannot be read. */
export async function readHistory(dir: string, options: HistoryOptions = {}): Promise<{ report: HistoryReport; builder: HistoryBuilder }> {
  const until = options.until ?? Date.now();
  const builder = new HistoryBuilder(options.since, until);
  const folder = new TurnFolder(builder);
  const sink: LineSink = {
    line: (text) => {
      builder.lines++;
      const parsed = parseLogLine(text);
      if ('bad' in parsed) builder.badLines++;
      folder.add(parsed);
    },
    tooLong: () => {
      builder.lines++;
      builder.badLines++;
    },
  };
  const warnings: string[] = [];
  const files = await openHistory(dir, warnings);
  try {
    for (const file of files) await readLines(file.handle, { offset: 0, skipping: false }, sink, { final: true });
  } finally {
    await Promise.all(files.map((f) => f.handle.close().catch(() => undefined)));
  }
  builder.finish(folder.finish());
  const report = builder.report(
    dir,
    files.map((f) => f.path),
    folder.late,
    warnings,
  );
  return { report, builder };
}

/** The lock directory's history for `make report`: one line when it cannot be read (missing, or root's and we are not root). */
export async function historyReport(dir: string, options: HistoryOptions = {}): Promise<{ report: HistoryReport; builder: HistoryBuilder }> {
  const info = await lstat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new ConfigError(`lock directory RUNNER_LOCK_HOST_PATH=${dir} does not exist: run make init, or set RUNNER_LOCK_HOST_PATH`);
  try {
    return await readHistory(dir, options);
  } catch (err) {
    if (errorCode(err) === 'EACCES') {
      const uid = process.getuid?.() ?? '?';
      throw new CliError(
        `${dir}/locks.log is root's (mode 0600: it names every org's repositories and runs), and uid ${uid} cannot read it: run it as root (sudo make report)`,
        ExitCode.failure,
      );
    }
    throw new CliError(displayText((err as Error).message, 300), ExitCode.failure);
  }
}

/** SINCE as given to make report: undefined when empty, one line naming SINCE when it is not a time. */
export function sinceSetting(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const since = parseSince(value, now);
  if (since === undefined)
    throw new ConfigError(
      `SINCE=${displayText(value, 40)} is not a time: use a number of days, hours or minutes before now (7d, 12h, 30m) or an ISO date or time (2026-12-01, 2026-12-01T08:00:00Z)`,
    );
  return since;
}

const UNITS: Array<[string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
];

/**
 * SINCE as a time: `7d`, `12h`, `30m` before `now`, or an ISO date or time
 * (`2026-12-01`, `2026-12-01T08:00:00Z`); undefined when it is none of these.
 */
export function parseSince(value: string, now = Date.now()): number | undefined {
  const text = value.trim();
  const relative = /^(\d{1,6})([dhm])$/.exec(text);
  if (relative) return now - Number(relative[1]) * UNITS.find(([unit]) => unit === relative[2])![1];
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) return undefined;
  const time = Date.parse(text);
  return Number.isFinite(time) ? time : undefined;
}

/** A duration for people: 850 ms, 12.3 s, 4 min 05 s, 2 h 03 min, 1 d 4 h. */
export function humanDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  const min = Math.round(s / 60);
  if (min < 1440) return `${Math.floor(min / 60)} h ${String(min % 60).padStart(2, '0')} min`;
  const h = Math.round(min / 60);
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

const plain = (value: string, max = 100): string => displayText(value, max) || '-';

function resultsText(results: Record<string, number>): string {
  return Object.entries(results)
    .map(([how, n]) => `${how} ${n}`)
    .join(', ');
}

function summaryRow(name: string, s: TurnSummary): string[] {
  return [
    name,
    String(s.jobs),
    humanDuration(s.held_ms),
    humanDuration(s.wait_ms.p50),
    humanDuration(s.wait_ms.p95),
    humanDuration(s.wait_ms.max),
    String(s.left_queue),
    resultsText(s.results),
  ];
}

/** The report for a terminal: per board, a row per org and one for all, the longest holds; every text from the log made plain. */
export function formatHistory(report: HistoryReport, sinceText?: string): string {
  const window = report.since ? `since ${report.since}${sinceText ? ` (${sinceText})` : ''}` : 'all of it';
  const lines = [
    `board history from ${report.files.map((f) => f.split('/').pop()).join(' + ') || 'no locks.log'} in ${report.lock_dir}, ${window}, until ${report.until}`,
  ];
  if (report.resources.length === 0) lines.push('no job held or waited for a board in that time');
  for (const r of report.resources) {
    lines.push('', `${r.resource}: ${r.jobs} job${r.jobs === 1 ? '' : 's'}, held ${humanDuration(r.held_ms)}${r.open ? `, ${r.open} still open` : ''}`);
    const rows = r.orgs.map((o) => summaryRow(plain(o.org, 40), o));
    if (r.orgs.length > 1) rows.push(summaryRow('all', r));
    const table = formatTable(['org', 'jobs', 'held', 'wait p50', 'wait p95', 'wait max', 'left queue', 'how they ended'], rows);
    lines.push(...table.split('\n').map((l) => `  ${l}`));
    if (r.longest_holds.length) {
      lines.push('  longest holds:');
      const holdRows = r.longest_holds.map((h, i) => [
        `${i + 1}.`,
        humanDuration(h.hold_ms),
        plain(h.org, 40),
        plain(h.repository, 100),
        `run ${plain(h.run_id, 24)}/${plain(h.attempt, 8)}`,
        `job ${plain(h.job, 60)}`,
        plain(h.runner, 64),
        h.acquired_at,
        h.how,
      ]);
      lines.push(
        ...formatTable(['', 'held', 'org', 'repository', 'run', 'job', 'runner', 'from', 'how'], holdRows)
          .split('\n')
          .slice(1)
          .map((l) => `    ${l}`),
      );
    }
  }
  const notes = [];
  if (report.bad_lines) notes.push(`${report.bad_lines} line${report.bad_lines === 1 ? '' : 's'} of locks.log not ours (skipped)`);
  if (report.late_lines) notes.push(`${report.late_lines} late line${report.late_lines === 1 ? '' : 's'} of turns already ended`);
  if (notes.length) lines.push('', notes.join('; '));
  for (const w of report.warnings) lines.push(`! ${displayText(w, 300)}`);
  return lines.join('\n');
}

/** The history as an occupancy picture: a lane per board (bold), then per runner; one colour per org. */
export function historySvg(report: HistoryReport, builder: HistoryBuilder): string {
  const { turns, dropped } = builder.drawn();
  const until = Date.parse(report.until);
  const spans: OccupancySpan[] = [];
  const boards = new Set<string>();
  const runners = new Set<string>();
  for (const t of turns) {
    const end = t.endedAt ?? until;
    const runId = displayText(t.runId, 24);
    const title = `${t.org} ${t.repository} run ${runId} job ${t.job} on ${t.runner}: held ${humanDuration(end - t.acquiredAt!)}${t.endedAt === undefined ? ' (open)' : `, ${t.how ?? ''}`}`;
    const span = { group: t.org, label: t.job || t.repository, title, start: t.acquiredAt!, end };
    boards.add(t.resource);
    runners.add(t.runner);
    spans.push({ lane: t.resource, ...span }, { lane: `  ${t.runner}`, ...span });
  }
  const orgs = [...new Set(turns.map((t) => t.org))].sort();
  const since = report.since ? Date.parse(report.since) : undefined;
  const first = Math.min(...spans.map((s) => s.start));
  const t0 = spans.length ? Math.max(since ?? first, first) : (since ?? until - 3_600_000);
  const t1 = turns.some((t) => t.endedAt === undefined) ? until : Math.max(t0 + 1000, ...spans.map((s) => s.end));
  const window = `${new Date(t0).toISOString().slice(0, 16).replace('T', ' ')} – ${new Date(t1).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return occupancySvg(spans, {
    title: `make report: who held which board, ${window}`,
    ...(dropped > 0 ? { note: `the last ${turns.length} holds are drawn; ${dropped} earlier ones are counted in the report only` } : {}),
    lanes: [...[...boards].sort(), ...[...runners].sort().map((r) => `  ${r}`)],
    bold: (lane) => boards.has(lane),
    groups: orgs,
    t0,
    t1,
    axis: 'clock',
    fitLabels: true,
  });
}
