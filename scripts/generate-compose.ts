#!/usr/bin/env -S node --import tsx
// Writes the docker compose file for this ORG/REPO: N generic runners plus
// one runner per BOARD_RUNNERS entry.
//   ./scripts/generate-compose.ts -n 4           write docker-compose.<org>.yml
//   ./scripts/generate-compose.ts -n 3 --stdout  print it instead
import { buildCompose, renderCompose, writeCompose } from '../lib/docker/compose.ts';
import { loadConfig, parseRunnerCount } from '../lib/config/config.ts';
import { runCli } from '../core/errors.ts';
import { readHostFacts } from '../lib/docker/host-facts.ts';
import { parseScriptArgs } from '../lib/script-args.ts';

await runCli(async () => {
  const { values } = parseScriptArgs({
    count: { type: 'string', short: 'n' },
    stdout: { type: 'boolean' },
  });
  const count = parseRunnerCount(values.count ?? '1', '-n/--count');
  const config = await loadConfig({ credential: 'none' });
  const compose = buildCompose(config, count, readHostFacts());
  if (values.stdout) {
    process.stdout.write(renderCompose(compose));
    return;
  }
  await writeCompose(config.composeFile, compose);
  console.log(`Wrote ${config.composeFile}: ${count} generic + ${config.boards.length} board runner(s)`);
});
