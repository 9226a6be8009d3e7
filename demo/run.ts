// make demo: the whole toolkit, offline, with stand-ins for GitHub (the
// stand-in) and actions/runner (the simulator) — the one host command that runs
// them. Stand-in up → images → two orgs' fleets through initFleet → a burst of
// jobs watched live (start/end lines, the board's holder and queue) → summary
// table and occupancy picture → everything removed (or kept with --keep until
// Ctrl-C). Ctrl-C at any point removes everything the same way.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toLines, prefixed, type Reporter } from '../core/reporter.ts';
import { runOneOff } from '../lib/docker/containers.ts';
import { ensureDocker } from '../lib/docker/engine.ts';
import { removeImages } from '../lib/docker/images.ts';
import { displayText } from '../lock/display.ts';
import { readResource } from '../lock/inspect.ts';
import { CliError, ExitCode } from '../core/errors.ts';
import { startGitHubStandIn, type GitHubStandIn } from '../standins/github/server.ts';
import { BOARD, ORGS, bringUp, leftovers, prepareFleet, purge, sweep, type Fleet, type Org } from './fleets.ts';
import { BASE_IMAGE, buildDemoImages, DEMO_SIM_IMAGE, engineSettings, stopBuild } from './ground.ts';
import { Burst, clock, seconds, type JobRecord } from './jobs.ts';
import { DEMO_PID_FILE, DEMO_PREFIX, REPO_ROOT, TEMP_DIR_PREFIX } from './paths.ts';
import { boardOverlaps, occupancyStrip, occupancySvg, summaryTable } from './report.ts';
import { takeDemoLock } from './single.ts';

export interface DemoOptions {
  json?: boolean;
  keep?: boolean;
  /** Where the occupancy picture goes (default: <tmp>/gh-runner-fleet-demo.svg). */
  svg?: string;
  /** Generic runners per org (default 1). */
  generic?: number;
}

export interface DemoResult {
  jobs: JobRecord[];
  resource: string;
  orgs: readonly Org[];
  board_overlaps: string[];
  svg: string;
  wall_ms: number;
  kept: boolean;
}

class Interrupted extends Error {}

const GENERIC_PER_ORG = 1;
const JOBS_TIMEOUT_MS = 240_000;

export async function runDemo(options: DemoOptions = {}): Promise<number> {
  const started = Date.now();
  // With --json, stdout carries the one JSON object; everything else goes to stderr.
  const stream = options.json ? process.stderr : process.stdout;
  const out = toLines((line) => void stream.write(`${line}\n`));
  /** A phase's headline, with the time since the demo started. */
  const phase = (line: string): void => out.info(`▸ [${seconds(Date.now() - started).padStart(7)}] ${line}`);
  await ensureDocker();
  const release = takeDemoLock(DEMO_PID_FILE);

  let interrupted = false;
  let wake = (): void => undefined;
  const interruption = new Promise<void>((resolve) => (wake = resolve));
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) {
      out.info(`${signal} again: still cleaning up, one moment …`);
      return;
    }
    interrupted = true;
    out.info(`\n${signal}: stopping; removing everything the demo made …`);
    stopBuild();
    wake();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  /** After a step that cannot be cut short: stop here if interrupted meanwhile. */
  const checkpoint = (): void => {
    if (interrupted) throw new Interrupted();
  };

  const built: string[] = [];
  const fleets: Fleet[] = [];
  let github: GitHubStandIn | undefined;
  let dir: string | undefined;
  let exitCode: number = ExitCode.ok;
  let kept = false;
  try {
    const stale = await leftovers();
    if (stale.containers.length + stale.volumes.length + stale.images.length > 0) {
      out.info(`Removing what an earlier demo left: ${(await sweep()).join(', ')}`);
    }
    phase("Building what the demo needs, offline (the test ground's image recipes)");
    await buildDemoImages(out, built);
    checkpoint();
    const engine = await engineSettings(DEMO_SIM_IMAGE);
    if (engine.note) out.info(`  note: ${engine.note}`);

    github = await startGitHubStandIn();
    phase(`GitHub stand-in listening on ${github.url} (it stands in for github.com; runners are the actions/runner stand-in)`);
    dir = await mkdtemp(TEMP_DIR_PREFIX);
    const lockDir = join(dir, 'locks');
    const pats = { acme: 'ghp_demo_acme_0000000000000000000000', globex: 'ghp_demo_globex_00000000000000000000' };
    for (const org of ORGS) {
      github.addScope(org);
      github.addPat({ token: pats[org], admin: [org] });
      fleets.push(
        await prepareFleet(org, { dir, lockDir, githubUrl: github.url, githubApiUrl: github.apiUrl, image: DEMO_SIM_IMAGE, pats, engine: engine.settings }),
      );
    }
    const generic = options.generic ?? GENERIC_PER_ORG;
    phase(`make init N=${generic} for ${ORGS.join(' and ')} (${generic} generic + 1 board runner each; both board runners share the board "${BOARD}")`);
    await Promise.all(fleets.map((fleet) => bringUp(fleet, generic, prefixed(out, '  '))));
    checkpoint();

    const burst = new Burst(github);
    burst.enqueue();
    const boardJobs = burst.tracked.filter((t) => t.plan.board).length;
    phase(`${burst.tracked.length} jobs queued at once: ${boardJobs} on the shared board, ${burst.tracked.length - boardJobs} generic, from both orgs`);
    await watch(burst, lockDir, out, () => interrupted, interruption);
    checkpoint();

    const jobs = burst.records();
    const svgPath = options.svg ?? join(tmpdir(), 'gh-runner-fleet-demo.svg');
    await writeFile(svgPath, occupancySvg(jobs));
    const overlaps = boardOverlaps(jobs);
    phase('Done: every job ended');
    out.info(`\n${summaryTable(jobs)}\n`);
    out.info(occupancyStrip(jobs, { colour: !options.json && process.stdout.isTTY === true }));
    out.info(`\nBoard occupancy picture: ${svgPath}`);
    const failed = jobs.filter((j) => j.result !== 'success');
    if (failed.length > 0 || overlaps.length > 0) {
      out.info(`error: ${[...failed.map((j) => `${j.job} (${j.org}): ${j.result}`), ...overlaps].join('; ')}`);
      exitCode = ExitCode.failure;
    }
    const result: DemoResult = {
      jobs,
      resource: BOARD,
      orgs: ORGS,
      board_overlaps: overlaps,
      svg: svgPath,
      wall_ms: Date.now() - started,
      kept: options.keep === true,
    };
    if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    if (options.keep) {
      keepNotes(out, fleets, lockDir);
      await interruption;
      kept = true; // Ctrl-C is how a kept demo ends: not an interruption
    }
  } catch (err) {
    if (!(err instanceof Interrupted)) {
      if (err instanceof CliError) throw err;
      throw new CliError(`make demo failed: ${(err as Error).message}`);
    }
  } finally {
    phase('Cleaning up: make purge for each org, the images the demo built, the stand-in, its files');
    await cleanup(out, fleets, github, dir, built);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    release();
    out.info(`make demo: ${interrupted && !kept ? 'interrupted' : 'done'} in ${seconds(Date.now() - started)}`);
  }
  return interrupted && !kept ? 130 : exitCode;
}

