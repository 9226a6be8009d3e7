// End to end on a real Docker engine, an enterprise's fleet (ENTERPRISE=slug,
// issue 23): init (one generic runner and a board) registers at the
// enterprise through <GITHUB_URL>/enterprises/<slug>, the runners come online
// and take a job of an org in the enterprise, list shows them, and purge -y
// removes registrations, containers, volumes and files. The runners are the
// runner simulator (standins/runner), which STANDS IN for actions/runner;
// GitHub is the stand-in, serving the enterprise operations of GitHub
// Enterprise Cloud's OpenAPI description.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { STANDIN_IMAGES } from '../../core/constants.ts';
import type { GitHubStandIn } from '../../standins/github/server.ts';
import type { ScriptResult } from '../support/cli.ts';
import { startGround, type Ground } from '../support/ground.ts';
import { waitFor } from '../support/wait.ts';
import { containerState, dockerOk, dockerUnavailable, readVolumeFile } from './helpers.ts';

const skip = await dockerUnavailable();
if (skip) console.log(`# skipping the enterprise e2e test: ${skip}`);

const SLUG = 'octo-corp';
const ENTERPRISE = `enterprise:${SLUG}`;
const OWNER_PAT = 'ghp_e2e_enterprise_owner_0123456789';
const COMPOSE_FILE = `docker-compose.enterprises.${SLUG}.yml`;

