// Choosing a credential: a PAT or a GitHub App (GH_APP_ID,
// GH_APP_PRIVATE_KEY_FILE, GH_APP_INSTALLATION_ID), never both; the App's key
// file is refused when other users can read it or when it is no RSA key.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig, type CredentialNeed } from '../../../lib/config/config.ts';
import { ConfigError, ExitCode } from '../../../core/errors.ts';

const KEY = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
}).privateKey;

async function keyDir(mode = 0o600, text = KEY): Promise<{ dir: string; key: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-app-config-'));
  const key = join(dir, 'app.pem');
  await writeFile(key, text, { mode });
  await chmod(key, mode);
  return { dir, key };
}

async function rejection(env: Record<string, string>, cwd: string, credential: CredentialNeed = 'required'): Promise<ConfigError> {
  try {
    await loadConfig({ env, cwd, interactive: false, hostname: 'h', credential });
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.exitCode, ExitCode.config);
    assert.doesNotMatch(err.message, /\n/, 'one line');
    assert.ok(!err.message.includes('PRIVATE KEY') && !err.message.includes(KEY.split('\n')[1]!), 'no key text in the message');
    return err;
  }
  assert.fail('expected loadConfig to reject');
}

describe('GitHub App settings', () => {
  test('an App is the credential: id, key read from the file, optional installation id', async () => {
    const { dir } = await keyDir();
    const config = await loadConfig({
      env: { ORG: 'acme', GH_APP_ID: '123456', GH_APP_PRIVATE_KEY_FILE: 'app.pem' },
      cwd: dir,
      interactive: false,
      hostname: 'h',
    });
    assert.deepEqual(
      config.credential,
      { kind: 'app', appId: '123456', privateKeyFile: join(dir, 'app.pem'), privateKey: KEY },
      'a relative key path is taken from the working directory; no installation id',
    );
    const withId = await loadConfig({
      env: { ORG: 'acme', GH_APP_ID: '123456', GH_APP_PRIVATE_KEY_FILE: 'app.pem', GH_APP_INSTALLATION_ID: '4242' },
      cwd: dir,
      interactive: false,
      hostname: 'h',
    });
    assert.equal(withId.credential?.kind === 'app' && withId.credential.installationId, 4242);
  });

  test('GH_PAT and GH_APP_ID both set: one line naming both and where each is set', async () => {
    const { dir } = await keyDir();
    await writeFile(join(dir, '.env'), 'ORG=acme\nGH_APP_ID=123456\nGH_APP_PRIVATE_KEY_FILE=app.pem\n', { mode: 0o600 });
    const err = await rejection({ GH_PAT: 'ghp_x' }, dir);
    assert.equal(
      err.message,
      `GH_PAT (in the environment) and GH_APP_ID (in ${join(dir, '.env')}) are both set: choose one credential, unset GH_PAT to use the GitHub App or unset GH_APP_ID, GH_APP_PRIVATE_KEY_FILE to use the PAT`,
    );
    // Even for commands that need no credential: the configuration is contradictory.
    await rejection({ GH_PAT: 'ghp_x' }, dir, 'none');
  });

  test('a key file other users can read is refused with the chmod to run', async () => {
    for (const mode of [0o644, 0o640, 0o604]) {
      const { dir, key } = await keyDir(mode);
      const err = await rejection({ ORG: 'acme', GH_APP_ID: '1', GH_APP_PRIVATE_KEY_FILE: key }, dir);
      assert.equal(err.message, `GH_APP_PRIVATE_KEY_FILE ${key} can be read by other users (mode 0${mode.toString(8)}): chmod 600 ${key}`);
    }
  });

  test('a missing key file, a directory, or a file that is no RSA key: named, with the fix', async () => {
    const { dir, key } = await keyDir(0o600, 'not a key\n');
    assert.match(
      (await rejection({ ORG: 'acme', GH_APP_ID: '1', GH_APP_PRIVATE_KEY_FILE: key }, dir)).message,
      /^GH_APP_PRIVATE_KEY_FILE .* is not a PEM RSA private key: download one from the App's settings/,
    );
    assert.match(
      (await rejection({ ORG: 'acme', GH_APP_ID: '1', GH_APP_PRIVATE_KEY_FILE: join(dir, 'nope.pem') }, dir)).message,
      /^GH_APP_PRIVATE_KEY_FILE .*nope\.pem does not exist: point GH_APP_PRIVATE_KEY_FILE at the \.pem file/,
    );
    await chmod(dir, 0o700);
    assert.match((await rejection({ ORG: 'acme', GH_APP_ID: '1', GH_APP_PRIVATE_KEY_FILE: dir }, dir)).message, /is not a regular file/);
    const ec = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    }).privateKey;
    const ecKey = await keyDir(0o600, ec);
    assert.match((await rejection({ ORG: 'acme', GH_APP_ID: '1', GH_APP_PRIVATE_KEY_FILE: ecKey.key }, ecKey.dir)).message, /is not a PEM RSA private key/);
  });

  test('incomplete or malformed App settings name the setting', async () => {
    const { dir, key } = await keyDir();
    assert.match((await rejection({ ORG: 'acme', GH_APP_ID: '1' }, dir)).message, /^GH_APP_ID is set but GH_APP_PRIVATE_KEY_FILE is not/);
    assert.match((await rejection({ ORG: 'acme', GH_APP_PRIVATE_KEY_FILE: key }, dir)).message, /^GH_APP_PRIVATE_KEY_FILE is set but GH_APP_ID is not/);
    assert.match((await rejection({ ORG: 'acme', GH_APP_INSTALLATION_ID: '5' }, dir)).message, /^GH_APP_INSTALLATION_ID is set but GH_APP_ID is not/);
    assert.match(
      (await rejection({ ORG: 'acme', GH_APP_ID: 'my-app', GH_APP_PRIVATE_KEY_FILE: key }, dir)).message,
      /^GH_APP_ID 'my-app' is not a GitHub App ID/,
    );
    assert.match(
      (await rejection({ ORG: 'acme', GH_APP_ID: '1', GH_APP_PRIVATE_KEY_FILE: key, GH_APP_INSTALLATION_ID: 'abc' }, dir)).message,
      /^GH_APP_INSTALLATION_ID 'abc' is not an installation id/,
    );
  });

  test('commands that need no credential do not read the key', async () => {
    const { dir, key } = await keyDir(0o644);
    const config = await loadConfig({
      env: { ORG: 'acme', GH_APP_ID: '1', GH_APP_PRIVATE_KEY_FILE: key },
      cwd: dir,
      interactive: false,
      hostname: 'h',
      credential: 'none',
    });
    assert.equal(config.credential, undefined);
  });
});
