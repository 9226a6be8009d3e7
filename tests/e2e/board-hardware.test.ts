// End to end, on a real Docker engine: per-board hardware settings (issue 13).
// Two board runners, each given its own device node (made with mknod for the
// test: copies of /dev/null and /dev/zero, group dialout, one reached through a
// stable by-id style link), its own environment and its own bind mount; a job
// on each prints what it sees. Then one board's setting changes and make init
// recreates that board's runner only. The runner simulator (standins/runner)
// STANDS IN for actions/runner; GitHub is the stand-in.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { eventOutput, type GitHubStandIn, type JobView } from '../../standins/github/server.ts';
import type { ScriptResult } from '../support/cli.ts';
import { startGround, type Ground } from '../support/ground.ts';
import { dockerOk, dockerUnavailable } from './helpers.ts';
import { waitFor } from '../support/wait.ts';

const dockerSkip = await dockerUnavailable();
const skip = dockerSkip ?? (process.getuid?.() === 0 ? undefined : 'mknod of the test device nodes needs root');
if (skip) console.log(`# skipping the board hardware e2e test: ${skip}`);

const DIALOUT_GID = 20; // Debian's dialout, on the host and in the simulator image

/** What a job on a board runner sees of its hardware, one `key=value` per line. */
const PROBE = [
  'echo "board=$RUNNER_BOARD"',
  'echo "pdu_host=$PDU_HOST"',
  'echo "pdu_outlet=$PDU_OUTLET"',
  'echo "pdu_note=$PDU_NOTE"',
  'for d in /dev/ttyUSB0 /dev/ttyUSB1 /dev/ttyGLOBAL; do if [ -c "$d" ]; then echo "dev $d=$(stat -c %t:%T "$d")"; else echo "dev $d=absent"; fi; done',
  // Read as the runner user: through the dialout group the device node belongs to.
  'echo "read=$(head -c 4 /dev/ttyUSB0 2>&1 | wc -c) $(head -c 4 /dev/ttyUSB1 2>&1 | wc -c)"',
  'echo "groups=$(id -Gn)"',
  'echo "tftp=$(cat /srv/tftp/board.txt 2>/dev/null || echo none)"',
].join('\n');

function probeOutput(job: JobView): Record<string, string> {
  const output = eventOutput(job.events.find((e) => e.event === 'step'));
  return Object.fromEntries(
    output.split('\n').flatMap((line) => {
      const eq = line.indexOf('=');
      return eq > 0 ? [[line.slice(0, eq), line.slice(eq + 1)]] : [];
    }),
  );
}

