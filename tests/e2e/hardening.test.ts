// End to end on a real Docker engine: what a job can and cannot do to the
// lock and the host. The lock directory is root's; the wrapper runs as root
// and the job as the runner's user, so no job of any org can write the lock
// directory. The default mode keeps what these labs need (privileged, sudo);
// RUNNER_PRIVILEGED=false and RUNNER_SUDO=false take both away while a board
// job still takes and releases the lock. The runners are the runner simulator
// (standins/runner), which STANDS IN for actions/runner, with passwordless
// sudo as the official image has; GitHub is the stand-in.
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventOutput, type JobView } from '../../standins/github/server.ts';
import { startGround, type Ground } from '../support/ground.ts';
import { dockerOk, dockerUnavailable, type RunnerMode } from './helpers.ts';
import { waitFor } from '../support/wait.ts';

const skip = await dockerUnavailable();
if (skip) console.log(`# skipping the hardening e2e test: ${skip}`);

/** What the job tries, one line each. */
const PROBE = [
  'echo "uid=$(id -u)"',
  'if touch "$RUNNER_LOCK_DIR/planted" 2>/dev/null; then echo lockdir=writable; else echo lockdir=denied; fi',
  'if sudo -n true 2>/dev/null; then echo sudo=yes; else echo sudo=no; fi',
  // What kernel and hypervisor CI does on these boards: attach an image to a loop device.
  'truncate -s 8M "$RUNNER_TEMP/disk.img"',
  'if dev=$(sudo -n losetup --find --show "$RUNNER_TEMP/disk.img" 2>/dev/null); then echo "loop=attached $dev"; sudo -n losetup -d "$dev"; else echo loop=denied; fi',
].join('\n');

const stepOutput = (job: JobView): string => eventOutput(job.events.find((e) => e.event === 'step'));
const hookOutput = (job: JobView, hook: string): string => eventOutput(job.events.find((e) => e.event === 'hook' && e.hook === hook));

const SUITES: Array<{ mode: RunnerMode; title: string }> = [
  { mode: 'default', title: 'the default mode (privileged, sudo) on a real engine' },
  { mode: 'hardened', title: 'hardened mode (RUNNER_PRIVILEGED=false, RUNNER_SUDO=false) on a real engine' },
];

for (const { mode, title } of SUITES) {
  describe(title, { skip, timeout: 300_000 }, () => {
    let ground: Ground;
    let lockDir: string;
    let prefix: string;
    let privileged = false;

    before(async () => {
      ground = await startGround(`hardening-${mode}`, { mode });
      lockDir = join(ground.dir, 'locks');
      prefix = ground.prefix(mode);
      await ground.writeEnv(prefix, [`RUNNER_LOCK_HOST_PATH=${lockDir}`, `BOARD_RUNNERS=pi:pi-${mode}`, 'RUNNER_RESOURCE_ID=board-pi']);
      // Outside CI an engine that cannot start privileged root containers runs the default mode unprivileged (modeSettings).
      privileged = !ground.modeSettings.includes('RUNNER_PRIVILEGED=false');
    });

    after(() => ground?.close());

    test(`a board job takes and releases the lock, runs as the runner user, cannot write the lock directory, ${mode === 'default' ? 'can sudo and attach a loop device' : 'cannot sudo or attach a loop device'}`, async () => {
      const init = await ground.run('init.ts', ['-n', '0']);
      assert.equal(init.code, 0, `${init.stdout}\n${init.stderr}`);
      const runner = `${prefix}runner-pi`;
      await waitFor(`${runner} online`, () => ground.online(runner), { timeoutMs: 60_000 });

      const host = await stat(lockDir);
      assert.equal(host.uid, 0, 'the lock directory belongs to root');
      assert.equal(host.mode & 0o7777, 0o755);

      const { job_id } = ground.github.enqueueJob({
        org: 'acme',
        repository: 'acme/firmware',
        runs_on: [`pi-${mode}`],
        job: 'probe',
        workflow: 'ci',
        steps: [{ name: 'probe', run: PROBE }],
      });
      const done = await ground.github.waitForJob(job_id, (j) => j.status === 'completed', 60_000);
      assert.equal(done.conclusion, 'success', JSON.stringify(done.events));
      const out = stepOutput(done);
      assert.match(out, /^uid=1001$/m, 'the job runs as the runner user');
      assert.match(out, /^lockdir=denied$/m, 'a job could write the lock directory');
      assert.match(out, new RegExp(`^sudo=${mode === 'default' ? 'yes' : 'no'}$`, 'm'));
      if (privileged) assert.match(out, /^loop=attached \/dev\/loop\d+$/m, 'a privileged runner gives jobs loop devices');
      if (mode === 'hardened') assert.match(out, /^loop=denied$/m);
      assert.match(hookOutput(done, 'job_started'), /board-pi: lock acquired after/);
      assert.match(hookOutput(done, 'job_completed'), /board-pi: lock released/);

      const inspect = JSON.parse(await dockerOk(['inspect', '--format', '{{json .HostConfig}}', runner])) as {
        Privileged: boolean;
        SecurityOpt: string[] | null;
      };
      assert.equal(inspect.Privileged, privileged);
      // Engines add their own options (Docker 26 gives a privileged container label=disable): only ours is asserted.
      assert.equal((inspect.SecurityOpt ?? []).includes('no-new-privileges:true'), mode === 'hardened');
    });
  });
}
