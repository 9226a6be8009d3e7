#!/usr/bin/env -S node --import tsx
// Registers the runners not yet configured (all, or the ones named).
//   ./scripts/register.ts                 every unconfigured runner
//   ./scripts/register.ts runner-2 pi     just these
import { loadConfig } from '../lib/config.ts';
import { runCli } from '../lib/errors.ts';
import { readComposeRunners, requireSelection, selectRunners } from '../lib/fleet-services.ts';
import { registerRunners, requireRegistered } from '../lib/registration.ts';
import { parseScriptArgs } from '../lib/script-args.ts';

await runCli(async () => {
  const { positionals } = parseScriptArgs({});
  const config = await loadConfig();
  const runners = await readComposeRunners(config);
  const selection = selectRunners(runners, config.prefix, positionals);
  requireRegistered(await registerRunners(config, requireSelection(selection, runners)));
  return selection.unknown.length ? 1 : 0;
});
