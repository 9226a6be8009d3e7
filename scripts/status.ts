#!/usr/bin/env -S node --import tsx
// `make status`: the fleet at a glance — each runner's container, age,
// online/busy and job, each board's holder, queue and wait so far.
//   ./scripts/status.ts                    one snapshot
//   ./scripts/status.ts --watch            on a terminal: redrawn on every change until Ctrl-C
//                                          (without a terminal: one snapshot)
//   ./scripts/status.ts --json             the snapshot as JSON
//   ./scripts/status.ts --watch --json     one JSON object per line, one per change, until Ctrl-C
//   --env-file FILE (repeatable)           several fleets in one view (default: ENV_FILE, or .env), each on its
//                                          own DOCKER_HOST/DOCKER_CONTEXT, named on its line; also ENV_FILES="a.env b.env"
// Changes come from docker events, the runners' output and the lock directory
// (seen within a second), or etcd for a fleet with RUNNER_LOCK_BACKEND=etcd (its
// watch, and a re-read every 2 s); GitHub is asked every 15 s. Run as root to see
// the lock directory's records (they are root's, mode 0600).
import { loadConfigs } from '../lib/config/config.ts';
import { runCli } from '../core/errors.ts';
import { asciiJson } from '../lock/display.ts';
import { jsonLinesOutput, readStatus, terminalOutput, watchStatus, type StatusFleet } from '../lib/fleet/live-status.ts';
import { renderStatus } from '../lib/fleet/status-view.ts';
import { createRunnerApi } from '../lib/github/runner-api.ts';
import { envFilesArg, parseScriptArgs } from '../lib/script-args.ts';

await runCli(async () => {
  const { values } = parseScriptArgs({ watch: { type: 'boolean' }, json: { type: 'boolean' }, 'env-file': { type: 'string', multiple: true } });
  const configs = await loadConfigs(envFilesArg(values['env-file']), { interactive: false });
  const fleets: StatusFleet[] = configs.map((config) => ({ config, github: createRunnerApi(config) }));
  const live = values.watch === true && (values.json === true || process.stdout.isTTY);
  if (!live) {
    const view = await readStatus(fleets);
    console.log(values.json ? asciiJson(view) : renderStatus(view, { width: process.stdout.columns || 80 }));
    return;
  }
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // A reader that went away (| head): stop quietly.
  process.stdout.on('error', onSignal);
  const output = values.json ? jsonLinesOutput((line) => process.stdout.write(`${line}\n`)) : terminalOutput(process.stdout);
  try {
    await watchStatus(fleets, { signal: stop.signal, onView: (view) => output.show(view) });
  } finally {
    output.close();
  }
});
