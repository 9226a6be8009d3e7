// Which credential the settings name (pure: the App's key is not read here),
// and the line a GitHub call gets from a configuration loaded without one.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, ExitCode } from '../../../core/errors.ts';
import { chosenCredential, requireCredential } from '../../../lib/config/credential.ts';
import type { Settings } from '../../../lib/config/settings.ts';

const envFile = '/lab/.env';
const settings = (env: Record<string, string>, file: Record<string, string> = {}): Settings => ({ envFile, env, file });

describe('the credential the settings name', () => {
  test('a PAT', () => {
    assert.deepEqual(chosenCredential(settings({ GH_PAT: ' ghp_x ' })), { kind: 'pat', token: 'ghp_x' });
  });

  test('a GitHub App: its key file as written (read later), the installation id as a number', () => {
    const chosen = chosenCredential(settings({ GH_APP_ID: '123456' }, { GH_APP_PRIVATE_KEY_FILE: 'keys/app.pem', GH_APP_INSTALLATION_ID: '4242' }));
    assert.deepEqual(chosen, {
      kind: 'app',
      appId: '123456',
      privateKeyFile: 'keys/app.pem',
      installationId: 4242,
      setKeys: ['GH_APP_ID', 'GH_APP_PRIVATE_KEY_FILE', 'GH_APP_INSTALLATION_ID'],
    });
  });

  test('none: undefined (a command that needs one then asks or says so)', () => {
    assert.equal(chosenCredential(settings({ ORG: 'acme', GH_PAT: '' })), undefined);
  });

  test('both, in the same place: one line naming both and where', () => {
    assert.throws(
      () => chosenCredential(settings({}, { GH_PAT: 'ghp_x', GH_APP_ID: '1', GH_APP_PRIVATE_KEY_FILE: 'app.pem' })),
      new ConfigError(
        `GH_PAT (in ${envFile}) and GH_APP_ID (in ${envFile}) are both set: choose one credential, unset GH_PAT to use the GitHub App or unset GH_APP_ID, GH_APP_PRIVATE_KEY_FILE to use the PAT`,
      ),
    );
  });
});

describe('a GitHub call from a configuration without a credential', () => {
  test('one line, exit 2, naming GH_PAT and the App settings and the env file', () => {
    try {
      requireCredential({ envFile });
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.exitCode, ExitCode.config);
      assert.equal(
        err.message,
        `no GitHub credential is set: set GH_PAT, or GH_APP_ID and GH_APP_PRIVATE_KEY_FILE for a GitHub App, in the environment or in ${envFile} (see README, Credentials)`,
      );
    }
  });

  test('with one, the credential itself', () => {
    assert.deepEqual(requireCredential({ credential: { kind: 'pat', token: 'ghp_x' } }), { kind: 'pat', token: 'ghp_x' });
  });
});
