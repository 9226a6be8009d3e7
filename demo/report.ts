// The demo's results: the summary table, the board's occupancy over time as
// an SVG (one colour per org; drawn by lib/fleet/occupancy-svg.ts, which
// `make report --svg` draws with too) and as a compact terminal strip.
import { groupColours, occupancySvg as drawOccupancy } from '../lib/fleet/occupancy-svg.ts';
import { formatTable } from '../lib/table.ts';
import { BOARD, ORGS, type Org } from './fleets.ts';
import { seconds, type JobRecord } from './jobs.ts';

const COLOURS = groupColours(ORGS);
const colourOf = (org: Org) => COLOURS.get(org)!;

export function summaryTable(jobs: JobRecord[]): string {
  const rows = [...jobs]
    .sort((a, b) => (a.started_at ?? '~').localeCompare(b.started_at ?? '~'))
    .map((j) => [
      j.job,
      j.org,
      j.runner ?? '-',
      j.board ?? '-',
      j.waited_ms === null ? '-' : seconds(j.waited_ms),
      j.ran_ms === null ? '-' : seconds(j.ran_ms),
      j.result ?? '-',
    ]);
  return formatTable(['job', 'org', 'runner', 'board', 'waited', 'ran', 'result'], rows);
}

interface Span {
  lane: string;
  org: Org;
  job: string;
  start: number;
  end: number;
}

/** Board lane first (both orgs on one line), then one lane per runner. */
function spans(jobs: JobRecord[]): { lanes: string[]; spans: Span[]; t0: number; t1: number } {
  const ran = jobs.filter((j) => j.started_at && j.finished_at);
  const out: Span[] = [];
  for (const j of ran) {
    const span = { org: j.org, job: j.job, start: Date.parse(j.started_at!), end: Date.parse(j.finished_at!) };
    if (j.board) out.push({ lane: `${j.board} (shared board)`, ...span });
    out.push({ lane: j.runner ?? '?', ...span });
  }
  const lanes = [...new Set(out.map((s) => s.lane))].sort((a, b) => Number(b.includes('shared')) - Number(a.includes('shared')) || a.localeCompare(b));
  const t0 = Math.min(...jobs.map((j) => Date.parse(j.queued_at)));
  const t1 = Math.max(t0 + 1000, ...out.map((s) => s.end));
  return { lanes, spans: out, t0, t1 };
}

export function occupancySvg(jobs: JobRecord[]): string {
  const { lanes, spans: all, t0, t1 } = spans(jobs);
  return drawOccupancy(
    all.map((s) => ({ lane: s.lane, group: s.org, label: s.job, title: `${s.org} ${s.job}: ${seconds(s.end - s.start)}`, start: s.start, end: s.end })),
    {
      title: `make demo: who had what, when (board ${BOARD} shared by ${ORGS.join(' and ')})`,
      lanes,
      bold: (lane) => lane.includes('shared'),
      groups: ORGS,
      t0,
      t1,
      axis: 'elapsed',
    },
  );
}

/** One line per lane, `width` columns for the whole run; A/G (coloured on a terminal) per org. */
export function occupancyStrip(jobs: JobRecord[], { width = 60, colour = false } = {}): string {
  const { lanes, spans: all, t0, t1 } = spans(jobs);
  const col = (t: number) => Math.min(width - 1, Math.floor(((t - t0) / (t1 - t0)) * width));
  const labelW = Math.max(...lanes.map((l) => l.length));
  const lines = lanes.map((lane) => {
    const cells: string[] = Array.from({ length: width }, () => '·');
    for (const s of all.filter((sp) => sp.lane === lane)) {
      const c = colourOf(s.org);
      for (let i = col(s.start); i <= Math.max(col(s.start), col(s.end) - 1); i++) cells[i] = colour ? `${c.ansi}${c.letter}\x1b[0m` : c.letter;
    }
    return `${lane.padEnd(labelW)} |${cells.join('')}|`;
  });
  lines.push(
    `${''.padEnd(labelW)}  0 s${`${Math.round((t1 - t0) / 1000)} s`.padStart(width - 3)}   (${ORGS.map((org) => `${colourOf(org).letter} = ${org}`).join(', ')})`,
  );
  return lines.join('\n');
}

/** Pairs of board jobs whose board time overlaps (must be none). */
export function boardOverlaps(jobs: JobRecord[]): string[] {
  const board = jobs.filter((j) => j.board && j.started_at && j.finished_at).sort((a, b) => a.started_at!.localeCompare(b.started_at!));
  const out: string[] = [];
  for (let i = 1; i < board.length; i++) {
    const [prev, cur] = [board[i - 1]!, board[i]!];
    if (Date.parse(cur.started_at!) < Date.parse(prev.finished_at!)) out.push(`${cur.job} started before ${prev.job} ended`);
  }
  return out;
}
