#!/usr/bin/env -S node --import tsx
// Recreates runners' containers from the current image, rebuilt first if the
// Dockerfile or base changed (all, or the ones named); registrations stay.
//   ./scripts/restart.ts [names…]
import { loadConfig } from '../lib/config/config.ts';
import { ExitCode, runCli } from '../core/errors.ts';
import { refuseEphemeral, restartRunners } from '../lib/fleet/lifecycle.ts';
import { selectFleetRunners } from '../lib/docker/compose-reader.ts';
import { parseScriptArgs } from '../lib/script-args.ts';

await runCli(async () => {
  const { positionals } = parseScriptArgs({});
  const config = await loadConfig({ credential: 'none' });
  refuseEphemeral(config, 'make restart');
  const { selected, unknown } = await selectFleetRunners(config, positionals);
  await restartRunners(config, selected);
  return unknown.length ? ExitCode.config : ExitCode.ok; // the valid ones were handled
});
