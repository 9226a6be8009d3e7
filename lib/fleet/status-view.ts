// make status, the pure half: what Docker, GitHub and the locks (a lock
// directory, or etcd: lock-source.ts) said, and the time, assembled into one
// view (assembleStatus), and that view as text for an 80-column terminal
// (renderStatus). No I/O here: live-status.ts gathers the inputs and calls
// these on every change.
//
// Lock records come from a directory jobs may write, or from etcd keys whose
// values are jobs' hook requests: the view keeps their values as recorded
// (JSON output escapes them, lock/display.ts asciiJson); the text goes
// through displayText, as every terminal path does.
import type { BoardRunner } from '../config/config.ts';
import type { FleetContainer } from '../docker/containers.ts';
import type { Runner } from '../github/runner-api.ts';
import type { ResourceState } from '../../lock/inspect.ts';
import { displayText } from '../../lock/display.ts';
import { lockKey, type EtcdPlace, type LockPlace } from './lock-source.ts';
import { ageSeconds, formatAge, joinFleet } from './status.ts';

// ---- inputs ----

/** What is known of one fleet (one env file). */
export interface FleetInput {
  /** `acme` or `acme/widgets`. */
  scope: string;
  /** Its Docker host (DOCKER_HOST, the context, or `local`), when the view has several fleets. */
  host?: string;
  prefix: string;
  /** Its board runners as configured (service name and lock resource). */
  boards: Pick<BoardRunner, 'service' | 'resourceId'>[];
  /** The host lock directory its board runners share (RUNNER_LOCK_HOST_PATH). */
  lockDir: string;
  /** Set when its boards lock on etcd (RUNNER_LOCK_BACKEND=etcd): their holders and queues are there, not in lockDir. */
  etcd?: EtcdPlace;
  /** Undefined when Docker could not be asked (see dockerWarning). */
  containers: FleetContainer[] | undefined;
  dockerWarning?: string;
  /** GitHub's runners at the last successful poll; undefined before the first one succeeded. */
  runners: Runner[] | undefined;
  /** When GitHub last answered (ms since the epoch). */
  githubAt?: number;
  /** The last poll's error, when it failed. */
  githubError?: string;
  /** The job each running container runs (from its output), by container name. */
  jobs: ReadonlyMap<string, string>;
}

/** What one lock directory, or one etcd cluster and prefix, held at its last read. */
export interface LockInput {
  /** The lock directory read; unset for a lock on etcd. */
  dir?: string;
  /** The etcd read (endpoints and prefix); unset for a lock directory. */
  etcd?: EtcdPlace;
  /** Undefined when it could not be read (see error). */
  resources: ResourceState[] | undefined;
  /** Why it could not be read: missing, not ours to read, etcd not answering. */
  error?: string;
}

export interface StatusInput {
  fleets: FleetInput[];
  locks: LockInput[];
}

// ---- the view (make status --json) ----

export interface RunnerView {
  name: string;
  kind: 'generic' | 'board' | null;
  board: string | null;
  /** The lock resource of a board runner. */
  resource: string | null;
  /** Container state; null without a container (or without Docker). */
  container: string | null;
  /** online/offline on GitHub; null when not registered or GitHub not asked yet. */
  github: string | null;
  busy: boolean | null;
  /** The job its output says it runs (a hint: a job can print such lines); null when idle. */
  job: string | null;
  created_at: string | null;
  age_s: number | null;
  /** orphan: registered, no container here; unregistered: a container GitHub does not know. */
  note: 'orphan' | 'unregistered' | null;
}

export interface FleetView {
  /** Its Docker host, when the view has several fleets (--env-file repeated). */
  host?: string;
  scope: string;
  prefix: string;
  runners: RunnerView[];
  /** When GitHub's side was read; null before it answered. */
  github_checked_at: string | null;
  notes: string[];
}

export interface LockEntryView {
  runner: string;
  repository: string;
  job: string;
  run_id: string;
  attempt: string;
  /** False when its heartbeat stopped: the owner is gone, the next waiter clears it. */
  alive: boolean;
}

export interface HolderView extends LockEntryView {
  /** When it acquired the board (its own record). */
  since: string;
  held_s: number | null;
}

