// End to end on a real Docker engine, hardened mode (issue 19, "a job cannot
// outlive itself"): a job runs pull-request code as the runner's user and can
// reach its runner's hook socket. Two orgs' board runners share one board:
// acme's job (the forger) sends forged acquires from its step, and leaves a
// process behind that sends more once the job is over. Every one is refused
// with one line, takes no ticket and holds nothing; the lock directory stays
// a few hundred bytes; globex's jobs on the same board are not blocked, and
// the waiting lines in their logs carry no text of acme's.
//
// The runners are the runner simulator (standins/runner), which STANDS IN for
// actions/runner (not downloadable here); GitHub is the stand-in.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ResourceState } from '../../lock/inspect.ts';
import { eventOutput, type JobView } from '../../standins/github/server.ts';
import { runScript } from '../support/cli.ts';
import { startGround, type Ground } from '../support/ground.ts';
import { containerLogs, dockerOk, dockerUnavailable } from './helpers.ts';
import { waitFor } from '../support/wait.ts';
import { dirBytes } from '../support/lock-helpers.ts';

const skip = await dockerUnavailable();
if (skip) console.log(`# skipping the forged-acquire e2e test: ${skip}`);

const ACME_PAT = 'ghp_e2e_forged_0123456789';
const GLOBEX_PAT = 'ghp_e2e_forged_globex_0123456789';
const BOARD = 'board-x';

/**
 * The forger's client, run by the job's node. `forge SOCKET` sends each
 * forged request and prints one line per reply set; `linger SOCKET OUT`
 * starts a detached copy of itself, outside the job (no RUNNER_TRACKING_ID,
 * so the runner's end-of-job clean-up spares it), which waits until no
 * Runner.Worker runs, then sends two more acquires and writes the replies to OUT.
 */
const FORGE_JS = String.raw`
const net = require('net');
const fs = require('fs');
const [mode, sock, out] = process.argv.slice(2);
const labels = { runId: process.env.GITHUB_RUN_ID || '1', attempt: '1', repository: 'acme/firmware' };
const line = (o) => JSON.stringify(o) + '\n';
function send(payload) {
  return new Promise((resolve) => {
    const s = net.connect(sock);
    let text = '';
    let done = false;
    const finish = (how) => { if (done) return; done = true; s.destroy(); resolve({ lines: text.split('\n').filter(Boolean), how }); };
    s.on('data', (d) => (text += d));
    s.on('error', () => undefined); // a write after the wrapper stopped reading fails; 'close' follows
    s.on('close', () => finish('closed'));
    setTimeout(() => finish('timeout'), 8000);
    s.on('connect', async () => {
      const data = Buffer.from(payload);
      for (let at = 0; at < data.length && !text && !s.destroyed; at += 65536) {
        if (!s.write(data.subarray(at, at + 65536))) {
          await new Promise((r) => {
            const go = () => { s.off('drain', go); s.off('data', go); s.off('close', go); r(); };
            s.on('drain', go); s.on('data', go); s.on('close', go);
          });
        }
      }
    });
  });
}
const report = (name, r) => name + ': ' + r.how + ', ' + r.lines.length + ' line(s): ' + (r.lines[0] || '');
async function forge() {
  const tries = {
    'own-pid': line({ op: 'acquire', job: labels, workerPid: process.pid }),
    'path-pid': line({ op: 'acquire', job: labels, workerPid: '../../proc/self/fd/0' }),
    'again': line({ op: 'acquire', job: labels }),
    'warning': line({ op: 'acquire', job: { ...labels, repository: '::warning::pwned/x' } }),
    'escape': line({ op: 'acquire', job: { ...labels, runId: '1\u001b[2J' } }),
    'huge': line({ op: 'acquire', job: { ...labels, repository: 'acme/' + 'a'.repeat(20 * 1024 * 1024) } }),
  };
  for (const [name, payload] of Object.entries(tries)) console.log('forged ' + report(name, await send(payload)));
}
async function linger() {
  const env = { ...process.env };
  delete env.RUNNER_TRACKING_ID;
  require('child_process').spawn(process.execPath, [__filename, 'after', sock, out], { detached: true, stdio: 'ignore', env }).unref();
}
function workerRuns() {
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (fs.readFileSync('/proc/' + pid + '/cmdline', 'latin1').split('\0')[0].endsWith('/Runner.Worker')) return true;
    } catch {}
  }
  return false;
}
async function after() {
  const deadline = Date.now() + 120000;
  let quiet = 0;
  while (quiet < 5 && Date.now() < deadline) { quiet = workerRuns() ? 0 : quiet + 1; await new Promise((r) => setTimeout(r, 200)); }
  const lines = ['after ' + report('no-job', await send(line({ op: 'acquire', job: labels })))];
  lines.push('after ' + report('own-pid', await send(line({ op: 'acquire', job: labels, workerPid: process.pid }))));
  fs.writeFileSync(out, lines.join('\n') + '\n');
}
({ forge, linger, after })[mode]().catch((e) => { console.log('forge failed: ' + e.message); process.exitCode = 1; });
`;

