#!/usr/bin/env -S node --import tsx
// The fleet at a glance: local containers joined with GitHub's runners of this
// prefix, orphans and unregistered containers flagged; an ephemeral fleet's
// slots with each container's age and job, and whether the supervisor runs.
//   ./scripts/list.ts          table
//   ./scripts/list.ts --json   the same rows as JSON
import { loadConfig } from '../lib/config/config.ts';
import { runCli } from '../core/errors.ts';
import { stdio } from '../core/reporter.ts';
import { fleetStatus, formatFleetTable } from '../lib/fleet/status.ts';
import { createRunnerApi } from '../lib/github/runner-api.ts';
import { parseScriptArgs } from '../lib/script-args.ts';

await runCli(async () => {
  const { values } = parseScriptArgs({ json: { type: 'boolean' } });
  const config = await loadConfig();
  const status = await fleetStatus(config, createRunnerApi(config));
  if (status.dockerWarning) stdio.warn(status.dockerWarning);
  console.log(values.json ? JSON.stringify(status.rows, null, 2) : formatFleetTable(status.rows, status.slots));
});
