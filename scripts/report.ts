#!/usr/bin/env -S node --import tsx
// `make report`: the boards' history from locks.log (and locks.log.1, the
// rotated one) in RUNNER_LOCK_HOST_PATH: per board and org the jobs that held
// it, the time held, the wait before (p50, p95, max), how the turns ended,
// and each board's five longest holds.
//   ./scripts/report.ts                    every turn the log still holds
//   ./scripts/report.ts --since 7d         turns that ended in the last 7 days (also 12h, 30m, or an ISO date/time)
//   ./scripts/report.ts --json             the same as one JSON object
//   ./scripts/report.ts --svg FILE         also the occupancy picture of the boards over that time (SVG)
// As root: locks.log is root's (mode 0600), as it names every org's
// repositories and runs. Read line by line: a log of any size in bounded
// memory; lines that are not ours are skipped and counted.
import { writeFile } from 'node:fs/promises';
import { loadLockHostPath } from '../lib/config/config.ts';
import { formatHistory, historyReport, historySvg, sinceSetting } from '../lib/fleet/lock-history.ts';
import { parseScriptArgs } from '../lib/script-args.ts';
import { asciiJson } from '../lock/display.ts';
import { runCli } from '../core/errors.ts';

await runCli(async () => {
  const { values } = parseScriptArgs({ since: { type: 'string' }, json: { type: 'boolean' }, svg: { type: 'string' } });
  const now = Date.now();
  const since = sinceSetting(values.since, now);
  const dir = await loadLockHostPath();
  const { report, builder } = await historyReport(dir, { ...(since !== undefined ? { since } : {}), until: now });
  if (values.svg) await writeFile(values.svg, historySvg(report, builder));
  if (values.json) console.log(asciiJson(report));
  else console.log(formatHistory(report, values.since) + (values.svg ? `\n\noccupancy picture: ${values.svg}` : ''));
});
