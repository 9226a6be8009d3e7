// list, rm and purge as a user runs them with a GitHub App as the credential
// (GH_APP_ID + GH_APP_PRIVATE_KEY_FILE, the installation looked up), against
// the stand-in: the same results as with a PAT, and neither the private key
// nor any installation token in the output or in a file the toolkit wrote.
import assert from 'node:assert/strict';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { AppCreated } from '../../standins/github/server.ts';
import { assertOneErrorLine, assertSecretNowhere, PREFIX, registered, startFixture, type Fixture } from '../support/github-fixture.ts';

let fx: Fixture;
let app: AppCreated;
let keyFile: string;
let envFile: string;
const outputs: string[] = [];

beforeEach(async () => {
  fx = await startFixture();
  app = fx.github.createApp('fleet-lab');
  fx.github.installApp({ app_id: app.app_id, org: 'acme', permissions: { organization_self_hosted_runners: 'write' } });
  keyFile = join(fx.dir, 'fleet-lab.private-key.pem');
  await writeFile(keyFile, app.private_key, { mode: 0o600 });
  envFile = join(fx.dir, '.env');
  await writeFile(envFile, `ORG=acme\nGH_APP_ID=${app.app_id}\nGH_APP_PRIVATE_KEY_FILE=${keyFile}\n`, { mode: 0o600 });
  fx.github.seedRunners({ org: 'acme', count: 3, name_prefix: `${PREFIX}runner-` });
  fx.github.seedRunners({ org: 'acme', name: 'elsewhere-runner-1' });
  outputs.length = 0;
});
afterEach(async () => {
  assert.deepEqual(fx.github.violations, []);
  const secrets = [
    app.private_key,
    ...app.private_key.split('\n').filter((line) => line.length > 20 && !line.startsWith('-----')),
    ...fx.github.installationTokens(),
  ];
  for (const secret of secrets) await assertSecretNowhere(secret, outputs, fx.dir, [keyFile]);
  await fx.close();
});

async function run(script: 'list.ts' | 'remove.ts' | 'purge.ts', args: string[] = []) {
  const result = await fx.run(script, args);
  outputs.push(result.stdout, result.stderr);
  return result;
}

describe('commands with a GitHub App', () => {
  it("list: GitHub's side of the fleet, the installation looked up once, one installation token", async () => {
    const result = await run('list.ts', ['--json']);
    assert.equal(result.code, 0, result.stderr);
    const names = (JSON.parse(result.stdout) as { rows: { name: string }[] }).rows?.map((row) => row.name) ?? result.stdout;
    assert.ok(String(names).includes(`${PREFIX}runner-1`), result.stdout);
    assert.equal(fx.github.calls().by_operation['apps/get-org-installation'], 1);
    assert.equal(fx.github.calls().by_operation['apps/create-installation-access-token'], 1);
  });

  it('rm: unregisters the named runner', async () => {
    const result = await run('remove.ts', ['-y', 'runner-2']);
    assert.equal(result.code, 7, `GitHub's side done, Docker unreachable here: ${result.stderr}`);
    assert.deepEqual(registered(fx.github).sort(), ['elsewhere-runner-1', `${PREFIX}runner-1`, `${PREFIX}runner-3`]);
  });

  it('purge: unregisters every runner of the prefix', async () => {
    const result = await run('purge.ts', ['-y']);
    assert.equal(result.code, 7, `GitHub's side done, Docker unreachable here: ${result.stderr}`);
    assert.deepEqual(registered(fx.github), ['elsewhere-runner-1']);
  });

  it('a key file other users can read: exit 2 with the chmod, nothing asked of GitHub', async () => {
    await chmod(keyFile, 0o644);
    const result = await run('list.ts');
    assert.equal(result.code, 2);
    assertOneErrorLine(result, new RegExp(`^error: GH_APP_PRIVATE_KEY_FILE ${keyFile} can be read by other users \\(mode 0644\\): chmod 600 ${keyFile}$`));
    assert.equal(fx.github.calls().total, 0);
  });

  it('GH_PAT set as well: exit 2 naming both settings', async () => {
    const result = await fx.run('list.ts', [], { GH_PAT: 'ghp_also_set_0123' });
    outputs.push(result.stdout, result.stderr);
    assert.equal(result.code, 2);
    assertOneErrorLine(result, /^error: GH_PAT \(in the environment\) and GH_APP_ID \(in .*\.env\) are both set: choose one credential/);
  });

  it('missing permission: exit 3 naming it', async () => {
    const narrow = fx.github.createApp('narrow');
    fx.github.installApp({ app_id: narrow.app_id, org: 'acme', permissions: {} });
    const narrowKey = join(fx.dir, 'narrow.pem');
    await writeFile(narrowKey, narrow.private_key, { mode: 0o600 });
    const result = await fx.run('list.ts', [], { GH_APP_ID: String(narrow.app_id), GH_APP_PRIVATE_KEY_FILE: narrowKey });
    outputs.push(result.stdout, result.stderr);
    assert.equal(result.code, 3);
    const errors = result.stderr
      .trim()
      .split('\n')
      .filter((line) => !line.startsWith('warning: '));
    assert.deepEqual(errors.length, 1, result.stderr);
    assert.match(
      errors[0]!,
      /^error: the GitHub App \(GH_APP_ID=\d+\) lacks a permission to manage runners of org acme: GitHub asks for organization permission "Self-hosted runners: Read-only" \(organization_self_hosted_runners=read\)/,
    );
    await assertSecretNowhere(narrow.private_key, outputs, fx.dir, [narrowKey]);
  });
});
