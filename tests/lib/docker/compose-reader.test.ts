import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildCompose, renderCompose } from '../../../lib/docker/compose-file.ts';
import { loadConfig } from '../../../lib/config/config.ts';
import { ConfigError } from '../../../core/errors.ts';
import { readComposeRunners, selectFleetRunners, selectRunners } from '../../../lib/docker/compose-reader.ts';

async function fleet() {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-services-'));
  const config = await loadConfig({
    env: { ORG: 'acme', RUNNER_NAME_PREFIX: 'lab', BOARD_RUNNERS: 'phytiumpi:phytiumpi;roc:roc,arm64', RUNNER_RESOURCE_ID_ROC: 'roc-1' },
    cwd: dir,
    interactive: false,
    credential: 'none',
  });
  await writeFile(config.composeFile, renderCompose(buildCompose(config, 2, { sharedDevices: [], exists: () => false })));
  return config;
}

test('the compose file gives back each runner with its kind, labels, board and resource', async () => {
  const runners = await readComposeRunners(await fleet());
  assert.deepEqual(runners, [
    { name: 'lab-runner-1', kind: 'generic', labels: ['intel'] },
    { name: 'lab-runner-2', kind: 'generic', labels: ['intel'] },
    { name: 'lab-runner-phytiumpi', kind: 'board', labels: ['phytiumpi'], board: 'phytiumpi' },
    { name: 'lab-runner-roc', kind: 'board', labels: ['roc', 'arm64'], board: 'roc', resourceId: 'roc-1' },
  ]);
});

test('names resolve in full, without the prefix, or by board; unknown ones are kept apart', async () => {
  const runners = await readComposeRunners(await fleet());
  const { selected, unknown } = selectRunners(runners, 'lab-', ['lab-runner-1', 'runner-2', 'roc', 'runner-2', 'nosuch', '1']);
  assert.deepEqual(
    selected.map((r) => r.name),
    ['lab-runner-1', 'lab-runner-2', 'lab-runner-roc'],
  );
  assert.deepEqual(unknown, ['nosuch']);
  assert.equal(selectRunners(runners, 'lab-', []).selected.length, 4, 'no names: every runner');
});

test('only unknown names, or no compose file, is an error that says what to do', async () => {
  const config = await fleet();
  await assert.rejects(selectFleetRunners(config, ['nosuch']), /no known runner given: see make ps/);
  await assert.rejects(readComposeRunners({ composeFile: '/nonexistent/docker-compose.acme.yml' }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /^no compose file at \/nonexistent\/docker-compose.acme.yml: run make init N=… first/);
    return true;
  });
});
