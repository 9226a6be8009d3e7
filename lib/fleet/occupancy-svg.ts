// Who had what, when, as an SVG: one lane per board (and runner), a bar per
// turn, one colour per org. Drawn for `make demo` (its burst of jobs) and for
// `make report --svg` (locks.log's history). Every text drawn is made plain
// first (lock/display.ts: it may come from locks.log, which jobs with sudo
// can write) and escaped for XML.
import { displayText } from '../../lock/display.ts';

export interface OccupancySpan {
  lane: string;
  /** The org: the bar's colour. */
  group: string;
  /** Drawn on the bar. */
  label: string;
  /** Shown on hover. */
  title: string;
  /** ms since the epoch. */
  start: number;
  end: number;
}

export interface OccupancyOptions {
  title: string;
  /** Lanes top to bottom (a lane without spans is drawn empty). */
  lanes: string[];
  /** Lanes in bold (the boards). */
  bold?: (lane: string) => boolean;
  /** Legend order; their colours follow it (groupColours). */
  groups: readonly string[];
  t0: number;
  t1: number;
  /** 'elapsed': "5 s" from t0 (the demo); 'clock': UTC times of day (and dates over a day). */
  axis?: 'elapsed' | 'clock';
  /** Labels cut to fit their bar (many short bars); default drawn whole. */
  fitLabels?: boolean;
  /** A line under the title (what was left out, the window). */
  note?: string;
}

export interface GroupColour {
  svg: string;
  /** Background and foreground for a terminal strip. */
  ansi: string;
  /** One letter for a terminal strip. */
  letter: string;
}

const PALETTE: Array<Pick<GroupColour, 'svg' | 'ansi'>> = [
  { svg: '#2f6fde', ansi: '\x1b[44;97m' },
  { svg: '#e8822e', ansi: '\x1b[43;30m' },
  { svg: '#2a9d4b', ansi: '\x1b[42;30m' },
  { svg: '#c0392b', ansi: '\x1b[41;97m' },
  { svg: '#8e44ad', ansi: '\x1b[45;97m' },
  { svg: '#1499a8', ansi: '\x1b[46;30m' },
  { svg: '#7a6a12', ansi: '\x1b[100;97m' },
  { svg: '#d63384', ansi: '\x1b[105;30m' },
];

/** A colour and a letter per group, in the order given: the first two are the demo's blue and orange. */
export function groupColours(groups: readonly string[]): Map<string, GroupColour> {
  const taken = new Set<string>();
  const colours = new Map<string, GroupColour>();
  groups.forEach((group, i) => {
    const candidates = [...group.toUpperCase().replace(/[^A-Z0-9]/g, ''), ...'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'];
    const letter = candidates.find((c) => !taken.has(c)) ?? '?';
    taken.add(letter);
    colours.set(group, { ...PALETTE[i % PALETTE.length]!, letter });
  });
  return colours;
}

const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** Text for the picture: plain (no control characters, which XML refuses too), then escaped. */
const text = (s: string, max = 200): string => escapeXml(displayText(s, max));

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const STEPS = [1, 2, 5, 10, 15, 30]
  .map((s) => s * SECOND)
  .concat([1, 2, 5, 10, 15, 30].map((m) => m * MINUTE))
  .concat([1, 2, 3, 6, 12].map((h) => h * HOUR))
  .concat([1, 2, 7, 14, 28].map((d) => d * DAY));

/** Tick times and their labels across [t0, t1]: at most 9 on the clock axis, so labels never touch. */
function ticks(t0: number, t1: number, axis: 'elapsed' | 'clock'): Array<{ t: number; label: string }> {
  const span = Math.max(1, t1 - t0);
  if (axis === 'elapsed') {
    const totalS = Math.ceil(span / SECOND);
    const tick = totalS > 60 ? 10 : 5;
    const out = [];
    for (let s = 0; s <= totalS; s += tick) out.push({ t: t0 + s * SECOND, label: `${s} s` });
    return out;
  }
  const step = STEPS.find((s) => span / s <= 9) ?? STEPS[STEPS.length - 1]!;
  const iso = (t: number): string => new Date(t).toISOString();
  const label = (t: number): string =>
    step >= DAY
      ? iso(t).slice(5, 10)
      : span > DAY
        ? `${iso(t).slice(5, 10)} ${iso(t).slice(11, 16)}`
        : step < MINUTE
          ? iso(t).slice(11, 19)
          : iso(t).slice(11, 16);
  const out = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) out.push({ t, label: label(t) });
  return out;
}

export function occupancySvg(spans: readonly OccupancySpan[], o: OccupancyOptions): string {
  const { lanes, t0 } = o;
  const t1 = Math.max(o.t1, t0 + 1000);
  const colours = groupColours(o.groups);
  const [labelW, plotW, laneH] = [240, 720, 30];
  const top = o.note ? 64 : 50;
  const x = (t: number): number => labelW + ((Math.min(Math.max(t, t0), t1) - t0) / (t1 - t0)) * plotW;
  const height = top + lanes.length * laneH + 50;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + plotW + 20}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${text(o.title, 300)}</text>`,
  ];
  if (o.note) parts.push(`<text x="10" y="42" fill="#666">${text(o.note, 300)}</text>`);
  for (const tick of ticks(t0, t1, o.axis ?? 'elapsed')) {
    const tx = x(tick.t);
    parts.push(`<line x1="${tx}" y1="${top - 5}" x2="${tx}" y2="${top + lanes.length * laneH}" stroke="#ddd"/>`);
    parts.push(`<text x="${tx}" y="${top + lanes.length * laneH + 15}" text-anchor="middle" fill="#666">${text(tick.label)}</text>`);
  }
  const byLane = new Map<string, OccupancySpan[]>();
  for (const s of spans) byLane.set(s.lane, [...(byLane.get(s.lane) ?? []), s]);
  lanes.forEach((lane, i) => {
    const y = top + i * laneH;
    parts.push(`<text x="10" y="${y + laneH / 2 + 4}"${o.bold?.(lane) ? ' font-weight="bold"' : ''}>${text(lane, 60)}</text>`);
    for (const s of byLane.get(lane) ?? []) {
      if (s.end < t0 || s.start > t1) continue;
      const w = Math.max(1, x(s.end) - x(s.start));
      const fill = colours.get(s.group)?.svg ?? '#888';
      // The white edge parts neighbouring bars; on a bar a few pixels wide it would hide the bar.
      const edge = w >= 4 ? ' stroke="white"' : '';
      parts.push(
        `<rect x="${x(s.start).toFixed(1)}" y="${y + 4}" width="${w.toFixed(1)}" height="${laneH - 8}" fill="${fill}"${edge}><title>${text(s.title, 300)}</title></rect>`,
      );
      const chars = o.fitLabels ? Math.floor((w - 4) / 6) : 100;
      if (chars >= 3)
        parts.push(
          `<text x="${(x(s.start) + w / 2).toFixed(1)}" y="${y + laneH / 2 + 4}" text-anchor="middle" fill="white" font-size="10">${text(s.label, chars)}</text>`,
        );
    }
  });
  o.groups.forEach((group, i) => {
    const lx = labelW + i * 120;
    const ly = height - 18;
    parts.push(
      `<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${colours.get(group)?.svg ?? '#888'}"/><text x="${lx + 18}" y="${ly}">${text(group, 16)}</text>`,
    );
  });
  parts.push('</svg>', '');
  return parts.join('\n');
}
