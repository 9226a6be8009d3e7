#!/usr/bin/env -S node --import tsx
// Writes a systemd unit that runs this fleet's supervisor (make supervise)
// and restarts it after a crash, and says how to install and enable it.
//   ./scripts/service.ts -n 4           write gh-runner-fleet-<project>.service beside the env file
//   ./scripts/service.ts -n 4 --stdout  print it instead
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { ConfigError, runCli } from '../core/errors.ts';
import { loadConfig, parseRunnerCount } from '../lib/config/config.ts';
import { currentGenericCount } from '../lib/fleet/lifecycle.ts';
import { serviceUnit } from '../lib/fleet/service-unit.ts';
import { parseScriptArgs } from '../lib/script-args.ts';

await runCli(async () => {
  const { values } = parseScriptArgs({ count: { type: 'string', short: 'n' }, stdout: { type: 'boolean' } });
  const config = await loadConfig({ credential: 'none' });
  if (config.mode !== 'ephemeral')
    throw new ConfigError(`RUNNER_MODE is persistent in ${config.envFile}: the service runs the ephemeral supervisor; set RUNNER_MODE=ephemeral first`);
  const count = values.count !== undefined ? parseRunnerCount(values.count) : ((await currentGenericCount(config)) ?? 1);
  const repoRoot = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
  const unit = serviceUnit(config, { repoRoot, node: process.execPath, count });
  if (values.stdout) return void process.stdout.write(unit.text);
  const path = join(dirname(config.envFile), unit.name);
  await writeFileAtomic(path, unit.text, { mode: 0o644 });
  console.log(`Wrote ${path}. Install and start it (as root):`);
  console.log(`  cp ${path} /etc/systemd/system/ && systemctl daemon-reload && systemctl enable --now ${unit.name}`);
  console.log(`Its log: journalctl -u ${unit.name} -f`);
});
