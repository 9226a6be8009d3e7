import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'dotenv';
import { setEnvValues, updateEnvFile } from '../../../lib/config/env-file.ts';

test('updating keeps comments and other lines, replaces in place, appends new keys', () => {
  const before = '# Fleet settings\nORG=old # the org\n\nexport RUNNER_LABELS=intel\n';
  const after = setEnvValues(before, { ORG: 'acme', GH_PAT: 'ghp_abc' });
  assert.equal(after, '# Fleet settings\nORG=acme\n\nexport RUNNER_LABELS=intel\nGH_PAT=ghp_abc\n');
});

test('values dotenv would misread are quoted so they read back the same', () => {
  const values = { A: 'has space', B: "it's # not a comment", C: 'plain' };
  assert.deepEqual(parse(setEnvValues('', values)), values);
});

test('the file is written with mode 0600 and no temp file is left behind', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-env-'));
  const path = join(dir, '.env');
  await writeFile(path, 'ORG=acme\n', { mode: 0o644 });
  await updateEnvFile(path, { GH_PAT: 'ghp_secret' });
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.equal(await readFile(path, 'utf8'), 'ORG=acme\nGH_PAT=ghp_secret\n');
  assert.deepEqual(await readdir(dir), ['.env']);
});
