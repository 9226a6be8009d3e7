#!/usr/bin/env -S node --import tsx
// Removes everything of this ORG/REPO: every runner (as remove.ts does), then
// the generated compose file, token cache and image hash record.
//   ./scripts/purge.ts [-y] [--force] [--env]   --env deletes the env file too
import { loadConfig } from '../lib/config/config.ts';
import { runCli } from '../core/errors.ts';
import { purgeFleet } from '../lib/fleet/purge.ts';
import { createRunnerApi } from '../lib/github/runner-api.ts';
import { parseScriptArgs } from '../lib/script-args.ts';

await runCli(async () => {
  const { values } = parseScriptArgs({
    yes: { type: 'boolean', short: 'y' },
    force: { type: 'boolean' },
    env: { type: 'boolean' },
  });
  const config = await loadConfig();
  return purgeFleet(config, createRunnerApi(config), { yes: values.yes ?? false, force: values.force ?? false, env: values.env ?? false });
});
