// The runner simulator's command line, as actions/runner's
// Runner.Common/CommandLineParser.cs and Runner.Listener/CommandSettings.cs
// read it, and its strict base64 (Convert.FromBase64String).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCommandLine, takeEnvInputs } from '../../../standins/runner/args.ts';
import { fromBase64Strict } from '../../../standins/runner/jitconfig.ts';
import { mask } from '../../../standins/runner/terminal.ts';

const none = new Map<string, string>();

describe('CommandLineParser / CommandSettings', () => {
  test('--name value is an arg only when the value does not start with "-"; otherwise --name is a flag', () => {
    const cli = parseCommandLine(['configure', '--url', 'https://x/acme', '--token', '--unattended', '--name', 'a', 'b'], none);
    assert.equal(cli.arg('url'), 'https://x/acme');
    assert.equal(cli.arg('token'), undefined, '--token followed by --unattended is a flag, not an arg');
    assert.equal(cli.flag('unattended'), true);
    assert.equal(cli.arg('name'), 'a', 'a second value is ignored');
    assert.deepEqual(cli.unknown, [], 'token as a flag is still a known option of configure');
  });

  test('names are case-insensitive; the first value wins', () => {
    const cli = parseCommandLine(['run', '--JitConfig', 'AAAA', '--jitconfig', 'BBBB'], none);
    assert.equal(cli.arg('jitconfig'), 'AAAA');
    assert.equal(cli.command, 'run');
  });

  test('Validate: options a command does not know are reported with their spelling; generic flags are known everywhere', () => {
    assert.deepEqual(parseCommandLine(['run', '--ephemeral', '--Once', '--check', '--url', 'u'], none).unknown, ['ephemeral', 'url']);
    assert.deepEqual(parseCommandLine(['configure', '--once', '--jitconfig', 'x'], none).unknown, ['once', 'jitconfig']);
    assert.deepEqual(parseCommandLine(['remove', '--local'], none).unknown, []);
    assert.deepEqual(parseCommandLine(['configure', 'extra', '--bogus'], none).unknown, ['extra'], 'an unknown command word hides option checks');
    assert.equal(parseCommandLine(['configure', '--local'], none).flag('local'), true);
  });

  test('ACTIONS_RUNNER_INPUT_<NAME>: taken out of the environment, empty values ignored, names verbatim (no "_" for "-"), flags as booleans', () => {
    const env: NodeJS.ProcessEnv = {
      ACTIONS_RUNNER_INPUT_JITCONFIG: ' c2VjcmV0 ',
      actions_runner_input_url: 'https://x/acme',
      ACTIONS_RUNNER_INPUT_NAME: '',
      ACTIONS_RUNNER_INPUT_REPLACE: 'True',
      ACTIONS_RUNNER_INPUT_EPHEMERAL: 'yes',
      ACTIONS_RUNNER_INPUT_NO_DEFAULT_LABELS: 'true',
      'ACTIONS_RUNNER_INPUT_NO-DEFAULT-LABELS': 'true',
      KEEP: '1',
    };
    const inputs = takeEnvInputs(env);
    assert.deepEqual(Object.keys(env), ['KEEP'], 'every ACTIONS_RUNNER_INPUT_* is removed, empty or not');
    const run = parseCommandLine(['run'], inputs);
    assert.equal(run.arg('jitconfig'), 'c2VjcmV0', 'trimmed');
    const cli = parseCommandLine(['configure'], inputs);
    assert.equal(cli.arg('url'), 'https://x/acme');
    assert.equal(cli.arg('name'), undefined);
    assert.equal(cli.flag('replace'), true, 'bool.TryParse: any case');
    assert.equal(cli.flag('ephemeral'), false, '"yes" is not a boolean');
    assert.equal(cli.flag('no-default-labels'), true, 'only through its own spelling');
    assert.equal(parseCommandLine(['configure'], takeEnvInputs({ ACTIONS_RUNNER_INPUT_NO_DEFAULT_LABELS: 'true' })).flag('no-default-labels'), false);
    assert.equal(mask('token c2VjcmV0 here'), 'token *** here', 'jitconfig is a secret: masked');
  });

  test('secret args given on the command line are masked too', () => {
    parseCommandLine(['configure', '--token', 'AAAATOKENZZZ', '--pat', 'ghp_cmdline'], none);
    assert.equal(mask('a AAAATOKENZZZ b ghp_cmdline'), 'a *** b ***');
  });
});

describe('Convert.FromBase64String', () => {
  test('white space skipped; padding only at the end; length a multiple of 4; the standard alphabet only', () => {
    assert.equal(fromBase64Strict('aGk=').toString(), 'hi');
    assert.equal(fromBase64Strict(' aG\tk=\r\n').toString(), 'hi');
    assert.equal(fromBase64Strict('').length, 0);
    assert.throws(() => fromBase64Strict('aGk'), /Invalid length/);
    assert.throws(() => fromBase64Strict('aG=k'), /not a valid Base-64 string/);
    assert.throws(() => fromBase64Strict('a==='), /not a valid Base-64 string/);
    assert.throws(() => fromBase64Strict('ab-_'), /not a valid Base-64 string/);
    assert.throws(() => fromBase64Strict(null), /Value cannot be null/);
  });
});
