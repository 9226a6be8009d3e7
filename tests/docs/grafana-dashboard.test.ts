// docs/grafana-dashboard.json: a dashboard Grafana imports (the fields its
// import needs, unique panel ids, panels inside the grid, a Prometheus
// datasource variable), whose every query names only metrics that make
// metrics serves (the names read from a live /metrics, parsed).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { FleetMetrics } from '../../lib/fleet/metrics.ts';
import { REPO_ROOT } from '../support/cli.ts';
import { parseMetrics } from '../support/prometheus.ts';

interface Target {
  expr?: string;
  refId?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  datasource?: { type?: string; uid?: string };
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: unknown }> };
  time: { from: string; to: string };
}

test('the Grafana dashboard: importable, and every query names metrics make metrics serves', async () => {
  const dashboard = JSON.parse(await readFile(`${REPO_ROOT}docs/grafana-dashboard.json`, 'utf8')) as Dashboard;
  assert.match(dashboard.uid, /^[a-z0-9-]{1,40}$/);
  assert.ok(dashboard.title);
  assert.ok(dashboard.schemaVersion >= 36);
  assert.deepEqual(dashboard.time, { from: 'now-24h', to: 'now' });
  const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));
  assert.equal(variables.get('datasource')?.type, 'datasource');
  assert.equal(variables.get('datasource')?.query, 'prometheus');

  // The names /metrics has, read from the exposition of a FleetMetrics with nothing observed yet (HELP/TYPE lines).
  const metrics = new FleetMetrics({ sources: [], docker: { listFleetContainers: () => Promise.resolve([]) } });
  const served = new Set<string>();
  try {
    const { types } = parseMetrics(await metrics.registry.metrics());
    for (const [name, type] of types) {
      served.add(name);
      if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) served.add(`${name}${suffix}`);
    }
  } finally {
    metrics.close();
  }
  for (const name of [
    'gh_runner_fleet_runners',
    'gh_runner_fleet_jobs_total',
    'gh_runner_fleet_lock_wait_seconds',
    'gh_runner_fleet_lock_hold_seconds',
    'gh_runner_fleet_lock_queue_length',
    'gh_runner_fleet_lock_handoffs_total',
    'gh_runner_fleet_github_requests_total',
    'gh_runner_fleet_lock_log_bad_lines_total',
  ]) {
    assert.ok(served.has(name), `/metrics has no ${name}`);
  }

  const ids = new Set<number>();
  const used = new Set<string>();
  for (const panel of dashboard.panels) {
    assert.ok(!ids.has(panel.id), `panel id ${panel.id} twice`);
    ids.add(panel.id);
    const { x, y, w, h } = panel.gridPos;
    assert.ok(x >= 0 && w > 0 && x + w <= 24 && y >= 0 && h > 0, `${panel.title}: outside the 24-column grid`);
    if (panel.type === 'row') continue;
    assert.ok(panel.targets?.length, `${panel.title}: no query`);
    for (const t of panel.targets ?? []) {
      assert.equal(t.datasource?.uid, '${datasource}', `${panel.title}: not on the datasource variable`);
      for (const name of t.expr?.match(/gh_runner_fleet_\w+/g) ?? []) {
        assert.ok(served.has(name), `${panel.title}: ${name} is not a metric make metrics serves`);
        used.add(name);
      }
    }
  }
  // The views the issue asks for: queue length, wait p95, hold, jobs by org, runners by state.
  const titles = dashboard.panels.map((p) => p.title);
  for (const want of ['Queue length', 'Wait p95', 'Board held (share of time)', 'Jobs by org (in the time range)', 'Runners by state'])
    assert.ok(titles.includes(want), want);
  for (const name of [
    'gh_runner_fleet_lock_queue_length',
    'gh_runner_fleet_lock_wait_seconds_bucket',
    'gh_runner_fleet_lock_hold_seconds_sum',
    'gh_runner_fleet_jobs_total',
    'gh_runner_fleet_runners',
  ])
    assert.ok(used.has(name), `no panel uses ${name}`);
});
