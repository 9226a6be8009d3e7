#!/usr/bin/env -S node --import tsx
// `make report`: the boards' history from locks.log (and locks.log.1, the
// rotated one) in RUNNER_LOCK_HOST_PATH: per board and org the jobs that held
// it, the time held, the wait before (p50, p95, max), how the turns ended,
// and each board's five longest holds.
//   ./scripts/report.ts                    every turn the log still holds
//   ./scripts/report.ts --since 7d         turns that ended in the last 7 days (also 12h, 30m, or an ISO date/time)
//   ./scripts/report.ts --json             the same as one JSON object
//   ./scripts/report.ts --svg FILE         also the occupancy picture of the boards over that time (SVG)
//   --env-file a.env --env-file b.env      several fleets' hosts (also ENV_FILES="a.env b.env"): each lock directory
//                                          once, headed by the Docker hosts and scopes using it (--json: an array;
//                                          --svg FILE: FILE, then FILE-2.svg … for the next directories)
// As root: locks.log is root's (mode 0600), as it names every org's
// repositories and runs. Read line by line: a log of any size in bounded
// memory; lines that are not ours are skipped and counted.
import { writeFile } from 'node:fs/promises';
import { loadLockHosts } from '../lib/config/config.ts';
import { formatHistory, historyReport, historySvg, sinceSetting } from '../lib/fleet/lock-history.ts';
import { elsewhereLine, lockDirHeading, lockDirsOfHosts } from '../lib/fleet/locks-report.ts';
import { envFilesArg, parseScriptArgs } from '../lib/script-args.ts';
import { asciiJson } from '../lock/display.ts';
import { ConfigError, runCli } from '../core/errors.ts';

await runCli(async () => {
  const { values } = parseScriptArgs({
    since: { type: 'string' },
    json: { type: 'boolean' },
    svg: { type: 'string' },
    'env-file': { type: 'string', multiple: true },
  });
  const now = Date.now();
  const since = sinceSetting(values.since, now);
  const options = { ...(since !== undefined ? { since } : {}), until: now };
  const hosts = await loadLockHosts(envFilesArg(values['env-file']));
  if (hosts.length === 1) {
    const dir = hosts[0]!.lockHostPath;
    const { report, builder } = await historyReport(dir, options);
    if (values.svg) await writeFile(values.svg, historySvg(report, builder));
    if (values.json) console.log(asciiJson(report));
    else console.log(formatHistory(report, values.since) + (values.svg ? `\n\noccupancy picture: ${values.svg}` : ''));
    return;
  }
  // Several: each lock directory once (see lockDirsOfHosts), one on another machine or missing said in a line.
  const sections: Array<{ heading: string; json: object; text: string }> = [];
  let pictures = 0;
  for (const dir of await lockDirsOfHosts(hosts)) {
    const heading = lockDirHeading(dir);
    let note = dir.elsewhere ? elsewhereLine(dir, 'make report') : undefined;
    if (!note) {
      try {
        const { report, builder } = await historyReport(dir.lockDir, options);
        const svg = values.svg ? (pictures++ ? values.svg.replace(/(\.svg)?$/i, `-${pictures}.svg`) : values.svg) : undefined;
        if (svg) await writeFile(svg, historySvg(report, builder));
        sections.push({ heading, json: { ...dir, ...report }, text: formatHistory(report, values.since) + (svg ? `\n\noccupancy picture: ${svg}` : '') });
        continue;
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        note = err.message;
      }
    }
    sections.push({ heading, json: { ...dir, note }, text: note });
  }
  if (values.json) return console.log(asciiJson(sections.map((s) => s.json)));
  console.log(sections.map((s) => [s.heading, ...s.text.split('\n').map((line) => (line ? `  ${line}` : ''))].join('\n')).join('\n\n'));
});
