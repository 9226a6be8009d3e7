// `make bench`: hand-over latency and fairness of the board lock with 4
// contenders that take it in a loop, each re-asking as soon as it releases.
//   bench [--json] [--rounds N] [--hold-ms MS] [--mode processes]
// A mode is a contender launcher; `containers` (same contender, one per
// container on a shared bind mount) plugs in beside `processes`.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, runCli } from '../lib/errors.ts';
import { acquireLock } from '../wrapper/resource-lock.ts';
import type { QueueOptions } from '../wrapper/ticket-queue.ts';

interface Acquisition {
  name: string;
  ticket: number;
  requested: number;
  acquired: number;
  released: number;
}

interface BenchOptions {
  contenders: number;
  rounds: number;
  holdMs: number;
}

/** Starts the contenders of one mode and returns every acquisition they made. */
type ContenderLauncher = (opts: BenchOptions) => Promise<Acquisition[]>;

export interface ModeResult {
  handoff_ms: { p50: number; p99: number; max: number };
  longest_run: number;
  max_wait_ms: number;
  out_of_order: number;
}

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const self = fileURLToPath(import.meta.url);

// The wrapper's defaults: what a board sees in production.
function queueOptions(dir: string): QueueOptions {
  return { dir, resource: 'bench', staleMs: 8000, updateMs: 2000, pollMs: 500 };
}

/** One contender (run as `bench.ts --contender`): waits for the go file, then loops. */
async function contender(dir: string, name: string, rounds: number, holdMs: number): Promise<void> {
  process.stdout.write('ready\n');
  while (!(await stat(join(dir, 'go')).catch(() => undefined))) await sleep(2);
  const out: Acquisition[] = [];
  const job = { runner: name, runId: '0', attempt: '1', repository: 'bench/bench', job: 'bench' };
  for (let i = 0; i < rounds; i++) {
    const requested = now();
    const lock = await acquireLock(queueOptions(dir), { ...job, runId: String(i) }, { signal: new AbortController().signal });
    const acquired = now();
    await sleep(holdMs);
    const released = now();
    await lock.release();
    out.push({ name, ticket: lock.ticket.seq, requested, acquired, released });
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

const launchProcesses: ContenderLauncher = async ({ contenders, rounds, holdMs }) => {
  const dir = await mkdtemp(join(tmpdir(), 'lock-bench-'));
  try {
    const runs = Array.from({ length: contenders }, (_, i) => {
      const args = ['--import', 'tsx', self, '--contender', dir, `--name=p${i}`, `--rounds=${rounds}`, `--hold-ms=${holdMs}`];
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
      const ready = (async () => {
        while (!text.includes('ready\n')) await sleep(5);
      })();
      const done = new Promise<Acquisition[]>((resolve, reject) =>
        child.once('exit', (code) => {
          const last = text.trim().split('\n').pop() ?? '';
          if (code === 0) resolve(JSON.parse(last) as Acquisition[]);
          else reject(new Error(`contender ${i} exited with ${code}`));
        }),
      );
      return { ready, done };
    });
    await Promise.all(runs.map((r) => r.ready));
    await writeFile(join(dir, 'go'), ''); // all start together: every round is contended
    return (await Promise.all(runs.map((r) => r.done))).flat();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

const launchers: Record<string, ContenderLauncher | undefined> = { processes: launchProcesses };

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

export function analyse(all: Acquisition[]): ModeResult {
  const byTime = [...all].sort((a, b) => a.acquired - b.acquired);
  const handoffs: number[] = [];
  let longest = 0;
  let run = 0;
  let outOfOrder = 0;
  byTime.forEach((cur, i) => {
    const prev = byTime[i - 1];
    run = prev && prev.name === cur.name ? run + 1 : 1;
    longest = Math.max(longest, run);
    if (!prev) return;
    if (cur.ticket < prev.ticket) outOfOrder++; // tickets are numbered in request order
    // a hand-over only when this one was already waiting when the previous released
    if (cur.requested < prev.released) handoffs.push(cur.acquired - prev.released);
  });
  handoffs.sort((a, b) => a - b);
  return {
    handoff_ms: { p50: round2(percentile(handoffs, 50)), p99: round2(percentile(handoffs, 99)), max: round2(handoffs.at(-1) ?? 0) },
    longest_run: longest,
    max_wait_ms: round2(Math.max(0, ...all.map((a) => a.acquired - a.requested))),
    out_of_order: outOfOrder,
  };
}

function table(results: Record<string, ModeResult>, opts: BenchOptions): string {
  const header = ['mode', 'handoff p50 ms', 'p99 ms', 'max ms', 'longest run', 'max wait ms', 'out of order'];
  const rows = Object.entries(results).map(([mode, r]) =>
    [mode, r.handoff_ms.p50, r.handoff_ms.p99, r.handoff_ms.max, r.longest_run, r.max_wait_ms, r.out_of_order].map(String),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  const note = `${opts.contenders} contenders x ${opts.rounds} rounds, hold ${opts.holdMs} ms, each re-asks at once`;
  return [note, line(header), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      contender: { type: 'boolean', default: false },
      mode: { type: 'string', multiple: true },
      name: { type: 'string', default: 'c' },
      rounds: { type: 'string', default: '50' },
      'hold-ms': { type: 'string', default: '5' },
    },
    allowPositionals: true,
  });
  const opts: BenchOptions = { contenders: 4, rounds: Number(values.rounds), holdMs: Number(values['hold-ms']) };
  if (!Number.isInteger(opts.rounds) || opts.rounds < 1 || !(opts.holdMs >= 0)) throw new ConfigError('--rounds must be a positive whole number and --hold-ms >= 0');
  if (values.contender) return contender(positionals[0] ?? '', values.name ?? 'c', opts.rounds, opts.holdMs);

  const results: Record<string, ModeResult> = {};
  for (const mode of values.mode ?? ['processes']) {
    const launch = launchers[mode];
    if (!launch) throw new ConfigError(`bench mode ${mode} is not available here: use ${Object.keys(launchers).join(', ')}`);
    results[mode] = analyse(await launch(opts));
  }
  process.stdout.write(values.json ? `${JSON.stringify(results)}\n` : `${table(results, opts)}\n`);
}

await runCli(main);
