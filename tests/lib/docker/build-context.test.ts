// What a custom Dockerfile's build context holds (lib/docker/build-context.ts):
// the folder as Docker would send it, never the toolkit's private files.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stageBuildContext } from '../../../lib/docker/build-context.ts';

async function tree(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = `${prefix}${entry.name}`;
    out.push(path);
    if (entry.isDirectory()) out.push(...(await tree(join(dir, entry.name), `${path}/`)));
  }
  return out.sort();
}

test('env files, token caches, compose files and hash records stay out; the folder .dockerignore applies; links stay links', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-context-'));
  const files = [
    'Dockerfile',
    '.env',
    'globex.env',
    '.env.local',
    '.reg_token.cache.acme',
    '.image-hash.acme',
    'docker-compose.acme.yml',
    'tools/flash.sh',
    'tools/.env',
    'scratch/big.bin',
    '.dockerignore',
  ];
  for (const file of files) {
    await mkdir(join(dir, file, '..'), { recursive: true });
    await writeFile(join(dir, file), file === '.dockerignore' ? 'scratch\n' : 'x');
  }
  await symlink('/etc/shadow', join(dir, 'tools', 'shadow'));
  const staged = await stageBuildContext(dir, join(dir, 'Dockerfile'));
  try {
    assert.deepEqual(await tree(staged), ['.dockerignore', 'Dockerfile', 'tools', 'tools/flash.sh', 'tools/shadow']);
    assert.equal(await readlink(join(staged, 'tools', 'shadow')), '/etc/shadow', 'the link was followed');
  } finally {
    await rm(staged, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  }
});

test('the configured ENV_FILE, App key and token cache stay out by path, whatever their names; *.pem and *.key by name', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-context-'));
  const files = ['Dockerfile', 'acme-settings', 'keys/app-private', 'state/tokens', 'certs/lab.pem', 'ssh/id.key', 'tools/flash.sh'];
  for (const file of files) {
    await mkdir(join(dir, file, '..'), { recursive: true });
    await writeFile(join(dir, file), 'x');
  }
  const privatePaths = [join(dir, 'acme-settings'), join(dir, 'keys', 'app-private'), join(dir, 'state', 'tokens')];
  const staged = await stageBuildContext(dir, join(dir, 'Dockerfile'), privatePaths);
  try {
    assert.deepEqual(await tree(staged), ['Dockerfile', 'certs', 'keys', 'ssh', 'state', 'tools', 'tools/flash.sh']);
  } finally {
    await rm(staged, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  }
});