/** The forger's first step: forged acquires, what it can see of the lock directory, and the process it leaves behind. */
const FORGE_STEP = [
  'set -u',
  'node=$(ls /home/runner/externals/node*/bin/node | tail -n 1)',
  'sock=${RUNNER_FLEET_SOCKET:-/tmp/runner-fleet/wrapper.sock}',
  "cat > /home/runner/_work/forge.js <<'JS'",
  FORGE_JS,
  'JS',
  '"$node" /home/runner/_work/forge.js forge "$sock"',
  `if cat "$RUNNER_LOCK_DIR/${BOARD}.holder.json" >/dev/null 2>&1; then echo holder=readable; else echo holder=denied; fi`,
  `for t in "$RUNNER_LOCK_DIR/${BOARD}.queue"/*; do if cat "$t" >/dev/null 2>&1; then echo ticket=readable; else echo ticket=denied; fi; done`,
  `echo "tickets=$(ls "$RUNNER_LOCK_DIR/${BOARD}.queue" | wc -l)"`,
  '"$node" /home/runner/_work/forge.js linger "$sock" /home/runner/_work/forged-after.txt',
  '',
].join('\n');

const hookOutput = (job: JobView | undefined, hook: 'job_started' | 'job_completed'): string =>
  eventOutput(job?.events.find((e) => e.event === 'hook' && e.hook === hook));
const stepOutput = (job: JobView | undefined, index = 0): string => eventOutput((job?.events ?? []).filter((e) => e.event === 'step')[index]);