describe('per-board hardware on a real engine', { skip, timeout: 300_000 }, () => {
  let ground: Ground;
  let github: GitHubStandIn;
  let dir: string;
  let prefix = '';
  let baseEnv: string[] = [];
  const name = (board: string): string => `${prefix}runner-${board}`;
  const run = (script: string, args: string[] = []): Promise<ScriptResult> => ground.run(script, args);
  const online = (runner: string): boolean => ground.online(runner);
  const writeEnv = async (extra: string[]): Promise<void> => {
    await ground.writeEnv(prefix, [...baseEnv, ...extra]);
  };
  const probe = async (label: string, job: string): Promise<Record<string, string>> => {
    const id = github.enqueueJob({
      org: 'acme',
      repository: 'acme/firmware',
      runs_on: [label],
      job,
      workflow: 'hw',
      steps: [{ name: job, run: PROBE }],
    }).job_id;
    const done = await github.waitForJob(id, (j) => j.status === 'completed', 60_000);
    assert.equal(done.conclusion, 'success', JSON.stringify(done.events));
    return probeOutput(done);
  };
  const container = async (runner: string): Promise<{ id: string; startedAt: string }> => {
    const [id = '', startedAt = ''] = (await dockerOk(['inspect', '--format', '{{.Id}} {{.State.StartedAt}}', runner])).split(' ');
    return { id, startedAt };
  };

  before(async () => {
    ground = await startGround('board-hardware');
    ({ github, dir } = ground);
    // The host's devices: three character devices (1:3 is /dev/null's numbers, 1:5 /dev/zero's), group dialout, 0660.
    await mkdir(join(dir, 'dev'));
    await mkdir(join(dir, 'by-id'));
    const mknod = promisify(execFile);
    for (const [node, minor] of [
      ['serial-a', 3],
      ['serial-b', 5],
      ['serial-global', 3],
    ] as const) {
      const path = join(dir, 'dev', node);
      await mknod('mknod', [path, 'c', '1', String(minor)]);
      await chown(path, 0, DIALOUT_GID);
      await chmod(path, 0o660);
    }
    // A stable path as udev makes them: a link in by-id to the node.
    await symlink('../dev/serial-a', join(dir, 'by-id', 'usb-FTDI_FT232R_USB_UART_A10K1A2B-if00-port0'));
    await mkdir(join(dir, 'tftp-a'));
    await writeFile(join(dir, 'tftp-a', 'board.txt'), 'tftp of a\n');
    prefix = ground.prefix('hw');
    baseEnv = [
      'BOARD_RUNNERS=a:board-a;b:board-b',
      // The global list is replaced by each board's own.
      `BOARD_RUNNER_DEVICES=${join(dir, 'dev', 'serial-global')}:/dev/ttyGLOBAL`,
      `BOARD_RUNNER_DEVICES_A=${join(dir, 'by-id', 'usb-FTDI_FT232R_USB_UART_A10K1A2B-if00-port0')}:/dev/ttyUSB0`,
      `BOARD_RUNNER_DEVICES_B=${join(dir, 'dev', 'serial-b')}:/dev/ttyUSB1`,
      "BOARD_RUNNER_ENV='PDU_HOST=pdu1.lab;PDU_OUTLET=0;PDU_NOTE=costs $5'",
      'BOARD_RUNNER_ENV_A=PDU_OUTLET=1',
      `BOARD_RUNNER_VOLUMES_A=${join(dir, 'tftp-a')}:/srv/tftp:ro`,
    ];
    await writeEnv(['BOARD_RUNNER_ENV_B=PDU_OUTLET=2']);
  });

  after(() => ground?.close());

  test('init: both board runners online, no warning (every device and mount source exists)', async () => {
    const r = await run('init.ts', ['-n', '0']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /warning/);
    await waitFor('both board runners online', () => online(name('a')) && online(name('b')), { timeoutMs: 60_000 });
  });

  test("each board runner's job sees only its own device node, its own environment (RUNNER_BOARD included) and its own mount", async () => {
    const a = await probe('board-a', 'probe-a');
    const b = await probe('board-b', 'probe-b');
    console.log(`# board a sees: ${JSON.stringify(a)}`);
    console.log(`# board b sees: ${JSON.stringify(b)}`);
    assert.equal(a.board, 'a');
    assert.equal(b.board, 'b');
    assert.deepEqual(
      [a.pdu_host, a.pdu_outlet, b.pdu_host, b.pdu_outlet],
      ['pdu1.lab', '1', 'pdu1.lab', '2'],
      'per-board keys override the global ones, the others stay',
    );
    assert.equal(a.pdu_note, 'costs $5', "a '$' reaches the job as written");
    assert.equal(a['dev /dev/ttyUSB0'], '1:3', "a's node, reached through its by-id link");
    assert.equal(a['dev /dev/ttyUSB1'], 'absent');
    assert.equal(b['dev /dev/ttyUSB1'], '1:5');
    assert.equal(b['dev /dev/ttyUSB0'], 'absent');
    assert.equal(a['dev /dev/ttyGLOBAL'], 'absent', 'a per-board list replaces the global one');
    assert.equal(b['dev /dev/ttyGLOBAL'], 'absent');
    // The runner user reads its board's node (0660, group dialout) through group_add: /dev/null gives 0 bytes, /dev/zero 4.
    assert.match(a.groups ?? '', /\bdialout\b/);
    assert.equal(a.read?.split(' ')[0], '0');
    assert.equal(b.read?.split(' ')[1], '4');
    assert.equal(a.tftp, 'tftp of a');
    assert.equal(b.tftp, 'none');
  });

  test("make ps shows each board runner's board and devices", async () => {
    const r = await run('ps.ts');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^NAME\s+STATE\s+KIND\s+BOARD\s+LABELS\s+RESOURCE\s+DEVICES$/m);
    assert.match(
      r.stdout,
      new RegExp(`^${name('a')}\\s+running\\s+board\\s+a\\s+board-a\\s+-\\s+\\S*usb-FTDI_FT232R_USB_UART_A10K1A2B-if00-port0:/dev/ttyUSB0$`, 'm'),
    );
    assert.match(r.stdout, new RegExp(`^${name('b')}\\s+running\\s+board\\s+b\\s+board-b\\s+-\\s+\\S*/dev/serial-b:/dev/ttyUSB1$`, 'm'));
  });

  test("a changed setting of board b: make compose rewrites the file, make init recreates b's runner only", async () => {
    const beforeA = await container(name('a'));
    const beforeB = await container(name('b'));
    await writeEnv(['BOARD_RUNNER_ENV_B=PDU_OUTLET=3']);

    const composed = await run('compose.ts');
    assert.equal(composed.code, 0, `${composed.stdout}\n${composed.stderr}`);
    assert.deepEqual(await container(name('b')), beforeB, 'make compose only writes the file');

    const r = await run('init.ts', ['-n', '0']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const afterA = await container(name('a'));
    const afterB = await container(name('b'));
    assert.deepEqual(afterA, beforeA, "a's settings did not change: same container, not restarted");
    assert.notEqual(afterB.id, beforeB.id, "b's container was recreated");
    await waitFor('b online again', () => online(name('b')), { timeoutMs: 60_000 });
    const b = await probe('board-b', 'probe-b-again');
    assert.equal(b.pdu_outlet, '3');
    assert.equal(b['dev /dev/ttyUSB1'], '1:5');

    // Nothing changed: make init recreates nobody.
    const again = await run('init.ts', ['-n', '0']);
    assert.equal(again.code, 0, `${again.stdout}\n${again.stderr}`);
    assert.deepEqual(await container(name('a')), afterA);
    assert.deepEqual(await container(name('b')), afterB);
  });

  test('a board unplugged (its by-id link gone): make compose warns in one line naming the board and the setting, and leaves the device out', async () => {
    const link = join(dir, 'by-id', 'usb-FTDI_FT232R_USB_UART_A10K1A2B-if00-port0');
    await rename(link, `${link}.unplugged`);
    const r = await run('compose.ts');
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.deepEqual(r.stderr.trim().split('\n'), [
      `warning: board 'a': BOARD_RUNNER_DEVICES_A device ${link} does not exist on this host, so ${name('a')} is created without it: plug the board in and run make init again, or fix BOARD_RUNNER_DEVICES_A`,
    ]);
    const file = await readFile(join(dir, 'docker-compose.acme.yml'), 'utf8');
    assert.ok(!file.includes('usb-FTDI_FT232R'), 'the missing device is still in the compose file');
    assert.ok(file.includes(`${join(dir, 'dev', 'serial-b')}:/dev/ttyUSB1`), "b's device stays");
  });
});
