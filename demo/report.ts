// The demo's results: the summary table, the board's occupancy over time as
// an SVG (one colour per org) and as a compact terminal strip.
import { formatTable } from '../lib/table.ts';
import { BOARD, ORGS, type Org } from './fleets.ts';
import { seconds, type JobRecord } from './jobs.ts';

const COLOURS: Record<Org, { svg: string; ansi: string; letter: string }> = {
  acme: { svg: '#2f6fde', ansi: '\x1b[44;97m', letter: 'A' },
  globex: { svg: '#e8822e', ansi: '\x1b[43;30m', letter: 'G' },
};

export function summaryTable(jobs: JobRecord[]): string {
  const rows = [...jobs]
    .sort((a, b) => (a.started_at ?? '~').localeCompare(b.started_at ?? '~'))
    .map((j) => [j.job, j.org, j.runner ?? '-', j.board ?? '-', j.waited_ms === null ? '-' : seconds(j.waited_ms), j.ran_ms === null ? '-' : seconds(j.ran_ms), j.result ?? '-']);
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

const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function occupancySvg(jobs: JobRecord[]): string {
  const { lanes, spans: all, t0, t1 } = spans(jobs);
  const [labelW, plotW, laneH, top] = [240, 720, 30, 50];
  const x = (t: number) => labelW + ((t - t0) / (t1 - t0)) * plotW;
  const height = top + lanes.length * laneH + 50;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + plotW + 20}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">make demo: who had what, when (board ${BOARD} shared by ${ORGS.join(' and ')})</text>`,
  ];
  const totalS = Math.ceil((t1 - t0) / 1000);
  const tick = totalS > 60 ? 10 : 5;
  for (let s = 0; s <= totalS; s += tick) {
    const tx = x(t0 + s * 1000);
    parts.push(`<line x1="${tx}" y1="${top - 5}" x2="${tx}" y2="${top + lanes.length * laneH}" stroke="#ddd"/>`);
    parts.push(`<text x="${tx}" y="${top + lanes.length * laneH + 15}" text-anchor="middle" fill="#666">${s} s</text>`);
  }
  lanes.forEach((lane, i) => {
    const y = top + i * laneH;
    parts.push(`<text x="10" y="${y + laneH / 2 + 4}"${lane.includes('shared') ? ' font-weight="bold"' : ''}>${escape(lane)}</text>`);
    for (const s of all.filter((sp) => sp.lane === lane)) {
      const w = Math.max(1, x(s.end) - x(s.start));
      parts.push(`<rect x="${x(s.start).toFixed(1)}" y="${y + 4}" width="${w.toFixed(1)}" height="${laneH - 8}" fill="${COLOURS[s.org].svg}" stroke="white"><title>${escape(`${s.org} ${s.job}: ${seconds(s.end - s.start)}`)}</title></rect>`);
      parts.push(`<text x="${(x(s.start) + w / 2).toFixed(1)}" y="${y + laneH / 2 + 4}" text-anchor="middle" fill="white" font-size="10">${escape(s.job)}</text>`);
    }
  });
  ORGS.forEach((org, i) => {
    const lx = labelW + i * 120;
    const ly = height - 18;
    parts.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLOURS[org].svg}"/><text x="${lx + 18}" y="${ly}">${org}</text>`);
  });
  parts.push('</svg>', '');
  return parts.join('\n');
}

/** One line per lane, `width` columns for the whole run; A/G (coloured on a terminal) per org. */
export function occupancyStrip(jobs: JobRecord[], { width = 60, colour = false } = {}): string {
  const { lanes, spans: all, t0, t1 } = spans(jobs);
  const col = (t: number) => Math.min(width - 1, Math.floor(((t - t0) / (t1 - t0)) * width));
  const labelW = Math.max(...lanes.map((l) => l.length));
  const lines = lanes.map((lane) => {
    const cells: string[] = Array.from({ length: width }, () => '·');
    for (const s of all.filter((sp) => sp.lane === lane)) {
      const c = COLOURS[s.org];
      for (let i = col(s.start); i <= Math.max(col(s.start), col(s.end) - 1); i++) cells[i] = colour ? `${c.ansi}${c.letter}\x1b[0m` : c.letter;
    }
    return `${lane.padEnd(labelW)} |${cells.join('')}|`;
  });
  lines.push(`${''.padEnd(labelW)}  0 s${`${Math.round((t1 - t0) / 1000)} s`.padStart(width - 3)}   (A = acme, G = globex)`);
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
