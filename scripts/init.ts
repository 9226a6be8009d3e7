#!/usr/bin/env -S node --import tsx
// Brings a fleet up: image (built if needed) → compose file → registration
// (one token for the whole fleet) → containers → the fleet table. An
// ephemeral fleet (RUNNER_MODE=ephemeral) gets its image and compose file;
// its supervisor (make supervise) starts the containers.
//   ./scripts/init.ts -n 4      4 generic runners plus the BOARD_RUNNERS
import { loadConfig, parseRunnerCount } from '../lib/config/config.ts';
import { runCli } from '../core/errors.ts';
import { currentGenericCount, initFleet } from '../lib/fleet/lifecycle.ts';
import { prepareEphemeralFleet } from '../lib/fleet/supervise.ts';
import { fleetStatus, formatFleetTable } from '../lib/fleet/status.ts';
import { createRunnerApi } from '../lib/github/runner-api.ts';
import { parseScriptArgs } from '../lib/script-args.ts';

await runCli(async () => {
  const { values } = parseScriptArgs({ count: { type: 'string', short: 'n' } });
  const config = await loadConfig();
  const count = values.count !== undefined ? parseRunnerCount(values.count) : ((await currentGenericCount(config)) ?? 1);
  const api = createRunnerApi(config);
  if (config.mode === 'ephemeral') {
    await api.checkAccess();
    await prepareEphemeralFleet(config, count);
    console.log(`Ephemeral fleet ready: start its supervisor with make supervise N=${count}, or install it as a service with make service N=${count}`);
    return;
  }
  await initFleet(config, api, count);
  const status = await fleetStatus(config, api);
  console.log(formatFleetTable(status.rows));
});