export interface WaiterView extends LockEntryView {
  ticket: string;
  requested_at: string;
  wait_s: number | null;
}

export interface BoardView {
  resource: string;
  /** The lock directory; null for a board that locks on etcd. */
  lock_dir: string | null;
  /** Where its lock is when it is on etcd. */
  etcd?: EtcdPlace;
  /** Set when its lock could not be read (the view's notes say why): holder and queue unknown. */
  unknown?: true;
  /** This host's runners (of the fleets shown) on this board. */
  runners: string[];
  /** Null when free; its fields are empty while the holder's record is being written. */
  holder: HolderView | null;
  /** Waiting, in the order they get the board. */
  queue: WaiterView[];
  notes: string[];
}

export interface StatusView {
  at: string;
  fleets: FleetView[];
  boards: BoardView[];
  notes: string[];
}

// ---- assembly ----

function seconds(iso: string, now: Date): number | null {
  return iso ? ageSeconds(iso, now) : null;
}

function fleetView(fleet: FleetInput, now: Date): FleetView {
  const containers = new Map((fleet.containers ?? []).map((c) => [c.name, c]));
  const resources = new Map(fleet.boards.map((b) => [b.service, b.resourceId]));
  const rows = joinFleet(fleet.prefix, fleet.runners ?? [], fleet.containers);
  const runners = rows.map((row): RunnerView => {
    const container = containers.get(row.name);
    const running = container?.state === 'running';
    return {
      name: row.name,
      kind: row.kind,
      board: row.board,
      resource: container?.resourceId ?? resources.get(row.name) ?? null,
      container: row.container,
      github: row.github_status,
      busy: row.busy,
      job: running ? (fleet.jobs.get(row.name) ?? null) : null,
      created_at: container?.createdAt ?? null,
      age_s: container ? ageSeconds(container.createdAt, now) : null,
      // Before GitHub answered, no container is "unregistered".
      note: row.orphan ? 'orphan' : row.unregistered && fleet.runners ? 'unregistered' : null,
    };
  });
  const notes = [
    ...(fleet.dockerWarning ? [fleet.dockerWarning] : []),
    ...(fleet.githubError ? [`GitHub: ${fleet.githubError}${fleet.githubAt ? ' (showing its last answer)' : ''}`] : []),
  ];
  return {
    ...(fleet.host !== undefined ? { host: fleet.host } : {}),
    scope: fleet.scope,
    prefix: fleet.prefix,
    runners,
    github_checked_at: fleet.githubAt === undefined ? null : new Date(fleet.githubAt).toISOString(),
    notes,
  };
}

function entry(who: { runner: string; repository: string; job: string; runId: string; attempt: string; alive: boolean }): LockEntryView {
  return { runner: who.runner, repository: who.repository, job: who.job, run_id: who.runId, attempt: who.attempt, alive: who.alive };
}

/** A lock input's place (a directory, or etcd). */
function placeOf(lock: LockInput): LockPlace {
  return lock.etcd ? { etcd: lock.etcd } : { dir: lock.dir ?? '' };
}

function boardViews(lock: LockInput, fleets: FleetView[], configured: Map<string, Set<string>>, now: Date): BoardView[] {
  const states = new Map((lock.resources ?? []).map((r) => [r.resource, r]));
  const names = [...new Set([...(configured.get(lockKey(placeOf(lock))) ?? []), ...states.keys()])].sort();
  return names.map((resource) => {
    const state = states.get(resource);
    const runners = fleets.flatMap((f) => f.runners.filter((r) => r.resource === resource).map((r) => r.name));
    const notes = [...(state?.warnings ?? [])];
    if (state?.unreadable) notes.push(`${state.unreadable} record(s) not readable by this user (they are root's, mode 0600): run as root`);
    return {
      resource,
      lock_dir: lock.etcd ? null : (lock.dir ?? null),
      ...(lock.etcd ? { etcd: lock.etcd } : {}),
      ...(lock.resources ? {} : { unknown: true as const }),
      runners,
      holder: state?.holder ? { ...entry(state.holder), since: state.holder.since, held_s: seconds(state.holder.since, now) } : null,
      queue: (state?.queue ?? []).map((t) => ({ ...entry(t), ticket: t.name, requested_at: t.requestedAt, wait_s: seconds(t.requestedAt, now) })),
      notes,
    };
  });
}

