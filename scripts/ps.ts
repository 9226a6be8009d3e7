#!/usr/bin/env -S node --import tsx
// The fleet's containers on this host: name, state, kind, board, labels, lock resource, board devices.
//   ./scripts/ps.ts [--json]
import { loadConfig } from '../lib/config/config.ts';
import { listFleetContainers } from '../lib/docker/containers.ts';
import { runCli } from '../core/errors.ts';
import { parseScriptArgs } from '../lib/script-args.ts';
import { formatTable } from '../lib/table.ts';

await runCli(async () => {
  const { values } = parseScriptArgs({ json: { type: 'boolean' } });
  const config = await loadConfig({ credential: 'none' });
  const containers = await listFleetContainers(config);
  if (values.json) return console.log(JSON.stringify(containers, null, 2));
  if (containers.length === 0) return console.log(`no containers for ${config.prefix}* (make init N=… creates them)`);
  console.log(
    formatTable(
      ['NAME', 'STATE', 'KIND', 'BOARD', 'LABELS', 'RESOURCE', 'DEVICES'],
      containers.map((c) => [c.name, c.state, c.kind, c.board ?? '-', c.labels.join(','), c.resourceId ?? '-', c.devices?.join(',') ?? '-']),
    ),
  );
});