describe('an enterprise fleet on a real engine', { skip, timeout: 420_000 }, () => {
  let ground: Ground;
  let github: GitHubStandIn;
  let dir: string;
  let prefix = '';
  const runner = (short: string): string => `${prefix}runner-${short}`;
  const registered = () => github.runners(ENTERPRISE);
  const online = (name: string): boolean => registered().find((r) => r.name === name)?.status === 'online';
  const volumesOf = async () => (await dockerOk(['volume', 'ls', '-q'])).split('\n').filter((v) => v.startsWith(prefix));
  const containersOf = async () => (await dockerOk(['ps', '-a', '--format', '{{.Names}}'])).split('\n').filter((c) => c.startsWith(prefix));
  const ok = async (script: string, args: string[] = []): Promise<ScriptResult> => {
    const r = await ground.run(script, args);
    assert.equal(r.code, 0, `${script} ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
    assert.ok(!`${r.stdout}${r.stderr}`.includes(OWNER_PAT), `${script} printed the PAT`);
    return r;
  };

  before(async () => {
    ground = await startGround('enterprise');
    ({ github, dir } = ground);
    // The enterprise, with the ground's org in it, and its owner's PAT (which administers no org).
    github.addScope({ enterprise: SLUG, orgs: [ground.org] });
    github.addScope(`${ground.org}/widgets`);
    github.addPat({ token: OWNER_PAT, admin: [ENTERPRISE] });
    prefix = ground.prefix('ent');
    const lines = [
      `ENTERPRISE=${SLUG}`,
      `GH_PAT=${OWNER_PAT}`,
      `GITHUB_URL=${github.url}`,
      `GITHUB_API_URL=${github.apiUrl}`,
      `RUNNER_IMAGE=${STANDIN_IMAGES.simulator}`,
      ...ground.modeSettings,
      `RUNNER_NAME_PREFIX=${prefix}`,
      'BOARD_RUNNERS=pi:pi',
      '',
    ];
    await writeFile(join(dir, '.env'), lines.join('\n'), { mode: 0o600 });
  });

  after(() => ground?.close());

  test('init N=1 with a board: both registered at the enterprise, online, through the enterprise operations only', async () => {
    const r = await ok('init.ts', ['-n', '1']);
    assert.match(r.stdout, new RegExp(`^Wrote ${dir}/${COMPOSE_FILE.replaceAll('.', '\\.')}: 1 generic \\+ 1 board runner`, 'm'));
    assert.match(r.stdout, /\[2\/2\]/, 'registration progress lines');
    assert.match(r.stdout, /2 runner\(s\): 2 online, 0 busy, 0 orphan\(s\), 0 unregistered/, 'init waits for the runners, then shows them');
    for (const name of [runner('1'), runner('pi')]) assert.equal((await containerState(name))?.status, 'running', name);
    await waitFor('runner-1 and pi online at the enterprise', () => online(runner('1')) && online(runner('pi')), { timeoutMs: 60_000 });
    assert.deepEqual(
      registered()
        .map((x) => x.name)
        .sort(),
      [runner('1'), runner('pi')].sort(),
    );
    assert.deepEqual(github.runners(ground.org), [], 'nothing registered at the org');
    const calls = Object.keys(github.calls().by_operation);
    assert.ok(calls.includes('enterprise-admin/create-registration-token-for-enterprise'), calls.join(', '));
    assert.deepEqual(
      calls.filter((op) => !op.endsWith('-for-enterprise') && !op.endsWith('-from-enterprise')),
      [],
      'only enterprise operations were called',
    );
    assert.ok(existsSync(join(dir, COMPOSE_FILE)), `the compose file is ${COMPOSE_FILE}`);
  });

  test('the runners registered with <GITHUB_URL>/enterprises/<slug>; their containers carry the enterprise label', async () => {
    const settings = JSON.parse((await readVolumeFile(`${runner('1')}-state`, '.runner')).replace(/^\uFEFF/, '')) as { gitHubUrl: string };
    assert.equal(settings.gitHubUrl, `${github.url}/enterprises/${SLUG}`);
    const labels = JSON.parse(await dockerOk(['inspect', '--format', '{{json .Config.Labels}}', runner('pi')])) as Record<string, string>;
    assert.equal(labels['dev.gh-runner-fleet.enterprise'], SLUG);
    assert.equal(labels['dev.gh-runner-fleet.org'], undefined);
    assert.match(await readFile(join(dir, COMPOSE_FILE), 'utf8'), new RegExp(`dev\\.gh-runner-fleet\\.enterprise: ${SLUG}`));
  });

  test("a job of an org in the enterprise runs on the enterprise's runner", async () => {
    const { job_id } = github.enqueueJob({
      org: ground.org,
      repo: 'widgets',
      runs_on: ['self-hosted', 'pi'],
      steps: [{ name: 'hello', run: 'echo hello from the enterprise' }],
    });
    const job = await github.waitForJob(job_id, (j) => j.status === 'completed', 60_000);
    assert.equal(job.conclusion, 'success', JSON.stringify(job.events));
    assert.equal(job.runner_name, runner('pi'));
  });

  test('list shows both runners online, none orphaned or unregistered', async () => {
    const table = (await ok('list.ts')).stdout;
    for (const name of [runner('1'), runner('pi')]) assert.match(table, new RegExp(`^${name}\\s+\\S+\\s+online\\s`, 'm'), table);
    assert.match(table, /2 runner\(s\): 2 online, 0 busy, 0 orphan\(s\), 0 unregistered/);
    const rows = JSON.parse((await ok('list.ts', ['--json'])).stdout) as Array<{
      name: string;
      github_status: string | null;
      orphan: boolean | null;
      unregistered: boolean;
    }>;
    assert.deepEqual(
      rows.map((row) => [row.name, row.github_status, row.orphan, row.unregistered]).sort(),
      [
        [runner('1'), 'online', false, false],
        [runner('pi'), 'online', false, false],
      ].sort(),
    );
  });

  test('purge -y: registrations, containers, volumes and generated files gone; the env file kept', async () => {
    const r = await ok('purge.ts', ['-y']);
    for (const name of [runner('1'), runner('pi')]) assert.match(r.stdout, new RegExp(`^${name}: unregistered from GitHub$`, 'm'));
    for (const file of [COMPOSE_FILE, `.reg_token.cache.enterprises.${SLUG}`, `.image-hash.enterprises.${SLUG}`])
      assert.match(r.stdout, new RegExp(`^deleted ${file.replaceAll('.', '\\.')}$`, 'm'));
    assert.deepEqual(registered(), []);
    assert.deepEqual(await containersOf(), []);
    assert.deepEqual(await volumesOf(), []);
    assert.deepEqual((await readdir(dir)).sort(), ['.env']);
    assert.ok((github.calls().by_operation['enterprise-admin/delete-self-hosted-runner-from-enterprise'] ?? 0) >= 2);
    assert.deepEqual(github.violations, [], "every request matched GitHub Enterprise Cloud's OpenAPI description");
  });
});
