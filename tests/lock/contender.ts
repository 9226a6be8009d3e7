// A test contender: one process that takes the lock `--rounds` times through
// the wrapper's queue (no runner, no socket) and prints one JSON line per
// event on stdout: queued, acquired, releasing, lost, done.
import { parseArgs } from 'node:util';
import { acquireLock } from '../../lock/resource-lock.ts';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    resource: { type: 'string', default: 'board-a' },
    name: { type: 'string', default: 'c' },
    rounds: { type: 'string', default: '1' },
    'hold-ms': { type: 'string', default: '20' },
    'stale-ms': { type: 'string', default: '2000' },
    'poll-ms': { type: 'string', default: '200' },
  },
});

const now = (): number => performance.timeOrigin + performance.now();
const emit = (event: string, extra: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ event, name: values.name, t: now(), ...extra })}\n`);
};

const staleMs = Number(values['stale-ms']);
const opts = {
  dir: values.dir ?? '',
  resource: values.resource ?? 'board-a',
  staleMs,
  updateMs: Math.max(1000, staleMs / 4),
  pollMs: Number(values['poll-ms']),
};
const holdMs = Number(values['hold-ms']); // < 0: hold until SIGUSR1 (or killed)

process.on('SIGTERM', () => process.exit(143));
for (let round = 0; round < Number(values.rounds); round++) {
  let queued = false;
  const requested = now();
  const lock = await acquireLock(
    opts,
    { runner: values.name ?? 'c', runId: String(round), attempt: '1', repository: 'org/repo', job: 'test' },
    {
      signal: new AbortController().signal,
      onStatus: ({ ticket }) => {
        if (!queued) emit('queued', { ticket: Number(ticket), round });
        queued = true;
      },
      onLost: (reason) => emit('lost', { reason, round }),
    },
  );
  emit('acquired', { ticket: lock.ticket.seq, round, requested });
  if (holdMs < 0) {
    const keepAlive = setInterval(() => undefined, 60_000); // a signal listener alone does not
    await new Promise((r) => process.once('SIGUSR1', r)); // hold until told (or killed)
    clearInterval(keepAlive);
  } else await new Promise((r) => setTimeout(r, holdMs));
  emit('releasing', { round, lost: lock.lost ?? null });
  await lock.release();
}
emit('done');