/** The view of `input` at `now`: each fleet's runners, then every board of their lock directories. */
export function assembleStatus(input: StatusInput, now: Date): StatusView {
  const fleets = input.fleets.map((fleet) => fleetView(fleet, now));
  // The boards the fleets drive are shown even before anyone locked them, under the lock directory (or etcd) they use.
  const configured = new Map<string, Set<string>>();
  for (const fleet of input.fleets) {
    const key = lockKey(fleet.etcd ? { etcd: fleet.etcd } : { dir: fleet.lockDir });
    const set = configured.get(key) ?? new Set<string>();
    for (const board of fleet.boards) if (board.resourceId) set.add(board.resourceId);
    for (const c of fleet.containers ?? []) if (c.resourceId) set.add(c.resourceId);
    configured.set(key, set);
  }
  const boards = input.locks.flatMap((lock) => boardViews(lock, fleets, configured, now));
  const notes = input.locks.flatMap((lock) => (lock.error ? [lock.error] : []));
  return { at: now.toISOString(), fleets, boards, notes };
}

/** Fields that only say how long ago: they change every second without anything happening. */
const CLOCK_FIELDS = new Set(['at', 'age_s', 'held_s', 'wait_s', 'github_checked_at']);

/** What has to differ for a view to count as changed (--json --watch prints a line only then): all but the clock. */
export function statusChangeKey(view: StatusView): string {
  return JSON.stringify(view, (key, value: unknown) => (CLOCK_FIELDS.has(key) ? undefined : value));
}

