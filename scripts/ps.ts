#!/usr/bin/env -S node --import tsx
// The fleet's containers on this host: name, state, kind, board, labels, lock resource, board devices;
// an ephemeral fleet's slots also with each container's age and job, and whether the supervisor runs.
//   ./scripts/ps.ts [--json]
import { loadConfig } from '../lib/config/config.ts';
import { runCli } from '../core/errors.ts';
import { fleetContainers, formatContainerTable, slotsHeader } from '../lib/fleet/status.ts';
import { parseScriptArgs } from '../lib/script-args.ts';

await runCli(async () => {
  const { values } = parseScriptArgs({ json: { type: 'boolean' } });
  const config = await loadConfig({ credential: 'none' });
  const status = await fleetContainers(config);
  if (values.json) return console.log(JSON.stringify(status.containers, null, 2));
  if (status.containers.length === 0) {
    if (status.slots) console.log(slotsHeader(status.slots));
    return console.log(`no containers for ${config.prefix}* (${status.slots ? 'make supervise fills the slots' : 'make init N=… creates them'})`);
  }
  console.log(formatContainerTable(status));
});