/** Start/end lines as they happen, and the board's holder and queue whenever they change. */
async function watch(burst: Burst, lockDir: string, out: Reporter, stopped: () => boolean, interruption: Promise<void>): Promise<void> {
  const deadline = Date.now() + JOBS_TIMEOUT_MS;
  let lastBoard = '';
  while (!burst.done() && !stopped()) {
    for (const line of burst.poll()) out.info(line);
    const state = await readResource(lockDir, BOARD).catch(() => undefined);
    if (state) {
      // Lock records are text from the lock directory: shown only through displayText, as everywhere.
      const who = (runId: string, repository: string) =>
        `${burst.nameOfRun(runId) ?? `run ${displayText(runId, 24)}`} (${displayText(repository.split('/')[0], 40)})`;
      const holder = state.holder ? `held by ${who(state.holder.runId, state.holder.repository)}` : 'free';
      const queue = state.queue.map((t) => who(t.runId, t.repository));
      const line = `board ${BOARD}: ${holder}; queue: ${queue.length ? queue.join(', ') : '(empty)'}`;
      if (line !== lastBoard) out.info(`${clock()}    ${line}`);
      lastBoard = line;
    }
    if (Date.now() > deadline) throw new CliError(`jobs still running after ${JOBS_TIMEOUT_MS / 1000} s: see the lines above`);
    await Promise.race([interruption, new Promise((r) => setTimeout(r, 250))]);
  }
  for (const line of burst.poll()) out.info(line);
}

function keepNotes(out: Reporter, fleets: Fleet[], lockDir: string): void {
  out.info('\n--keep: the fleets and the GitHub stand-in stay up while this command runs. Look around from another shell:');
  out.info(`  cd ${REPO_ROOT}`);
  for (const fleet of fleets) out.info(`  ENV_FILE=${fleet.envFile} make list     # ${fleet.org}'s runners, containers joined with the stand-in's view`);
  out.info(`  ENV_FILE=${fleets[0]!.envFile} make locks    # the shared board: holder and queue (lock directory ${lockDir})`);
  out.info(`  docker ps --filter name=${DEMO_PREFIX}`);
  out.info(`Clean up: Ctrl-C here (or kill -INT ${process.pid}) removes everything, as the demo does without --keep.`);
}

async function cleanup(out: Reporter, fleets: Fleet[], github: GitHubStandIn | undefined, dir: string | undefined, built: string[]): Promise<void> {
  const indented = prefixed(out, '  ');
  for (const fleet of fleets) {
    try {
      await purge(fleet, indented);
    } catch (err) {
      out.info(`  ${fleet.org}: purge: ${(err as Error).message} (swept by name below)`);
    }
  }
  const images = await removeImages(built);
  if (images.length) out.info(`  removed images: ${images.join(', ')}`);
  const swept = await sweep().catch(() => [] as string[]);
  if (swept.length) out.info(`  removed by name: ${swept.join(', ')}`);
  await github?.close();
  if (dir) await removeDir(dir);
}

/** The temp dir; lock files made by containers (root) go through a container when the host user cannot remove them. */
async function removeDir(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
  } catch {
    await runOneOff(BASE_IMAGE, ['-rf', '/d/locks'], { entrypoint: 'rm', volumes: [`${dir}:/d`], what: `removing the demo's lock files in ${dir}` });
    await rm(dir, { recursive: true, force: true });
  }
}
