// The read step: raw settings from the environment over the env file, the
// prompt's answers over both, and the warnings about the env file. Pure: no
// file is written.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { settingsCutAtHash } from '../../../lib/config/env-file.ts';
import { envFileWarnings, setting, whereSet, withAnswers, type Settings } from '../../../lib/config/settings.ts';

const envFile = '/lab/.env';
const settings = (env: Record<string, string>, file: Record<string, string> = {}): Settings => ({ envFile, env, file });

describe('a setting', () => {
  test('the environment wins over the env file; values are trimmed', () => {
    const s = settings({ ORG: ' acme ' }, { ORG: 'globex', REPO: 'widgets ' });
    assert.equal(setting(s, 'ORG'), 'acme');
    assert.equal(setting(s, 'REPO'), 'widgets');
    assert.equal(setting(s, 'GROUP'), undefined);
  });

  test('set empty in the environment, it is unset, whatever the env file says', () => {
    assert.equal(setting(settings({ REPO: ' ' }, { REPO: 'widgets' }), 'REPO'), undefined);
  });

  test('messages say where a setting is set: the environment, or the env file when the environment leaves it empty', () => {
    const s = settings({ GH_PAT: 'ghp_x', GH_APP_ID: '' }, { GH_APP_ID: '1' });
    assert.equal(whereSet(s, 'GH_PAT'), 'the environment');
    assert.equal(whereSet(s, 'GH_APP_ID'), envFile);
  });
});

describe("the prompt's answers", () => {
  test('win over an empty value in the environment (why they were asked)', () => {
    const answered = withAnswers(settings({ ORG: '' }), { ORG: 'acme', GH_PAT: 'ghp_x' });
    assert.equal(setting(answered, 'ORG'), 'acme');
    assert.equal(setting(answered, 'GH_PAT'), 'ghp_x');
  });

  test('REPO answered empty means org scope, even when REPO was set before', () => {
    const answered = withAnswers(settings({}, { REPO: 'widgets' }), { ORG: 'acme', REPO: '' });
    assert.equal(setting(answered, 'REPO'), undefined);
  });

  test('leave every other setting as it was', () => {
    const answered = withAnswers(settings({ RUNNER_LABELS: 'gpu' }, { RUNNER_GROUP: 'lab' }), { ORG: 'acme' });
    assert.equal(setting(answered, 'RUNNER_LABELS'), 'gpu');
    assert.equal(setting(answered, 'RUNNER_GROUP'), 'lab');
  });
});

describe('warnings about the env file', () => {
  test('a GH_PAT in a file others can read: chmod 600; a private file or a PAT only in the environment: nothing', () => {
    const line = `${envFile} holds GH_PAT and other users can read it: chmod 600 ${envFile}`;
    assert.deepEqual(envFileWarnings(settings({}, { GH_PAT: 'p' }), { cutAtHash: [], readableByOthers: true }), [line]);
    assert.deepEqual(envFileWarnings(settings({}, { GH_PAT: 'p' }), { cutAtHash: [], readableByOthers: false }), []);
    assert.deepEqual(envFileWarnings(settings({ GH_PAT: 'p' }, { ORG: 'acme' }), { cutAtHash: [], readableByOthers: true }), []);
  });

  test("a value cut at '#' is named unless the environment sets that setting", () => {
    const warnings = envFileWarnings(settings({ HTTPS_PROXY: 'http://proxy:3128' }, {}), { cutAtHash: ['GH_PAT', 'HTTPS_PROXY'], readableByOthers: false });
    assert.deepEqual(warnings, [
      `GH_PAT in ${envFile} has a '#' in its unquoted value, which dotenv reads as the start of a comment, so the value is cut there: quote it, GH_PAT='…'`,
    ]);
  });

  test("the values cut at '#': unquoted with a '#' inside the value; quoted values and comments after a space are not", () => {
    const text = [
      'GH_PAT=ghp_abc#def',
      "HTTPS_PROXY='http://u:p#w@proxy:3128'",
      'RUNNER_LABELS=gpu # a comment',
      'export NO_PROXY=a#b',
      '# ORG=x#y',
      'REPO=#start',
    ].join('\n');
    assert.deepEqual(settingsCutAtHash(text), ['GH_PAT', 'NO_PROXY']);
  });
});
