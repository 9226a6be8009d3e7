#!/usr/bin/env -S node --import tsx
// `make metrics`: serves /metrics for Prometheus — runners by state, kind and
// board (Docker labels and GitHub's listing, at most every 15 s), each board's
// jobs, waits, holds, queue and hand-overs (the lock directory, or etcd with
// RUNNER_LOCK_BACKEND=etcd, and locks.log, read incrementally) — until Ctrl-C or SIGTERM.
//   ./scripts/metrics.ts                                   the fleet of ENV_FILE (default .env)
//   ./scripts/metrics.ts --env-file a.env --env-file b.env several fleets (orgs) in one process; also ENV_FILES="a.env b.env"
//   ./scripts/metrics.ts --addr HOST:PORT                  where to listen (METRICS_ADDR; default 127.0.0.1:9464)
// As root: locks.log and the lock records are root's (mode 0600). Every
// series names its org; docs/grafana-dashboard.json is a dashboard of them.
import { loadConfig } from '../lib/config/config.ts';
import { listFleetContainers } from '../lib/docker/containers.ts';
import { lockSourcesOf } from '../lib/fleet/lock-source.ts';
import { FleetMetrics, parseMetricsAddr, scopeOrg, serveMetrics, type MetricsSource } from '../lib/fleet/metrics.ts';
import { createRunnerApi } from '../lib/github/runner-api.ts';
import { parseScriptArgs } from '../lib/script-args.ts';
import { runCli } from '../core/errors.ts';
import { stdio } from '../core/reporter.ts';

await runCli(async () => {
  const { values } = parseScriptArgs({ 'env-file': { type: 'string', multiple: true }, addr: { type: 'string' } });
  const addr = parseMetricsAddr(values.addr ?? process.env.METRICS_ADDR);
  const named = values['env-file']?.length ? values['env-file'] : (process.env.ENV_FILES ?? '').split(/\s+/).filter(Boolean);
  const sources: MetricsSource[] = [];
  // No file named: ENV_FILE (default .env), as every command.
  for (const file of named.length ? named : [undefined]) {
    const config = await loadConfig({ env: file === undefined ? process.env : { ...process.env, ENV_FILE: file }, interactive: false });
    sources.push({ org: scopeOrg(config.scope), config, api: createRunnerApi(config) });
  }
  const metrics = new FleetMetrics({ sources, docker: { listFleetContainers }, warn: (line) => stdio.warn(line) });
  await metrics.start();
  const server = await serveMetrics(metrics, addr);
  // Where the queues are read (a lock directory, or etcd); locks.log is always in the lock directory.
  const places = lockSourcesOf(sources.map((s) => s.config)).map((source) => source.where);
  const logs = [...new Set(sources.filter((s) => s.config.etcd).map((s) => s.config.lockHostPath))];
  const logNote = logs.length ? `; locks.log in ${logs.join(', ')}` : '';
  console.log(`serving ${server.url} for ${sources.map((s) => s.org).join(', ')} (${places.join('; ')}${logNote}); Ctrl-C stops`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await server.close();
  metrics.close();
  // A GitHub listing under way may take its whole deadline (45 s): not a reason to keep running.
  process.exit(0);
});
