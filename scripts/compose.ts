#!/usr/bin/env -S node --import tsx
// Regenerates the compose file after a .env change, keeping the number of
// generic runners this fleet has now (found by container label).
//   ./scripts/compose.ts          keep the current count
//   ./scripts/compose.ts -n 6     or set a new one
import { loadConfig, parseRunnerCount } from '../lib/config/config.ts';
import { runCli } from '../core/errors.ts';
import { currentGenericCount, writeFleetCompose } from '../lib/fleet/lifecycle.ts';
import { parseScriptArgs } from '../lib/script-args.ts';

await runCli(async () => {
  const { values } = parseScriptArgs({ count: { type: 'string', short: 'n' } });
  const config = await loadConfig({ credential: 'none' });
  const count = values.count !== undefined ? parseRunnerCount(values.count) : ((await currentGenericCount(config)) ?? 1);
  const runners = await writeFleetCompose(config, count);
  console.log(`Wrote ${config.composeFile}: ${runners.length} runner(s) (${count} generic); apply with make start`);
});