describe('forged acquires from a job, hardened mode, two orgs on one board, on a real engine', { skip, timeout: 420_000 }, () => {
  let ground: Ground;
  let lockDir: string;
  let acme = '';
  let globex = '';
  const runner = (prefix: string): string => `${prefix}runner-x1`;

  const board = async (): Promise<ResourceState | undefined> => {
    const r = await runScript('locks.ts', ['--json'], { cwd: ground.dir, env: { RUNNER_LOCK_HOST_PATH: lockDir } });
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { resources: ResourceState[] }).resources.find((s) => s.resource === BOARD);
  };
  const boardJob = (org: 'acme' | 'globex', job: string, steps: Array<{ name: string; run: string }>): number =>
    ground.github.enqueueJob({ org, repository: `${org}/firmware`, runs_on: [BOARD], job, workflow: 'ci', steps }).job_id;

  before(async () => {
    ground = await startGround('forged', { orgs: { acme: ACME_PAT, globex: GLOBEX_PAT }, mode: 'hardened' });
    lockDir = join(ground.dir, 'locks');
    acme = ground.prefix('fga');
    globex = ground.prefix('fgg');
    const board = [`RUNNER_LOCK_HOST_PATH=${lockDir}`, `BOARD_RUNNERS=x1:${BOARD}`, `RUNNER_RESOURCE_ID=${BOARD}`];
    await ground.writeEnv(acme, board, { file: 'acme.env', org: 'acme' });
    await ground.writeEnv(globex, board, { file: 'globex.env', org: 'globex' });
  });

  after(() => ground?.close());

  test('init: one board runner per org on the same board, hardened', async () => {
    for (const file of ['acme.env', 'globex.env']) {
      const r = await ground.run('init.ts', ['-n', '0'], { ENV_FILE: file });
      assert.equal(r.code, 0, `${file}: ${r.stdout}\n${r.stderr}`);
    }
    const online = (org: string, name: string): boolean => ground.github.runners(org).find((r) => r.name === name)?.status === 'online';
    await waitFor('both board runners online', () => online('acme', runner(acme)) && online('globex', runner(globex)), { timeoutMs: 90_000 });
    const inspect = JSON.parse(await dockerOk(['inspect', '--format', '{{json .HostConfig}}', runner(acme)])) as { Privileged: boolean };
    assert.equal(inspect.Privileged, false, 'not hardened');
  });

  let forger: JobView;
  let waiter: JobView;

  test("the forger's acquires are each refused with one line; it cannot read the lock records; globex's job waits behind it and sees no acme text", async () => {
    const forgerId = boardJob('acme', 'forger', [
      { name: 'forge', run: FORGE_STEP },
      { name: 'hold the board', run: 'sleep 8' },
    ]);
    // Once the forged requests are done (the first step reported), globex's job arrives and waits.
    await ground.github.waitForJob(forgerId, (j) => j.events.some((e) => e.event === 'step'), 60_000);
    const waiterId = boardJob('globex', 'waiter', [{ name: 'on the board', run: 'echo on-the-board' }]);
    [forger, waiter] = await Promise.all([
      ground.github.waitForJob(forgerId, (j) => j.status === 'completed', 90_000),
      ground.github.waitForJob(waiterId, (j) => j.status === 'completed', 90_000),
    ]);
    assert.equal(forger.conclusion, 'success', JSON.stringify(forger.events));
    assert.match(hookOutput(forger, 'job_started'), new RegExp(`${BOARD}: lock acquired after`));
    const out = stepOutput(forger);
    console.log(
      `# forger:\n${out
        .split('\n')
        .map((l) => `#   ${l}`)
        .join('\n')}`,
    );
    const expected: Array<[string, RegExp]> = [
      ['own-pid', /workerPid is not accepted/],
      ['path-pid', /workerPid is not accepted/],
      ['again', new RegExp(`this job holds ${BOARD} already`)],
      ['warning', /repository is invalid/],
      ['escape', /runId is invalid/],
      ['huge', /request longer than 4096 bytes/],
    ];
    for (const [name, why] of expected) {
      const m = new RegExp(`^forged ${name}: (\\w+)[^,]*, (\\d+) line\\(s\\): (.*)$`, 'm').exec(out);
      assert.ok(m, `${name}: no result in ${out}`);
      assert.equal(m[1], 'closed', `${name}: the wrapper did not close the connection`);
      assert.equal(m[2], '1', `${name}: not one reply line`);
      const reply = JSON.parse(m[3]!) as { type: string; message: string };
      assert.equal(reply.type, 'error', `${name}: ${m[3]}`);
      assert.match(reply.message, why, name);
    }
    assert.match(out, /^holder=denied$/m, 'a job read the holder record');
    assert.doesNotMatch(out, /^ticket=readable$/m, 'a job read a ticket');
    assert.match(out, /^tickets=1$/m, 'a forged acquire took a ticket');

    assert.equal(waiter.conclusion, 'success', JSON.stringify(waiter.events));
    const waited = hookOutput(waiter, 'job_started');
    assert.match(waited, new RegExp(`^\\[runner-fleet\\] ${BOARD}: waiting, held by another runner for \\d+ s, you are 1st in the queue$`, 'm'), waited);
    assert.doesNotMatch(waited, /acme|forger|firmware|::|\u001b/, "globex's job log carries acme's text");
    assert.doesNotMatch(waited, new RegExp(acme), "globex's job log names acme's runner");
  });

  test('the process the forger left behind is refused once its job is over: nothing held, no ticket, the lock directory stays small', async () => {
    const work = await dockerOk(['volume', 'inspect', '--format', '{{.Mountpoint}}', `${runner(acme)}-work`]);
    const file = join(work, 'forged-after.txt');
    const after = await waitFor('the left-behind process reporting', () => readFile(file, 'utf8').catch(() => undefined), { timeoutMs: 120_000 });
    console.log(
      `# left behind:\n${after
        .trim()
        .split('\n')
        .map((l) => `#   ${l}`)
        .join('\n')}`,
    );
    const noJob = /^after no-job: closed, 1 line\(s\): (.*)$/m.exec(after);
    assert.ok(noJob, after);
    assert.match(noJob[1]!, new RegExp(`"type":"error","message":"${BOARD}: no job is running on ${runner(acme)}`));
    assert.match(after, /^after own-pid: closed, 1 line\(s\): .*workerPid is not accepted/m);
    const state = await board();
    assert.equal(state?.holder, undefined, 'the board is held');
    assert.deepEqual(state?.queue, [], 'a ticket is left');
    const bytes = await dirBytes(lockDir);
    console.log(`# lock directory after the forged requests: ${bytes} bytes`);
    assert.ok(bytes < 4096, `the lock directory holds ${bytes} bytes`);
  });

  test("globex's next job on the board is not blocked, and the wrapper's log took nothing of what was sent", async () => {
    const started = Date.now();
    const id = boardJob('globex', 'next', [{ name: 'on the board', run: 'echo on-the-board' }]);
    const done = await ground.github.waitForJob(id, (j) => j.status === 'completed', 60_000);
    assert.equal(done.conclusion, 'success', JSON.stringify(done.events));
    const m = /lock acquired after ([\d.]+) s/.exec(hookOutput(done, 'job_started'));
    assert.ok(m, hookOutput(done, 'job_started'));
    assert.ok(Number(m[1]) < 2, `the next job waited ${m[1]} s for a free board`);
    console.log(`# globex's next job completed ${Date.now() - started} ms after it was enqueued`);
    const logs = await containerLogs(runner(acme));
    assert.doesNotMatch(logs, /::warning|pwned|\u001b\[2J/, "the wrapper's log carries what a job sent");
    const refusals = logs.split('\n').filter((l) => l.includes('refused a hook request'));
    assert.ok(refusals.length >= 1 && refusals.length <= 4, `refusals logged: ${refusals.length}`);
    assert.ok(logs.length < 256 * 1024, `the container log is ${logs.length} bytes`);
  });
});
