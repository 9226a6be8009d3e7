#!/usr/bin/env -S node --import tsx
// Starts runners (all, or the ones named), registering unconfigured ones first.
//   ./scripts/start.ts [names…]
import { loadConfig } from '../lib/config.ts';
import { runCli } from '../lib/errors.ts';
import { startRunners } from '../lib/fleet-lifecycle.ts';
import { readComposeRunners, requireSelection, selectRunners } from '../lib/fleet-services.ts';
import { parseScriptArgs } from '../lib/script-args.ts';

await runCli(async () => {
  const { positionals } = parseScriptArgs({});
  const config = await loadConfig();
  const runners = await readComposeRunners(config);
  const selection = selectRunners(runners, config.prefix, positionals);
  await startRunners(config, requireSelection(selection, runners));
  return selection.unknown.length ? 1 : 0;
});
