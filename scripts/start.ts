#!/usr/bin/env -S node --import tsx
// Starts runners (all, or the ones named), registering unconfigured ones first.
//   ./scripts/start.ts [names…]
import { loadConfig } from '../lib/config/config.ts';
import { ExitCode, runCli } from '../core/errors.ts';
import { refuseEphemeral, startRunners } from '../lib/fleet/lifecycle.ts';
import { selectFleetRunners } from '../lib/docker/compose-reader.ts';
import { createRunnerApi } from '../lib/github/runner-api.ts';
import { parseScriptArgs } from '../lib/script-args.ts';

await runCli(async () => {
  const { positionals } = parseScriptArgs({});
  const config = await loadConfig();
  refuseEphemeral(config, 'make start');
  const { selected, unknown } = await selectFleetRunners(config, positionals);
  await startRunners(config, createRunnerApi(config), selected);
  return unknown.length ? ExitCode.config : ExitCode.ok; // the valid ones were handled
});
