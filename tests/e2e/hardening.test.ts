// End to end on a real Docker engine: what a job can and cannot do to the
// lock and the host. The lock directory is root's; the wrapper runs as root
// and the job as the runner's user, so no job of any org can write the lock
// directory. The default mode keeps what these labs need (privileged, sudo);
// RUNNER_PRIVILEGED=false and RUNNER_SUDO=false take both away while a board
// job still takes and releases the lock. The runners are the runner simulator
// (standins/runner), which STANDS IN for actions/runner, with passwordless
// sudo as the official image has; GitHub is the emulator.
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Emulator, JobView } from '../../standins/github/server.ts';
import { startGround, type Ground } from './ground.ts';
import { dockerOk, dockerUnavailable, ENGINE_SETTINGS, waitFor } from './helpers.ts';

const skip = await dockerUnavailable();
if (skip) console.log(`# skipping the hardening e2e test: ${skip}`);

/** What the job tries, one line each. */
const PROBE = [
  'echo "uid=$(id -u)"',
  'if touch "$RUNNER_LOCK_DIR/planted" 2>/dev/null; then echo lockdir=writable; else echo lockdir=denied; fi',
  'if sudo -n true 2>/dev/null; then echo sudo=yes; else echo sudo=no; fi',
].join('\n');

const stepOutput = (job: JobView): string => String(job.events.find((e) => e.event === 'step')?.output ?? '');
const hookOutput = (job: JobView, hook: string): string => String(job.events.find((e) => e.event === 'hook' && e.hook === hook)?.output ?? '');

describe('what a job can do, default and hardened', { skip, timeout: 420_000 }, () => {
  let ground: Ground;
  let emulator: Emulator;
  let lockDir: string;
  const prefixes = { lab: '', hard: '' };

  before(async () => {
    ground = await startGround('hardening');
    emulator = ground.emulator;
    lockDir = join(ground.dir, 'locks');
    for (const mode of ['lab', 'hard'] as const) {
      prefixes[mode] = ground.prefix(mode);
      const hardened = mode === 'hard' ? ['RUNNER_PRIVILEGED=false', 'RUNNER_SUDO=false'] : [];
      await ground.writeEnv(prefixes[mode], [`RUNNER_LOCK_HOST_PATH=${lockDir}`, `BOARD_RUNNERS=pi:pi-${mode}`, 'RUNNER_RESOURCE_ID=board-pi', ...hardened], `${mode}.env`);
    }
  });

  after(() => ground?.close());

  for (const mode of ['lab', 'hard'] as const) {
    test(`${mode === 'lab' ? 'default mode' : 'RUNNER_PRIVILEGED=false RUNNER_SUDO=false'}: the board job takes and releases the lock, runs as the runner user, cannot write the lock directory${mode === 'lab' ? '' : ', cannot sudo'}`, async () => {
      const init = await ground.run('init.ts', ['-n', '0'], `${mode}.env`);
      assert.equal(init.code, 0, `${init.stdout}\n${init.stderr}`);
      const runner = `${prefixes[mode]}runner-pi`;
      await waitFor(`${runner} online`, () => emulator.runners('acme').find((r) => r.name === runner)?.status === 'online', { timeoutMs: 60_000 });

      const host = await stat(lockDir);
      assert.equal(host.uid, 0, 'the lock directory belongs to root');
      assert.equal(host.mode & 0o7777, 0o755);

      const { job_id } = emulator.enqueueJob({ org: 'acme', repository: 'acme/firmware', runs_on: [`pi-${mode}`], job: 'probe', workflow: 'ci', steps: [{ name: 'probe', run: PROBE }] });
      const done = await emulator.waitForJob(job_id, (j) => j.status === 'completed', 60_000);
      assert.equal(done.conclusion, 'success', JSON.stringify(done.events));
      const out = stepOutput(done);
      assert.match(out, /^uid=1001$/m, 'the job runs as the runner user');
      assert.match(out, /^lockdir=denied$/m, 'a job could write the lock directory');
      assert.match(out, new RegExp(`^sudo=${mode === 'lab' ? 'yes' : 'no'}$`, 'm'));
      assert.match(hookOutput(done, 'job_started'), /board-pi: lock acquired after/);
      assert.match(hookOutput(done, 'job_completed'), /board-pi: lock released/);

      const inspect = JSON.parse(await dockerOk(['inspect', '--format', '{{json .HostConfig}}', runner])) as { Privileged: boolean; SecurityOpt: string[] | null };
      // On an engine that cannot start privileged root containers the default mode runs unprivileged too (ENGINE_SETTINGS).
      assert.equal(inspect.Privileged, mode === 'lab' && ENGINE_SETTINGS.length === 0);
      // Engines add their own options (Docker 26 gives a privileged container label=disable): only ours is asserted.
      assert.equal((inspect.SecurityOpt ?? []).includes('no-new-privileges:true'), mode === 'hard');
    });
  }
});
