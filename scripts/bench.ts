#!/usr/bin/env -S node --import tsx
// `make bench`: hand-over latency and fairness of the board lock with 4
// contenders that take it in a loop, each re-asking as soon as it releases,
// as processes on this host and as containers sharing a bind-mounted lock
// directory (the contender bundled and run by the image's own node).
//   ./scripts/bench.ts [--json] [--rounds N] [--hold-ms MS] [--mode processes|containers ...] [--image IMAGE]
//                      [--backend directory|etcd|both] [--etcd ENDPOINTS]
// --backend: the lock directory, etcd (RUNNER_LOCK_ETCD_ENDPOINTS or BENCH_ETCD,
// or --etcd), or both side by side; default both when an etcd endpoint is
// set, else the directory. etcd's results are keyed `<mode> (etcd)`.
// --json prints one object: {processes: {handoff_ms: {p50, p99, max},
// longest_run, max_wait_ms, out_of_order, overlaps}, containers: {...}}; a mode that
// cannot run here (no Docker, no image) is {skipped: "why"}, never faked.
import { analyse, DEFAULT_BENCH_IMAGE, formatResults, launchers, resultKey, type BenchOptions, type ModeOutcome } from '../bench/bench.ts';
import { ConfigError, runCli } from '../core/errors.ts';
import { parseScriptArgs } from '../lib/script-args.ts';

async function main(): Promise<void> {
  const { values } = parseScriptArgs({
    json: { type: 'boolean', default: false },
    mode: { type: 'string', multiple: true },
    rounds: { type: 'string', default: '50' },
    'hold-ms': { type: 'string', default: '5' },
    image: { type: 'string', default: DEFAULT_BENCH_IMAGE },
    backend: { type: 'string' },
    etcd: { type: 'string' },
  });
  const etcd = values.etcd || process.env.BENCH_ETCD || process.env.RUNNER_LOCK_ETCD_ENDPOINTS || undefined;
  const backend = values.backend ?? (etcd ? 'both' : 'directory');
  if (!['directory', 'etcd', 'both'].includes(backend)) throw new ConfigError(`--backend ${backend}: use directory, etcd or both`);
  if (backend !== 'directory' && !etcd)
    throw new ConfigError(`--backend ${backend} needs an etcd endpoint: --etcd host:port (or BENCH_ETCD, RUNNER_LOCK_ETCD_ENDPOINTS)`);
  const backends = backend === 'both' ? (['directory', 'etcd'] as const) : ([backend] as const as readonly ('directory' | 'etcd')[]);
  const opts: BenchOptions = {
    contenders: 4,
    rounds: Number(values.rounds),
    holdMs: Number(values['hold-ms']),
    image: values.image ?? DEFAULT_BENCH_IMAGE,
    ...(backends.includes('etcd') && etcd ? { etcd } : {}),
  };
  if (!Number.isInteger(opts.rounds) || opts.rounds < 1 || !(opts.holdMs >= 0))
    throw new ConfigError('--rounds must be a positive whole number and --hold-ms >= 0');

  const results: Record<string, ModeOutcome> = {};
  for (const mode of values.mode ?? Object.keys(launchers)) {
    const launch = launchers[mode];
    if (!launch) throw new ConfigError(`bench mode ${mode} does not exist: use ${Object.keys(launchers).join(', ')}`);
    for (const b of backends) {
      const { etcd: _etcd, ...directory } = opts;
      const outcome = await launch(b === 'etcd' ? opts : directory);
      results[resultKey(mode, b)] = Array.isArray(outcome) ? analyse(outcome) : outcome;
    }
  }
  process.stdout.write(values.json ? `${JSON.stringify(results)}\n` : `${formatResults(results, opts)}\n`);
}

await runCli(main);
