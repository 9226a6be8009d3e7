// Ephemeral runners on the real engine: make supervise keeps each slot filled
// with a fresh container that registers just in time, runs one job and is
// replaced. GitHub is the stand-in (standins/github); the runners are the
// runner simulator (standins/runner), which STANDS IN for actions/runner and
// runs a JIT config as Runner.cs does (one job, then exit).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventOutput, type JobView } from '../../standins/github/server.ts';
import { REPO_ROOT } from '../support/cli.ts';
import { startGround, type Ground } from '../support/ground.ts';
import { waitFor } from '../support/wait.ts';
import { containerLogs, dockerOk } from './helpers.ts';

const TSX_LOADER = import.meta.resolve('tsx');

interface RunningSupervisor {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code (or signal) once it has ended. */
  ended: Promise<number | string>;
}

/** `make supervise` as a user runs it, in the ground's folder, for the env file `envFile`. */
function supervise(ground: Ground, envFile: string, args: string[]): RunningSupervisor {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, `${REPO_ROOT}scripts/supervise.ts`, ...args], {
    cwd: ground.dir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...ground.env, ENV_FILE: join(ground.dir, envFile) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const ended = new Promise<number | string>((resolve) => child.on('close', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  return { child, output: () => output, ended };
}

/** The slot containers of `prefix` that exist now: id → name. */
async function slotContainers(prefix: string): Promise<Map<string, string>> {
  const lines = (await dockerOk(['ps', '-a', '--filter', `label=dev.gh-runner-fleet.prefix=${prefix}`, '--format', '{{.ID}} {{.Names}} {{.State}}'])).trim();
  return new Map(lines ? lines.split('\n').map((line) => [line.split(' ')[0]!, line.split(' ').slice(1).join(' ')]) : []);
}

const stepOutput = (job: JobView | undefined): string =>
  (job?.events ?? [])
    .filter((e) => e.event === 'step')
    .map(eventOutput)
    .join('\n');

describe('ephemeral runners (make supervise)', { timeout: 600_000 }, () => {
  let ground: Ground;
  const supervisors: RunningSupervisor[] = [];

  before(async () => {
    ground = await startGround('ephemeral', { orgs: { acme: 'ghp_e2e_eph_acme_0123456789', globex: 'ghp_e2e_eph_globex_0123456789' } });
  });
  after(async () => {
    for (const s of supervisors) s.child.kill('SIGKILL');
    await ground?.close();
  });

  test('one slot, two jobs in a row: two different containers, and a file the first job wrote is gone for the second', async () => {
    const prefix = ground.prefix('eph-seq');
    const env = await ground.writeEnv(prefix, ['RUNNER_MODE=ephemeral', 'RUNNER_LABELS=eph-seq'], { file: 'seq.env' });
    const s = supervise(ground, env, ['-n', '1']);
    supervisors.push(s);
    const slot = `${prefix}runner-1`;
    await waitFor(`${slot} online (${s.output()})`, () => ground.online(slot), { timeoutMs: 60_000 });

    // The container's id, from the mount of its hosts file (its hostname is the host's: host network).
    const run =
      'echo "container=$(grep -o "containers/[0-9a-f]\\{64\\}" /proc/self/mountinfo | head -1)"; ls /home/runner/_work/left-behind 2>/dev/null && echo FOUND-LEFTOVER; mkdir -p /home/runner/_work && touch /home/runner/_work/left-behind';
    const jobs: JobView[] = [];
    for (const name of ['first', 'second']) {
      const id = ground.github.enqueueJob({
        org: 'acme',
        repository: 'acme/app',
        runs_on: ['eph-seq'],
        job: name,
        workflow: 'ci',
        steps: [{ name, run }],
      }).job_id;
      jobs.push(await ground.github.waitForJob(id, (j) => j.status === 'completed', 120_000));
    }
    const hosts = jobs.map((job) => /container=(\S+)/.exec(stepOutput(job))?.[1]);
    assert.ok(hosts[0] && hosts[1], `both jobs said where they ran: ${jobs.map(stepOutput).join(' | ')}`);
    assert.notEqual(hosts[0], hosts[1], 'each job ran in a container of its own');
    assert.doesNotMatch(stepOutput(jobs[1]), /FOUND-LEFTOVER/, 'the second job did not see the first job’s file');
    assert.deepEqual(
      jobs.map((j) => j.runner_name),
      [slot, slot],
      'both on the one slot',
    );
    // Each finished runner is gone from GitHub; the slot holds a third, fresh one.
    await waitFor(`${slot} filled again`, () => ground.online(slot), { timeoutMs: 60_000 });
    assert.equal(ground.github.runners('acme').filter((r) => r.name === slot).length, 1);
    assert.match(s.output(), new RegExp(`${slot}: job started: first`));
    assert.match(s.output(), new RegExp(`${slot}: container removed after its job`));
  });

  test('no JIT config in any file, compose file, host process list or log', async () => {
    const prefix = ground.prefix('eph-secret');
    const env = await ground.writeEnv(prefix, ['RUNNER_MODE=ephemeral', 'RUNNER_LABELS=eph-secret'], { file: 'secret.env' });
    const s = supervise(ground, env, ['-n', '1']);
    supervisors.push(s);
    const slot = `${prefix}runner-1`;
    await waitFor(`${slot} online`, () => ground.online(slot), { timeoutMs: 60_000 });
    const configs = ground.github.jitConfigsIssued(slot);
    assert.ok(configs.length > 0, 'the stand-in issued a JIT config for the slot');
    const secret = configs.at(-1)!;
    const places: Array<[string, string]> = [];
    for (const file of await readdir(ground.dir)) places.push([`file ${file}`, await readFile(join(ground.dir, file), 'utf8').catch(() => '')]);
    const ps = await new Promise<string>((resolve) => {
      const p = spawn('ps', ['-eo', 'args'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      p.stdout.on('data', (c) => (out += c));
      p.on('close', () => resolve(out));
    });
    places.push(['the host process list', ps], ['the supervisor log', s.output()], ['the container log', await containerLogs(slot)]);
    places.push(['docker inspect', await dockerOk(['inspect', slot])]);
    for (const [where, text] of places) assert.ok(!text.includes(secret), `the JIT config is not in ${where}`);
  });

  test('a container killed before its job: replaced, and its registration removed', async () => {
    const prefix = ground.prefix('eph-kill');
    const env = await ground.writeEnv(prefix, ['RUNNER_MODE=ephemeral', 'RUNNER_LABELS=eph-kill'], { file: 'kill.env' });
    const s = supervise(ground, env, ['-n', '1']);
    supervisors.push(s);
    const slot = `${prefix}runner-1`;
    await waitFor(`${slot} online`, () => ground.online(slot), { timeoutMs: 60_000 });
    const [firstId] = ground.github
      .runners('acme')
      .filter((r) => r.name === slot)
      .map((r) => r.id);
    const [firstContainer] = (await slotContainers(prefix)).keys();
    await dockerOk(['kill', slot]);
    await waitFor(
      `a new container in ${slot}, online`,
      async () => {
        const containers = await slotContainers(prefix);
        return !containers.has(firstContainer!) && [...containers.values()].some((v) => v.endsWith('running')) && ground.online(slot);
      },
      { timeoutMs: 90_000 },
    );
    const registrations = ground.github.runners('acme').filter((r) => r.name === slot);
    assert.equal(registrations.length, 1);
    assert.notEqual(registrations[0]!.id, firstId, 'the killed container’s registration was removed, a new one made');
    assert.match(s.output(), new RegExp(`${slot}: ended before a job \\(1 in a row\\)`));
  });

  test('kill -9 of the supervisor mid-job, then a restart: the job finishes, no orphan registration or container, every slot filled again', async () => {
    const prefix = ground.prefix('eph-crash');
    const env = await ground.writeEnv(prefix, ['RUNNER_MODE=ephemeral', 'RUNNER_LABELS=eph-crash'], { file: 'crash.env' });
    const first = supervise(ground, env, ['-n', '2']);
    supervisors.push(first);
    const slots = [`${prefix}runner-1`, `${prefix}runner-2`];
    await waitFor(`both slots online (${first.output()})`, () => slots.every((slot) => ground.online(slot)), { timeoutMs: 90_000 });
    const id = ground.github.enqueueJob({
      org: 'acme',
      repository: 'acme/app',
      runs_on: ['eph-crash'],
      job: 'long',
      workflow: 'ci',
      steps: [{ name: 'long', run: 'sleep 6; echo done' }],
    }).job_id;
    await ground.github.waitForJob(id, (j) => j.status === 'in_progress', 60_000);
    first.child.kill('SIGKILL');
    await first.ended;
    const done = await ground.github.waitForJob(id, (j) => j.status === 'completed', 60_000);
    assert.equal(done.conclusion, 'success', 'the job ran to its end without the supervisor');

    const second = supervise(ground, env, ['-n', '2']);
    supervisors.push(second);
    await waitFor(
      'two running slot containers, two registrations, both online',
      async () => {
        const containers = [...(await slotContainers(prefix)).values()];
        const running = containers.filter((c) => c.endsWith('running')).length;
        const registered = ground.github.runners('acme').filter((r) => r.name.startsWith(prefix));
        return running === 2 && containers.length === 2 && registered.length === 2 && slots.every((slot) => ground.online(slot));
      },
      { timeoutMs: 120_000 },
    );
  });

  test('board slots of two orgs serialize on one board', async () => {
    const board = ['BOARD_RUNNERS=devboard:devboard', 'RUNNER_RESOURCE_ID=eph-devboard'];
    const acme = ground.prefix('eph-board-a');
    const globex = ground.prefix('eph-board-g');
    const a = supervise(ground, await ground.writeEnv(acme, ['RUNNER_MODE=ephemeral', ...board], { file: 'board-a.env' }), ['-n', '0']);
    const g = supervise(ground, await ground.writeEnv(globex, ['RUNNER_MODE=ephemeral', ...board], { file: 'board-g.env', org: 'globex' }), ['-n', '0']);
    supervisors.push(a, g);
    await waitFor('both board slots online', () => ground.online(`${acme}runner-devboard`, 'acme') && ground.online(`${globex}runner-devboard`, 'globex'), {
      timeoutMs: 90_000,
    });
    const run = 'date +%s%N > /dev/null; echo "start=$(date +%s%N)"; sleep 3; echo "end=$(date +%s%N)"';
    const ids = ['acme', 'globex', 'acme', 'globex'].map(
      (org, i) =>
        ground.github.enqueueJob({ org, repository: `${org}/fw`, runs_on: ['devboard'], job: `board-${i}`, workflow: 'hw', steps: [{ name: 'flash', run }] })
          .job_id,
    );
    const jobs = await Promise.all(ids.map((id) => ground.github.waitForJob(id, (j) => j.status === 'completed', 240_000)));
    const spans = jobs.map((job) => {
      const out = stepOutput(job);
      return { start: Number(/start=(\d+)/.exec(out)?.[1]), end: Number(/end=(\d+)/.exec(out)?.[1]) };
    });
    assert.ok(
      spans.every((s) => s.start > 0 && s.end > s.start),
      `every job ran its step: ${JSON.stringify(spans)}`,
    );
    spans.sort((x, y) => x.start - y.start);
    for (let i = 1; i < spans.length; i++) assert.ok(spans[i]!.start >= spans[i - 1]!.end, `never two on the board at once: ${JSON.stringify(spans)}`);
  });
});
