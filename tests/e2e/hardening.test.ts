// End to end on a real Docker engine: what a job can and cannot do to the
// lock and the host. The lock directory is root's; the wrapper runs as root
// and the job as the runner's user, so no job of any org can write the lock
// directory. The default mode keeps what these labs need (privileged, sudo);
// RUNNER_PRIVILEGED=false and RUNNER_SUDO=false take both away while a board
// job still takes and releases the lock. The runners are the runner simulator
// (tests/runner-sim), which STANDS IN for actions/runner, with passwordless
// sudo as the official image has; GitHub is the emulator.
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { composeProjectName } from '../../lib/config/names.ts';
import { startEmulator, type Emulator, type JobView } from '../emulator/server.ts';
import { runScript } from '../support/cli.ts';
import { assertImages, docker, dockerOk, dockerUnavailable, removeByPrefix, ENGINE_SETTINGS, SIM_IMAGE, uniquePrefix, waitFor } from './helpers.ts';

const skip = await dockerUnavailable();
if (skip) console.log(`# skipping the hardening e2e test: ${skip}`);

const PAT = 'ghp_e2e_hardening_0123456789';

/** What the job tries, one line each. */
const PROBE = [
  'echo "uid=$(id -u)"',
  'if touch "$RUNNER_LOCK_DIR/planted" 2>/dev/null; then echo lockdir=writable; else echo lockdir=denied; fi',
  'if sudo -n true 2>/dev/null; then echo sudo=yes; else echo sudo=no; fi',
].join('\n');

const stepOutput = (job: JobView): string => String(job.events.find((e) => e.event === 'step')?.output ?? '');
const hookOutput = (job: JobView, hook: string): string => String(job.events.find((e) => e.event === 'hook' && e.hook === hook)?.output ?? '');

describe('what a job can do, default and hardened', { skip, timeout: 420_000 }, () => {
  let emulator: Emulator;
  let dir: string;
  let lockDir: string;
  const prefixes = { lab: '', hard: '' };

  before(async () => {
    await assertImages();
    emulator = await startEmulator({ offlineAfterMs: 3000 });
    emulator.addScope('acme');
    emulator.addPat({ token: PAT, admin: ['acme'] });
    dir = await mkdtemp(join(tmpdir(), 'fleet-hardening-e2e-'));
    lockDir = join(dir, 'locks');
    for (const mode of ['lab', 'hard'] as const) {
      prefixes[mode] = uniquePrefix(mode);
      const env = [
        'ORG=acme',
        `GH_PAT=${PAT}`,
        `GITHUB_URL=${emulator.url}`,
        `GITHUB_API_URL=${emulator.apiUrl}`,
        `RUNNER_IMAGE=${SIM_IMAGE}`,
        ...ENGINE_SETTINGS,
        `RUNNER_NAME_PREFIX=${prefixes[mode]}`,
        `RUNNER_LOCK_HOST_PATH=${lockDir}`,
        `BOARD_RUNNERS=pi:pi-${mode}`,
        'RUNNER_RESOURCE_ID=board-pi',
        ...(mode === 'hard' ? ['RUNNER_PRIVILEGED=false', 'RUNNER_SUDO=false'] : []),
        '',
      ];
      await writeFile(join(dir, `${mode}.env`), env.join('\n'), { mode: 0o600 });
    }
  });

  after(async () => {
    for (const prefix of Object.values(prefixes)) {
      if (!prefix) continue;
      await removeByPrefix(prefix).catch((err: unknown) => console.log(`# cleanup: ${String(err)}`));
      await docker(['rmi', '-f', `gh-runner-fleet:${composeProjectName(prefix)}`]);
    }
    await emulator?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const mode of ['lab', 'hard'] as const) {
    test(`${mode === 'lab' ? 'default mode' : 'RUNNER_PRIVILEGED=false RUNNER_SUDO=false'}: the board job takes and releases the lock, runs as the runner user, cannot write the lock directory${mode === 'lab' ? '' : ', cannot sudo'}`, async () => {
      const init = await runScript('init.ts', ['-n', '0'], { cwd: dir, env: { ENV_FILE: `${mode}.env`, DOCKER_HOST: process.env.DOCKER_HOST ?? '' }, timeoutMs: 240_000 });
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
      assert.deepEqual(inspect.SecurityOpt ?? [], mode === 'lab' ? [] : ['no-new-privileges:true']);
    });
  }
});