/** One line of JSON, every character outside printable ASCII escaped (as lock/display.ts asciiJson does). */
export function statusJsonLine(view: StatusView): string {
  return JSON.stringify(view).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

// ---- text ----

export interface RenderOptions {
  /** Terminal columns (default 80): no line is longer. */
  width?: number;
  /** Added to the first line on a live view: `Ctrl-C quits`. */
  live?: boolean;
}

/** A waiting or holding time: 45s, 3m05s, 2h03m. */
export function formatDuration(secondsValue: number | null): string {
  if (secondsValue === null) return '?';
  const s = Math.max(0, Math.floor(secondsValue));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function cut(text: string, width: number): string {
  if (text.length <= width) return text;
  return width <= 1 ? text.slice(0, width) : `${text.slice(0, width - 1)}…`;
}

/**
 * An aligned table no wider than `width`: the columns in `shrink` (by index)
 * give up room, the widest first, down to their header's width, their cells
 * ending in '…'; lines still too long are cut.
 */
export function fitTable(header: string[], rows: string[][], width: number, shrink: number[]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const floor = (column: number) => Math.max(header[column]!.length, 4);
  let over = widths.reduce((sum, w) => sum + w, 0) + 2 * (widths.length - 1) - width;
  while (over > 0) {
    const widest = shrink.filter((column) => widths[column]! > floor(column)).sort((a, b) => widths[b]! - widths[a]!)[0];
    if (widest === undefined) break;
    widths[widest]!--;
    over--;
  }
  const render = (row: string[]) =>
    cut(
      row
        .map((cell, column) => cut(cell, widths[column]!).padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
      width,
    );
  return [render(header), ...rows.map(render)];
}

function clock(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/** A runner's name without its fleet's prefix: the fleet line above names the prefix. */
function short(name: string, prefixes: string[]): string {
  const prefix = prefixes.find((p) => name.startsWith(p) && name.length > p.length);
  return displayText(prefix ? name.slice(prefix.length) : name, 64);
}

function fleetLines(fleet: FleetView, width: number): string[] {
  const count = (predicate: (r: RunnerView) => boolean) => fleet.runners.filter(predicate).length;
  const on = fleet.host !== undefined ? ` on ${displayText(fleet.host, 60)}` : '';
  const summary =
    `${displayText(fleet.scope, 60)}${on} (${displayText(fleet.prefix, 60)}): ${fleet.runners.length} runner${fleet.runners.length === 1 ? '' : 's'}, ` +
    `${count((r) => r.container === 'running')} running, ${count((r) => r.github === 'online')} online, ${count((r) => r.busy === true)} busy`;
  if (fleet.runners.length === 0) return [cut(summary, width), 'no runners of this fleet, neither on GitHub nor here'];
  const rows = fleet.runners.map((r) => [
    short(r.name, [fleet.prefix]),
    r.container ?? '-',
    formatAge(r.age_s),
    r.github ?? '-',
    r.busy === null ? '-' : r.busy ? 'busy' : 'idle',
    // GitHub says busy, the output names no job: '?'.
    r.job !== null ? displayText(r.job, 60) : r.busy ? '?' : '-',
    r.note ?? '',
  ]);
  return [cut(summary, width), ...fitTable(['RUNNER', 'CONTAINER', 'AGE', 'GITHUB', 'BUSY', 'JOB', 'NOTE'], rows, width, [5, 0, 6])];
}

/** Where the boards' locks are, each once: `lock directory /x, /y`, `etcd http://e:2379 under /p`. */
function boardPlaces(boards: BoardView[]): string[] {
  const dirs = [...new Set(boards.flatMap((b) => (b.etcd ? [] : [displayText(b.lock_dir, 200)])))];
  const etcd = boards.flatMap((b) => (b.etcd ? [`etcd ${displayText(b.etcd.endpoints.join(','), 200)} under ${displayText(b.etcd.prefix, 200)}`] : []));
  return [...(dirs.length ? [`lock directory ${dirs.join(', ')}`] : []), ...new Set(etcd)];
}

function boardLines(boards: BoardView[], prefixes: string[], width: number): string[] {
  if (boards.length === 0) return [];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const board of boards) {
    const name = displayText(board.resource, 64);
    const who = (e: LockEntryView) => [short(e.runner, prefixes) || '?', displayText(e.repository, 140) || '?', displayText(e.job, 60) || '-'];
    const dead = (e: LockEntryView) => (e.alive ? '' : ' (no heartbeat)');
    if (board.holder) rows.push([name, 'held', ...who(board.holder), `${formatDuration(board.holder.held_s)}${dead(board.holder)}`]);
    else rows.push([name, board.unknown ? '?' : 'free', '', '', '', '']);
    board.queue.forEach((t, i) => rows.push(['', `${i + 1}.`, ...who(t), `waits ${formatDuration(t.wait_s)}${dead(t)}`]));
    for (const note of board.notes) notes.push(`! ${name}: ${displayText(note, 300)}`);
  }
  const title = `boards (${boardPlaces(boards).join(', ')})`;
  const table = fitTable(['BOARD', 'LOCK', 'RUNNER', 'REPOSITORY', 'JOB', 'FOR'], rows, width, [2, 3, 4, 0]);
  return [cut(title, width), ...table, ...notes.map((n) => cut(n, width))];
}

/** The view as text no wider than `width`: a title line, each fleet's runners, the boards, then notes. */
export function renderStatus(view: StatusView, options: RenderOptions = {}): string {
  const width = Math.max(40, options.width ?? 80);
  const now = new Date(view.at);
  const prefixes = view.fleets.map((f) => f.prefix);
  // GitHub's side is as old as its oldest answer (online/busy): said once, on the title line.
  const checked = view.fleets.map((f) => f.github_checked_at);
  const oldest = checked.includes(null) ? null : checked.sort()[0];
  const github = oldest === undefined ? '' : oldest === null ? ', GitHub not read yet' : `, GitHub read ${formatDuration(ageSeconds(oldest, now))} ago`;
  const lines = [cut(`fleet status at ${clock(view.at)}${github}${options.live ? ' - Ctrl-C quits' : ''}`, width)];
  for (const fleet of view.fleets) lines.push('', ...fleetLines(fleet, width));
  const boards = boardLines(view.boards, prefixes, width);
  if (boards.length) lines.push('', ...boards);
  const notes = [...view.fleets.flatMap((f) => f.notes.map((n) => `${displayText(f.scope, 60)}: ${n}`)), ...view.notes];
  if (notes.length) lines.push('', ...notes.map((n) => cut(`! ${displayText(n, 400)}`, width)));
  return lines.join('\n');
}
