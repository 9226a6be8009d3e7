// End to end: `make demo` (scripts/demo.ts) on a real Docker engine, with the
// stand-ins for GitHub and actions/runner it runs itself. Runs the whole demo
// in --json mode and checks its JSON; interrupts a second run with SIGINT
// while jobs run (both runs: the two fleets' parallel image builds show as
// folded progress lines, never their raw logs); and checks the one-line
// refusals (a demo already running, no Docker). Each time: nothing of the demo
// is left behind.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEMO_PID_FILE, DEMO_PREFIX } from '../../demo/paths.ts';
import { REPO_ROOT, runScript } from '../support/cli.ts';
import type { JobRecord } from '../../demo/jobs.ts';
import { assertImages, BASE_IMAGE, dockerOk, dockerUnavailable } from './helpers.ts';

const skip = await dockerUnavailable();
if (skip) console.log(`# skipping the demo e2e test: ${skip}`);

/** One job of the demo's --json output. */
type DemoJob = JobRecord;

/** What the demo may leave: nothing named with its prefix (its images too), no temp files, no pid file. */
async function leftBehind(tmp: string, keep: string[] = []): Promise<string[]> {
  const found: string[] = [];
  found.push(...(await dockerOk(['ps', '-a', '--format', '{{.Names}}'])).split('\n').filter((n) => n.startsWith(DEMO_PREFIX)));
  found.push(...(await dockerOk(['volume', 'ls', '-q'])).split('\n').filter((v) => v.startsWith(DEMO_PREFIX)));
  found.push(...(await dockerOk(['images', '--format', '{{.Repository}}:{{.Tag}}'])).split('\n').filter((i) => i.includes('rf-demo')));
  // tsx-<uid>: the TypeScript loader's own compile cache, which any script run through tsx keeps in TMPDIR.
  found.push(...(await readdir(tmp)).filter((f) => !keep.includes(f) && !/^tsx-\d+$/.test(f)).map((f) => join(tmp, f)));
  if (existsSync(DEMO_PID_FILE)) found.push(DEMO_PID_FILE);
  return found;
}

const env = (tmp: string): Record<string, string> => ({ TMPDIR: tmp, DOCKER_HOST: process.env.DOCKER_HOST ?? '' });

/**
 * The two fleets build their runner images at once, each build folded into
 * `<org>: building IMAGE … step i/n: …` lines, one per step, in the demo's
 * output: no raw BuildKit (`#N [i/n]`) or legacy builder (`Step i/n :`) lines
 * anywhere, no deprecation banner, and never a PAT (`everything`: all the demo printed).
 */
