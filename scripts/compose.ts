#!/usr/bin/env -S node --import tsx
// Writes the compose file for this ORG/REPO after a .env change: N generic
// runners plus one per BOARD_RUNNERS entry, N by default the number this fleet
// has now (found by container label, else the compose file's; 1 for a new one).
//   ./scripts/compose.ts               keep the current count
//   ./scripts/compose.ts -n 6          or set a new one
//   ./scripts/compose.ts -n 3 --stdout print the file instead of writing it
import { buildCompose, renderCompose } from '../lib/docker/compose-file.ts';
import { readHostFacts } from '../lib/docker/host-facts.ts';
import { loadConfig, parseRunnerCount } from '../lib/config/config.ts';
import { runCli } from '../core/errors.ts';
import { currentGenericCount, writeFleetCompose } from '../lib/fleet/lifecycle.ts';
import { parseScriptArgs } from '../lib/script-args.ts';

await runCli(async () => {
  const { values } = parseScriptArgs({ count: { type: 'string', short: 'n' }, stdout: { type: 'boolean' } });
  const config = await loadConfig({ credential: 'none' });
  const count = values.count !== undefined ? parseRunnerCount(values.count) : ((await currentGenericCount(config)) ?? 1);
  if (values.stdout) return void process.stdout.write(renderCompose(buildCompose(config, count, readHostFacts())));
  const runners = await writeFleetCompose(config, count);
  const apply =
    config.mode === 'ephemeral' ? 'the supervisor uses it for the next containers it starts (restart make supervise for a new N)' : 'apply with make start';
  console.log(`Wrote ${config.composeFile}: ${runners.length} runner(s) (${count} generic); ${apply}`);
});
