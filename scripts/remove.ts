#!/usr/bin/env -S node --import tsx
// Unregisters runners from GitHub, then removes their containers and volumes.
//   ./scripts/remove.ts                      all runners of this prefix, orphans included
//   ./scripts/remove.ts NAME… [-y] [--force] only these; -y skips the question,
//                                            --force stops runners in the middle of a job
import { loadConfig } from '../lib/config/config.ts';
import { runCli } from '../core/errors.ts';
import { removeFleetRunners } from '../lib/fleet/removal.ts';
import { createRunnerApi } from '../lib/github/runner-api.ts';
import { parseScriptArgs } from '../lib/script-args.ts';

await runCli(async () => {
  const { values, positionals } = parseScriptArgs({
    yes: { type: 'boolean', short: 'y' },
    force: { type: 'boolean' },
  });
  const config = await loadConfig();
  return removeFleetRunners(config, createRunnerApi(config), { names: positionals, yes: values.yes ?? false, force: values.force ?? false });
});