function assertFoldedBuilds(output: string, everything: string): void {
  for (const org of ['acme', 'globex']) {
    const steps = output.split('\n').filter((line) => line.startsWith(`  ${org}: building `));
    assert.ok(steps.length >= 2, `${org}: folded build lines:\n${output}`);
    for (const line of steps) assert.match(line, /^ {2}\w+: building \S+ … step (\S+ )?\d+\/\d+: \S/);
    assert.match(steps[0]!, / step 1\/\d+: FROM /);
    assert.equal(new Set(steps).size, steps.length, `${org}: one line per step`);
  }
  assert.doesNotMatch(everything, /#\d+ \[(\S+ )?\d+\/\d+\]|\bStep \d+\/\d+ : /);
  assert.doesNotMatch(everything, /DEPRECATED|legacy builder|Install the buildx component/);
  assert.doesNotMatch(everything, /ghp_demo_/);
}

describe('make demo on a real engine', { skip, timeout: 900_000 }, () => {
  const dirs: string[] = [];
  const freshTmp = async (): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), 'demo-e2e-'));
    dirs.push(dir);
    return dir;
  };

  before(async () => {
    await assertImages([BASE_IMAGE]);
  });

  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  test('--json: jobs of both orgs ran, the board never held by two, all success, nothing left behind', async () => {
    const tmp = await freshTmp();
    const svg = join(tmp, 'occupancy.svg');
    const started = Date.now();
    const r = await runScript('demo.ts', ['--json', '--svg', svg], { env: env(tmp), timeoutMs: 420_000 });
    console.log(`# make demo --json: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const out = JSON.parse(r.stdout) as { jobs: DemoJob[]; svg: string; board_overlaps: string[] };
    const jobs = out.jobs;
    assert.ok(jobs.length >= 8, `${jobs.length} jobs`);
    assert.deepEqual([...new Set(jobs.map((j) => j.org))].sort(), ['acme', 'globex']);
    for (const j of jobs) {
      assert.equal(j.result, 'success', `${j.job}: ${j.result}`);
      assert.ok(j.runner?.startsWith(`${DEMO_PREFIX}${j.org}-`), `${j.job} ran on ${j.runner}`);
      assert.ok(Date.parse(j.started_at!) >= Date.parse(j.queued_at) && Date.parse(j.finished_at!) > Date.parse(j.started_at!), JSON.stringify(j));
      assert.equal(j.waited_ms, Date.parse(j.started_at!) - Date.parse(j.queued_at));
    }
    const board = jobs.filter((j) => j.board).sort((a, b) => Date.parse(a.started_at!) - Date.parse(b.started_at!));
    assert.deepEqual([...new Set(board.map((j) => j.org))].sort(), ['acme', 'globex'], 'board jobs of both orgs');
    assert.equal(new Set(board.map((j) => j.resource)).size, 1, 'one shared resource');
    assert.ok(
      jobs.some((j) => !j.board),
      'generic jobs too',
    );
    for (let i = 1; i < board.length; i++) {
      const [prev, cur] = [board[i - 1]!, board[i]!];
      assert.ok(Date.parse(cur.started_at!) >= Date.parse(prev.finished_at!), `${cur.job} (${cur.org}) took the board before ${prev.job} (${prev.org}) let go`);
    }
    assert.deepEqual(out.board_overlaps, []);
    assert.equal(out.svg, svg);
    const picture = await readFile(svg, 'utf8');
    assert.match(picture, /^<svg /);
    for (const j of board) assert.ok(picture.includes(j.job), `${j.job} not in the picture`);
    // Live lines and the summary went to stderr.
    assert.match(r.stderr, /has the board \(devboard\)/);
    assert.match(r.stderr, /board devboard: held by \S+ \((acme|globex)\); queue: /);
    assert.match(r.stderr, /^job +org +runner +board +waited +ran +result$/m);
    assertFoldedBuilds(r.stderr, r.stdout + r.stderr);
    assert.deepEqual(await leftBehind(tmp, ['occupancy.svg']), []);
  });

  test('SIGINT while jobs run: stops, removes everything, exits 130', async () => {
    const tmp = await freshTmp();
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(REPO_ROOT, 'scripts/demo.ts')], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env(tmp) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let interruptedAt = 0;
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!interruptedAt && /has the board/.test(stdout)) {
        interruptedAt = Date.now();
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 400_000);
      child.on('close', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    assert.ok(interruptedAt, `never saw a job on the board:\n${stdout}`);
    console.log(`# SIGINT -> demo exited after ${((Date.now() - interruptedAt) / 1000).toFixed(1)} s`);
    assert.equal(code, 130, stdout);
    assert.match(stdout, /SIGINT: stopping; removing everything/);
    assert.match(stdout, /make demo: interrupted/);
    assertFoldedBuilds(stdout, stdout + stderr);
    assert.deepEqual(await leftBehind(tmp, ['gh-runner-fleet-demo.svg']), []);
  });

  test('a second demo while one runs is refused with one line', async () => {
    const tmp = await freshTmp();
    await writeFile(DEMO_PID_FILE, `${process.pid}\n`, { flag: 'wx' });
    try {
      const r = await runScript('demo.ts', [], { env: env(tmp), timeoutMs: 60_000 });
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        `error: another make demo is running (pid ${process.pid}, ${DEMO_PID_FILE}): wait for it to end, or stop it with kill -INT ${process.pid}\n`,
      );
      assert.equal(r.stdout, '');
    } finally {
      await rm(DEMO_PID_FILE, { force: true });
    }
  });

  test('no docker: the usual one line, exit 7', async () => {
    const tmp = await freshTmp();
    const bin = join(tmp, 'bin');
    await rm(bin, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(bin));
    await symlink('/bin/bash', join(bin, 'bash'));
    const r = await runScript('demo.ts', [], { env: { PATH: bin, TMPDIR: tmp }, timeoutMs: 60_000 });
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stderr, /^error: docker is not installed: [^\n]+\n$/);
    assert.equal(existsSync(DEMO_PID_FILE), false);
  });
});
