// Every script answers --help with the usage lines of its header, exit 0,
// without needing any setting, Docker or GitHub.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { REPO_ROOT, runScript } from '../support/cli.ts';

const scripts = readdirSync(`${REPO_ROOT}scripts`).filter((name) => name.endsWith('.ts'));

test('every script prints its usage for --help', async () => {
  assert.ok(scripts.length >= 15, `found ${scripts.length} scripts`);
  for (const script of scripts) {
    const result = await runScript(script, ['--help'], { env: { DOCKER_HOST: 'unix:///nonexistent.sock' } });
    assert.equal(result.code, 0, `${script}: ${result.stderr}`);
    assert.match(result.stdout, new RegExp(`\\./scripts/${script.replace('.', '\\.')}`), script);
    assert.doesNotMatch(result.stdout, /^\/\//m, `${script}: comment markers stripped`);
  }
});

test('a bad flag points at --help', async () => {
  const result = await runScript('ps.ts', ['--nope'], { env: {} });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^error: Unknown option '--nope'.*\(see --help\)\n$/);
});
