#!/usr/bin/env -S node --import tsx
// `make locks`: who holds each shared resource and who waits, in order.
//   ./scripts/locks.ts [--json]                     list
//   ./scripts/locks.ts release RESOURCE --force     operator override, recorded in locks.log
// RUNNER_LOCK_BACKEND=etcd: the holders and queues in etcd; a release revokes the holder's lease.
//   --env-file a.env --env-file b.env               several fleets' hosts (also ENV_FILES="a.env b.env"): each lock
//                                                   directory and etcd cluster once, headed by the Docker hosts and scopes that use it
// As root: the records are root's (mode 0600). --json keeps every value as
// recorded, with anything outside printable ASCII escaped (lock/display.ts).
import { loadLockHosts } from '../lib/config/config.ts';
import { asciiJson } from '../lock/display.ts';
import { ConfigError, runCli } from '../core/errors.ts';
import {
  etcdLockReport,
  formatHostsLockReport,
  formatLockReport,
  hostsLockReport,
  lockPlacesOfHosts,
  lockReport,
  releaseEtcdLock,
  releaseLock,
} from '../lib/fleet/locks-report.ts';
import { describeEtcd } from '../lock/etcd/settings.ts';
import { envFilesArg, parseScriptArgs } from '../lib/script-args.ts';

await runCli(async () => {
  const { values, positionals } = parseScriptArgs({ json: { type: 'boolean' }, force: { type: 'boolean' }, 'env-file': { type: 'string', multiple: true } });
  const hosts = await loadLockHosts(envFilesArg(values['env-file']));
  const [command = 'list', resource] = positionals;
  if (command !== 'release' && command !== 'list') throw new ConfigError(`unknown command ${command}: use locks [--json] or locks release RESOURCE --force`);
  if (hosts.length === 1) {
    const dir = hosts[0]!.lockHostPath;
    const etcd = hosts[0]!.lock?.etcd;
    if (etcd) {
      // RUNNER_LOCK_BACKEND=etcd: the lock is in etcd, locks.log in this host's lock directory.
      if (command === 'release') return console.log(await releaseEtcdLock(etcd, dir, resource, values.force ?? false));
      const resources = await etcdLockReport(etcd);
      const where = describeEtcd(etcd);
      return console.log(
        values.json ? asciiJson({ etcd: { endpoints: etcd.endpoints, prefix: etcd.prefix }, resources }) : `${where}:\n${formatLockReport(where, resources)}`,
      );
    }
    if (command === 'release') return console.log(await releaseLock(dir, resource, values.force ?? false));
    const resources = await lockReport(dir);
    return console.log(values.json ? asciiJson({ lockDir: dir, resources }) : formatLockReport(dir, resources));
  }
  if (command === 'release') throw new ConfigError('locks release frees a lock in one lock directory: give one env file (ENV_FILE=…), not several');
  const reports = await hostsLockReport(await lockPlacesOfHosts(hosts));
  console.log(values.json ? asciiJson(reports) : formatHostsLockReport(reports));
});
