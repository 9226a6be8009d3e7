// The e2e ground cannot pass vacuously: where CI runs (CI=true), a Docker
// engine that does not answer fails the e2e suites and the bench test instead
// of skipping them; on a developer's machine they are skipped with the reason.
// And the test helpers are safe to import: no process runs until one is used.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REPO_ROOT, runNode } from '../support/cli.ts';

const probe = [
  '--import',
  import.meta.resolve('tsx'),
  '--input-type=module',
  '-e',
  `const { dockerUnavailable } = await import(${JSON.stringify(`${REPO_ROOT}tests/e2e/helpers.ts`)}); console.log('skip:', await dockerUnavailable());`,
];
const noEngine = { DOCKER_HOST: 'unix:///nonexistent/docker.sock' };

test('under CI=true, no Docker engine is an error, not a skip', async () => {
  const r = await runNode(probe, { env: { ...noEngine, CI: 'true' } });
  assert.notEqual(r.code, 0, r.stdout);
  assert.match(r.stderr, /CI=true, and no Docker engine answers/);
});

test('elsewhere, no Docker engine skips the e2e suites with the reason', async () => {
  const r = await runNode(probe, { env: noEngine });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^skip: no Docker engine answers .*run tests\/e2e\/setup\.sh as root$/m);
});

// Importing a test helper runs no process (no docker call to learn the engine's
// settings at import time): what a suite needs from the engine is computed on
// first use (modeSettings). Every function of node:child_process is watched.
const helperModules = [
  'tests/e2e/helpers.ts',
  'tests/support/ground.ts',
  'tests/support/github-fixture.ts',
  'tests/support/wait.ts',
  'tests/support/cli.ts',
  'tests/support/lock-helpers.ts',
];
const watchImports = [
  '--import',
  import.meta.resolve('tsx'),
  '--input-type=module',
  '-e',
  [
    "import { createRequire, syncBuiltinESMExports } from 'node:module';",
    "const cp = createRequire(import.meta.url)('node:child_process');",
    'const ran = [];',
    "for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) {",
    '  const real = cp[name];',
    '  cp[name] = (...args) => { ran.push(`${name} ${String(args[0])}`); return real(...args); };',
    '}',
    'syncBuiltinESMExports();',
    `for (const module of ${JSON.stringify(helperModules.map((m) => `${REPO_ROOT}${m}`))}) await import(module);`,
    "console.log('ran:', JSON.stringify(ran));",
  ].join('\n'),
];

test('importing the test helpers runs no process', async () => {
  const r = await runNode(watchImports, { env: noEngine });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ran: \[\]$/m);
});
