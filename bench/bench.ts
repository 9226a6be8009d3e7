// The lock benchmark behind scripts/bench.ts: launchers for the contenders
// (as processes on this host, or as containers sharing a bind-mounted lock
// directory), and the analysis of what they recorded.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, stop as stopEsbuild } from 'esbuild';
import { $, type ProcessPromise } from 'zx';
import { nodeScriptBundle } from '../core/bundle.ts';
import type { Acquisition } from './contender.ts';
import { removeContainers, runContainer } from '../lib/docker/containers.ts';
import { ensureDocker } from '../lib/docker/engine.ts';
import { imageExists } from '../lib/docker/images.ts';
import { formatTable } from '../lib/table.ts';
import { etcdClient } from '../lock/etcd/client.ts';
import { parseEtcdSettings } from '../lock/etcd/settings.ts';

export interface BenchOptions {
  contenders: number;
  rounds: number;
  holdMs: number;
  /** Image the container contenders run in (its node at CONTAINER_NODE). */
  image: string;
  /** Lock on etcd at these endpoints (comma list) instead of a lock directory. */
  etcd?: string;
}

export interface ModeResult {
  handoff_ms: { p50: number; p99: number; max: number };
  longest_run: number;
  max_wait_ms: number;
  out_of_order: number;
  /** Grants made while another contender held the lock: 0 unless mutual exclusion broke. */
  overlaps: number;
}

/** A mode that could not run here, and why: never a made-up figure. */
export interface Skipped {
  skipped: string;
}

export type ModeOutcome = ModeResult | Skipped;

/** Runs one mode's contenders and returns every acquisition, or why the mode cannot run here. */
export type ContenderLauncher = (opts: BenchOptions) => Promise<Acquisition[] | Skipped>;

/** The runner simulator image of the e2e tests; pass --image for a real actions-runner image. */
export const DEFAULT_BENCH_IMAGE = 'runner-fleet-test/actions-runner:sim';
/** The node actions/runner ships (and the simulator image copies); not on PATH. */
export const CONTAINER_NODE = '/home/runner/externals/node20/bin/node';

const contenderEntry = fileURLToPath(new URL('./contender-main.ts', import.meta.url));
const tsxLoader = import.meta.resolve('tsx');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Running {
  ready: Promise<void>;
  done: Promise<Acquisition[]>;
}

/** Follows one started contender: it prints `ready`, then (after `go`) its acquisitions as one JSON line. */
function follow(what: string, child: ProcessPromise): Running {
  let text = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
  let exited = false;
  const output = child.finally(() => (exited = true));
  const ready = (async () => {
    const deadline = Date.now() + 60_000;
    while (!text.includes('ready\n')) {
      if (exited || Date.now() > deadline) {
        const out = exited ? await output : undefined;
        throw new Error(`${what} did not start: ${out?.stderr.trim() || (out ? `exit ${out.exitCode}` : 'no answer in 60 s')}`);
      }
      await sleep(5);
    }
  })();
  const done = output.then((out) => {
    if (out.exitCode !== 0) throw new Error(`${what} exited with ${out.exitCode}: ${out.stderr.trim()}`);
    return JSON.parse(text.trim().split('\n').pop() ?? '') as Acquisition[];
  });
  done.catch(() => undefined); // reported through Promise.all below
  ready.catch(() => undefined);
  return { ready, done };
}

/** Lets every contender start, then starts them together so every round is contended. */
async function race(lockDir: string, runs: Running[]): Promise<Acquisition[]> {
  await Promise.all(runs.map((r) => r.ready));
  await writeFile(join(lockDir, 'go'), '', { mode: 0o666 });
  return (await Promise.all(runs.map((r) => r.done))).flat();
}

async function sharedTempDir(prefix: string, mode: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, mode);
  return dir;
}

/** The contender's etcd arguments: the endpoints and a prefix of this run's own. */
function etcdArgs(etcd: string | undefined): string[] {
  return etcd ? [etcd, `/gh-runner-fleet/bench/${randomBytes(4).toString('hex')}`] : [];
}

