// The compose file of board runners locking on etcd (RUNNER_LOCK_BACKEND=etcd):
// the settings reach board runners only, TLS files are mounted read-only, the
// password stays out of the file (null: compose reads it from the environment
// compose.ts gives it at `up`), and the lock directory stays mounted for locks.log.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildCompose, ETCD_TLS_DIR, renderCompose } from '../../../lib/docker/compose-file.ts';
import { loadConfig } from '../../../lib/config/config.ts';
import type { HostFacts } from '../../../lib/docker/host-facts.ts';
import type { Reporter } from '../../../core/reporter.ts';

const host: HostFacts = { kvmGid: 108, sharedDevices: [], exists: () => true };
const quiet: Reporter = { info: () => undefined, warn: (line) => assert.fail(`unexpected warning: ${line}`) };
const base = {
  ORG: 'acme',
  GH_PAT: 'ghp_never_in_compose_0123456789',
  BOARD_RUNNERS: 'phytiumpi:phytiumpi',
  RUNNER_RESOURCE_ID: 'board-shared',
  RUNNER_LOCK_BACKEND: 'etcd',
  RUNNER_LOCK_ETCD_ENDPOINTS: 'https://etcd1:2379, https://etcd2:2379',
};

async function compose(env: Record<string, string>) {
  const config = await loadConfig({ env, cwd: await mkdtemp(join(tmpdir(), 'fleet-compose-etcd-')), interactive: false, hostname: 'lab' });
  return { config, file: buildCompose(config, 1, host, quiet) };
}

describe('compose file: lock on etcd', () => {
  test('board runners get the etcd settings, TLS files read-only, the password as null, and still the lock directory', async () => {
    const { config, file } = await compose({
      ...base,
      RUNNER_LOCK_ETCD_LEASE_S: '15',
      RUNNER_LOCK_ETCD_CACERT: '/etc/etcd-client/ca.pem',
      RUNNER_LOCK_ETCD_CERT: '/etc/etcd-client/cert.pem',
      RUNNER_LOCK_ETCD_KEY: '/etc/etcd-client/key.pem',
      RUNNER_LOCK_ETCD_USER: 'runner-fleet',
      RUNNER_LOCK_ETCD_PASSWORD: 'etcd-s3cret-never-in-compose',
    });
    const board = file.services['lab-acme-runner-phytiumpi'];
    assert.ok(board);
    assert.equal(board.environment.RUNNER_LOCK_BACKEND, 'etcd');
    assert.equal(board.environment.RUNNER_LOCK_ETCD_ENDPOINTS, 'https://etcd1:2379,https://etcd2:2379');
    assert.equal(board.environment.RUNNER_LOCK_ETCD_PREFIX, '/gh-runner-fleet/locks');
    assert.equal(board.environment.RUNNER_LOCK_ETCD_LEASE_S, '15');
    assert.equal(board.environment.RUNNER_LOCK_ETCD_USER, 'runner-fleet');
    assert.equal(board.environment.RUNNER_LOCK_ETCD_PASSWORD, null);
    assert.equal(board.environment.RUNNER_LOCK_ETCD_KEY, `${ETCD_TLS_DIR}/key.pem`);
    assert.ok(board.volumes.includes(`/etc/etcd-client/key.pem:${ETCD_TLS_DIR}/key.pem:ro`));
    assert.ok(board.volumes.includes(`/etc/etcd-client/ca.pem:${ETCD_TLS_DIR}/ca.pem:ro`));
    assert.ok(
      board.volumes.some((v) => v.endsWith(`:${config.lockDir}`)),
      'locks.log stays in the lock directory',
    );
    const generic = Object.entries(file.services).find(([name]) => !name.endsWith('phytiumpi'))?.[1];
    assert.equal(generic?.environment.RUNNER_LOCK_BACKEND, undefined);
    const text = renderCompose(file);
    assert.ok(!text.includes('etcd-s3cret'), 'the password is never in the compose file');
    assert.equal(config.etcd?.password, 'etcd-s3cret-never-in-compose', 'compose.ts puts it in compose’s environment at up');
  });

  test('the directory stays the default, and bad etcd settings are one clear line', async () => {
    const { file } = await compose({ ...base, RUNNER_LOCK_BACKEND: '' });
    assert.equal(file.services['lab-acme-runner-phytiumpi']?.environment.RUNNER_LOCK_BACKEND, undefined);
    await assert.rejects(compose({ ...base, RUNNER_LOCK_ETCD_ENDPOINTS: '' }), /RUNNER_LOCK_BACKEND=etcd needs RUNNER_LOCK_ETCD_ENDPOINTS/);
    await assert.rejects(compose({ ...base, RUNNER_LOCK_ETCD_USER: 'u' }), /RUNNER_LOCK_ETCD_USER and RUNNER_LOCK_ETCD_PASSWORD go together/);
    await assert.rejects(compose({ ...base, RUNNER_LOCK_ETCD_ENDPOINTS: 'https://u:p@etcd:2379' }), /no credentials in an endpoint/);
    await assert.rejects(compose({ ...base, RUNNER_LOCK_ETCD_LEASE_S: '1' }), /RUNNER_LOCK_ETCD_LEASE_S=1 is invalid/);
    await assert.rejects(compose({ ...base, RUNNER_LOCK_BACKEND: 'zookeeper' }), /RUNNER_LOCK_BACKEND=zookeeper is invalid/);
  });
});
