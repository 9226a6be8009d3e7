#!/usr/bin/env -S node --import tsx
// Restarts runners (all, or the ones named).
//   ./scripts/restart.ts [names…]
import { loadConfig } from '../lib/config.ts';
import { runCli } from '../lib/errors.ts';
import { restartRunners } from '../lib/fleet-lifecycle.ts';
import { readComposeRunners, requireSelection, selectRunners } from '../lib/fleet-services.ts';
import { parseScriptArgs } from '../lib/script-args.ts';

await runCli(async () => {
  const { positionals } = parseScriptArgs({});
  const config = await loadConfig({ requirePat: false });
  const runners = await readComposeRunners(config);
  const selection = selectRunners(runners, config.prefix, positionals);
  await restartRunners(config, requireSelection(selection, runners));
  return selection.unknown.length ? 1 : 0;
});
