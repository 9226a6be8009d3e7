#!/usr/bin/env -S node --import tsx
// Shows one runner's logs.
//   ./scripts/logs.ts runner-2            the last 200 lines
//   ./scripts/logs.ts --follow runner-2   and keep following
import { loadConfig } from '../lib/config/config.ts';
import { composeResult } from '../lib/docker/compose.ts';
import { ConfigError, runCli } from '../core/errors.ts';
import { selectFleetRunners } from '../lib/docker/compose-reader.ts';
import { parseScriptArgs } from '../lib/script-args.ts';

await runCli(async () => {
  const { values, positionals } = parseScriptArgs({ follow: { type: 'boolean', short: 'f' }, tail: { type: 'string' } });
  if (positionals.length !== 1) throw new ConfigError('logs needs exactly one runner name: make logs RUNNER=name');
  const config = await loadConfig({ credential: 'none' });
  const [runner] = (await selectFleetRunners(config, positionals)).selected;
  // compose's own exit code is this script's: its output went to the terminal as it came.
  const result = await composeResult(config, ['logs', '--tail', values.tail ?? '200', ...(values.follow ? ['--follow'] : []), runner!.name]);
  return result.exitCode ?? 1;
});
