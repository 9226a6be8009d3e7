// Values written into the compose file reach the containers as given: compose
// interpolation cannot change them, and a proxy URL that does not parse is
// never written out (issue 12).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { readComposeRunners } from '../../../lib/docker/compose-reader.ts';
import { runScript } from '../../support/cli.ts';

const run = promisify(execFile);

test("a '$' in any value is escaped for compose: docker-compose config keeps it literal, and the file reads back as given", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-compose-values-'));
  const env = { ORG: 'acme', RUNNER_NAME_PREFIX: 'lab', RUNNER_LABELS: 'gpu$HOME,x${PATH}', RUNNER_GROUP: 'pool$USER', HOME: '/root' };
  const r = await runScript('compose.ts', ['-n', '1'], { cwd: dir, env });
  assert.equal(r.code, 0, r.stderr);
  const file = join(dir, 'docker-compose.acme.yml');
  const text = await readFile(file, 'utf8');
  assert.match(text, /RUNNER_LABELS: gpu\$\$HOME,x\$\$\{PATH\}/);
  // No engine needed, only the CLI: without it (not under CI) that part is skipped.
  const v1 = await run('docker-compose', ['version']).then(
    () => true,
    () => false,
  );
  if (!v1 && process.env.CI === 'true') throw new Error('CI=true, and `docker-compose version` does not run: run tests/e2e/setup.sh as root');
  if (v1) {
    const { stdout } = await run('docker-compose', ['-f', file, 'config'], { env: { ...process.env, HOME: '/root' } });
    const resolved = parse(stdout) as { services: Record<string, { environment: Record<string, string> }> };
    const environment = resolved.services['lab-runner-1']!.environment;
    // docker-compose config writes a literal '$' as '$$' again; an interpolated one would read /root
    assert.equal(environment.RUNNER_LABELS, 'gpu$$HOME,x$${PATH}');
    assert.equal(environment.RUNNER_GROUP, 'pool$$USER');
  } else t.skip('no docker-compose CLI on this machine: docker-compose config not checked');
  const [runner] = await readComposeRunners({ composeFile: file });
  assert.deepEqual(runner?.labels, ['gpu$HOME', 'x${PATH}']);
});

test("a proxy URL dotenv cut at '#' does not parse and is kept out of the file, with no part of its password", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-compose-values-'));
  await writeFile(join(dir, '.env'), 'ORG=acme\nHTTPS_PROXY=http://ci:pa#ss@proxy:3128\nNO_PROXY=localhost,.corp\n', { mode: 0o600 });
  const r = await runScript('compose.ts', ['-n', '1', '--stdout'], { cwd: dir, env: { RUNNER_NAME_PREFIX: 'lab' } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /HTTPS_PROXY in .* has a '#' in its unquoted value/);
  const services = (parse(r.stdout) as { services: Record<string, { environment: Record<string, string | null> }> }).services;
  assert.equal(services['lab-runner-1']!.environment.HTTPS_PROXY, null, 'the broken proxy URL was written out');
  assert.equal(services['lab-runner-1']!.environment.NO_PROXY, 'localhost,.corp');
  assert.doesNotMatch(r.stdout, /ci:pa/);
});

test('N has an upper bound: -n 1000000 is one line and exit 2, nothing written', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-compose-values-'));
  const r = await runScript('compose.ts', ['-n', '1000000'], { cwd: dir, env: { ORG: 'acme' } });
  assert.equal(r.code, 2);
  assert.equal(r.stderr, "error: -n/--count (make: N) '1000000' is more than 200: set -n/--count (make: N) to at most 200\n");
  await assert.rejects(readFile(join(dir, 'docker-compose.acme.yml')));
});
