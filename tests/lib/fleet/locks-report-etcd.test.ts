// make locks over several env files when fleets lock on etcd (issue 23): an
// etcd cluster and prefix is one place for every fleet on it, whichever Docker
// host runs them, read from this machine like any other; a lock directory
// stays one per machine. Against a real etcd (tests/support/etcd.ts), with
// holders and waiters taken by the real lock code (tests/lock/etcd-contender.ts).
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LockHost } from '../../../lib/config/config.ts';
import type { DockerTarget } from '../../../lib/docker/command.ts';
import { formatHostsLockReport, hostsLockReport, lockPlacesOfHosts } from '../../../lib/fleet/locks-report.ts';
import { parseEtcdSettings, type EtcdSettings } from '../../../lock/etcd/settings.ts';
import { etcdMissing, TestEtcd } from '../../support/etcd.ts';
import { Contender, killChildren, repoRoot, spawnGroup } from '../../support/lock-helpers.ts';

const skip = etcdMissing();
const SECOND = 'unix:///run/docker-second.sock';
const here = (target: DockerTarget) => Promise.resolve(!target.host?.startsWith('ssh://'));

function etcdOf(endpoint: string, prefix: string): EtcdSettings {
  const settings = parseEtcdSettings({ RUNNER_LOCK_ETCD_ENDPOINTS: endpoint, RUNNER_LOCK_ETCD_PREFIX: prefix });
  assert.ok(settings);
  return settings;
}

function host(scope: string, docker: DockerTarget, lockHostPath: string, etcd?: EtcdSettings): LockHost {
  return { envFile: `/lab/${scope}.env`, scope, docker, lockHostPath, ...(etcd ? { lock: { lockBackend: 'etcd', etcd } } : {}) };
}

describe('make locks over several hosts, some on etcd', { skip }, () => {
  let etcd: TestEtcd;
  let lockDir = '';
  before(async () => {
    etcd = await TestEtcd.start();
    lockDir = await mkdtemp(join(tmpdir(), 'locks-etcd-hosts-'));
  });
  after(async () => {
    killChildren();
    await etcd?.destroy();
  });

  it('fleets on one etcd cluster and prefix share one place, whatever machine runs them; other prefixes and directories are their own', async () => {
    const shared = etcdOf(etcd.endpoint, '/lab/locks/');
    const places = await lockPlacesOfHosts(
      [
        host('acme', {}, '/locks', shared),
        host('globex', { host: 'ssh://ci@lab2' }, '/locks', shared),
        host('umbrella', { host: SECOND }, '/locks'),
        host('initech', {}, '/locks', etcdOf(etcd.endpoint, '/other/')),
      ],
      here,
    );
    assert.deepEqual(
      places.map((p) => [p.hosts, p.scopes, 'etcd' in p ? p.etcd.prefix : p.lockDir]),
      [
        [['local', 'ssh://ci@lab2'], ['acme', 'globex'], '/lab/locks'],
        [[SECOND], ['umbrella'], '/locks'],
        [['local'], ['initech'], '/other'],
      ],
    );
  });

  it("shows the holder and the queue from etcd under the cluster's heading, beside a directory's", async () => {
    const prefix = '/report/';
    const spawn = (name: string) =>
      new Contender(
        spawnGroup(
          process.execPath,
          ['--import', 'tsx', join(repoRoot, 'tests/lock/etcd-contender.ts'), '--endpoints', etcd.endpoint, '--prefix', prefix, '--name', name],
          {
            cwd: repoRoot,
            stdio: ['pipe', 'pipe', 'pipe'],
          },
        ),
      );
    const holder = spawn('lab-a-runner-pi');
    await holder.waitFor('acquired');
    const waiter = spawn('lab-b-runner-pi');
    await waiter.waitFor('queued');
    const reports = await hostsLockReport(
      await lockPlacesOfHosts(
        [
          host('acme', {}, lockDir, etcdOf(etcd.endpoint, prefix)),
          host('globex', { host: 'ssh://ci@lab2' }, lockDir, etcdOf(etcd.endpoint, prefix)),
          host('umbrella', {}, lockDir),
        ],
        here,
      ),
    );
    const lines = formatHostsLockReport(reports).split('\n');
    assert.match(lines[0] ?? '', /^HOST local, ssh:\/\/ci@lab2 \(acme, globex\): etcd http:\/\/127\.0\.0\.1:\d+ under \/report /);
    assert.match(lines[1] ?? '', /^ {2}board-a: held by lab-a-runner-pi \(org\/repo, run 1 attempt 1\) since /);
    assert.match(lines[2] ?? '', /^ {4}1\. lab-b-runner-pi \(org\/repo, run 1 attempt 1\) waiting since /);
    assert.deepEqual(lines.slice(3), [`HOST local (umbrella): lock directory ${lockDir}`, `  no resource has been locked in ${lockDir}`]);
    holder.child.stdin?.write('release\n');
    waiter.child.stdin?.write('release\n');
    await Promise.all([holder.exited, waiter.exited]);
  });

  it('an etcd that cannot be reached is one line under its heading; the other places are still shown', async () => {
    await etcd.stop();
    try {
      const reports = await hostsLockReport(
        await lockPlacesOfHosts([host('acme', {}, lockDir, etcdOf(etcd.endpoint, '/down/')), host('umbrella', {}, lockDir)], here),
      );
      const lines = formatHostsLockReport(reports).split('\n');
      assert.match(lines[1] ?? '', /^ {2}etcd http:\/\/127\.0\.0\.1:\d+ under \/down .* cannot be read: /);
      assert.equal(reports[0]?.resources, null);
      assert.deepEqual(lines.slice(2), [`HOST local (umbrella): lock directory ${lockDir}`, `  no resource has been locked in ${lockDir}`]);
    } finally {
      await etcd.resume();
    }
  });
});
