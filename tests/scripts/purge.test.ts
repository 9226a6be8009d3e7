// `make purge` as a user runs it: every runner of this prefix unregistered,
// then the generated files deleted; .env kept unless --env.
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { PREFIX, registered, startFixture, type Fixture } from '../support/github-fixture.ts';

let fx: Fixture;
beforeEach(async () => {
  fx = await startFixture();
  fx.github.seedRunners({ org: 'acme', count: 3, name_prefix: `${PREFIX}runner-` });
  fx.github.seedRunners({ org: 'acme', name: 'elsewhere-runner-1' });
  for (const file of ['docker-compose.acme.yml', '.reg_token.cache.acme', '.image-hash.acme', 'docker-compose.other.yml']) {
    await writeFile(join(fx.dir, file), 'generated\n');
  }
  await mkdir(join(fx.dir, '.reg_token.cache.acme.lock'));
});
afterEach(async () => {
  assert.deepEqual(fx.github.violations, []);
  await fx.close();
});

describe('purge', () => {
  it("unregisters every runner of the prefix and deletes the generated files, keeping .env and other scopes' files", async () => {
    const result = await fx.run('purge.ts', ['-y']);
    assert.equal(result.code, 7, 'containers could not be removed: Docker is unreachable here');
    assert.deepEqual(registered(fx.github), ['elsewhere-runner-1']);
    // The containers may still exist: the compose file that manages them stays.
    assert.deepEqual((await readdir(fx.dir)).sort(), ['.env', 'docker-compose.acme.yml', 'docker-compose.other.yml']);
    assert.match(result.stdout, /^kept docker-compose\.acme\.yml: .* still there; run make purge again once they can go$/m);
    for (const file of ['.reg_token.cache.acme', '.reg_token.cache.acme.lock', '.image-hash.acme']) {
      assert.match(result.stdout, new RegExp(`^deleted ${file.replace(/\./g, '\\.')}$`, 'm'));
    }
    assert.match(result.stdout, /^kept \.env \(yours; --env deletes it too\)$/m);
  });

  it('--env deletes .env too', async () => {
    const result = await fx.run('purge.ts', ['--yes', '--env']);
    assert.equal(result.code, 7);
    assert.deepEqual((await readdir(fx.dir)).sort(), ['docker-compose.acme.yml', 'docker-compose.other.yml']);
  });

  it('refuses without a terminal and without -y, deleting nothing', async () => {
    const result = await fx.run('purge.ts');
    assert.equal(result.code, 8);
    assert.equal(
      result.stderr.trim(),
      'error: refusing to purge 3 runner(s) and 4 file(s) without confirmation: this is not a terminal; pass -y (make: YES=1) to confirm',
    );
    assert.equal(registered(fx.github).length, 4);
    assert.equal((await readdir(fx.dir)).length, 6);
  });

  it('a busy runner is skipped with exit 5; the compose file that still manages it stays, the rest goes', async () => {
    fx.github.seedRunners({ org: 'acme', name: `${PREFIX}runner-9`, busy: true });
    const result = await fx.run('purge.ts', ['-y']);
    assert.equal(result.code, 5);
    assert.deepEqual(registered(fx.github).sort(), ['elsewhere-runner-1', `${PREFIX}runner-9`]);
    assert.deepEqual((await readdir(fx.dir)).sort(), ['.env', 'docker-compose.acme.yml', 'docker-compose.other.yml']);
  });
});
