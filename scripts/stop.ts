#!/usr/bin/env -S node --import tsx
// Stops runners (all, or the ones named). An ephemeral fleet: its supervisor
// first, then each slot's container is removed and its registration deleted,
// except those running a job, which are left to finish it.
//   ./scripts/stop.ts [names…]
//   ./scripts/stop.ts --drain [names…]   wait until GitHub shows each idle first
import { loadConfig } from '../lib/config/config.ts';
import { ExitCode, runCli } from '../core/errors.ts';
import { silent } from '../core/reporter.ts';
import { stopRunners } from '../lib/fleet/lifecycle.ts';
import { selectFleetRunners } from '../lib/docker/compose-reader.ts';
import { createRunnerApi } from '../lib/github/runner-api.ts';
import { parseScriptArgs } from '../lib/script-args.ts';

await runCli(async () => {
  const { values, positionals } = parseScriptArgs({ drain: { type: 'boolean' } });
  let config = await loadConfig({ credential: values.drain ? 'required' : 'none' });
  // An ephemeral fleet's registrations are looked at and deleted: loaded again with the credential (its warnings said once).
  if (config.mode === 'ephemeral' && !values.drain) config = await loadConfig({ reporter: silent });
  const { selected, unknown } = await selectFleetRunners(config, positionals);
  const api = values.drain || config.mode === 'ephemeral' ? createRunnerApi(config) : undefined;
  await stopRunners(config, selected, { ...(values.drain ? { drainWith: api } : { api }), all: positionals.length === 0 });
  return unknown.length ? ExitCode.config : ExitCode.ok; // the valid ones were handled
});
