// Two ORG/REPO scopes on one host never share names (issue 12): by default
// ORG=acme REPO=x and ORG=acme-x get different prefixes; given the same
// RUNNER_NAME_PREFIX by hand, the second is refused before it can touch the
// first one's containers. Real Docker engine; no GitHub needed.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runScript } from '../support/cli.ts';
import { assertImages, containerState, docker, dockerOk, dockerUnavailable, SIM_IMAGE, uniquePrefix } from './helpers.ts';

const skip = await dockerUnavailable();
if (skip) console.log(`# skipping the names e2e test: ${skip}`);

describe('names shared by two scopes', { skip, timeout: 120_000 }, () => {
  let dir: string;
  let prefix = '';
  const theirs = (): string => `${prefix}runner-1`;

  before(async () => {
    await assertImages();
    dir = await mkdtemp(join(tmpdir(), 'fleet-names-e2e-'));
    prefix = uniquePrefix('nm');
    // The fleet of org acme-x, as init would have labelled it (created, never started).
    await dockerOk([
      'create',
      '--name',
      theirs(),
      '--label',
      'dev.gh-runner-fleet.managed=true',
      '--label',
      `dev.gh-runner-fleet.prefix=${prefix}`,
      '--label',
      'dev.gh-runner-fleet.org=acme-x',
      '--label',
      'dev.gh-runner-fleet.repo=',
      '--label',
      'dev.gh-runner-fleet.kind=generic',
      '--label',
      `dev.gh-runner-fleet.runner=${theirs()}`,
      '--entrypoint',
      'true',
      SIM_IMAGE,
    ]);
    await writeFile(
      join(dir, '.env'),
      `ORG=acme\nREPO=x\nGH_PAT=ghp_e2e_names_0123456789\nRUNNER_NAME_PREFIX=${prefix}\nGITHUB_API_URL=http://127.0.0.1:9/api/v3\n`,
      { mode: 0o600 },
    );
  });

  after(async () => {
    if (prefix) await docker(['rm', '-f', theirs()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const [script, args] of [
    ['ps.ts', []],
    ['remove.ts', ['-y', '--force']],
    ['purge.ts', ['-y']],
  ] as const) {
    test(`${script}: refused with one line naming the other scope and RUNNER_NAME_PREFIX; its container stays`, async () => {
      const r = await runScript(script, [...args], { cwd: dir, env: { DOCKER_HOST: process.env.DOCKER_HOST ?? '' } });
      assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`);
      assert.match(
        r.stderr,
        new RegExp(
          `^error: the names of this fleet \\(prefix ${prefix}, compose project .*\\) are already used on this host by the fleet of org acme-x \\(container ${theirs()}\\): give this ORG/REPO a prefix of its own with RUNNER_NAME_PREFIX in its env file$`,
          'm',
        ),
      );
      assert.ok(await containerState(theirs()), `${script} removed the other scope's container`);
    });
  }
});
