// A custom Dockerfile that copies its whole folder (`COPY . /ctx/`) gets no
// env file, token cache, compose file or hash record into the image (issue
// 12), nor the configured ENV_FILE, App key and token cache whatever their
// names, nor *.pem/*.key (issue 19), whatever it copies. Real Docker engine; the base is the runner
// simulator image (it STANDS IN for actions/runner's image).
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runScript } from '../support/cli.ts';
import { assertImages, dockerOk, dockerUnavailable, removeFleetImages, SIM_IMAGE, uniquePrefix } from './helpers.ts';

const skip = await dockerUnavailable();
if (skip) console.log(`# skipping the build-context e2e test: ${skip}`);

describe('the build context of a custom Dockerfile', { skip, timeout: 240_000 }, () => {
  let dir: string;
  let prefix = '';
  const custom = (): string => `${prefix}custom:latest`;

  before(async () => {
    await assertImages();
    dir = await mkdtemp(join(tmpdir(), 'fleet-context-e2e-'));
    prefix = uniquePrefix('ctx');
    const PAT = 'ghp_e2e_context_0123456789';
    await writeFile(join(dir, '.env'), `ORG=acme\nGH_PAT=${PAT}\nRUNNER_NAME_PREFIX=${prefix}\nRUNNER_CUSTOM_IMAGE=${custom()}\n`, { mode: 0o600 });
    await writeFile(join(dir, 'lab.pem'), 'not a real key\n', { mode: 0o600 });
    await writeFile(join(dir, 'globex.env'), `ORG=globex\nGH_PAT=${PAT}\n`, { mode: 0o600 });
    await writeFile(join(dir, '.reg_token.cache.acme'), '{"token":"AAAREGTOKEN"}\n', { mode: 0o600 });
    await writeFile(join(dir, 'docker-compose.acme.yml'), 'services: {}\n');
    await writeFile(join(dir, '.image-hash.acme'), 'x\n');
    await writeFile(join(dir, 'flash.sh'), '#!/bin/sh\n');
    await writeFile(join(dir, 'Dockerfile'), `FROM ${SIM_IMAGE}\nCOPY . /ctx/\n`);
  });

  after(async () => {
    if (prefix) await removeFleetImages(prefix, [custom()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('COPY . /ctx/ bakes the files the lab means, and none of the toolkit’s private ones', async () => {
    const r = await runScript('image.ts', [], { cwd: dir, env: { DOCKER_HOST: process.env.DOCKER_HOST ?? '' }, timeoutMs: 200_000 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const listed = (await dockerOk(['run', '--rm', '--network', 'none', '--entrypoint', 'ls', custom(), '-A', '/ctx'])).split('\n').sort();
    assert.deepEqual(listed, ['Dockerfile', 'flash.sh']);
  });

  test('with ENV_FILE=acme-settings and REG_TOKEN_CACHE_FILE=tokens, neither file is in the image', async () => {
    // A lab that names its files its own way (the env file moved, the .env gone): the settings say which they are.
    await rename(join(dir, '.env'), join(dir, 'acme-settings'));
    await writeFile(join(dir, 'acme-settings'), 'REG_TOKEN_CACHE_FILE=tokens\n', { flag: 'a' });
    await writeFile(join(dir, 'tokens'), '{"token":"AAAREGTOKEN"}\n', { mode: 0o600 });
    const r = await runScript('image.ts', ['--force'], {
      cwd: dir,
      env: { ENV_FILE: 'acme-settings', DOCKER_HOST: process.env.DOCKER_HOST ?? '' },
      timeoutMs: 200_000,
    });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const listed = (await dockerOk(['run', '--rm', '--network', 'none', '--entrypoint', 'ls', custom(), '-A', '/ctx'])).split('\n').sort();
    assert.deepEqual(listed, ['Dockerfile', 'flash.sh']);
  });
});
