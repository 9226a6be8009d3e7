#!/usr/bin/env -S node --import tsx
// Stops runners (all, or the ones named).
//   ./scripts/stop.ts [names…]
//   ./scripts/stop.ts --drain [names…]   wait until GitHub shows each idle first
import { loadConfig } from '../lib/config/config.ts';
import { ExitCode, runCli } from '../core/errors.ts';
import { stopRunners } from '../lib/fleet/lifecycle.ts';
import { selectFleetRunners } from '../lib/docker/compose-reader.ts';
import { createRunnerApi } from '../lib/github/runner-api.ts';
import { parseScriptArgs } from '../lib/script-args.ts';

await runCli(async () => {
  const { values, positionals } = parseScriptArgs({ drain: { type: 'boolean' } });
  const config = await loadConfig({ credential: values.drain ? 'required' : 'none' });
  const { selected, unknown } = await selectFleetRunners(config, positionals);
  await stopRunners(config, selected, values.drain ? { drainWith: createRunnerApi(config) } : {});
  return unknown.length ? ExitCode.config : ExitCode.ok; // the valid ones were handled
});
