// End to end on a real Docker engine (issue 19): a job cannot outlive itself.
// In hardened mode (RUNNER_PRIVILEGED=false, RUNNER_SUDO=false) a job runs
// pull-request code as the runner user; here it plants what would reach root
// or later jobs at the container's next start, then ends run.sh (SIGTERM, as
// any process of the runner user can), so that `restart: unless-stopped`
// starts the container again. Every payload records the uid it ran as in the
// work volume: none may ever run as root; the board lock holds for the next
// job; the registration stays the lab's. The lab's Dockerfile puts
// ~/.local/bin on PATH (pip --user does), a directory the runner user writes.
// The runners are the runner simulator (standins/runner), which STANDS IN for
// actions/runner; GitHub is the stand-in.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventOutput, type JobView } from '../../standins/github/server.ts';
import { startGround, type Ground } from '../support/ground.ts';
import { docker, dockerOk, dockerUnavailable, execIn, readVolumeFile, runContainer, SIM_IMAGE } from './helpers.ts';
import { waitFor } from '../support/wait.ts';

const skip = await dockerUnavailable();
if (skip) console.log(`# skipping the hostile-job e2e tests: ${skip}`);

const HOME = '/home/runner';
const STATE = '/var/lib/runner-fleet/state';
const MARKS = `${HOME}/_work/marks`;

/** A payload script: records "<tag> <uid>" in MARKS (absolute paths only: it may be found under a command's name). */
const payload = (tag: string, then = 'exit 0') => `#!/bin/sh\necho "${tag} $(/usr/bin/id -u)" >> ${MARKS}\n${then}\n`;

