#!/usr/bin/env -S node --import tsx
// Registers the runners not yet configured (all, or the ones named).
//   ./scripts/register.ts                 every unconfigured runner
//   ./scripts/register.ts runner-2 pi     just these
import { loadConfig } from '../lib/config/config.ts';
import { ExitCode, runCli } from '../core/errors.ts';
import { selectFleetRunners } from '../lib/docker/compose-reader.ts';
import { refuseEphemeral } from '../lib/fleet/lifecycle.ts';
import { registerRunners, requireRegistered } from '../lib/fleet/registration.ts';
import { createRunnerApi } from '../lib/github/runner-api.ts';
import { parseScriptArgs } from '../lib/script-args.ts';

await runCli(async () => {
  const { positionals } = parseScriptArgs({});
  const config = await loadConfig();
  refuseEphemeral(config, 'make register');
  const { selected, unknown } = await selectFleetRunners(config, positionals);
  requireRegistered(await registerRunners(config, createRunnerApi(config), selected));
  return unknown.length ? ExitCode.config : ExitCode.ok; // the valid ones were handled
});
