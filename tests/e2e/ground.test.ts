// The e2e ground cannot pass vacuously: where CI runs (CI=true), a Docker
// engine that does not answer fails the e2e suites and the bench test instead
// of skipping them; on a developer's machine they are skipped with the reason.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REPO_ROOT, runNode } from '../support/cli.ts';

const probe = [
  '--import', import.meta.resolve('tsx'), '--input-type=module', '-e',
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