/** Why etcd cannot be benchmarked (it does not answer), or undefined. */
export async function etcdMissing(endpoints: string): Promise<Skipped | undefined> {
  const settings = parseEtcdSettings({ RUNNER_LOCK_ETCD_ENDPOINTS: endpoints });
  if (!settings) return { skipped: 'no etcd endpoint' };
  const client = await etcdClient(settings);
  try {
    await client.get('/gh-runner-fleet/bench/ping').string();
    return undefined;
  } catch (err) {
    return { skipped: `etcd at ${endpoints} does not answer (${(err as Error).message.split('\n')[0]})` };
  } finally {
    client.close();
  }
}

export const launchProcesses: ContenderLauncher = async ({ contenders, rounds, holdMs, etcd }) => {
  const missing = etcd ? await etcdMissing(etcd) : undefined;
  if (missing) return missing;
  const dir = await sharedTempDir('lock-bench-', 0o700);
  const lockArgs = etcdArgs(etcd);
  try {
    const runs = Array.from({ length: contenders }, (_, i) => {
      const name = `p${i}`;
      const command = [process.execPath, '--import', tsxLoader, contenderEntry, dir, name, String(rounds), String(holdMs), ...lockArgs];
      return follow(`contender ${name}`, $({ quiet: true, nothrow: true })`${command}`);
    });
    return await race(dir, runs);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

/** Bundles the contender into one ESM file any Node >= 18 runs, as image/build.ts does for the wrapper (core/bundle.ts). */
async function bundleContender(outFile: string): Promise<void> {
  try {
    await build(nodeScriptBundle(contenderEntry, outFile));
  } finally {
    await stopEsbuild(); // its service process must not outlive the bench
  }
}

async function dockerMissing(image: string): Promise<Skipped | undefined> {
  try {
    await ensureDocker();
  } catch (err) {
    return { skipped: `Docker is not available (${(err as Error).message})` };
  }
  if (!(await imageExists(image))) {
    return { skipped: `image ${image} is not present (build it with tests/e2e/setup.sh, or pass --image with an actions-runner image)` };
  }
  return undefined;
}

/**
 * One container per contender, all sharing a bind-mounted lock directory, as
 * board runners of several orgs do; the contender runs on the image's own node
 * as the runner user, with no network.
 */
export const launchContainers: ContenderLauncher = async ({ contenders, rounds, holdMs, image, etcd }) => {
  const missing = (await dockerMissing(image)) ?? (etcd ? await etcdMissing(etcd) : undefined);
  if (missing) return missing;
  const lockArgs = etcdArgs(etcd);
  const bundleDir = await sharedTempDir('lock-bench-bundle-', 0o755);
  const lockDir = await sharedTempDir('lock-bench-', 0o777); // the runner user (uid 1001) writes here
  const names = Array.from({ length: contenders }, (_, i) => `gh-runner-fleet-bench-${randomBytes(3).toString('hex')}-c${i}`);
  try {
    await bundleContender(join(bundleDir, 'contender.mjs'));
    await chmod(join(bundleDir, 'contender.mjs'), 0o644);
    const runs = names.map((name, i) =>
      follow(
        `container ${name}`,
        runContainer([
          // etcd: on the host's network, as board runners are (compose-file.ts); the directory needs none.
          '--rm',
          '--name',
          name,
          '--network',
          etcd ? 'host' : 'none',
          '-v',
          `${lockDir}:/bench`,
          '-v',
          `${bundleDir}:/opt/bench:ro`,
          '--entrypoint',
          CONTAINER_NODE,
          image,
          '/opt/bench/contender.mjs',
          '/bench',
          `c${i}`,
          String(rounds),
          String(holdMs),
          ...lockArgs,
        ]),
      ),
    );
    return await race(lockDir, runs);
  } finally {
    await removeContainers(names);
    await rm(bundleDir, { recursive: true, force: true });
    await rm(lockDir, { recursive: true, force: true });
  }
};

export const launchers: Record<string, ContenderLauncher> = { processes: launchProcesses, containers: launchContainers };

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

/**
 * Order and fairness from the grant numbers (the true order, counted under
 * the lock), latencies from the shared monotonic clock.
 */
export function analyse(all: Acquisition[]): ModeResult {
  const byGrant = [...all].sort((a, b) => a.grant - b.grant);
  const handoffs: number[] = [];
  let longest = 0;
  let run = 0;
  let outOfOrder = 0;
  let overlaps = 0;
  byGrant.forEach((cur, i) => {
    const prev = byGrant[i - 1];
    if (cur.overlapped || prev?.grant === cur.grant) overlaps++;
    // Unfair only while someone else waits in the queue: at the end, when the
    // others have done their rounds, one contender taking the lock again and
    // again is not.
    const othersWaiting = all.some((o) => o.name !== cur.name && o.queued < cur.acquired && o.grant > cur.grant);
    run = prev && prev.name === cur.name && othersWaiting ? run + 1 : 1;
    longest = Math.max(longest, run);
    if (!prev) return;
    if (cur.ticket < prev.ticket) outOfOrder++; // tickets are numbered in request order
    // a hand-over only when this one was already waiting when the previous released
    if (cur.queued < prev.released) handoffs.push(cur.acquired - prev.released);
  });
  handoffs.sort((a, b) => a - b);
  return {
    handoff_ms: { p50: round2(percentile(handoffs, 50)), p99: round2(percentile(handoffs, 99)), max: round2(handoffs.at(-1) ?? 0) },
    longest_run: longest,
    max_wait_ms: round2(Math.max(0, ...all.map((a) => a.acquired - a.requested))),
    out_of_order: outOfOrder,
    overlaps,
  };
}

export function isSkipped(outcome: ModeOutcome): outcome is Skipped {
  return 'skipped' in outcome;
}

/** The measured modes as a table; a mode that could not run is a line of its own below it. */
export function formatResults(results: Record<string, ModeOutcome>, opts: BenchOptions): string {
  const header = ['mode', 'handoff p50 ms', 'p99 ms', 'max ms', 'longest run', 'max wait ms', 'out of order', 'overlaps'];
  const entries = Object.entries(results);
  const rows = entries.flatMap(([mode, r]) => {
    if (isSkipped(r)) return [];
    const { p50, p99, max } = r.handoff_ms;
    return [[mode, p50, p99, max, r.longest_run, r.max_wait_ms, r.out_of_order, r.overlaps].map(String)];
  });
  const skipped = entries.flatMap(([mode, r]) => (isSkipped(r) ? [`${mode}  skipped: ${r.skipped}`] : []));
  const rounds = `${opts.contenders} contenders x ${opts.rounds} rounds, hold ${opts.holdMs} ms`;
  const note = `${rounds}, each re-asks at once; containers: ${opts.image}${opts.etcd ? `; etcd: ${opts.etcd}` : ''}`;
  return [note, ...(rows.length ? [formatTable(header, rows)] : []), ...skipped, ...sideBySide(results)].join('\n');
}

/** The key of a mode's result on a backend: the mode alone for the directory (as before etcd), `mode (etcd)` for etcd. */
export function resultKey(mode: string, backend: 'directory' | 'etcd'): string {
  return backend === 'directory' ? mode : `${mode} (etcd)`;
}

/** Handoff p50/p99 of each mode on both backends side by side, when both were measured. */
function sideBySide(results: Record<string, ModeOutcome>): string[] {
  const modes = Object.keys(results).filter((k) => !k.endsWith(' (etcd)') && results[resultKey(k, 'etcd')] !== undefined);
  if (modes.length === 0) return [];
  const cell = (r: ModeOutcome | undefined): string[] => (!r || isSkipped(r) ? ['-', '-'] : [String(r.handoff_ms.p50), String(r.handoff_ms.p99)]);
  const rows = modes.map((m) => [m, ...cell(results[m]), ...cell(results[resultKey(m, 'etcd')])]);
  return ['', 'handoff, directory vs etcd:', formatTable(['mode', 'directory p50 ms', 'p99 ms', 'etcd p50 ms', 'p99 ms'], rows)];
}
