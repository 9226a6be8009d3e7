// The etcd lock with the settings a secured etcd needs (issue 23): https
// endpoints, the CA to trust, a client certificate, and a user whose role may
// read and write only the lock prefix (README, "Lock on etcd"). Against a
// real etcd started with TLS and client-certificate auth, auth enabled.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { Etcd3, Range } from 'etcd3';
import { EtcdAdmin } from '../../lock/etcd/etcd-admin.ts';
import { EtcdLock } from '../../lock/etcd/etcd-lock.ts';
import { parseEtcdSettings, type EtcdSettings } from '../../lock/etcd/settings.ts';
import { etcdLockReport } from '../../lib/fleet/locks-report.ts';
import { etcdMissing, opensslMissing, testCertificates, TestEtcd, type TestTls } from '../support/etcd.ts';
import { tempDir } from '../support/lock-helpers.ts';
import { waitFor } from '../support/wait.ts';

const skip = etcdMissing() || opensslMissing();
const PREFIX = '/lab/locks';
const PASSWORD = 'fleet-pw-4d1c';
const job = { runner: 'lab-runner-pi', runId: '7', attempt: '1', repository: 'acme/firmware', job: 'flash' };

describe('the etcd lock on a secured etcd: TLS, a client certificate, a user limited to the prefix', { skip }, () => {
  let etcd: TestEtcd;
  let tls: TestTls;

  /** The settings as a fleet's env file gives them, with changes. */
  function settings(change: Record<string, string | undefined> = {}): EtcdSettings {
    const parsed = parseEtcdSettings({
      RUNNER_LOCK_ETCD_ENDPOINTS: etcd.endpoint,
      RUNNER_LOCK_ETCD_PREFIX: PREFIX,
      RUNNER_LOCK_ETCD_CACERT: tls.caCert,
      RUNNER_LOCK_ETCD_CERT: tls.clientCert,
      RUNNER_LOCK_ETCD_KEY: tls.clientKey,
      RUNNER_LOCK_ETCD_USER: 'fleet',
      RUNNER_LOCK_ETCD_PASSWORD: PASSWORD,
      ...change,
    });
    assert.ok(parsed);
    return parsed;
  }

  /** Waits for the first status line a waiter reports about etcd; the waiter never gets the lock meanwhile. */
  async function refusedLine(s: EtcdSettings): Promise<string> {
    const lock = new EtcdLock(s, 'board-a', { retryMs: 200 });
    const stop = new AbortController();
    let line = '';
    let acquired = false;
    const attempt = lock
      .acquire(job, { signal: stop.signal, org: 'acme', onStatus: (status) => (line ||= status.unreachable ?? '') })
      .then(async (held) => {
        acquired = true;
        await held.release('completed');
      })
      .catch(() => undefined);
    try {
      await waitFor('a status line about etcd', () => line !== '', { timeoutMs: 20_000 });
    } finally {
      stop.abort();
      await attempt;
      await lock.close();
    }
    assert.equal(acquired, false);
    return line;
  }

  before(async () => {
    tls = testCertificates(await tempDir('etcd-tls-'));
    etcd = await TestEtcd.start({ tls });
    // The lab's set-up (README): root to switch auth on, and a role for the fleets that covers the prefix only.
    const [rootCertificate, certChain, privateKey] = (await Promise.all([tls.caCert, tls.clientCert, tls.clientKey].map((path) => readFile(path)))) as [
      Buffer,
      Buffer,
      Buffer,
    ];
    const admin = new Etcd3({ hosts: etcd.endpoint, credentials: { rootCertificate, certChain, privateKey } });
    try {
      await admin.role('root').create();
      await admin.user('root').create('root-pw');
      await admin.user('root').addRole('root');
      await admin.role('runner-fleet').create();
      await admin.role('runner-fleet').grant({ permission: 'Readwrite', range: Range.prefix(`${PREFIX}/`) });
      await admin.user('fleet').create(PASSWORD);
      await admin.user('fleet').addRole('runner-fleet');
      await admin.auth.authEnable();
    } finally {
      admin.close();
    }
  });
  after(async () => {
    await etcd?.destroy();
  });

  it('takes and releases the lock, and make locks reads the holder, with the lab settings', async () => {
    const lock = new EtcdLock(settings(), 'board-a');
    try {
      const held = await lock.acquire(job, { signal: new AbortController().signal, org: 'acme' });
      const [resource] = await etcdLockReport(settings());
      assert.equal(resource?.resource, 'board-a');
      assert.equal(resource?.holder?.runner, 'lab-runner-pi');
      assert.equal(resource?.holder?.repository, 'acme/firmware');
      await held.release('completed');
      const admin = new EtcdAdmin(settings());
      try {
        assert.equal((await admin.list()).find((r) => r.resource === 'board-a')?.holder, undefined);
      } finally {
        await admin.close();
      }
    } finally {
      await lock.close();
    }
  });

  it('a wrong password: the job waits and its log says why; make locks says so in one line', async () => {
    assert.match(
      await refusedLine(settings({ RUNNER_LOCK_ETCD_PASSWORD: 'wrong' })),
      /^etcd \(https:\/\/127\.0\.0\.1:\d+\) refused the lock's credentials .*authentication failed/i,
    );
    await assert.rejects(etcdLockReport(settings({ RUNNER_LOCK_ETCD_PASSWORD: 'wrong' })), /cannot be read: .*authentication failed/i);
  });

  it("a prefix outside the user's role: refused, never taken", async () => {
    assert.match(await refusedLine(settings({ RUNNER_LOCK_ETCD_PREFIX: '/elsewhere' })), /refused the lock's credentials .*permission denied/i);
  });

  it('no client certificate: etcd does not answer the lock, which says it is unreachable', async () => {
    const line = await refusedLine(settings({ RUNNER_LOCK_ETCD_CERT: undefined, RUNNER_LOCK_ETCD_KEY: undefined }));
    assert.match(line, /^etcd \(https:\/\/127\.0\.0\.1:\d+\) is unreachable: /);
  });
});
