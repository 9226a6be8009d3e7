// A test contender on the etcd lock: one process that takes the lock once
// through EtcdLock and prints one JSON line per event on stdout: status,
// acquired, lost, released. It holds until a line on stdin (or --hold-ms), so a test
// can SIGKILL it while it holds.
import { parseArgs } from 'node:util';
import { EtcdLock } from '../../lock/etcd/etcd-lock.ts';
import { parseEtcdSettings } from '../../lock/etcd/settings.ts';

const { values } = parseArgs({
  options: {
    endpoints: { type: 'string' },
    prefix: { type: 'string', default: '/test' },
    resource: { type: 'string', default: 'board-a' },
    name: { type: 'string', default: 'c' },
    'lease-s': { type: 'string', default: '2' },
    'hold-ms': { type: 'string', default: '600000' },
    'log-dir': { type: 'string' },
  },
});

const emit = (event: string, extra: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ event, name: values.name, t: Date.now(), ...extra })}\n`);
};

const settings = parseEtcdSettings({
  RUNNER_LOCK_ETCD_ENDPOINTS: values.endpoints,
  RUNNER_LOCK_ETCD_PREFIX: values.prefix,
  RUNNER_LOCK_ETCD_LEASE_S: values['lease-s'],
});
if (!settings) throw new Error('--endpoints is required');
const lock = new EtcdLock(settings, values.resource ?? 'board-a', { ...(values['log-dir'] ? { logDir: values['log-dir'] } : {}), retryMs: 200 });
const job = { runner: values.name ?? 'c', runId: '1', attempt: '1', repository: 'org/repo', job: 'test' };
const held = await lock.acquire(job, {
  signal: new AbortController().signal,
  org: 'org',
  onStatus: (s) => emit('status', { ...s }),
  onQueued: (ticket) => emit('queued', { ticket: Number(ticket) }),
  onLost: (reason) => emit('lost', { reason }),
});
emit('acquired', { ticket: Number(held.ticket.name) });
await new Promise<void>((resolve) => {
  const timer = setTimeout(resolve, Number(values['hold-ms']));
  // A line on stdin releases (not SIGUSR1: node keeps that signal for its inspector).
  process.stdin.once('data', () => {
    clearTimeout(timer);
    resolve();
  });
});
await held.release('completed');
emit('released');
process.stdin.destroy();
await lock.close();
