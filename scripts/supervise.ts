#!/usr/bin/env -S node --import tsx
// Keeps an ephemeral fleet (RUNNER_MODE=ephemeral) filled: every slot holds a
// fresh container that registers just in time, runs one job and is replaced.
// Runs until Ctrl-C or SIGTERM; the slots' jobs go on. One per env file.
//   ./scripts/supervise.ts          the fleet's current number of generic slots (else 1)
//   ./scripts/supervise.ts -n 4     4 generic slots plus one per board
import { loadConfig, parseRunnerCount } from '../lib/config/config.ts';
import { runCli } from '../core/errors.ts';
import { toLines } from '../core/reporter.ts';
import { superviseFleet } from '../lib/fleet/supervise.ts';
import { currentGenericCount } from '../lib/fleet/lifecycle.ts';
import { createRunnerApi } from '../lib/github/runner-api.ts';
import { parseScriptArgs } from '../lib/script-args.ts';

await runCli(async () => {
  const { values } = parseScriptArgs({ count: { type: 'string', short: 'n' } });
  const config = await loadConfig();
  const count = values.count !== undefined ? parseRunnerCount(values.count) : ((await currentGenericCount(config)) ?? 1);
  const stop = new AbortController();
  process.once('SIGTERM', () => stop.abort());
  process.once('SIGINT', () => stop.abort());
  // A long-running process: every line says when (systemd's journal adds its own time too).
  const reporter = toLines((line) => process.stdout.write(`${new Date().toISOString()} ${line}\n`));
  await superviseFleet(config, createRunnerApi(config), { count, signal: stop.signal, reporter });
});
