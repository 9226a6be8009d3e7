#!/usr/bin/env -S node --import tsx
// The fleet at a glance: local containers joined with GitHub's runners of this
// prefix, orphans and unregistered containers flagged; an ephemeral fleet's
// slots with each container's age and job, and whether the supervisor runs.
//   ./scripts/list.ts                                    table
//   ./scripts/list.ts --json                             the same rows as JSON
//   ./scripts/list.ts --env-file a.env --env-file b.env  several fleets (each on its own DOCKER_HOST/DOCKER_CONTEXT)
//                                                        in one table with HOST and SCOPE columns; also ENV_FILES="a.env b.env"
import { loadConfigs } from '../lib/config/config.ts';
import { runCli } from '../core/errors.ts';
import { stdio } from '../core/reporter.ts';
import { fleetStatus, formatFleetTable, formatHostsTable, hostRows, hostsStatus } from '../lib/fleet/status.ts';
import { createRunnerApi } from '../lib/github/runner-api.ts';
import { envFilesArg, parseScriptArgs } from '../lib/script-args.ts';

await runCli(async () => {
  const { values } = parseScriptArgs({ json: { type: 'boolean' }, 'env-file': { type: 'string', multiple: true } });
  const configs = await loadConfigs(envFilesArg(values['env-file']));
  if (configs.length === 1) {
    const config = configs[0]!;
    const status = await fleetStatus(config, createRunnerApi(config));
    if (status.dockerWarning) stdio.warn(status.dockerWarning);
    return console.log(values.json ? JSON.stringify(status.rows, null, 2) : formatFleetTable(status.rows, status.slots));
  }
  const fleets = await hostsStatus(configs.map((config) => ({ config, api: createRunnerApi(config) })));
  for (const fleet of fleets) if (fleet.status.dockerWarning) stdio.warn(`${fleet.scope} on ${fleet.host}: ${fleet.status.dockerWarning}`);
  console.log(values.json ? JSON.stringify(hostRows(fleets), null, 2) : formatHostsTable(fleets));
});