/** Shell lines writing `text` to `path` as the job (printf %s of a single-quoted string). */
const put = (path: string, text: string, mode = '755') => `printf '%s' '${text.replace(/'/g, `'\\''`)}' > ${path} && chmod ${mode} ${path}`;

/** The job's last step: SIGTERM to run.sh, its ancestor; the runner shuts down and the container restarts. */
const END_RUN_SH = [
  'p=$$',
  'while [ "$p" -gt 1 ]; do',
  '  if tr "\\0" " " < /proc/$p/cmdline | grep -q "/run\\.sh"; then echo "ending run.sh ($p)"; kill -TERM "$p"; break; fi',
  '  p=$(sed -n "s/^PPid:[[:space:]]*//p" /proc/$p/status)',
  'done',
  'sleep 30',
].join('\n');

const stepOutput = (job: JobView): string =>
  job.events
    .filter((e) => e.event === 'step')
    .map(eventOutput)
    .join('\n');
const hookOutput = (job: JobView, hook: string): string => eventOutput(job.events.find((e) => e.event === 'hook' && e.hook === hook));

describe('a hostile job in hardened mode on a real engine: nothing it writes reaches root or outlives the next start', { skip, timeout: 900_000 }, () => {
  let ground: Ground;
  let runner = '';
  let runnerId = 0;
  let labels: string[] = [];
  /** listens() before the last restart. */
  let listened = 0;

  before(async () => {
    ground = await startGround('hostile', { mode: 'hardened' });
    const prefix = ground.prefix('hostile');
    await ground.writeEnv(prefix, [`RUNNER_LOCK_HOST_PATH=${join(ground.dir, 'locks')}`, 'BOARD_RUNNERS=pi:pi-hostile', 'RUNNER_RESOURCE_ID=board-pi']);
    await writeFile(join(ground.dir, 'Dockerfile'), `FROM ${SIM_IMAGE}\nENV PATH=${HOME}/.local/bin:$PATH\n`);
    const init = await ground.run('init.ts', ['-n', '0']);
    assert.equal(init.code, 0, `${init.stdout}\n${init.stderr}`);
    runner = `${prefix}runner-pi`;
    labels = ['pi-hostile'];
    await waitFor(`${runner} online`, () => ground.online(runner), { timeoutMs: 60_000 });
    runnerId = ground.github.runners(ground.org).find((r) => r.name === runner)!.id;
  });

  after(() => ground?.close());

  async function restartCount(): Promise<number> {
    return Number(await dockerOk(['inspect', '--format', '{{.RestartCount}}', runner]));
  }

  /** Runs the hostile job (its lines, then END_RUN_SH) and waits until the container has started again. */
  async function hostileJob(name: string, lines: string[]): Promise<string> {
    const restarts = await restartCount();
    listened = await listens();
    const { job_id } = ground.github.enqueueJob({
      org: ground.org,
      repository: `${ground.org}/pr`,
      runs_on: labels,
      job: name,
      steps: [{ name, run: [...lines, END_RUN_SH].join('\n') }],
    });
    const done = await ground.github.waitForJob(job_id, (j) => j.status === 'completed', 90_000);
    await waitFor(
      `${runner} started again`,
      async () => (await restartCount()) > restarts && (await dockerOk(['inspect', '--format', '{{.State.Running}}', runner])) === 'true',
      { timeoutMs: 60_000 },
    );
    return stepOutput(done);
  }

  /** What the payloads recorded (the work volume outlives the restarts). */
  async function marks(): Promise<string[]> {
    const text = await readVolumeFile(`${runner}-work`, 'marks').catch(() => '');
    return text.split('\n').filter(Boolean);
  }

  const asRoot = (lines: string[]) => lines.filter((line) => / 0$/.test(line));

  /** How many times the runner has started listening for jobs (its Listener's line, in the container's log). */
  async function listens(): Promise<number> {
    const logs = await docker(['logs', runner]);
    return (logs.stdout + logs.stderr).split('Listening for Jobs').length - 1;
  }

  /**
   * Once the runner listens again after `before` starts, or a payload ran as
   * root, or `also` holds (then the test says so rather than wait).
   */
  async function settled(before: number, also: () => boolean = () => false): Promise<void> {
    await waitFor(`${runner} listening again`, async () => (await listens()) > before || also() || asRoot(await marks()).length > 0, { timeoutMs: 90_000 });
    assert.deepEqual(asRoot(await marks()), [], 'a payload ran as root');
  }

  /** A job after the restart: the board lock is taken, and what the step prints. */
  async function probeJob(lines: string[]): Promise<{ step: string; started: string }> {
    await waitFor(`${runner} online`, () => ground.online(runner), { timeoutMs: 90_000 });
    const { job_id } = ground.github.enqueueJob({
      org: ground.org,
      repository: `${ground.org}/firmware`,
      runs_on: labels,
      job: 'probe',
      steps: [{ name: 'probe', run: lines.join('\n') }],
    });
    const done = await ground.github.waitForJob(job_id, (j) => j.status === 'completed', 60_000);
    assert.equal(done.runner_name, runner);
    assert.equal(done.conclusion, 'success', JSON.stringify(done.events));
    return { step: stepOutput(done), started: hookOutput(done, 'job_started') };
  }

  test('the state step: root copies nothing through a link a job planted in the state directory (it cannot write there), and never runs the payload', async () => {
    const out = await hostileJob('plant-in-state', [
      put(`${HOME}/.runner_migrated`, payload('state-step', 'exit 1')),
      `if ln -sfn /opt/runner-fleet/entrypoint ${STATE}/..runner_migrated.tmp 2>/dev/null; then echo state=planted; else echo state=denied; fi`,
      `if cat ${STATE}/.credentials >/dev/null 2>&1; then echo credentials=readable; else echo credentials=denied; fi`,
    ]);
    await settled(listened);
    assert.match(out, /^state=denied$/m, 'a job could write the state directory');
    assert.match(out, /^credentials=denied$/m, "a job could read root's copy of the registration");
    const { step, started } = await probeJob([
      'sha256sum /opt/runner-fleet/entrypoint',
      `test -e ${HOME}/.runner_migrated && echo migrated=kept || echo migrated=gone`,
    ]);
    assert.match(started, /board-pi: lock acquired after/);
    assert.match(step, /^migrated=gone$/m);
    const image = await dockerOk(['inspect', '--format', '{{.Image}}', runner]);
    const pristine = await docker(['run', '--rm', '--entrypoint', 'sha256sum', image, '/opt/runner-fleet/entrypoint']);
    assert.ok(step.includes(pristine.stdout.trim()), `the entrypoint was changed:\n${step}\nimage: ${pristine.stdout}`);
  });

  test("root's node: not the newest one a job put in the runner's externals, nor a node, setpriv or any other command it put on the image's PATH", async () => {
    const commands = ['node', 'setpriv', 'dirname', 'id', 'cat', 'env', 'stat', 'mktemp', 'chown', 'chmod', 'mv', 'rm', 'cp', 'ln', 'sh'];
    await hostileJob('plant-commands', [
      `mkdir -p ${HOME}/externals/node99/bin ${HOME}/.local/bin`,
      put(`${HOME}/externals/node99/bin/node`, payload('externals-node', `exec ${HOME}/externals/node20/bin/node "$@"`)),
      // The image has no node on PATH: the runner's own goes on working.
      ...commands.map((c) => put(`${HOME}/.local/bin/${c}`, payload(c, `exec ${c === 'node' ? `${HOME}/externals/node20/bin/node` : `/usr/bin/${c}`} "$@"`))),
    ]);
    await settled(listened);
    const { started } = await probeJob(['echo probed']);
    assert.match(started, /board-pi: lock acquired after/);
    const logs = await docker(['logs', runner]);
    assert.doesNotMatch(logs.stdout + logs.stderr, /externals-node|no node for the wrapper/);
  });

  test("the runner's .env: RUNNER_FLEET_NODE=/bin/true, a hook line behind a byte order mark and BASH_ENV written by a job are gone at the next start; the next job takes the lock", async () => {
    const evil = `${HOME}/evil.sh`;
    await hostileJob('plant-env', [
      put(evil, payload('env-hook')),
      `printf '\\357\\273\\277ACTIONS_RUNNER_HOOK_JOB_STARTED=${evil}\\nRUNNER_FLEET_NODE=/bin/true\\nBASH_ENV=${evil}\\nRUNNER_FLEET_SOCKET=/tmp/elsewhere.sock\\n' > ${HOME}/.env`,
      `head -c 3 ${HOME}/.env | od -An -tx1`,
    ]);
    await settled(listened);
    const { step, started } = await probeJob([`test -e ${HOME}/.env && echo env=present || echo env=absent`]);
    assert.match(started, /board-pi: lock acquired after/, `the lock was switched off:\n${started}`);
    assert.match(step, /^env=absent$/m, 'the image has no .env: nor has the runner');
    assert.deepEqual(
      (await marks()).filter((m) => m.startsWith('env-hook')),
      [],
      'a hook or BASH_ENV of the job ran',
    );
  });

  test("the registration: a job's swap for another org's runner does not survive the next start; the lab's runner comes back under its own id", async () => {
    // The attacker's own registration: a runner of its org 'evil', configured elsewhere.
    ground.github.addScope('evil');
    const { token } = ground.github.issueToken({ org: 'evil', kind: 'registration' });
    const configured = await runContainer(
      [
        'bash',
        '-c',
        `cd ${HOME} && ./config.sh --unattended --url ${ground.github.url}/evil --name evil-runner --labels evil --work _work >&2 && tar -c .runner .credentials .credentials_rsaparams | base64 -w0`,
      ],
      { user: '1001', env: { ACTIONS_RUNNER_INPUT_TOKEN: token } },
    );
    assert.equal(configured.code, 0, configured.stderr);
    const ours = await Promise.all(['.runner', '.credentials', '.credentials_rsaparams'].map((f) => readVolumeFile(`${runner}-state`, f)));
    const out = await hostileJob('swap-registration', [
      `echo '${configured.stdout.trim()}' | base64 -d | tar -x -C ${HOME} && echo swapped`,
      `cp ${HOME}/.runner ${HOME}/.runner_migrated && cp ${HOME}/.credentials ${HOME}/.credentials_migrated`,
    ]);
    assert.match(out, /^swapped$/m);
    const evilOnline = () => ground.github.runners('evil')[0]?.status === 'online';
    await settled(listened, evilOnline);
    // Past the stand-in's offline window: whoever the container polls as is online, the other offline.
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal(evilOnline(), false, "the lab's container serves the attacker's org");
    assert.equal(ground.github.runners(ground.org).find((r) => r.name === runner)?.id, runnerId, 'same runner on GitHub');
    assert.equal(ground.github.runners('evil')[0]?.status, 'offline', "the lab's container serves the attacker's org");
    const inHome = await Promise.all(
      ['.runner', '.credentials', '.credentials_rsaparams'].map(async (f) => (await execIn(runner, ['/usr/bin/cat', `${HOME}/${f}`])).stdout),
    );
    assert.deepEqual(inHome, ours, "the runner root holds root's copy of the registration again");
    assert.deepEqual(await Promise.all(['.runner', '.credentials', '.credentials_rsaparams'].map((f) => readVolumeFile(`${runner}-state`, f))), ours);
    for (const f of ['.runner_migrated', '.credentials_migrated'])
      assert.notEqual((await execIn(runner, ['/usr/bin/test', '-e', `${HOME}/${f}`])).code, 0, `${f} is left`);
    const { started } = await probeJob(['echo probed']);
    assert.match(started, /board-pi: lock acquired after/);
    assert.equal(ground.github.runners('evil')[0]?.status, 'offline');
  });

  test('a state volume of the earlier layout (the runner user’s, with links planted in it) is made root’s at start without following them', async () => {
    // As a job could leave it before this version: the runner user's, a link onto the entrypoint, links to root's files.
    await dockerOk(['stop', runner], { timeoutMs: 90_000 });
    const planted = await runContainer(
      [
        'sh',
        '-c',
        [
          'cd /state',
          'chown 1001:1001 . .runner .credentials .credentials_rsaparams && chmod 700 .',
          'ln -s /opt/runner-fleet/entrypoint ..runner_migrated.tmp',
          'ln -s /etc/shadow .credentials_migrated',
          `printf '%s' '${payload('old-layout', 'exit 1')}' > .runner_migrated && chown 1001:1001 .runner_migrated`,
        ].join(' && '),
      ],
      { volumes: [`${runner}-state:/state`], user: '0', hostNetwork: false },
    );
    assert.equal(planted.code, 0, planted.stderr);
    // And the file the earlier state step copied through such a link, in the runner root.
    const file = join(ground.dir, 'runner_migrated');
    await writeFile(file, payload('old-layout-home', 'exit 1'), { mode: 0o755 });
    await dockerOk(['cp', file, `${runner}:${HOME}/.runner_migrated`]);
    listened = await listens();
    await dockerOk(['start', runner]);
    await settled(listened);
    const listing = await runContainer(['sh', '-c', 'stat -c "%n %U %a" /state; ls -A /state'], {
      volumes: [`${runner}-state:/state:ro`],
      user: '0',
      hostNetwork: false,
    });
    assert.deepEqual(listing.stdout.trim().split('\n'), ['/state root 700', '.credentials', '.credentials_rsaparams', '.runner']);
    const logs = await docker(['logs', runner]);
    assert.match(logs.stderr, /runner-state: \/var\/lib\/runner-fleet\/state was the runner user's \(an earlier layout\): made root's, 0700/);
    const { started } = await probeJob(['echo probed']);
    assert.match(started, /board-pi: lock acquired after/);
  });
});
